//! Redaction of what certwiz writes for other people to read.
//!
//! With `--redact`, host names and domains become `host-N`, IP addresses `ip-N`, user names
//! `user-N` and home directories (`/home/NAME`, `/root`, `$HOME`) `~user-N`. One [`Redactor`]
//! serves a whole run, so a value gets the same placeholder in the transcript, the JSON and
//! the Markdown report. Loopback and unspecified addresses (`127.0.0.0/8`, `::1`, `0.0.0.0`,
//! `::`) and the name `localhost` stay, because they name no machine. Fingerprints, serials
//! and dates stay too: they identify certificates, not people.
//!
//! Identifiers of certwiz itself (finding ids, evidence keys, state and choice ids, variable
//! names) stay even where they look like a domain (`certificate.id`): the redactor learns them
//! from the report and the flow and leaves them alone.
//!
//! Private key blocks (`-----BEGIN ... PRIVATE KEY-----`) are removed from every output,
//! redacted or not, by [`scrub_private_keys`] and [`KeyScrubber`].

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::certs::CertSummary;
use crate::flow::{Flow, Step};

use super::Report;

/// Text that replaces a removed private key block.
pub const KEY_REMOVED: &str = "[private key removed]";

/// A redactor shared by the transcript writer, the prompts and the report writers of one run.
pub type SharedRedactor = Arc<Mutex<Redactor>>;

/// Locks a shared redactor; a panic while it was held leaves its maps usable.
pub fn lock(redactor: &SharedRedactor) -> MutexGuard<'_, Redactor> {
    redactor.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Account names that identify no person; they are not replaced as words.
const SYSTEM_USERS: &[&str] = &["root", "nobody", "daemon", "bin", "sys", "www-data", "nginx", "http", "1panel"];

/// Country-code top-level domains, without the ones that are far more often file extensions in
/// logs and paths (`.md`, `.rs`, `.sh`, `.py`, `.so`, `.pl`, `.ps`).
const COUNTRY_TLDS: &str = "ac ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bm bn bo \
    br bs bt bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz ec ee eg er es et \
    eu fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy hk hm hn hr ht hu id ie il im in \
    io iq ir is it je jm jo jp ke kg kh ki km kn kp kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc me mg mh mk \
    ml mm mn mo mp mq mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pm pn pr \
    pt pw qa re ro ru rw sa sb sc sd se sg si sk sl sm sn sr ss st su sv sx sy sz tc td tf tg th tj tk tl tm tn to \
    tr tt tv tw tz ua ug uk us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw";

/// Generic top-level domains seen on servers that run 1Panel or nginx, and names used on
/// private networks. A domain under a TLD missing here is only redacted when certwiz learnt it
/// from a variable or a certificate. `.invalid` is missing on purpose: it never resolves
/// (RFC 6761), and finding ids such as `served.invalid` end in it.
const GENERIC_TLDS: &str = "com net org edu gov mil int info biz name pro mobi asia tel travel jobs aero coop \
    museum xyz top site online shop store tech app dev cloud page blog club vip work ltd group live life world \
    today news email link click host space website fun icu wang ren xin pub ink art design studio agency \
    services solutions center company network systems digital media tools zone one best games chat fan fit \
    love plus pw social team wiki win cyou sbs cfd lol \
    local lan internal intranet corp home localdomain test example arpa";

/// Replaces names, addresses and home directories with stable placeholders.
#[derive(Debug)]
pub struct Redactor {
    hosts: Placeholders,
    ips: Placeholders,
    users: Placeholders,
    /// Lower-case host names learnt from variables and certificates, longest first.
    known_hosts: Vec<String>,
    /// User names replaced wherever they appear as a word.
    known_users: Vec<String>,
    /// Home directories outside `/home` and `/root` (from `$HOME`), with their user.
    homes: Vec<(String, String)>,
    /// Identifiers of certwiz (finding ids, evidence keys, state ids) that are never replaced.
    identifiers: BTreeSet<String>,
}

/// Placeholders of one kind, numbered in the order values are first seen.
#[derive(Debug)]
struct Placeholders {
    prefix: &'static str,
    assigned: BTreeMap<String, String>,
}

impl Placeholders {
    fn new(prefix: &'static str) -> Placeholders {
        Placeholders { prefix, assigned: BTreeMap::new() }
    }

    fn get(&mut self, key: &str) -> String {
        let number = self.assigned.len() + 1;
        let prefix = self.prefix;
        self.assigned.entry(key.to_string()).or_insert_with(|| format!("{prefix}-{number}")).clone()
    }
}

impl Default for Redactor {
    fn default() -> Redactor {
        Redactor::new()
    }
}

impl Redactor {
    /// Creates a redactor that knows no names yet; patterns still catch addresses and domains.
    pub fn new() -> Redactor {
        Redactor {
            hosts: Placeholders::new("host"),
            ips: Placeholders::new("ip"),
            users: Placeholders::new("user"),
            known_hosts: Vec::new(),
            known_users: Vec::new(),
            homes: Vec::new(),
            identifiers: BTreeSet::new(),
        }
    }

