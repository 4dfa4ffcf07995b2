//! Server block selection for a TLS connection, as nginx does it: first by the listening address
//! and port, then by the SNI name against `server_name`. The rules follow nginx's documentation
//! pages "How nginx processes a request" and "Server names".

use std::net::IpAddr;

use super::server::{ListenAddress, ServerBlock};

/// Kind of `server_name` match that selected the block.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "pattern")]
pub enum NameMatch {
    /// The name equals a `server_name` (or a `.example.org` form).
    Exact(String),
    /// The longest `*.example.org` (or `.example.org`) pattern that matches.
    LeadingWildcard(String),
    /// The longest `www.example.*` pattern that matches.
    TrailingWildcard(String),
    /// No name matched, so the default server of the address and port answers.
    Default,
}

/// The block nginx uses for a connection, and the blocks it chose among.
#[derive(Debug, Clone)]
pub struct Selection<'a> {
    pub block: &'a ServerBlock,
    pub name_match: NameMatch,
    /// Blocks listening on the same address and port, in configuration order.
    pub candidates: Vec<&'a ServerBlock>,
    /// The block that answers names no `server_name` matches.
    pub default: &'a ServerBlock,
    /// Connections to this address and port use TLS: some `listen` of it has `ssl`, or a block
    /// on it has the legacy `ssl on;`.
    pub ssl: bool,
    /// Regular-expression names (`~...`) among the candidates. They are not evaluated, so a name
    /// that only a regex matches shows as falling through to the default server.
    pub regex_names: Vec<String>,
}

/// Picks the block that serves `name` on a connection to `local` (the server's address the
/// client reached) and `port`. Returns `None` when no block listens on that address and port.
pub fn select<'a>(
    blocks: &'a [ServerBlock],
    local: IpAddr,
    port: u16,
    name: &str,
) -> Option<Selection<'a>> {
    let candidates = candidates(blocks, local, port);
    let (first, _) = candidates.first()?;

    let default = candidates
        .iter()
        .find(|(_, default_server)| *default_server)
        .map_or(*first, |(block, _)| *block);
    let blocks_only: Vec<&ServerBlock> = candidates.iter().map(|(block, _)| *block).collect();
    let ssl = candidates
        .iter()
        .any(|(block, _)| block.ssl_on || listens_with_ssl(block, local, port));
    let regex_names = blocks_only
        .iter()
        .flat_map(|block| block.names.iter())
        .filter(|name| name.starts_with('~'))
        .cloned()
        .collect();

    let name = normalize_name(name);
    let (block, name_match) =
        match_name(&blocks_only, &name).unwrap_or((default, NameMatch::Default));
    Some(Selection {
        block,
        name_match,
        candidates: blocks_only,
        default,
        ssl,
        regex_names,
    })
}

/// Lowercases a name and drops a trailing dot, as nginx does with the SNI name.
pub fn normalize_name(name: &str) -> String {
    name.trim_end_matches('.').to_lowercase()
}

/// Returns the blocks on `local:port` with whether that `listen` is `default_server`. Blocks on
/// the exact address win over blocks on the wildcard address of the same port.
fn candidates(blocks: &[ServerBlock], local: IpAddr, port: u16) -> Vec<(&ServerBlock, bool)> {
    let local = canonical(local);
    let pick = |specific: bool| -> Vec<(&ServerBlock, bool)> {
        blocks
            .iter()
            .filter_map(|block| {
                let listens: Vec<_> = block
                    .listens
                    .iter()
                    .filter(|listen| {
                        listen.port == port && address_matches(&listen.address, local, specific)
                    })
                    .collect();
                (!listens.is_empty())
                    .then(|| (block, listens.iter().any(|listen| listen.default_server)))
            })
            .collect()
    };
    let specific = pick(true);
    if specific.is_empty() {
        pick(false)
    } else {
        specific
    }
}

fn address_matches(address: &ListenAddress, local: IpAddr, specific: bool) -> bool {
    match (address, specific) {
        (ListenAddress::Addresses(ips), true) => ips.iter().any(|ip| canonical(*ip) == local),
        (ListenAddress::AnyV4, false) => local.is_ipv4(),
        (ListenAddress::AnyV6, false) => local.is_ipv6(),
        _ => false,
    }
}

