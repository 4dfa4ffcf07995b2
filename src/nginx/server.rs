//! Server blocks of the `http` context: their `listen` sockets, names, certificates and logs.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs};
use std::path::PathBuf;

use super::config::Config;
use super::syntax::Directive;

/// Port of a server block without any `listen` directive (nginx running as root).
pub const DEFAULT_LISTEN_PORT: u16 = 80;

/// The address part of a `listen` directive.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ListenAddress {
    /// `listen 443`, `listen *:443` or `listen 0.0.0.0:443`: every IPv4 address.
    AnyV4,
    /// `listen [::]:443`: every IPv6 address.
    AnyV6,
    /// One or more addresses: an IP literal, or a host name resolved as nginx resolves it at start.
    Addresses(Vec<IpAddr>),
    /// A UNIX socket or a host name that does not resolve; never matches a TCP connection.
    Other(String),
}

/// One `listen` directive.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Listen {
    pub address: ListenAddress,
    pub port: u16,
    pub ssl: bool,
    pub default_server: bool,
    /// The directive's arguments as written, for messages.
    pub text: String,
}

/// A `server` block inside `http`, with the settings it inherits from `http` filled in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServerBlock {
    /// Position among all server blocks, in configuration order.
    pub index: usize,
    pub file: PathBuf,
    pub line: usize,
    /// `server_name` arguments, lower-cased; `""` when the block has none.
    pub names: Vec<String>,
    pub listens: Vec<Listen>,
    /// The block has the legacy `ssl on;` directive, which turns TLS on for all its sockets.
    pub ssl_on: bool,
    /// `ssl_certificate` paths resolved against the configuration prefix, as nginx names them.
    pub certificates: Vec<PathBuf>,
    pub keys: Vec<PathBuf>,
    /// `ssl_certificate` values that nginx evaluates per handshake (they contain `$`) or loads
    /// from `data:`; certwiz cannot tell which file they name.
    pub dynamic_certificates: Vec<String>,
    /// `error_log` files in effect for the block (its own, else those of `http`, else the main ones).
    pub error_logs: Vec<PathBuf>,
}

impl ServerBlock {
    /// Returns `file:line` for messages.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file.display(), self.line)
    }
}

/// Settings inherited from an outer context.
#[derive(Debug, Clone, Default)]
struct Inherited {
    certificates: Vec<PathBuf>,
    keys: Vec<PathBuf>,
    dynamic_certificates: Vec<String>,
    error_logs: Vec<PathBuf>,
}

/// Lists every server block of every `http` block, in configuration order.
pub fn server_blocks(config: &Config) -> Vec<ServerBlock> {
    let main = Inherited {
        error_logs: error_logs(&config.directives),
        ..Inherited::default()
    };
    let mut blocks = Vec::new();
    for http in config
        .directives
        .iter()
        .filter(|directive| directive.name == "http")
    {
        let http_settings = inherit(config, http.children(), &main);
        for server in http
            .children()
            .iter()
            .filter(|directive| directive.name == "server")
        {
            let index = blocks.len();
            blocks.push(server_block(config, server, &http_settings, index));
        }
    }
    blocks
}

fn server_block(
    config: &Config,
    server: &Directive,
    outer: &Inherited,
    index: usize,
) -> ServerBlock {
    let settings = inherit(config, server.children(), outer);
    let children = server.children();

    let mut names: Vec<String> = children
        .iter()
        .filter(|directive| directive.name == "server_name")
        .flat_map(|directive| directive.args.iter().map(|name| name.to_lowercase()))
        .collect();
    if names.is_empty() {
        names.push(String::new());
    }

    let mut listens: Vec<Listen> = children
        .iter()
        .filter(|directive| directive.name == "listen")
        .filter_map(parse_listen)
        .collect();
    if !children.iter().any(|directive| directive.name == "listen") {
        listens.push(Listen {
            address: ListenAddress::AnyV4,
            port: DEFAULT_LISTEN_PORT,
            ssl: false,
            default_server: false,
            text: format!("*:{DEFAULT_LISTEN_PORT}"),
        });
    }
    let ssl_on = children.iter().any(|directive| {
        directive.name == "ssl" && directive.args.first().is_some_and(|arg| arg == "on")
    });

    ServerBlock {
        index,
        file: server.file.clone(),
        line: server.line,
        names,
        listens,
        ssl_on,
        certificates: settings.certificates,
        keys: settings.keys,
        dynamic_certificates: settings.dynamic_certificates,
        error_logs: settings.error_logs,
    }
}

