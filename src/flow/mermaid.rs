//! The flowchart as a Mermaid diagram, optionally with the path of a run marked.

use super::{Flow, State, Step};
use crate::i18n::Lang;

/// Renders `flow` as a Mermaid `flowchart TD`; states in `path` and the edges between them are
/// highlighted. Where several edges join the same two states, the first one is highlighted;
/// [`render_run`] picks the one taken.
pub fn render(flow: &Flow, lang: Lang, path: &[String]) -> String {
    render_run(flow, lang, path, &[])
}

/// Renders `flow` like [`render`], but where several edges join two consecutive states of
/// `path`, highlights only those whose `(state id, choice or outcome)` is in `taken`. A step
/// that `taken` says nothing about gets its first edge highlighted.
pub fn render_run(flow: &Flow, lang: Lang, path: &[String], taken: &[(&str, &str)]) -> String {
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
    for (index, state) in flow.states.iter().enumerate() {
        let edges = edges_of(&state.step);
        for (label, to) in &edges {
            out.push_str(&format!("    {} -->|{}| {}\n", node(index), escape(label), node(*to)));
            if is_taken(flow, state, &edges, (label, *to), path, taken) {
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

/// Returns the outgoing edges of a state as `(choice or outcome, target)`.
fn edges_of(step: &Step) -> Vec<(String, usize)> {
    match step {
        Step::Check { next, .. } | Step::Action { next, .. } => next.iter().map(|(outcome, &to)| (outcome.clone(), to)).collect(),
        Step::Question { choices, .. } => choices.iter().map(|choice| (choice.id.clone(), choice.next)).collect(),
        Step::End { .. } => Vec::new(),
    }
}

/// Returns whether the run went along `edge` of `state`: the path holds the step from
/// `state` to its target, and when several of the state's edges lead there, `taken` names
/// this one, or names none of them and this is the first.
// NOTE: the report does not record which outcome a check had, so of two outcomes that lead to
// the same state, the first is marked even when the run took the other.
fn is_taken(flow: &Flow, state: &State, edges: &[(String, usize)], edge: (&str, usize), path: &[String], taken: &[(&str, &str)]) -> bool {
    let (label, to) = edge;
    let target = flow.states[to].id.as_str();
    let stepped = path.windows(2).any(|pair| pair[0] == state.id && pair[1] == target);
    if !stepped {
        return false;
    }
    let is_named = |label: &str| taken.iter().any(|&(from, choice)| from == state.id && choice == label);
    let parallel: Vec<&str> = edges.iter().filter(|(_, other)| *other == to).map(|(label, _)| label.as_str()).collect();
    if parallel.iter().any(|label| is_named(label)) {
        is_named(label)
    } else {
        parallel.first() == Some(&label)
    }
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

    #[test]
    fn taken_choice_is_marked_among_parallel_edges() {
        let flow = embedded("panel").unwrap().unwrap();
        let path: Vec<String> = ["warning", "check-status"].iter().map(|s| s.to_string()).collect();
        let text = render_run(&flow, Lang::En, &path, &[("warning", "unsure")]);
        let edges: Vec<&str> = text.lines().filter(|line| line.contains("-->")).collect();
        let unsure = edges.iter().position(|edge| edge.contains("-->|unsure|")).expect("an unsure edge");
        assert_eq!(text.matches("linkStyle").count(), 1, "{text}");
        assert!(text.contains(&format!("linkStyle {unsure} ")), "{text}");
    }
}