    /// Creates a redactor that knows this machine's host name, the user names in `$USER`,
    /// `$LOGNAME` and `$SUDO_USER`, and the home directory in `$HOME`.
    pub fn for_this_machine() -> Redactor {
        let mut redactor = Redactor::new();
        if let Ok(name) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
            redactor.learn_host(name.trim());
        }
        let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_default();
        for variable in ["USER", "LOGNAME", "SUDO_USER"] {
            if let Ok(name) = std::env::var(variable) {
                redactor.learn_user(&name);
            }
        }
        if let Some(home) = std::env::var_os("HOME") {
            redactor.learn_home(&home.to_string_lossy(), &user);
        }
        redactor
    }

    /// Learns a host name to replace wherever it appears, also where no pattern would find it
    /// (single labels such as `myserver`). Addresses, `localhost` and non-names are ignored.
    pub fn learn_host(&mut self, name: &str) {
        let name = name.trim().trim_end_matches('.');
        let name = name.strip_prefix("*.").unwrap_or(name).to_ascii_lowercase();
        let is_name = !name.is_empty() && name.chars().all(is_host_char) && name.chars().any(|c| c.is_ascii_alphabetic());
        if !is_name || name.parse::<IpAddr>().is_ok() || is_loopback_name(&name) || self.known_hosts.contains(&name) {
            return;
        }
        self.known_hosts.push(name);
        self.known_hosts.sort_by_key(|host| std::cmp::Reverse(host.len()));
    }

    /// Learns a user name to replace wherever it appears as a word; system accounts are kept.
    pub fn learn_user(&mut self, name: &str) {
        let name = name.trim();
        let is_name = name.len() >= 2 && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !is_name || SYSTEM_USERS.contains(&name) || self.known_users.iter().any(|known| known == name) {
            return;
        }
        self.known_users.push(name.to_string());
        self.known_users.sort_by_key(|user| std::cmp::Reverse(user.len()));
    }

    /// Learns a home directory outside `/home` and `/root`, which patterns already cover.
    pub fn learn_home(&mut self, dir: &str, user: &str) {
        let dir = dir.trim_end_matches('/');
        let covered = dir.is_empty() || dir == "/root" || dir.starts_with("/home/") || !dir.starts_with('/');
        if covered || self.homes.iter().any(|(known, _)| known == dir) {
            return;
        }
        let user = if user.is_empty() { dir.rsplit('/').next().unwrap_or(dir) } else { user };
        self.homes.push((dir.to_string(), user.to_string()));
        self.homes.sort_by_key(|(home, _)| std::cmp::Reverse(home.len()));
    }

    /// Learns the names a certificate is for: its DNS SANs and a dotted subject CN.
    pub fn learn_certificate(&mut self, certificate: &CertSummary) {
        for name in &certificate.sans {
            self.learn_host(name);
        }
        // A CN without a dot is often a product or CA name ("1Panel"), not a host name.
        for part in certificate.subject.split(',') {
            if let Some(common_name) = part.trim().strip_prefix("CN=").filter(|name| name.contains('.')) {
                self.learn_host(common_name);
            }
        }
    }

    /// Learns host names from variables whose name says they hold one (`host`, `server_name`,
    /// `*_host`, `*domain*`); a value may list several, separated by commas or spaces.
    pub fn learn_variables<'a>(&mut self, variables: impl IntoIterator<Item = (&'a String, &'a String)>) {
        for (name, value) in variables {
            let holds_host = name == "host" || name.ends_with("_host") || name.contains("server_name") || name.contains("domain");
            if holds_host {
                for host in value.split(|c: char| c == ',' || c.is_whitespace()) {
                    self.learn_host(host);
                }
            }
        }
    }

    /// Learns an identifier of certwiz to leave alone even where it looks like a domain.
    pub fn learn_identifier(&mut self, identifier: &str) {
        if identifier.contains('.') {
            self.identifiers.insert(identifier.to_string());
        }
    }

    /// Learns the state, choice and outcome ids and the variable names of a flow as identifiers.
    pub fn learn_flow(&mut self, flow: &Flow) {
        for name in flow.variables.keys() {
            self.learn_identifier(name);
        }
        for state in &flow.states {
            self.learn_identifier(&state.id);
            match &state.step {
                Step::Question { choices, .. } => choices.iter().for_each(|choice| self.learn_identifier(&choice.id)),
                Step::Check { next, .. } | Step::Action { next, .. } => next.keys().for_each(|outcome| self.learn_identifier(outcome)),
                Step::End { .. } => {}
            }
        }
    }

    /// Learns from a report: host names from its variables and certificates, and as
    /// identifiers its finding ids, evidence keys, state and choice ids and variable names.
    pub fn learn_report(&mut self, report: &Report) {
        for finding in &report.findings {
            self.learn_identifier(&finding.id);
            self.learn_identifier(&finding.state);
            self.learn_evidence_keys("", &finding.evidence);
        }
        for id in &report.path {
            self.learn_identifier(id);
        }
        for answer in &report.answers {
            self.learn_identifier(&answer.question);
            self.learn_identifier(&answer.choice);
        }
        for name in report.variables.keys() {
            self.learn_identifier(name);
        }
        self.learn_variables(&report.variables);
        let certificates = &report.certificates;
        for summary in [&certificates.served, &certificates.served_initially, &certificates.disk].into_iter().flatten() {
            self.learn_certificate(summary);
        }
    }

    /// Learns evidence keys and their dotted paths (`certificate.id`), as the Markdown report
    /// shows nested evidence.
    fn learn_evidence_keys(&mut self, prefix: &str, value: &serde_json::Value) {
        match value {
            serde_json::Value::Object(fields) => {
                for (key, field) in fields {
                    let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                    self.learn_identifier(key);
                    self.learn_identifier(&path);
                    self.learn_evidence_keys(&path, field);
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|item| self.learn_evidence_keys(prefix, item)),
            _ => {}
        }
    }

    fn is_identifier(&self, run: &str) -> bool {
        self.identifiers.contains(run)
    }

    /// Returns `text` with private keys removed and names, addresses and homes replaced.
    pub fn redact(&mut self, text: &str) -> String {
        let text = scrub_private_keys(text);
        let text = self.redact_homes(&text);
        let text = self.redact_url_users(&text);
        let text = self.redact_emails(&text);
        let text = self.redact_known(&text);
        let text = self.redact_ipv6(&text);
        let text = self.redact_ipv4(&text);
        self.redact_domains(&text)
    }

    /// Redacts the text between ANSI escape sequences, leaving the sequences intact, so that a
    /// coloured line keeps its colours and a name next to an escape is still found.
    pub fn redact_styled(&mut self, line: &str) -> String {
        let mut out = String::with_capacity(line.len());
        for (segment, is_escape) in ansi_segments(line) {
            if is_escape {
                out.push_str(segment);
            } else {
                out.push_str(&self.redact(segment));
            }
        }
        out
    }

    fn redact_homes(&mut self, text: &str) -> String {
        let text = if self.homes.is_empty() {
            text.to_string()
        } else {
            let homes = self.homes.clone();
            rewrite(text, |text, index| {
                if index > 0 && text[..index].chars().next_back().is_some_and(is_path_name_char) {
                    return None;
                }
                let rest = &text[index..];
                let (home, user) = homes.iter().find(|(home, _)| rest.starts_with(home.as_str()) && ends_name(rest, home.len()))?;
                Some((home.len(), format!("~{}", self.users.get(user))))
            })
        };
        rewrite(&text, |text, index| {
            let rest = &text[index..];
            if !rest.starts_with('/') || text[..index].chars().next_back().is_some_and(is_path_name_char) {
                return None;
            }
            if rest.starts_with("/root") && ends_name(rest, "/root".len()) {
                return Some(("/root".len(), format!("~{}", self.users.get("root"))));
            }
            let name = rest.strip_prefix("/home/")?;
            let length = name.find(|c: char| !is_path_name_char(c)).unwrap_or(name.len());
            let user = &name[..length];
            if user.is_empty() || user.starts_with('.') {
                return None;
            }
            Some(("/home/".len() + length, format!("~{}", self.users.get(user))))
        })
    }

    /// Replaces the user name of a URL (`ssh://dave@10.1.2.3`, `ftp://dave:secret@host`); a
    /// password becomes `***`. The host is left to the later steps.
    fn redact_url_users(&mut self, text: &str) -> String {
        if !text.contains("://") {
            return text.to_string();
        }
        rewrite(text, |text, index| {
            if !text[..index].ends_with("://") {
                return None;
            }
            let rest = &text[index..];
            let authority_end = rest.find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace()).unwrap_or(rest.len());
            let at = rest[..authority_end].rfind('@')?;
            let (user, password) = match rest[..at].split_once(':') {
                Some((user, password)) => (user, Some(password)),
                None => (&rest[..at], None),
            };
            if user.is_empty() || user.starts_with("user-") {
                return None;
            }
            let placeholder = self.users.get(user);
            let replacement = match password {
                Some(_) => format!("{placeholder}:***@"),
                None => format!("{placeholder}@"),
            };
            Some((at + 1, replacement))
        })
    }

    /// Replaces `user@domain` as a user and a host placeholder. Where the part after `@` is
    /// an address or a learnt single-label host (`dave@10.1.2.3`), only the user is replaced
    /// here and the later steps replace the rest.
    fn redact_emails(&mut self, text: &str) -> String {
        rewrite_runs(text, is_email_char, |run| {
            let (local, domain) = run.split_once('@')?;
            if local.is_empty() || domain.contains('@') || local.starts_with("user-") {
                return None;
            }
            if let Some((start, end)) = domain_span(domain).filter(|(start, _)| *start == 0) {
                let user = self.users.get(local);
                let host = self.hosts.get(&domain[start..end].to_ascii_lowercase());
                return Some(format!("{user}@{host}{}", &domain[end..]));
            }
            if !self.names_machine(domain) {
                return None;
            }
            Some(format!("{}@{domain}", self.users.get(local)))
        })
    }

    /// Returns whether `domain` (the part after `@`) starts with an IPv4 address or a learnt
    /// host name.
    fn names_machine(&self, domain: &str) -> bool {
        let address = domain.trim_end_matches('.');
        if address.parse::<Ipv4Addr>().is_ok_and(|address| !keeps_ip(IpAddr::V4(address))) {
            return true;
        }
        let lower = domain.to_ascii_lowercase();
        self.known_hosts.iter().any(|host| lower.starts_with(host.as_str()) && ends_name(&lower, host.len()))
    }

    /// Replaces learnt names. A dotted host name is specific enough to be replaced inside file
    /// names and path segments too (`panel.example.test-ssl-1.log`). A single label or a user
    /// name is replaced only as a whole word, so that `server` spares `server_name`.
    fn redact_known(&mut self, text: &str) -> String {
        let mut text = text.to_string();
        for host in self.known_hosts.clone() {
            let boundary = if host.contains('.') { Boundary::Alphanumeric } else { Boundary::Name };
            text = replace_word(&text, &host, true, boundary, &self.identifiers, &mut || self.hosts.get(&host));
        }
        for user in self.known_users.clone() {
            text = replace_word(&text, &user, false, Boundary::Name, &self.identifiers, &mut || self.users.get(&user));
        }
        text
    }

    fn redact_ipv6(&mut self, text: &str) -> String {
        rewrite_runs(text, is_ipv6_char, |run| {
            if run.matches(':').count() < 2 {
                return None;
            }
            let candidate = run.trim_end_matches('.');
            let (address, length) = match candidate.parse::<Ipv6Addr>() {
                Ok(address) => (address, candidate.len()),
                Err(_) => {
                    let shorter = candidate.strip_suffix(':')?;
                    (shorter.parse::<Ipv6Addr>().ok()?, shorter.len())
                }
            };
            if is_byte_list(&run[..length]) || keeps_ip(IpAddr::V6(address)) {
                return None;
            }
            Some(format!("{}{}", self.ips.get(&address.to_string()), &run[length..]))
        })
    }

    fn redact_ipv4(&mut self, text: &str) -> String {
        rewrite_runs(text, |c| c.is_ascii_digit() || c == '.', |run| {
            let candidate = run.trim_end_matches('.');
            let address = candidate.parse::<Ipv4Addr>().ok()?;
            if keeps_ip(IpAddr::V4(address)) {
                return None;
            }
            Some(format!("{}{}", self.ips.get(&address.to_string()), &run[candidate.len()..]))
        })
    }

    fn redact_domains(&mut self, text: &str) -> String {
        rewrite_runs(text, is_host_char, |run| {
            if self.is_identifier(run) {
                return None;
            }
            let (start, end) = domain_span(run)?;
            let host = self.hosts.get(&run[start..end].to_ascii_lowercase());
            Some(format!("{}{host}{}", &run[..start], &run[end..]))
        })
    }
}

