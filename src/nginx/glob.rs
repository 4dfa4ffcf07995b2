//! Shell-style wildcards as nginx's `include` expands them with glob(3): `*`, `?` and `[...]`,
//! matched one path component at a time, results sorted.

use std::path::{Component, Path, PathBuf};

/// Returns whether `text` holds a wildcard character, so that `include` treats it as a pattern.
pub fn has_wildcard(text: &str) -> bool {
    text.contains(['*', '?', '['])
}

/// Returns whether the path `candidate` matches the path `pattern`, component by component.
pub fn path_matches(pattern: &Path, candidate: &Path) -> bool {
    let pattern: Vec<Component<'_>> = pattern.components().collect();
    let candidate: Vec<Component<'_>> = candidate.components().collect();
    if pattern.len() != candidate.len() {
        return false;
    }
    pattern.iter().zip(&candidate).all(|(pattern, candidate)| {
        let (pattern, candidate) = (
            pattern.as_os_str().to_string_lossy(),
            candidate.as_os_str().to_string_lossy(),
        );
        name_matches(&pattern, &candidate)
    })
}

/// Returns whether one file name matches one pattern component. As in glob(3), a leading `.`
/// in the name only matches a literal `.` in the pattern.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    matches_from(&pattern, &name)
}

fn matches_from(pattern: &[char], name: &[char]) -> bool {
    match pattern.first() {
        None => name.is_empty(),
        Some('*') => (0..=name.len()).any(|skip| matches_from(&pattern[1..], &name[skip..])),
        Some('?') => !name.is_empty() && matches_from(&pattern[1..], &name[1..]),
        Some('[') => match (class_end(pattern), name.first()) {
            (Some(end), Some(&c)) => {
                class_matches(&pattern[1..end], c) && matches_from(&pattern[end + 1..], &name[1..])
            }
            (Some(_), None) => false,
            // An unclosed `[` is an ordinary character.
            (None, _) => name.first() == Some(&'[') && matches_from(&pattern[1..], &name[1..]),
        },
        Some(&literal) => name.first() == Some(&literal) && matches_from(&pattern[1..], &name[1..]),
    }
}

/// Returns the index of the `]` that closes the class opened at `pattern[0]`.
fn class_end(pattern: &[char]) -> Option<usize> {
    let mut at = 1;
    if matches!(pattern.get(at), Some('!' | '^')) {
        at += 1;
    }
    // A `]` right after the opening (or after the negation) is a member, not the end.
    if pattern.get(at) == Some(&']') {
        at += 1;
    }
    pattern[at..]
        .iter()
        .position(|&c| c == ']')
        .map(|offset| at + offset)
}

fn class_matches(class: &[char], c: char) -> bool {
    let (negated, members) = match class.first() {
        Some('!' | '^') => (true, &class[1..]),
        _ => (false, class),
    };
    let mut found = false;
    let mut at = 0;
    while at < members.len() {
        if at + 2 < members.len() && members[at + 1] == '-' {
            found |= (members[at]..=members[at + 2]).contains(&c);
            at += 3;
        } else {
            found |= members[at] == c;
            at += 1;
        }
    }
    found != negated
}

/// Lists the existing files that match `pattern` on disk, sorted. Directories are walked one
/// component at a time, so a wildcard may sit in any component.
pub fn expand_on_disk(pattern: &Path) -> Vec<PathBuf> {
    let mut current = vec![PathBuf::new()];
    for component in pattern.components() {
        let text = component.as_os_str().to_string_lossy().into_owned();
        let mut next = Vec::new();
        for base in &current {
            if !has_wildcard(&text) {
                next.push(base.join(component.as_os_str()));
                continue;
            }
            let Ok(entries) = std::fs::read_dir(if base.as_os_str().is_empty() {
                Path::new(".")
            } else {
                base
            }) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name_matches(&text, &name) {
                    next.push(base.join(&name));
                }
            }
        }
        current = next;
    }
    let mut files: Vec<PathBuf> = current.into_iter().filter(|path| path.is_file()).collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_and_question_mark() {
        assert!(name_matches("*.conf", "site.conf"));
        assert!(!name_matches("*.conf", ".conf"));
        assert!(!name_matches("*.conf", "site.conf.bak"));
        assert!(name_matches("site-?.conf", "site-a.conf"));
        assert!(!name_matches("site-?.conf", "site-ab.conf"));
    }

    #[test]
    fn hidden_files_need_literal_dot() {
        assert!(!name_matches("*", ".hidden.conf"));
        assert!(name_matches(".*", ".hidden.conf"));
    }

    #[test]
    fn character_classes() {
        assert!(name_matches("[ab].conf", "a.conf"));
        assert!(!name_matches("[ab].conf", "c.conf"));
        assert!(name_matches("[!ab].conf", "c.conf"));
        assert!(name_matches("[0-9]*.conf", "00.default.conf"));
        assert!(name_matches("[]x].conf", "].conf"));
        assert!(name_matches("[x.conf", "[x.conf"));
    }

    #[test]
    fn path_match_is_per_component() {
        assert!(path_matches(
            Path::new("/etc/nginx/conf.d/*.conf"),
            Path::new("/etc/nginx/conf.d/a.conf")
        ));
        assert!(!path_matches(
            Path::new("/etc/nginx/conf.d/*.conf"),
            Path::new("/etc/nginx/conf.d/sub/a.conf")
        ));
        assert!(path_matches(
            Path::new("/etc/nginx/*/a.conf"),
            Path::new("/etc/nginx/sites/a.conf")
        ));
    }

    #[test]
    fn expand_lists_sorted_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["b.conf", "a.conf", "c.txt", ".h.conf"] {
            std::fs::write(dir.path().join(name), "").expect("write");
        }
        std::fs::create_dir(dir.path().join("d.conf")).expect("mkdir");

        let files = expand_on_disk(&dir.path().join("*.conf"));

        assert_eq!(
            files,
            [dir.path().join("a.conf"), dir.path().join("b.conf")]
        );
    }
}