fn listens_with_ssl(block: &ServerBlock, local: IpAddr, port: u16) -> bool {
    let local = canonical(local);
    block.listens.iter().any(|listen| {
        listen.ssl
            && listen.port == port
            && (address_matches(&listen.address, local, true)
                || address_matches(&listen.address, local, false))
    })
}

/// Turns an IPv4-mapped IPv6 address into the IPv4 address, as the kernel reports either.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// Applies nginx's order: exact name, longest leading wildcard, longest trailing wildcard. The
/// first block in configuration order wins a tie, as nginx keeps the first of conflicting names.
fn match_name<'a>(blocks: &[&'a ServerBlock], name: &str) -> Option<(&'a ServerBlock, NameMatch)> {
    for block in blocks {
        for pattern in &block.names {
            if pattern == name || pattern.strip_prefix('.') == Some(name) {
                return Some((block, NameMatch::Exact(pattern.clone())));
            }
        }
    }

    let mut best: Option<(&ServerBlock, &String, usize)> = None;
    for block in blocks {
        for pattern in &block.names {
            let suffix = pattern
                .strip_prefix('*')
                .or_else(|| pattern.strip_prefix('.').map(|_| pattern.as_str()));
            let Some(suffix) = suffix.filter(|suffix| suffix.starts_with('.')) else {
                continue;
            };
            if name.ends_with(suffix)
                && name.len() > suffix.len()
                && best.is_none_or(|(_, _, length)| suffix.len() > length)
            {
                best = Some((block, pattern, suffix.len()));
            }
        }
    }
    if let Some((block, pattern, _)) = best {
        return Some((block, NameMatch::LeadingWildcard(pattern.clone())));
    }

    let mut best: Option<(&ServerBlock, &String, usize)> = None;
    for block in blocks {
        for pattern in &block.names {
            let Some(prefix) = pattern
                .strip_suffix('*')
                .filter(|prefix| prefix.ends_with('.') && !prefix.starts_with('~'))
            else {
                continue;
            };
            if name.starts_with(prefix)
                && name.len() > prefix.len()
                && best.is_none_or(|(_, _, length)| prefix.len() > length)
            {
                best = Some((block, pattern, prefix.len()));
            }
        }
    }
    best.map(|(block, pattern, _)| (block, NameMatch::TrailingWildcard(pattern.clone())))
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;
    use crate::nginx::config::parse_dump;
    use crate::nginx::server::server_blocks;

    const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    fn blocks(http_body: &str) -> Vec<ServerBlock> {
        let dump =
            format!("# configuration file /etc/nginx/nginx.conf:\nhttp {{\n{http_body}\n}}\n");
        server_blocks(&parse_dump(&dump).expect("valid dump"))
    }

    fn selected(blocks: &[ServerBlock], name: &str) -> (usize, NameMatch) {
        let selection = select(blocks, LOCAL, 443, name).expect("a block listens on 443");
        (selection.block.index, selection.name_match)
    }

    #[test]
    fn exact_name_wins_over_wildcards() {
        let blocks = blocks(
            "server { listen 443 ssl; server_name *.example.org; }\n\
             server { listen 443 ssl; server_name www.example.*; }\n\
             server { listen 443 ssl; server_name www.example.org; }",
        );

        assert_eq!(
            selected(&blocks, "www.example.org"),
            (2, NameMatch::Exact("www.example.org".to_string()))
        );
        assert_eq!(
            selected(&blocks, "WWW.Example.ORG."),
            (2, NameMatch::Exact("www.example.org".to_string()))
        );
    }

    #[test]
    fn longest_leading_wildcard_wins() {
        let blocks = blocks(
            "server { listen 443 ssl; server_name *.org; }\n\
             server { listen 443 ssl; server_name *.example.org; }\n\
             server { listen 443 ssl; server_name www.example.*; }",
        );

        assert_eq!(
            selected(&blocks, "www.example.org"),
            (1, NameMatch::LeadingWildcard("*.example.org".to_string()))
        );
        assert_eq!(
            selected(&blocks, "a.b.example.org"),
            (1, NameMatch::LeadingWildcard("*.example.org".to_string()))
        );
        assert_eq!(
            selected(&blocks, "www.example.com"),
            (2, NameMatch::TrailingWildcard("www.example.*".to_string()))
        );
    }

    #[test]
    fn dot_form_matches_name_and_subdomains() {
        let blocks = blocks("server { listen 443 ssl default_server; server_name _; }\nserver { listen 443 ssl; server_name .example.org; }");

        assert_eq!(
            selected(&blocks, "example.org"),
            (1, NameMatch::Exact(".example.org".to_string()))
        );
        assert_eq!(
            selected(&blocks, "a.example.org"),
            (1, NameMatch::LeadingWildcard(".example.org".to_string()))
        );
        assert_eq!(selected(&blocks, "badexample.org"), (0, NameMatch::Default));
    }

    #[test]
    fn unmatched_name_gets_default_server() {
        let blocks = blocks(
            "server { listen 443 ssl; server_name a.test; }\n\
             server { listen 443 ssl default_server; server_name b.test; }",
        );

        let selection = select(&blocks, LOCAL, 443, "c.test").expect("a block listens on 443");

        assert_eq!(selection.block.index, 1);
        assert_eq!(selection.default.index, 1);
        assert_eq!(selection.name_match, NameMatch::Default);
        assert!(selection.ssl);
    }

    #[test]
    fn first_block_is_default_without_flag() {
        let blocks = blocks("server { listen 443 ssl; server_name a.test; }\nserver { listen 443 ssl; server_name b.test; }");

        assert_eq!(selected(&blocks, "c.test"), (0, NameMatch::Default));
    }

    #[test]
    fn first_of_conflicting_names_wins() {
        let blocks = blocks("server { listen 443 ssl; server_name a.test; }\nserver { listen 443 ssl; server_name a.test; }");

        assert_eq!(
            selected(&blocks, "a.test"),
            (0, NameMatch::Exact("a.test".to_string()))
        );
    }

    #[test]
    fn specific_address_hides_wildcard() {
        let blocks = blocks(
            "server { listen 443 ssl; server_name a.test; }\n\
             server { listen 127.0.0.1:443 ssl; server_name other.test; }",
        );

        let selection =
            select(&blocks, LOCAL, 443, "a.test").expect("a block listens on 127.0.0.1:443");
        assert_eq!(selection.block.index, 1);
        assert_eq!(selection.name_match, NameMatch::Default);
        assert_eq!(selection.candidates.len(), 1);

        let elsewhere = select(
            &blocks,
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            443,
            "a.test",
        )
        .expect("wildcard");
        assert_eq!(elsewhere.block.index, 0);
    }

    #[test]
    fn ipv6_needs_ipv6_listen() {
        let blocks = blocks("server { listen 443 ssl; server_name a.test; }\nserver { listen [::]:443 ssl; server_name b.test; }");

        let selection =
            select(&blocks, IpAddr::V6(Ipv6Addr::LOCALHOST), 443, "a.test").expect("v6 wildcard");

        assert_eq!(selection.block.index, 1);
        assert_eq!(selection.name_match, NameMatch::Default);
    }

    #[test]
    fn mapped_ipv4_counts_as_ipv4() {
        let blocks = blocks("server { listen 127.0.0.1:443 ssl; server_name a.test; }");

        let mapped = IpAddr::V6(Ipv4Addr::LOCALHOST.to_ipv6_mapped());

        assert_eq!(
            select(&blocks, mapped, 443, "a.test")
                .expect("mapped")
                .block
                .index,
            0
        );
    }

    #[test]
    fn other_port_has_no_block() {
        let blocks = blocks("server { listen 443 ssl; server_name a.test; }");

        assert!(select(&blocks, LOCAL, 8443, "a.test").is_none());
    }

    #[test]
    fn plain_listen_shares_ssl_of_socket() {
        let blocks = blocks("server { listen 443; server_name a.test; }\nserver { listen 443 ssl; server_name b.test; }\nserver { listen 80; }");

        assert!(select(&blocks, LOCAL, 443, "a.test").expect("443").ssl);
        assert!(!select(&blocks, LOCAL, 80, "a.test").expect("80").ssl);
    }

    #[test]
    fn regex_names_are_reported() {
        let blocks = blocks("server { listen 443 ssl; server_name ~^www\\d+\\.example\\.org$; }");

        let selection = select(&blocks, LOCAL, 443, "www1.example.org").expect("443");

        assert_eq!(selection.name_match, NameMatch::Default);
        assert_eq!(selection.regex_names.len(), 1);
    }
}