fn is_host_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')
}

fn is_path_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')
}

fn is_email_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+' | '%' | '@')
}

fn is_ipv6_char(c: char) -> bool {
    c.is_ascii_hexdigit() || c == ':' || c == '.'
}

/// Returns whether the name that starts `rest` ends at `length`: at the end, before a
/// separator, or before a dot that ends a sentence.
fn ends_name(rest: &str, length: usize) -> bool {
    let mut after = rest[length..].chars();
    match after.next() {
        None => true,
        Some('.') => !after.next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        Some(c) => !is_host_char(c),
    }
}

fn is_loopback_name(name: &str) -> bool {
    name == "localhost" || name.ends_with(".localhost") || name == "localhost.localdomain"
}

/// Loopback and unspecified addresses name no machine, so they stay readable.
fn keeps_ip(address: IpAddr) -> bool {
    let address = match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    address.is_loopback() || address.is_unspecified()
}

/// Eight two-digit hex groups are a byte list (a serial number or a short fingerprint), which
/// happens to parse as an IPv6 address.
fn is_byte_list(text: &str) -> bool {
    let groups: Vec<&str> = text.split(':').collect();
    groups.len() == 8 && groups.iter().all(|group| group.len() == 2)
}

fn is_tld(label: &str) -> bool {
    let label = label.to_ascii_lowercase();
    label.chars().all(|c| c.is_ascii_alphabetic())
        && (COUNTRY_TLDS.split_whitespace().any(|tld| tld == label) || GENERIC_TLDS.split_whitespace().any(|tld| tld == label))
}