/// Applies a context's own `ssl_certificate`, `ssl_certificate_key` and `error_log` over the
/// outer ones: like nginx, a context that sets a directive replaces the whole inherited list.
fn inherit(config: &Config, directives: &[Directive], outer: &Inherited) -> Inherited {
    let mut settings = outer.clone();

    let certificates: Vec<&Directive> = directives
        .iter()
        .filter(|directive| directive.name == "ssl_certificate")
        .collect();
    if !certificates.is_empty() {
        settings.certificates.clear();
        settings.dynamic_certificates.clear();
        for directive in certificates {
            let Some(value) = directive.args.first() else {
                continue;
            };
            if value.contains('$') || value.starts_with("data:") {
                settings.dynamic_certificates.push(value.clone());
            } else {
                settings.certificates.push(config.resolve(value));
            }
        }
    }

    let keys: Vec<PathBuf> = directives
        .iter()
        .filter(|directive| directive.name == "ssl_certificate_key")
        .filter_map(|directive| directive.args.first())
        .filter(|value| {
            !value.contains('$') && !value.starts_with("data:") && !value.starts_with("engine:")
        })
        .map(|value| config.resolve(value))
        .collect();
    if directives
        .iter()
        .any(|directive| directive.name == "ssl_certificate_key")
    {
        settings.keys = keys;
    }

    let logs = error_logs(directives);
    if directives
        .iter()
        .any(|directive| directive.name == "error_log")
    {
        settings.error_logs = logs;
    }
    settings
}

/// Collects the files of a context's own `error_log` directives. `stderr`, `syslog:` and
/// `memory:` targets are not files. Relative paths are skipped.
// NOTE: nginx resolves a relative error_log against its prefix (-p), which neither the dump nor
// the files record, so such logs are not found.
fn error_logs(directives: &[Directive]) -> Vec<PathBuf> {
    directives
        .iter()
        .filter(|directive| directive.name == "error_log")
        .filter_map(|directive| directive.args.first())
        .filter(|target| target.starts_with('/'))
        .map(PathBuf::from)
        .collect()
}

/// Parses a `listen` directive; `None` when it has no arguments.
pub fn parse_listen(directive: &Directive) -> Option<Listen> {
    let (first, options) = directive.args.split_first()?;
    let ssl = options.iter().any(|option| option == "ssl");
    let default_server = options
        .iter()
        .any(|option| option == "default_server" || option == "default");
    let (mut address, port) = parse_listen_address(first);
    // A `quic` listen is a UDP socket for HTTP/3, which never takes a TCP handshake.
    if options.iter().any(|option| option == "quic") {
        address = ListenAddress::Other(directive.args.join(" "));
    }
    Some(Listen {
        address,
        port,
        ssl,
        default_server,
        text: directive.args.join(" "),
    })
}

/// Splits `address[:port]`, `port`, `[v6]:port` or `unix:path` into an address and a port.
fn parse_listen_address(text: &str) -> (ListenAddress, u16) {
    if text.starts_with("unix:") {
        return (ListenAddress::Other(text.to_string()), 0);
    }
    if let Ok(port) = text.parse::<u16>() {
        return (ListenAddress::AnyV4, port);
    }

    if let Some(rest) = text.strip_prefix('[') {
        let Some((host, after)) = rest.split_once(']') else {
            return (ListenAddress::Other(text.to_string()), 0);
        };
        let port = after
            .strip_prefix(':')
            .and_then(|port| port.parse().ok())
            .unwrap_or(DEFAULT_LISTEN_PORT);
        return match host.parse::<Ipv6Addr>() {
            Ok(ip) if ip.is_unspecified() => (ListenAddress::AnyV6, port),
            Ok(ip) => (ListenAddress::Addresses(vec![IpAddr::V6(ip)]), port),
            Err(_) => (ListenAddress::Other(text.to_string()), port),
        };
    }

    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().unwrap_or(DEFAULT_LISTEN_PORT)),
        None => (text, DEFAULT_LISTEN_PORT),
    };
    let address = match host {
        "*" => ListenAddress::AnyV4,
        _ => match host.parse::<Ipv4Addr>() {
            Ok(ip) if ip.is_unspecified() => ListenAddress::AnyV4,
            Ok(ip) => ListenAddress::Addresses(vec![IpAddr::V4(ip)]),
            Err(_) => resolve_listen_host(host),
        },
    };
    (address, port)
}

