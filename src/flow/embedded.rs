//! Flow files compiled into the binary.

use super::{Flow, FlowErrors};

const EMBEDDED: &[(&str, &str)] = &[
    ("panel", include_str!("../../flows/panel.toml")),
    ("website", include_str!("../../flows/website.toml")),
];

/// Names of the flows compiled into the binary.
pub fn embedded_names() -> impl Iterator<Item = &'static str> {
    EMBEDDED.iter().map(|(name, _)| *name)
}

/// Loads an embedded flow by name; `None` when no flow has that name.
pub fn embedded(name: &str) -> Option<Result<Flow, FlowErrors>> {
    let (_, text) = EMBEDDED.iter().find(|(embedded_name, _)| *embedded_name == name)?;
    Some(Flow::parse(text, &format!("flows/{name}.toml")))
}
