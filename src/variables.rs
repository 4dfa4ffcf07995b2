//! Flow variables: defaults from the flow file, filled from the detected install, overridden by `--set`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use rust_i18n::t;

use crate::flow::Flow;

/// Values of every variable a flow declares, after defaults, facts and overrides.
#[derive(Debug, Clone, Default)]
pub struct Variables {
    values: BTreeMap<String, String>,
}

/// A variable that is unknown, empty where a value is required, or not of the expected type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VariableError {
    #[error("{}", t!("variables.error.bad_set", text = text))]
    BadSet { text: String },
    #[error("{}", t!("variables.error.unknown", name = name, flow = flow, known = known.join(", ")))]
    Unknown { name: String, flow: String, known: Vec<String> },
    #[error("{}", t!("variables.error.empty", name = name))]
    Empty { name: String },
    #[error("{}", t!("variables.error.invalid", name = name, value = value, expected = expected))]
    Invalid { name: String, value: String, expected: String },
    #[error("{}", t!("variables.error.unusable", name = name, detail = detail))]
    Unusable { name: String, detail: String },
}

/// Splits `NAME=VALUE` as given to `--set`.
pub fn parse_assignment(text: &str) -> Result<(String, String), VariableError> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => Ok((name.trim().to_string(), value.to_string())),
        _ => Err(VariableError::BadSet { text: text.to_string() }),
    }
}

impl Variables {
    /// Fills each default's `{{fact}}` placeholders from `facts`, then applies `overrides` in order.
    pub fn resolve(
        flow: &Flow,
        facts: &BTreeMap<String, String>,
        overrides: &[(String, String)],
    ) -> Result<Variables, VariableError> {
        let mut values = BTreeMap::new();
        for (name, variable) in &flow.variables {
            values.insert(name.clone(), fill_placeholders(&variable.default, facts));
        }
        for (name, value) in overrides {
            if !values.contains_key(name) {
                return Err(VariableError::Unknown {
                    name: name.clone(),
                    flow: flow.id.clone(),
                    known: flow.variables.keys().cloned().collect(),
                });
            }
            values.insert(name.clone(), value.clone());
        }
        Ok(Variables { values })
    }

    /// Builds variables from plain pairs, for tests and tools.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Variables {
        let values = pairs.into_iter().map(|(name, value)| (name.to_string(), value.to_string())).collect();
        Variables { values }
    }

    /// Sets a value, as a check does when it discovers one.
    pub fn set(&mut self, name: &str, value: &str) {
        self.values.insert(name.to_string(), value.to_string());
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.values.iter()
    }

    /// Returns the value, or an empty string for a variable the flow does not declare.
    pub fn text(&self, name: &str) -> &str {
        self.values.get(name).map(|value| value.trim()).unwrap_or("")
    }

    /// Returns the value, which must not be empty.
    pub fn required(&self, name: &str) -> Result<&str, VariableError> {
        let value = self.text(name);
        if value.is_empty() {
            Err(VariableError::Empty { name: name.to_string() })
        } else {
            Ok(value)
        }
    }

    /// Returns the value as a path, or `None` when it is empty.
    pub fn optional_path(&self, name: &str) -> Option<PathBuf> {
        Some(self.text(name)).filter(|value| !value.is_empty()).map(PathBuf::from)
    }

    pub fn path(&self, name: &str) -> Result<PathBuf, VariableError> {
        self.required(name).map(PathBuf::from)
    }

    pub fn port(&self, name: &str) -> Result<u16, VariableError> {
        let value = self.required(name)?;
        match value.parse::<u16>() {
            Ok(port) if port > 0 => Ok(port),
            _ => Err(self.invalid(name, "1-65535")),
        }
    }

    /// Parses a whole number of seconds in 1..=3600.
    pub fn seconds(&self, name: &str) -> Result<Duration, VariableError> {
        let value = self.required(name)?;
        match value.parse::<u64>() {
            Ok(seconds) if (1..=3600).contains(&seconds) => Ok(Duration::from_secs(seconds)),
            _ => Err(self.invalid(name, "1-3600")),
        }
    }

    /// Parses a count in 1..=1000.
    pub fn count(&self, name: &str) -> Result<u32, VariableError> {
        let value = self.required(name)?;
        match value.parse::<u32>() {
            Ok(count) if (1..=1000).contains(&count) => Ok(count),
            _ => Err(self.invalid(name, "1-1000")),
        }
    }

    /// Splits a comma-separated value, dropping empty items.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.text(name)
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_string)
            .collect()
    }

    fn invalid(&self, name: &str, expected: &str) -> VariableError {
        VariableError::Invalid {
            name: name.to_string(),
            value: self.text(name).to_string(),
            expected: expected.to_string(),
        }
    }
}

/// Replaces each `{{name}}` with the fact of that name; a fact that was not detected becomes empty.
fn fill_placeholders(template: &str, facts: &BTreeMap<String, String>) -> String {
    let mut output = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        output.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                output.push_str(facts.get(name).map(String::as_str).unwrap_or(""));
                rest = &after[end + 2..];
            }
            None => {
                output.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    output.push_str(rest);
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled() {
        let facts = BTreeMap::from([("panel.base_dir".to_string(), "/srv".to_string())]);
        assert_eq!(fill_placeholders("{{panel.base_dir}}/1panel/secret/server.crt", &facts), "/srv/1panel/secret/server.crt");
        assert_eq!(fill_placeholders("{{panel.port}}", &facts), "");
        assert_eq!(fill_placeholders("plain {{ open", &facts), "plain {{ open");
    }

    #[test]
    fn assignment_needs_a_name() {
        assert_eq!(parse_assignment("port=8443").unwrap(), ("port".to_string(), "8443".to_string()));
        assert_eq!(parse_assignment("restart_command=a=b").unwrap().1, "a=b");
        assert!(parse_assignment("=1").is_err());
        assert!(parse_assignment("port").is_err());
    }

    #[test]
    fn port_must_be_in_range() {
        let variables = Variables::from_pairs([("port", "70000"), ("zero", "0"), ("good", "443")]);
        assert!(matches!(variables.port("port"), Err(VariableError::Invalid { .. })));
        assert!(matches!(variables.port("zero"), Err(VariableError::Invalid { .. })));
        assert_eq!(variables.port("good").unwrap(), 443);
        assert!(matches!(variables.port("missing"), Err(VariableError::Empty { .. })));
    }

    #[test]
    fn list_drops_empty_items() {
        let variables = Variables::from_pairs([("log_files", " a.log, ,b.log ,")]);
        assert_eq!(variables.list("log_files"), vec!["a.log", "b.log"]);
    }
}