fn is_label(label: &str) -> bool {
    !label.is_empty() && label.len() <= 63 && !label.starts_with('-') && !label.ends_with('-')
}

/// Finds the domain inside a run of host characters: the labels up to the last one that is a
/// top-level domain. In `example.com.conf` that is `example.com`; `server.crt` has none.
fn domain_span(run: &str) -> Option<(usize, usize)> {
    let start = run.find(|c: char| c.is_ascii_alphanumeric())?;
    let mut labels = Vec::new();
    let mut offset = start;
    for label in run[start..].split('.') {
        labels.push((offset, label));
        offset += label.len() + 1;
    }

    let last_tld = (1..labels.len()).rev().find(|&index| is_tld(labels[index].1))?;
    if !labels[..=last_tld].iter().all(|(_, label)| is_label(label)) {
        return None;
    }
    let (tld_start, tld) = labels[last_tld];
    let end = tld_start + tld.len();
    if is_loopback_name(&run[start..end].to_ascii_lowercase()) {
        return None;
    }
    Some((start, end))
}

/// The context a learnt word needs around it to be replaced.
#[derive(Debug, Clone, Copy)]
enum Boundary {
    /// Not inside a longer name or a subdomain: no letter, digit, `-`, `_` or `.` next to it,
    /// except a dot that ends a sentence.
    Name,
    /// No letter or digit next to it, so `-`, `_`, `.` and `/` all end it.
    Alphanumeric,
}

