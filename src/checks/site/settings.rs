//! The variables the `site-status` check reads: parsed, checked, and turned into the commands
//! to run (through `docker exec` for a container).

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rust_i18n::t;

use crate::action;
use crate::checks::endpoint::target;
use crate::docker;
use crate::nginx;
use crate::probe::ProbeTarget;
use crate::variables::{VariableError, Variables};

/// Programs whose commands run through `docker exec` when `container` is set.
pub(super) const NGINX_PROGRAMS: &[&str] = &["nginx", "openresty"];

/// The variables the check reads, parsed.
pub(super) struct Settings {
    pub(super) domain: String,
    pub(super) port: u16,
    pub(super) container: Option<String>,
    /// `nginx_dump_command` as argv, through `docker exec` for a container.
    pub(super) dump: Option<Vec<String>>,
    pub(super) conf_file: Option<PathBuf>,
    pub(super) expected_cert_file: Option<PathBuf>,
    /// Bound on each command the check runs (`action_timeout_secs`).
    pub(super) command_timeout: Duration,
    pub(super) target: ProbeTarget,
}

impl Settings {
    pub(super) fn read(variables: &Variables) -> Result<Settings, VariableError> {
        let domain = parse_domain(variables.required("domain")?)?;
        let container = Some(variables.text("container"))
            .filter(|name| !name.is_empty())
            .map(parse_container)
            .transpose()?;

        let dump = match variables.text("nginx_dump_command") {
            "" => None,
            text => {
                let argv = action::split_command(text).map_err(|error| VariableError::Invalid {
                    name: "nginx_dump_command".to_string(),
                    value: text.to_string(),
                    expected: error.to_string(),
                })?;
                Some(match &container {
                    Some(container) if runs_nginx(&argv) => docker::exec_argv(container, &argv),
                    _ => argv,
                })
            }
        };
        let conf_file = variables.optional_path("conf_file");
        if dump.is_none() && conf_file.is_none() {
            return Err(VariableError::Empty {
                name: "nginx_dump_command".to_string(),
            });
        }

        let mut with_name = variables.clone();
        with_name.set("server_name", &domain);
        Ok(Settings {
            port: variables.port("port")?,
            container,
            dump,
            conf_file,
            expected_cert_file: variables.optional_path("expected_cert_file"),
            command_timeout: variables.seconds("action_timeout_secs")?,
            target: target(&with_name)?,
            domain,
        })
    }
}

/// Checks the variables the `site-status` check reads, without running anything.
pub fn validate(variables: &Variables) -> Result<(), VariableError> {
    Settings::read(variables).map(|_| ())
}

/// Accepts a host name (or IP literal) as a browser sends it in SNI, lower-cased and without a
/// trailing dot.
fn parse_domain(text: &str) -> Result<String, VariableError> {
    let name = nginx::normalize_name(text);
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    let is_name = name.len() <= 253 && name.split('.').all(label_ok);
    if is_name || name.parse::<IpAddr>().is_ok() {
        Ok(name)
    } else {
        Err(VariableError::Invalid {
            name: "domain".to_string(),
            value: text.to_string(),
            expected: t!("variables.expected.site_domain").into_owned(),
        })
    }
}

/// Accepts a Docker container name or id. A leading `-` would make `docker` read it as an option.
fn parse_container(text: &str) -> Result<String, VariableError> {
    let mut chars = text.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) {
        Ok(text.to_string())
    } else {
        Err(VariableError::Invalid {
            name: "container".to_string(),
            value: text.to_string(),
            expected: t!("variables.expected.container").into_owned(),
        })
    }
}

/// Returns whether argv runs nginx or OpenResty itself (not, say, `systemctl`).
fn runs_nginx(argv: &[String]) -> bool {
    argv.first()
        .and_then(|program| Path::new(program).file_name())
        .is_some_and(|name| NGINX_PROGRAMS.iter().any(|program| name == *program))
}

/// Returns the command text to run inside `container`: nginx commands get a `docker exec`
/// prefix, anything else (and text that does not split) stays as written.
pub fn command_for_container(text: &str, container: &str) -> String {
    match action::split_command(text) {
        Ok(argv) if runs_nginx(&argv) => shlex::try_join(
            docker::exec_argv(container, &argv)
                .iter()
                .map(String::as_str),
        )
        .unwrap_or_else(|_| text.to_string()),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_is_normalized() {
        assert_eq!(
            parse_domain("WWW.Example.org.").expect("valid"),
            "www.example.org"
        );
        assert_eq!(parse_domain("127.0.0.1").expect("valid"), "127.0.0.1");
    }

    #[test]
    fn domain_with_scheme_is_invalid() {
        for text in [
            "https://example.org",
            "example.org:443",
            "example.org/x",
            "a..b",
            "-",
        ] {
            let error = parse_domain(text);
            assert!(
                matches!(&error, Err(VariableError::Invalid { name, .. }) if name == "domain"),
                "{text}: {error:?}"
            );
        }
    }

    #[test]
    fn container_must_not_look_like_option() {
        assert!(parse_container("1Panel-openresty-abcd").is_ok());
        assert!(parse_container("-v").is_err());
        assert!(parse_container("a b").is_err());
    }

    #[test]
    fn nginx_commands_run_in_container() {
        assert_eq!(
            command_for_container("nginx -s reload", "op"),
            "docker exec op nginx -s reload"
        );
        assert_eq!(
            command_for_container("/usr/local/openresty/bin/openresty -t", "op"),
            "docker exec op /usr/local/openresty/bin/openresty -t"
        );
        assert_eq!(
            command_for_container("systemctl reload nginx", "op"),
            "systemctl reload nginx"
        );
        assert_eq!(
            command_for_container("docker exec op nginx -t", "op"),
            "docker exec op nginx -t"
        );
    }
}
