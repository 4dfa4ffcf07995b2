//! The flowchart as a Mermaid diagram, optionally with the path of a run marked.

use super::{Flow, Step};
use crate::i18n::Lang;

/// Renders `flow` as a Mermaid `flowchart TD`; states in `path` and the edges between them are highlighted.
pub fn render(flow: &Flow, lang: Lang, path: &[String]) -> String {
    let mut out = String::from("flowchart TD\n");
    let node = |index: usize| format!("s{index}");

    for (index, state) in flow.states.iter().enumerate() {
        let label = escape(&format!("{}: {}", state.id, state.title.get(lang)));
        let shape = match state.step {
            Step::Question { .. } => format!("{{\"{label}\"}}"),
            Step::End { .. } => format!("([\"{label}\"])"),
            Step::Action { .. } => format!("[/\"{label}\"/]"),
            Step::Check { .. } => format!("[\"{label}\"]"),
        };
        out.push_str(&format!("    {}{shape}\n", node(index)));
    }

    let mut edge_count = 0;
    let mut taken_edges = Vec::new();
    // Several choices can lead to the same state; the path marks one edge per step.
    let mut marked_steps = std::collections::HashSet::new();
    for (index, state) in flow.states.iter().enumerate() {
        let edges: Vec<(String, usize)> = match &state.step {
            Step::Check { next, .. } | Step::Action { next, .. } => {
                next.iter().map(|(outcome, &to)| (outcome.clone(), to)).collect()
            }
            Step::Question { choices, .. } => choices.iter().map(|choice| (choice.id.clone(), choice.next)).collect(),
            Step::End { .. } => Vec::new(),
        };
        for (label, to) in edges {
            out.push_str(&format!("    {} -->|{}| {}\n", node(index), escape(&label), node(to)));
            let step = (state.id.as_str(), flow.states[to].id.as_str());
            let taken = path.windows(2).any(|pair| pair[0] == step.0 && pair[1] == step.1);
            if taken && marked_steps.insert(step) {
                taken_edges.push(edge_count);
            }
            edge_count += 1;
        }
    }

    if !path.is_empty() {
        out.push_str("    classDef visited fill:#d4edda,stroke:#2e7d32,stroke-width:2px\n");
        for (index, state) in flow.states.iter().enumerate() {
            if path.contains(&state.id) {
                out.push_str(&format!("    class {} visited\n", node(index)));
            }
        }
        for edge in taken_edges {
            out.push_str(&format!("    linkStyle {edge} stroke:#2e7d32,stroke-width:3px\n"));
        }
    }
    out
}

/// Mermaid labels are quoted; a double quote inside would end them early.
fn escape(text: &str) -> String {
    text.replace('"', "#quot;").replace('|', "#124;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::embedded;

    #[test]
    fn every_state_is_a_node() {
        let flow = embedded("panel").unwrap().unwrap();
        let text = render(&flow, Lang::En, &[]);
        assert!(text.starts_with("flowchart TD\n"));
        for state in &flow.states {
            assert!(text.contains(&format!("\"{}: ", state.id)), "{} missing", state.id);
        }
        assert!(!text.contains("classDef"));
    }

    #[test]
    fn path_is_marked() {
        let flow = embedded("panel").unwrap().unwrap();
        let path: Vec<String> = ["warning", "check-status", "full-restart"].iter().map(|s| s.to_string()).collect();
        let text = render(&flow, Lang::ZhCn, &path);
        assert_eq!(text.matches(" visited\n").count(), 3, "{text}");
        assert_eq!(text.matches("linkStyle").count(), 2, "{text}");
        assert!(text.contains("检查正在使用的证书"));
    }
}
