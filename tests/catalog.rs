//! The message catalog: every message exists in English and Chinese, with the same placeholders,
//! and every key the code names is in the catalog.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const LOCALES: &[&str] = &["en", "zh-CN"];

fn catalog_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/locales");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("src/locales exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "expected catalog files in {}", dir.display());
    files
}

/// Returns key → locale → text for every catalog file.
fn catalog() -> BTreeMap<String, BTreeMap<String, String>> {
    let mut all = BTreeMap::new();
    for file in catalog_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let table: toml::Table = toml::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", file.display()));
        for (key, value) in table {
            if key == "_version" {
                continue;
            }
            let entry = value.as_table().unwrap_or_else(|| panic!("{}: {key} is not a table", file.display()));
            let texts = entry
                .iter()
                .map(|(locale, text)| (locale.clone(), text.as_str().unwrap_or_default().to_string()))
                .collect();
            assert!(all.insert(key.clone(), texts).is_none(), "{key} is defined twice");
        }
    }
    all
}

fn placeholders(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("%{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        names.insert(after[..end].to_string());
        rest = &after[end..];
    }
    names
}

#[test]
fn every_message_has_both_languages() {
    for (key, texts) in catalog() {
        for locale in LOCALES {
            let text = texts.get(*locale).map(String::as_str).unwrap_or("");
            assert!(!text.trim().is_empty(), "{key} has no {locale} text");
        }
        let extra: Vec<&String> = texts.keys().filter(|locale| !LOCALES.contains(&locale.as_str())).collect();
        assert!(extra.is_empty(), "{key} has unexpected locales {extra:?}");
    }
}

#[test]
fn placeholders_match_across_languages() {
    for (key, texts) in catalog() {
        let english = placeholders(&texts["en"]);
        let chinese = placeholders(&texts["zh-CN"]);
        assert_eq!(english, chinese, "{key} uses different placeholders in en and zh-CN");
    }
}

/// Collects the string literals passed straight to `t!(...)` in the sources.
fn literal_keys(dir: &Path, keys: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            literal_keys(&path, keys);
            continue;
        }
        if path.extension().is_none_or(|ext| ext != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        for (start, _) in source.match_indices("t!(") {
            // `format!(`, `print!(` and friends also end in `t!(`; only the bare macro counts.
            let before = source[..start].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let after = source[start + 3..].trim_start();
            if let Some(literal) = after.strip_prefix('"') {
                if let Some(end) = literal.find('"') {
                    keys.insert(literal[..end].to_string());
                }
            }
        }
    }
}

#[test]
fn every_key_in_the_code_exists() {
    let mut keys = BTreeSet::new();
    literal_keys(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut keys);
    assert!(keys.len() > 50, "found only {} keys", keys.len());
    let catalog = catalog();
    let missing: Vec<&String> = keys.iter().filter(|key| !catalog.contains_key(*key)).collect();
    assert!(missing.is_empty(), "keys used in the code but missing from src/locales: {missing:?}");
}

#[test]
fn dynamic_keys_exist() {
    let catalog = catalog();
    for outcome in ["healthy", "resolved", "unresolved", "aborted"] {
        assert!(catalog.contains_key(&format!("outcome.{outcome}")), "outcome.{outcome}");
    }
    for id in ["logs.panics", "logs.certificate_errors", "logs.tls_errors"] {
        assert!(catalog.contains_key(&format!("finding.{id}")), "finding.{id}");
    }
}