/// Replaces `word` where `boundary` allows, unless the run of host characters around it is
/// one of `identifiers`. The placeholder is only taken when the word occurs, so numbers
/// follow what the output shows.
fn replace_word(
    text: &str,
    word: &str,
    ignore_case: bool,
    boundary: Boundary,
    identifiers: &BTreeSet<String>,
    placeholder: &mut dyn FnMut() -> String,
) -> String {
    // ASCII lower-casing keeps every byte offset, so indices into `haystack` fit `text`.
    let haystack = if ignore_case { text.to_ascii_lowercase() } else { text.to_string() };
    if !haystack.contains(word) {
        return text.to_string();
    }
    rewrite(text, |text, index| {
        if !haystack[index..].starts_with(word) {
            return None;
        }
        let before = text[..index].chars().next_back();
        let bounded = match boundary {
            Boundary::Name => !before.is_some_and(is_host_char) && ends_name(&text[index..], word.len()),
            Boundary::Alphanumeric => {
                let after = text[index + word.len()..].chars().next();
                !before.is_some_and(|c| c.is_ascii_alphanumeric()) && !after.is_some_and(|c| c.is_ascii_alphanumeric())
            }
        };
        if !bounded || identifiers.contains(host_run_around(text, index, word.len())) {
            return None;
        }
        Some((word.len(), placeholder()))
    })
}

/// Returns the run of host characters that contains `text[start..start + length]`.
fn host_run_around(text: &str, start: usize, length: usize) -> &str {
    let run_start = text[..start]
        .char_indices()
        .rev()
        .find(|(_, c)| !is_host_char(*c))
        .map_or(0, |(index, c)| index + c.len_utf8());
    let end = start + length;
    let run_end = text[end..].find(|c: char| !is_host_char(c)).map_or(text.len(), |index| end + index);
    &text[run_start..run_end]
}

/// Rebuilds `text`, letting `at` replace a span starting at any character: it returns the
/// number of bytes it consumed and their replacement.
fn rewrite(text: &str, mut at: impl FnMut(&str, usize) -> Option<(usize, String)>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut index = 0;
    while index < text.len() {
        if let Some((consumed, replacement)) = at(text, index) {
            out.push_str(&replacement);
            index += consumed;
            continue;
        }
        let Some(c) = text[index..].chars().next() else { break };
        out.push(c);
        index += c.len_utf8();
    }
    out
}

/// Rebuilds `text`, offering each maximal run of `is_run_char` characters to `replace`, which
/// does not see runs that touch a letter, digit or `_` on either side (`v1.2.3.4`).
fn rewrite_runs(text: &str, is_run_char: impl Fn(char) -> bool, mut replace: impl FnMut(&str) -> Option<String>) -> String {
    let is_word_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    rewrite(text, |text, index| {
        let rest = &text[index..];
        let before = text[..index].chars().next_back();
        if !rest.chars().next().is_some_and(&is_run_char) || before.is_some_and(&is_run_char) {
            return None;
        }
        let length = rest.find(|c: char| !is_run_char(c)).unwrap_or(rest.len());
        let after = rest[length..].chars().next();
        if before.is_some_and(is_word_char) || after.is_some_and(is_word_char) {
            return None;
        }
        replace(&rest[..length]).map(|replacement| (length, replacement))
    })
}

/// Splits a line into text and ANSI CSI escape sequences (`ESC [ ... final`); `true` marks
/// an escape sequence.
fn ansi_segments(line: &str) -> Vec<(&str, bool)> {
    let mut segments = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find("\x1b[") {
        if start > 0 {
            segments.push((&rest[..start], false));
        }
        let body = &rest[start + 2..];
        let end = body.find(|c: char| ('@'..='~').contains(&c)).map_or(body.len(), |end| end + 1);
        segments.push((&rest[start..start + 2 + end], true));
        rest = &body[end..];
    }
    if !rest.is_empty() {
        segments.push((rest, false));
    }
    segments
}

/// Returns `line` without ANSI escape sequences.
pub fn strip_ansi(line: &str) -> String {
    ansi_segments(line).into_iter().filter(|(_, is_escape)| !is_escape).map(|(text, _)| text).collect()
}

/// Returns `text` with every private key block replaced by [`KEY_REMOVED`].
///
/// A block runs from its `BEGIN` line to its `END` line. When the `END` line is missing (a
/// log line cut short), the rest of the line and the base64 lines after it are removed.
pub fn scrub_private_keys(text: &str) -> String {
    if !text.contains("PRIVATE KEY") {
        return text.to_string();
    }
    let mut scrubber = KeyScrubber::default();
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, ending) = match line.strip_suffix('\n') {
            Some(body) => (body.strip_suffix('\r').unwrap_or(body), &line[body.len()..]),
            None => (line, ""),
        };
        if let Some(kept) = scrubber.line(body) {
            out.push_str(&kept);
            out.push_str(ending);
        }
    }
    out
}

/// A base64 run at least this long after a removed `BEGIN` marker is key material, whatever
/// log prefix the line carries. PEM body lines hold 64 characters.
const MIN_KEY_RUN: usize = 40;

/// Removes private key blocks from text that arrives line by line.
///
/// After a `BEGIN ... PRIVATE KEY` marker without its `END`, the following lines are dropped
/// while they are key material: bare base64 lines, lines whose payload after a log prefix
/// (`[ERROR] tls: MIIE...`) is a base64 run of [`MIN_KEY_RUN`] characters or more, and one
/// shorter final run behind the same prefix. The block ends at its `END` marker or at the
/// first line that is clearly not base64.
#[derive(Debug, Default)]
pub struct KeyScrubber {
    /// A `BEGIN` marker was seen and its `END` marker not yet.
    in_key: bool,
    /// The log prefix of the marker or the last body line, with digits as `0` so that
    /// changing timestamps still match.
    prefix_shape: Option<String>,
    /// A body line shorter than [`MIN_KEY_RUN`] was dropped; only the `END` marker or bare
    /// base64 may follow.
    short_line_seen: bool,
}