/// Resolves a host name in `listen` the way nginx does at start-up (through the system
/// resolver, usually `/etc/hosts` for names such as `localhost`).
fn resolve_listen_host(host: &str) -> ListenAddress {
    match (host, 0).to_socket_addrs() {
        Ok(addresses) => {
            let mut ips: Vec<IpAddr> = addresses.map(|address| address.ip()).collect();
            ips.dedup();
            if ips.is_empty() {
                ListenAddress::Other(host.to_string())
            } else {
                ListenAddress::Addresses(ips)
            }
        }
        Err(_) => ListenAddress::Other(host.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nginx::config::parse_dump;

    fn blocks(http_body: &str) -> Vec<ServerBlock> {
        let dump = format!("# configuration file /etc/nginx/nginx.conf:\nerror_log /var/log/nginx/main.log;\nhttp {{\n{http_body}\n}}\n");
        server_blocks(&parse_dump(&dump).expect("valid dump"))
    }

    fn listen(text: &str) -> Listen {
        let directive = Directive {
            name: "listen".to_string(),
            args: text.split_whitespace().map(str::to_string).collect(),
            file: PathBuf::from("/x.conf"),
            line: 1,
            block: None,
        };
        parse_listen(&directive).expect("listen has arguments")
    }

    #[test]
    fn listen_forms() {
        assert_eq!(listen("443 ssl").address, ListenAddress::AnyV4);
        assert_eq!(listen("443 ssl").port, 443);
        assert!(listen("443 ssl").ssl);
        assert_eq!(listen("*:8443").port, 8443);
        assert_eq!(
            listen("127.0.0.1:443").address,
            ListenAddress::Addresses(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)])
        );
        assert_eq!(listen("127.0.0.1").port, 80);
        assert_eq!(
            listen("[::]:443 ssl default_server").address,
            ListenAddress::AnyV6
        );
        assert!(listen("[::]:443 ssl default_server").default_server);
        assert_eq!(
            listen("[::1]:443").address,
            ListenAddress::Addresses(vec![IpAddr::V6(Ipv6Addr::LOCALHOST)])
        );
        assert!(matches!(
            listen("unix:/run/nginx.sock").address,
            ListenAddress::Other(_)
        ));
        assert!(listen("80 default").default_server);
        assert!(matches!(
            listen("443 quic reuseport").address,
            ListenAddress::Other(_)
        ));
    }

    #[test]
    fn certificates_inherit_from_http() {
        let blocks = blocks(
            "ssl_certificate /etc/ssl/shared.pem;\nssl_certificate_key /etc/ssl/shared.key;\n\
             server { listen 443 ssl; server_name a.test; }\n\
             server { listen 443 ssl; server_name B.test; ssl_certificate ssl/b.pem; ssl_certificate_key ssl/b.key; }",
        );

        assert_eq!(
            blocks[0].certificates,
            [PathBuf::from("/etc/ssl/shared.pem")]
        );
        assert_eq!(
            blocks[1].certificates,
            [PathBuf::from("/etc/nginx/ssl/b.pem")]
        );
        assert_eq!(blocks[1].keys, [PathBuf::from("/etc/nginx/ssl/b.key")]);
        assert_eq!(blocks[1].names, ["b.test"]);
    }

    #[test]
    fn variable_certificate_is_dynamic() {
        let blocks =
            blocks("server { listen 443 ssl; ssl_certificate /certs/$ssl_server_name.pem; }");

        assert!(blocks[0].certificates.is_empty());
        assert_eq!(
            blocks[0].dynamic_certificates,
            ["/certs/$ssl_server_name.pem"]
        );
    }

    #[test]
    fn block_without_listen_uses_port_80() {
        let blocks = blocks("server { server_name a.test; }");

        assert_eq!(blocks[0].listens.len(), 1);
        assert_eq!(blocks[0].listens[0].port, 80);
        assert_eq!(blocks[0].names, ["a.test"]);
    }

    #[test]
    fn error_log_nearest_context_wins() {
        let blocks = blocks("server { listen 80; error_log /var/log/a.log warn; }\nserver { listen 81; error_log stderr; }\nserver { listen 82; }");

        assert_eq!(blocks[0].error_logs, [PathBuf::from("/var/log/a.log")]);
        assert!(blocks[1].error_logs.is_empty());
        assert_eq!(
            blocks[2].error_logs,
            [PathBuf::from("/var/log/nginx/main.log")]
        );
    }

    #[test]
    fn block_location_names_file_and_line() {
        let blocks = blocks("server {\n listen 80;\n}");

        assert_eq!(blocks[0].location(), "/etc/nginx/nginx.conf:3");
        assert!(!blocks[0].ssl_on);
    }
}
