//! Flow files: the embedded flows validate, and broken files are reported with line and state.

use certwiz::flow::{embedded, embedded_names, CheckKind, Flow, Step};

fn panel_text() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/flows/panel.toml")).expect("flows/panel.toml exists")
}

fn errors_of(text: &str) -> Vec<String> {
    match Flow::parse(text, "broken.toml") {
        Ok(_) => Vec::new(),
        Err(errors) => errors.0.iter().map(|error| error.to_string()).collect(),
    }
}

#[test]
fn embedded_flows_validate() {
    let names: Vec<&str> = embedded_names().collect();
    assert!(names.contains(&"panel"));
    for name in names {
        let flow = embedded(name).expect("listed flow exists");
        if let Err(errors) = flow {
            panic!("embedded flow {name} is invalid:\n{errors}");
        }
    }
}

#[test]
fn panel_flow_has_contract_states() {
    let flow = embedded("panel").unwrap().unwrap();
    for id in ["warning", "check-status", "full-restart", "reconfirm", "verify", "resolved", "inspect-logs"] {
        assert!(flow.index_of(id).is_some(), "state {id} missing");
    }
    assert_eq!(flow.state(flow.start).id, "warning");
    let check_status = flow.state(flow.index_of("check-status").unwrap());
    assert!(matches!(check_status.step, Step::Check { check: CheckKind::PanelStatus, .. }));
}

#[test]
fn unknown_target_names_line_and_state() {
    let text = panel_text().replacen("valid = \"verify\"", "valid = \"verfy\"", 1);
    let errors = errors_of(&text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    let line = text.lines().position(|line| line.contains("\"verfy\"")).unwrap() + 1;
    assert!(errors[0].starts_with(&format!("broken.toml:{line}: state `recheck-files`")), "{}", errors[0]);
    assert!(errors[0].contains("verfy"), "{}", errors[0]);
}

#[test]
fn unknown_check_kind_is_rejected() {
    let text = panel_text().replacen("check = \"disk\"", "check = \"disks\"", 1);
    let errors = errors_of(&text);
    assert!(errors.iter().any(|error| error.contains("recheck-files") && error.contains("disks")), "{errors:?}");
}

#[test]
fn missing_chinese_text_is_rejected() {
    let text = panel_text().replacen(", zh-CN = \"已解决\"", "", 1);
    let errors = errors_of(&text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("state `resolved`") && errors[0].contains("zh-CN"), "{}", errors[0]);
}

#[test]
fn unwired_outcome_is_a_dead_end_error() {
    let text = panel_text().replacen(", invalid = \"inspect-logs\"", "", 1);
    let errors = errors_of(&text);
    assert!(errors.iter().any(|error| error.contains("recheck-files") && error.contains("invalid")), "{errors:?}");
}

#[test]
fn unreachable_state_is_reported() {
    let text = format!(
        "{}\n[[state]]\nid = \"orphan\"\nkind = \"end\"\noutcome = \"resolved\"\ntitle = {{ en = \"a\", zh-CN = \"b\" }}\nnext_step = {{ en = \"a\", zh-CN = \"b\" }}\n",
        panel_text()
    );
    let errors = errors_of(&text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("state `orphan`"), "{}", errors[0]);
}

#[test]
fn cycle_without_exit_is_a_dead_end() {
    let text = r#"
id = "loop"
start = "a"
title = { en = "loop", zh-CN = "循环" }

[[state]]
id = "a"
kind = "question"
title = { en = "a", zh-CN = "a" }
text = { en = "a?", zh-CN = "a？" }
choices = [{ id = "again", next = "b", text = { en = "again", zh-CN = "再来" } }]

[[state]]
id = "b"
kind = "question"
title = { en = "b", zh-CN = "b" }
text = { en = "b?", zh-CN = "b？" }
choices = [{ id = "back", next = "a", text = { en = "back", zh-CN = "返回" } }]
"#;
    let errors = errors_of(text);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors.iter().all(|error| error.contains("dead end")), "{errors:?}");
}

#[test]
fn toml_syntax_error_has_line() {
    let text = "id = \"x\"\nstart = \"a\"\ntitle = { en = \"t\", zh-CN = \"t\" }\n[[state]]\nid = \"a\"\nkind = \n";
    let errors = errors_of(text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("broken.toml:6"), "{}", errors[0]);
}

#[test]
fn unknown_field_is_rejected() {
    let text = panel_text().replacen("requires_valid_files = true", "requires_valid_file = true", 1);
    let errors = errors_of(&text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("requires_valid_file"), "{}", errors[0]);
}

#[test]
fn undeclared_variable_is_rejected() {
    let text = panel_text().replacen("[variables.log_files]", "[variables.log_file]", 1);
    let errors = errors_of(&text);
    assert!(errors.iter().any(|error| error.contains("inspect-logs") && error.contains("log_files")), "{errors:?}");
}

#[test]
fn documented_example_flow_validates() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/flow-files.md")).expect("docs/flow-files.md exists");
    let start = doc.find("```toml\n").expect("the page has a TOML example") + "```toml\n".len();
    let end = start + doc[start..].find("```").expect("the example block is closed");
    let flow = Flow::parse(&doc[start..end], "docs/flow-files.md").unwrap_or_else(|errors| panic!("{errors}"));
    assert_eq!(flow.id, "my-service");
    assert_eq!(flow.state(flow.start).id, "check");
}