impl KeyScrubber {
    /// Returns what may be shown of `line`, or `None` when the whole line is part of a key.
    pub fn line(&mut self, line: &str) -> Option<String> {
        let mut rest = line;
        let mut removed = false;
        if self.in_key {
            match find_end_marker(rest) {
                Some(after) => {
                    self.leave_key();
                    removed = true;
                    rest = &rest[after..];
                }
                None if self.is_body_line(rest) => return None,
                None => self.leave_key(),
            }
        }

        let mut out = String::new();
        while let Some((start, after)) = find_begin_marker(rest) {
            out.push_str(&rest[..start]);
            out.push_str(KEY_REMOVED);
            match find_end_marker(&rest[after..]) {
                Some(end) => rest = &rest[after + end..],
                None => {
                    self.enter_key(&rest[..start]);
                    rest = "";
                }
            }
        }
        // An `END` marker whose block was cut off earlier still names a key; it goes too.
        while let Some((start, after)) = find_marker(rest, "-----END ") {
            out.push_str(&rest[..start]);
            out.push_str(KEY_REMOVED);
            rest = &rest[after..];
        }
        out.push_str(rest);

        if removed && strip_ansi(&out).trim().is_empty() {
            None
        } else {
            Some(out)
        }
    }

    fn enter_key(&mut self, prefix: &str) {
        self.in_key = true;
        self.prefix_shape = Some(prefix_shape(&strip_ansi(prefix)));
        self.short_line_seen = false;
    }

    fn leave_key(&mut self) {
        self.in_key = false;
        self.prefix_shape = None;
        self.short_line_seen = false;
    }

    /// Returns whether `line`, seen inside a key block, is part of the key.
    fn is_body_line(&mut self, line: &str) -> bool {
        if looks_like_key_body(line) {
            return true;
        }
        let text = strip_ansi(line);
        let text = text.trim();
        if longest_base64_run(text) >= MIN_KEY_RUN && !self.short_line_seen {
            let payload_start = text.len() - base64_suffix_len(text);
            self.prefix_shape = Some(prefix_shape(&text[..payload_start]));
            return true;
        }

        let payload_length = base64_suffix_len(text);
        let same_prefix = self.prefix_shape.as_deref() == Some(prefix_shape(&text[..text.len() - payload_length]).as_str());
        if payload_length > 0 && same_prefix && !self.short_line_seen {
            self.short_line_seen = true;
            return true;
        }
        false
    }
}

fn is_base64_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')
}

/// Returns the length in bytes of the base64 run that ends `text`.
fn base64_suffix_len(text: &str) -> usize {
    text.chars().rev().take_while(|&c| is_base64_char(c)).count()
}

fn longest_base64_run(text: &str) -> usize {
    text.split(|c: char| !is_base64_char(c)).map(str::len).max().unwrap_or(0)
}

/// Returns a log prefix with its digits as `0` and without surrounding blanks.
fn prefix_shape(prefix: &str) -> String {
    prefix.trim().chars().map(|c| if c.is_ascii_digit() { '0' } else { c }).collect()
}

/// Finds `-----BEGIN <label> PRIVATE KEY-----`; returns its start and the index after it.
fn find_begin_marker(text: &str) -> Option<(usize, usize)> {
    find_marker(text, "-----BEGIN ")
}

/// Finds `-----END <label> PRIVATE KEY-----`; returns the index after it.
fn find_end_marker(text: &str) -> Option<usize> {
    find_marker(text, "-----END ").map(|(_, after)| after)
}

/// Finds `<opening><label> PRIVATE KEY-----`; returns its start and the index after it.
fn find_marker(text: &str, opening: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(found) = text[from..].find(opening) {
        let start = from + found;
        let label_start = start + opening.len();
        let label_end = label_start + text[label_start..].find("-----")?;
        if text[label_start..label_end].ends_with("PRIVATE KEY") {
            return Some((start, label_end + "-----".len()));
        }
        from = label_end;
    }
    None
}

/// A line inside a PEM block: base64, an encryption header, or empty.
fn looks_like_key_body(line: &str) -> bool {
    let line = strip_ansi(line);
    let line = line.trim();
    line.is_empty() || line.starts_with("Proc-Type:") || line.starts_with("DEK-Info:") || line.chars().all(is_base64_char)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_BODY: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgc2VjcmV0c2VjcmV0";

    fn redact(text: &str) -> String {
        Redactor::new().redact(text)
    }

    #[test]
    fn ipv4_becomes_placeholder_and_keeps_port() {
        assert_eq!(redact("handshake error from 203.0.113.7:51234: EOF"), "handshake error from ip-1:51234: EOF");
    }

    #[test]
    fn loopback_and_unspecified_stay() {
        let text = "127.0.0.1:443 [::1]:443 0.0.0.0:80 :: ::ffff:127.0.0.1 localhost";
        assert_eq!(redact(text), text);
    }

    #[test]
    fn ipv6_becomes_placeholder() {
        let mut redactor = Redactor::new();
        assert_eq!(redactor.redact("from [2001:db8::5]:443 and 2001:DB8:0::5."), "from [ip-1]:443 and ip-1.");
        assert_eq!(redactor.redact("fe80::1%eth0"), "ip-2%eth0");
    }

    #[test]
    fn fingerprints_serials_and_times_stay() {
        let text = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89 \
                    5e:ed:12:34 01:23:45:67:89:ab:cd:ef 2026-12-04 20:20:13.610 UTC v1.2.3.4 nginx/1.24.0";
        assert_eq!(redact(text), text);
    }

    #[test]
    fn domains_in_text_and_paths_are_replaced() {
        let mut redactor = Redactor::new();
        let text = "x509: certificate is valid for shop.example.com, not Shop.Example.COM in \
                    /www/sites/shop.example.com/ssl/fullchain.pem and conf.d/api.example.cn.conf";
        assert_eq!(
            redactor.redact(text),
            "x509: certificate is valid for host-1, not host-1 in /www/sites/host-1/ssl/fullchain.pem and conf.d/host-2.conf"
        );
    }

    #[test]
    fn file_names_and_identifiers_stay() {
        let text = "server.crt privkey.pem access.log.1.gz README.md main.go runtime.gopanic http.Server e.g. 1pctl";
        assert_eq!(redact(text), text);
    }

    #[test]
    fn wildcard_sans_keep_their_star() {
        assert_eq!(redact("covers: *.example.org, example.org"), "covers: *.host-1, host-1");
    }

    #[test]
    fn learnt_single_label_host_is_replaced() {
        let mut redactor = Redactor::new();
        redactor.learn_host("MyServer");
        assert_eq!(redactor.redact("myserver: ready. myserver.lan myservers"), "host-1: ready. host-2 myservers");
    }

    #[test]
    fn learnt_localhost_stays() {
        let mut redactor = Redactor::new();
        redactor.learn_host("localhost");
        redactor.learn_host("127.0.0.1");
        assert_eq!(redactor.redact("localhost 127.0.0.1"), "localhost 127.0.0.1");
    }

    #[test]
    fn home_directories_become_user_placeholders() {
        let mut redactor = Redactor::new();
        let text = "/home/alice/.acme.sh/x /root/.acme.sh/y /home/alice /srv/home/bob /rootfs file:///home/carol/z";
        assert_eq!(redactor.redact(text), "~user-1/.acme.sh/x ~user-2/.acme.sh/y ~user-1 /srv/home/bob /rootfs file://~user-3/z");
    }

    #[test]
    fn learnt_user_is_replaced_as_word() {
        let mut redactor = Redactor::new();
        redactor.learn_user("alice");
        redactor.learn_user("root");
        assert_eq!(redactor.redact("/home/alice: alice logged in as root; malice"), "~user-1: user-1 logged in as root; malice");
    }

    #[test]
    fn learnt_home_outside_home_is_replaced() {
        let mut redactor = Redactor::new();
        redactor.learn_home("/var/lib/bob/", "bob");
        assert_eq!(redactor.redact("/var/lib/bob/cert.pem /var/lib/bobby"), "~user-1/cert.pem /var/lib/bobby");
    }

    #[test]
    fn email_splits_into_user_and_host() {
        assert_eq!(redact("account admin+acme@example.net registered"), "account user-1@host-1 registered");
    }

    #[test]
    fn certificate_names_are_learnt() {
        let mut redactor = Redactor::new();
        let certificate = CertSummary {
            subject: "CN=panel.corp-intra, O=Acme".to_string(),
            sans: vec!["gateway".to_string(), "10.1.2.3".to_string()],
            issuer: "CN=R11".to_string(),
            serial: "01".to_string(),
            not_before: time::OffsetDateTime::UNIX_EPOCH,
            not_after: time::OffsetDateTime::UNIX_EPOCH,
            sha256: "AA".to_string(),
        };
        redactor.learn_certificate(&certificate);
        assert_eq!(redactor.redact("gateway panel.corp-intra 10.1.2.3 Acme"), "host-2 host-1 ip-1 Acme");
    }

    #[test]
    fn styled_line_keeps_escapes() {
        let mut redactor = Redactor::new();
        let line = "\x1b[2mshop.example.com\x1b[0m 203.0.113.9";
        assert_eq!(redactor.redact_styled(line), "\x1b[2mhost-1\x1b[0m ip-1");
    }

    #[test]
    fn placeholders_are_stable_per_redactor() {
        let mut redactor = Redactor::new();
        assert_eq!(redactor.redact("a.example.com b.example.com"), "host-1 host-2");
        assert_eq!(redactor.redact("b.example.com a.example.com"), "host-2 host-1");
    }

    #[test]
    fn key_block_on_several_lines_is_removed() {
        let text = format!("before\n-----BEGIN PRIVATE KEY-----\n{KEY_BODY}\n{KEY_BODY}\n-----END PRIVATE KEY-----\nafter\n");
        assert_eq!(scrub_private_keys(&text), format!("before\n{KEY_REMOVED}\nafter\n"));
    }

    #[test]
    fn key_block_on_one_line_is_removed() {
        let text = format!("load: -----BEGIN EC PRIVATE KEY-----{KEY_BODY}-----END EC PRIVATE KEY----- failed");
        assert_eq!(scrub_private_keys(&text), format!("load: {KEY_REMOVED} failed"));
    }

    #[test]
    fn key_block_without_end_removes_the_rest() {
        let text = format!("key: -----BEGIN RSA PRIVATE KEY-----{KEY_BODY}\n{KEY_BODY}\nnext line");
        assert_eq!(scrub_private_keys(&text), format!("key: {KEY_REMOVED}\nnext line"));
    }

    #[test]
    fn certificate_blocks_stay() {
        let text = format!("-----BEGIN CERTIFICATE-----\n{KEY_BODY}\n-----END CERTIFICATE-----\n");
        assert_eq!(scrub_private_keys(&text), text);
    }

    #[test]
    fn learnt_domain_is_replaced_inside_file_names() {
        let mut redactor = Redactor::new();
        redactor.learn_host("panel.corp-alpha.test");
        let text = "/opt/1panel/log/ssl/panel.corp-alpha.test-ssl-1.log acme/panel.corp-alpha.test_ecc/ for panel.corp-alpha.test";
        assert_eq!(redactor.redact(text), "/opt/1panel/log/ssl/host-1-ssl-1.log acme/host-1_ecc/ for host-1");
    }

    #[test]
    fn learnt_single_label_spares_longer_identifiers() {
        let mut redactor = Redactor::new();
        redactor.learn_host("server");
        assert_eq!(redactor.redact("server_name=server server-1 webserver"), "server_name=host-1 server-1 webserver");
    }

    #[test]
    fn url_user_is_replaced() {
        let mut redactor = Redactor::new();
        let text = "ssh://dave@10.1.2.3 https://bob:hunter2@mirror.example.net/x admin@corp.test";
        assert_eq!(redactor.redact(text), "ssh://user-1@ip-1 https://user-2:***@host-2/x user-3@host-1");
    }

    #[test]
    fn user_before_address_is_replaced() {
        let mut redactor = Redactor::new();
        redactor.learn_host("gateway");
        assert_eq!(redactor.redact("ssh dave@10.1.2.3; scp x carol@gateway:/tmp"), "ssh user-1@ip-1; scp x user-2@host-1:/tmp");
    }

    #[test]
    fn learnt_identifiers_stay() {
        let mut redactor = Redactor::new();
        let mut report = Report::new("panel", crate::i18n::Lang::En);
        let mut finding = crate::findings::Finding::new(
            "panel.settings",
            crate::findings::Severity::Info,
            "settings",
            serde_json::json!({ "certificate": { "id": 3, "leaf": { "domain.name": "x" } } }),
        );
        finding.state = "check-status".to_string();
        report.findings.push(finding);
        redactor.learn_report(&report);
        let text = "certificate.id certificate.leaf.domain.name shop.example.id";
        assert_eq!(redactor.redact(text), "certificate.id certificate.leaf.domain.name host-1");
    }

    #[test]
    fn finding_ids_ending_in_invalid_stay() {
        let mut redactor = Redactor::new();
        assert_eq!(redactor.redact("served.invalid disk.invalid"), "served.invalid disk.invalid");
        redactor.learn_host("shop.invalid");
        assert_eq!(redactor.redact("shop.invalid"), "host-1");
    }

    /// Returns a PEM body of `lines` lines of 64 base64 characters and a short last line.
    fn long_key_body(lines: usize) -> Vec<String> {
        let alphabet: Vec<char> = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".chars().collect();
        let mut body: Vec<String> =
            (0..lines).map(|line| (0..64).map(|column| alphabet[(line * 7 + column * 3) % 64]).collect()).collect();
        body.push("QUFBQUFBQUFBQQ==".to_string());
        body
    }

    #[test]
    fn prefixed_key_lines_are_removed() {
        let body = long_key_body(25);
        let mut text = "2026/01/02 10:00:05 [ERROR] tls: -----BEGIN RSA PRIVATE KEY-----\n".to_string();
        for (index, line) in body.iter().enumerate() {
            text.push_str(&format!("2026/01/02 10:00:{:02} [ERROR] tls: {line}\n", 6 + index % 50));
        }
        text.push_str("2026/01/02 10:00:59 [ERROR] tls: -----END RSA PRIVATE KEY-----\n");
        text.push_str("2026/01/02 10:01:00 [ERROR] tls: handshake failed\n");

        let scrubbed = scrub_private_keys(&text);
        assert_eq!(scrubbed, format!("2026/01/02 10:00:05 [ERROR] tls: {KEY_REMOVED}\n2026/01/02 10:01:00 [ERROR] tls: handshake failed\n"));
    }

    #[test]
    fn key_block_ends_at_plain_text_line() {
        let body = long_key_body(2);
        let text = format!("[ERROR] tls: -----BEGIN PRIVATE KEY-----\n[ERROR] tls: {}\n[ERROR] tls: reload failed\n[ERROR] tls: retry\n", body[0]);
        assert_eq!(scrub_private_keys(&text), format!("[ERROR] tls: {KEY_REMOVED}\n[ERROR] tls: reload failed\n[ERROR] tls: retry\n"));
    }

    #[test]
    fn stray_end_marker_is_removed() {
        assert_eq!(scrub_private_keys("tls: -----END EC PRIVATE KEY----- done"), format!("tls: {KEY_REMOVED} done"));
    }

    #[test]
    fn redact_scrubs_keys_too() {
        let text = format!("-----BEGIN PRIVATE KEY-----\n{KEY_BODY}\n-----END PRIVATE KEY-----");
        assert_eq!(redact(&text), format!("{KEY_REMOVED}\n"));
    }
}
