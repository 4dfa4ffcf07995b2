//! The `site-status` check: find the nginx server block that serves a domain, map the
//! certificate files it names to the host, and compare what the port serves with those files.
//! For a containerised nginx such as 1Panel's OpenResty, paths are mapped through the
//! container's mounts.
//!
//! The check discovers `cert_file`, `key_file` and `server_name` for the later `verify` state,
//! and, for a container, the `docker exec` form of the test and reload commands.

use std::net::{IpAddr, Ipv4Addr, ToSocketAddrs};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rust_i18n::t;
use serde_json::json;
use time::OffsetDateTime;

use super::disk::{format_time, read_pair, DiskPair};
use super::endpoint::{served_findings, Served};
use super::status::{comparison_finding, format_system_time};
use super::CheckOutput;
use crate::certs::{self, CertSummary, ParsedCert};
use crate::docker::{self, Container, HostPath};
use crate::findings::{Finding, Severity};
use crate::nginx::{self, Config, NameMatch, Selection, ServerBlock};
use crate::probe::{self, ProbeTarget, ServedChain, Verdict};
use crate::process::{self, ListenerProcess, ProcessError};
use crate::variables::{VariableError, Variables};

mod outcome;
mod settings;
mod workers;

use outcome::{decide, Signals};
use settings::{Settings, NGINX_PROGRAMS};
use workers::{changed_after, last_reload, settle_probes, split_master};

pub use settings::{command_for_container, validate};

/// File name that certbot, acme.sh exports and 1Panel give the leaf-plus-intermediates chain.
const FULLCHAIN_NAME: &str = "fullchain.pem";

/// Wait before each extra probe of [`settle`].
const SETTLE_INTERVAL: Duration = Duration::from_millis(500);

/// Lines of a failed command's stderr kept in a finding's evidence.
const STDERR_LINES: usize = 20;

/// The certificate and key files of the selected block, as nginx names them and on the host.
#[derive(Debug, Clone)]
struct SiteFiles {
    cert: PathBuf,
    cert_host: PathBuf,
    key: PathBuf,
    key_host: PathBuf,
}

/// Runs the check.
pub async fn run(variables: &Variables, now: OffsetDateTime) -> Result<CheckOutput, VariableError> {
    let settings = Settings::read(variables)?;
    let mut check = SiteCheck {
        settings: &settings,
        findings: Vec::new(),
        signals: Signals::default(),
        discovered: Vec::new(),
        cert_changed_after_reload: None,
    };

    let container = match &settings.container {
        Some(name) => match check.inspect(name).await {
            Some(container) => Some(container),
            None => return Ok(check.finish_unknown()),
        },
        None => None,
    };
    let Some(config) = check.load_config(container.as_ref()).await else {
        return Ok(check.finish_unknown());
    };

    let probe_result = probe::probe(&settings.target).await;
    let served_chain = probe_result.as_ref().ok().cloned();
    let local = local_address(&settings.target, served_chain.as_ref());
    let served = served_findings(&settings.target, probe_result, now);

    let blocks = nginx::server_blocks(&config);
    let Some(selection) = nginx::select(&blocks, local, settings.port, &settings.domain) else {
        check.no_listener(local, &blocks);
        check.signals.no_listener = true;
        return Ok(check.finish(served, None));
    };
    check.describe_selection(&selection, local);

    let Some(files) = check.block_files(&selection, container.as_ref(), served.leaf.as_ref())
    else {
        return Ok(check.finish(served, None));
    };
    if let Some(container) = &container {
        check.map_findings(container, &files).await;
    }
    check.discover(variables, &files, selection.block, container.as_ref());

    let mut with_files = variables.clone();
    with_files.set("cert_file", &files.cert_host.display().to_string());
    with_files.set("key_file", &files.key_host.display().to_string());
    let disk = read_pair(&with_files, now)?;
    let listeners = process::find_listeners(settings.port);
    let probes = settle_probes(&listeners);
    let (served, served_chain) =
        settle(&settings.target, probes, served, served_chain, &disk, now).await;

    check.compare(&served, served_chain.as_ref(), &disk, &files, &selection);
    let last_reload = check.process_findings(&listeners, &files.cert_host);
    check.served_by_other_block(&served, &disk, &selection, container.as_ref());
    check.conf_changes(selection.block, container.as_ref(), last_reload);
    check.expected_file(&files, &disk);
    Ok(check.finish(served, Some(disk)))
}

/// Probes again while the served chain differs from the file, because right after a reload the
/// old nginx workers still accept connections for a moment (about 0.2 s with nginx 1.22 on an
/// idle test machine) before the new ones take over.
async fn settle(
    target: &ProbeTarget,
    probes: usize,
    mut served: Served,
    mut chain: Option<ServedChain>,
    disk: &DiskPair,
    now: OffsetDateTime,
) -> (Served, Option<ServedChain>) {
    for _ in 0..probes {
        let Some(current) = &chain else { break };
        if disk.chain.is_empty() || same_chain(current, disk) {
            break;
        }
        tokio::time::sleep(SETTLE_INTERVAL).await;
        let result = probe::probe(target).await;
        chain = result.as_ref().ok().cloned();
        served = served_findings(target, result, now);
    }
    (served, chain)
}

fn same_chain(served: &ServedChain, disk: &DiskPair) -> bool {
    served.chain.len() == disk.chain.len()
        && served
            .chain
            .iter()
            .zip(&disk.chain)
            .all(|(served, file)| served.as_ref() == file.der.as_ref())
}

struct SiteCheck<'a> {
    settings: &'a Settings,
    findings: Vec<Finding>,
    signals: Signals,
    discovered: Vec<(String, String)>,
    /// Whether the selected block's certificate file changed after nginx last loaded its
    /// configuration. `None` when the nginx processes or the file's mtime cannot be read.
    cert_changed_after_reload: Option<bool>,
}

impl SiteCheck<'_> {
    fn push(
        &mut self,
        id: &str,
        severity: Severity,
        message: impl Into<String>,
        evidence: serde_json::Value,
    ) {
        self.findings
            .push(Finding::new(id, severity, message, evidence));
    }

    fn finish_unknown(mut self) -> CheckOutput {
        self.signals.config_unknown = true;
        let mut output = CheckOutput::new(decide(&self.signals));
        output.findings = self.findings;
        output
    }

    /// Orders the findings (configuration, then served, then files, then comparisons) and picks
    /// the outcome.
    fn finish(mut self, served: Served, disk: Option<DiskPair>) -> CheckOutput {
        self.signals.unreachable = served.leaf.is_none();
        self.signals.served_acceptable = served.acceptable;

        let mut findings = std::mem::take(&mut self.findings);
        let (site_first, comparisons): (Vec<Finding>, Vec<Finding>) = findings
            .drain(..)
            .partition(|finding| !is_comparison(&finding.id));

        let mut output = CheckOutput::new(decide(&self.signals));
        output.findings = site_first;
        output.findings.extend(served.findings);
        if let Some(disk) = &disk {
            output.findings.extend(disk.findings.iter().cloned());
            output.disk = disk.leaf().cloned();
        }
        output.findings.extend(comparisons);
        output.served = served.leaf;
        output.discovered = self.discovered;
        output
    }

    /// Runs `docker inspect`, or returns `None` with a finding when it fails.
    async fn inspect(&mut self, name: &str) -> Option<Container> {
        match docker::inspect(name, self.settings.command_timeout).await {
            Ok(container) => {
                self.push(
                    "site.container",
                    Severity::Info,
                    t!("finding.site.container", container = name, mounts = container.mounts.len()),
                    json!({ "container": name, "mounts": container.mounts, "running": container.running }),
                );
                if !container.running {
                    self.push(
                        "site.container_stopped",
                        Severity::Warning,
                        t!("finding.site.container_stopped", container = name),
                        json!({ "container": name }),
                    );
                }
                Some(container)
            }
            Err(error) => {
                self.push(
                    "site.container_failed",
                    Severity::Error,
                    t!(
                        "finding.site.container_failed",
                        container = name,
                        detail = error.to_string()
                    ),
                    json!({ "container": name, "detail": error.to_string() }),
                );
                None
            }
        }
    }

    /// Reads the configuration from the dump command, else from `conf_file`.
    async fn load_config(&mut self, container: Option<&Container>) -> Option<Config> {
        if let Some(argv) = &self.settings.dump {
            if let Some(config) = self.run_dump(argv).await {
                return Some(config);
            }
        }
        let conf_file = self.settings.conf_file.clone()?;
        match nginx::read_files(&conf_file, &|path: &Path| host_path(path, container)) {
            Ok(config) => {
                self.config_read(&config, &conf_file.display().to_string());
                Some(config)
            }
            Err(error) => {
                self.push(
                    "site.conf_unreadable",
                    Severity::Error,
                    t!(
                        "finding.site.conf_unreadable",
                        path = conf_file.display(),
                        detail = error.to_string()
                    ),
                    json!({ "conf_file": conf_file, "detail": error.to_string() }),
                );
                None
            }
        }
    }

    async fn run_dump(&mut self, argv: &[String]) -> Option<Config> {
        let command = argv.join(" ");
        let output = match docker::capture(argv, self.settings.command_timeout).await {
            Ok(output) => output,
            Err(error) => {
                self.dump_failed(
                    &command,
                    &error.to_string(),
                    json!({ "command": argv, "detail": error.to_string() }),
                );
                return None;
            }
        };
        if !output.success() {
            let detail = nginx_error_line(&output.stderr);
            let evidence = json!({ "command": argv, "exit_code": output.code, "stderr": last_lines(&output.stderr, STDERR_LINES) });
            self.dump_failed(&command, &detail, evidence);
            return None;
        }
        match nginx::parse_dump(&output.stdout) {
            Ok(config) => {
                self.config_read(&config, &command);
                Some(config)
            }
            Err(error) => {
                self.push(
                    "site.dump_invalid",
                    Severity::Error,
                    t!(
                        "finding.site.dump_invalid",
                        command = command,
                        detail = error.to_string()
                    ),
                    json!({ "command": argv, "detail": error.to_string() }),
                );
                None
            }
        }
    }

    fn dump_failed(&mut self, command: &str, detail: &str, evidence: serde_json::Value) {
        let message = if self.settings.conf_file.is_some() {
            t!(
                "finding.site.dump_failed_reading_files",
                command = command,
                detail = detail
            )
        } else {
            t!(
                "finding.site.dump_failed",
                command = command,
                detail = detail
            )
        };
        self.push("site.dump_failed", Severity::Error, message, evidence);
    }

    fn config_read(&mut self, config: &Config, source: &str) {
        let blocks = nginx::server_blocks(config).len();
        self.push(
            "site.config_read",
            Severity::Info,
            t!("finding.site.config_read", source = source, files = config.files.len(), blocks = blocks),
            json!({ "source": source, "main_file": config.main_file, "files": config.files, "server_blocks": blocks }),
        );
    }

    fn no_listener(&mut self, local: IpAddr, blocks: &[ServerBlock]) {
        let mut ports: Vec<u16> = blocks
            .iter()
            .flat_map(|block| block.listens.iter().map(|listen| listen.port))
            .collect();
        ports.sort_unstable();
        ports.dedup();
        let ports_text: Vec<String> = ports.iter().map(u16::to_string).collect();
        self.push(
            "site.no_listener",
            Severity::Error,
            t!("finding.site.no_listener", address = local, port = self.settings.port, ports = ports_text.join(", ")),
            json!({ "address": local.to_string(), "port": self.settings.port, "configured_ports": ports }),
        );
    }

    fn describe_selection(&mut self, selection: &Selection<'_>, local: IpAddr) {
        let block = selection.block;
        let evidence = json!({
            "location": block.location(),
            "server_name": block.names,
            "listen": block.listens,
            "name_match": selection.name_match,
            "ssl_certificate": block.certificates,
            "ssl_certificate_key": block.keys,
            "candidates": selection.candidates.iter().map(|candidate| candidate.location()).collect::<Vec<_>>(),
        });
        let domain = &self.settings.domain;
        let port = self.settings.port;

        match &selection.name_match {
            NameMatch::Exact(pattern)
            | NameMatch::LeadingWildcard(pattern)
            | NameMatch::TrailingWildcard(pattern) => self.push(
                "site.server_block",
                Severity::Ok,
                t!(
                    "finding.site.server_block",
                    domain = domain,
                    location = block.location(),
                    pattern = pattern
                ),
                evidence,
            ),
            NameMatch::Default => {
                let names = block.names.join(" ");
                self.push(
                    "site.no_name_match",
                    Severity::Warning,
                    t!(
                        "finding.site.no_name_match",
                        domain = domain,
                        address = local,
                        port = port,
                        location = block.location(),
                        names = names
                    ),
                    evidence,
                );
                if !selection.regex_names.is_empty() {
                    self.push(
                        "site.regex_not_checked",
                        Severity::Info,
                        t!(
                            "finding.site.regex_not_checked",
                            names = selection.regex_names.join(" ")
                        ),
                        json!({ "regex_names": selection.regex_names }),
                    );
                }
            }
        }

        if !selection.ssl {
            self.signals.no_block_or_ssl = true;
            self.push(
                "site.no_ssl",
                Severity::Error,
                t!(
                    "finding.site.no_ssl",
                    location = block.location(),
                    port = port
                ),
                json!({ "location": block.location(), "port": port, "listen": block.listens }),
            );
        }
    }

    /// Picks the certificate/key pair of the block (the one being served when the block has
    /// several, e.g. RSA and ECDSA) and maps it to host paths. `None` with a finding when the
    /// block names no certificate file.
    fn block_files(
        &mut self,
        selection: &Selection<'_>,
        container: Option<&Container>,
        served: Option<&CertSummary>,
    ) -> Option<SiteFiles> {
        let block = selection.block;
        if block.certificates.is_empty() {
            if block.dynamic_certificates.is_empty() {
                self.signals.no_block_or_ssl = true;
                self.push(
                    "site.no_certificate",
                    Severity::Error,
                    t!("finding.site.no_certificate", location = block.location()),
                    json!({ "location": block.location() }),
                );
            } else {
                self.signals.config_unknown = true;
                self.push(
                    "site.dynamic_certificate",
                    Severity::Warning,
                    t!("finding.site.dynamic_certificate", location = block.location(), value = block.dynamic_certificates.join(" ")),
                    json!({ "location": block.location(), "ssl_certificate": block.dynamic_certificates }),
                );
            }
            return None;
        }

        let to_host = |path: &Path| host_path(path, container);
        let index = block
            .certificates
            .iter()
            .position(|cert| {
                served.is_some_and(|served| {
                    leaf_of(&to_host(cert)).is_some_and(|leaf| leaf.sha256 == served.sha256)
                })
            })
            .unwrap_or(0);
        let cert = block.certificates[index].clone();
        let key = match block.keys.get(index) {
            Some(key) => key.clone(),
            None => {
                self.push(
                    "site.no_certificate_key",
                    Severity::Error,
                    t!(
                        "finding.site.no_certificate_key",
                        location = block.location(),
                        path = cert.display()
                    ),
                    json!({ "location": block.location(), "ssl_certificate": cert }),
                );
                // Reading the key from the certificate file then reports the missing key as a
                // disk finding, and the flow never reloads onto this block.
                cert.clone()
            }
        };
        Some(SiteFiles {
            cert_host: to_host(&cert),
            key_host: to_host(&key),
            cert,
            key,
        })
    }

    /// Reports how the container paths map to the host, and checks single-file bind mounts for
    /// a stale inode.
    async fn map_findings(&mut self, container: &Container, files: &SiteFiles) {
        let mut paths = vec![files.cert.clone(), files.key.clone()];
        paths.dedup();
        for path in paths {
            match container.host_path(&path) {
                HostPath::Mounted {
                    host,
                    mount,
                    single_file,
                } => {
                    self.push(
                        "site.path_mapped",
                        Severity::Info,
                        t!("finding.site.path_mapped", path = path.display(), container = &container.reference, host = host.display()),
                        json!({ "container_path": path, "host_path": host, "mount": mount, "single_file": single_file }),
                    );
                    if single_file {
                        self.check_inode(container, &path, &host).await;
                    }
                }
                HostPath::ContainerLayer { merged } => {
                    self.signals.not_mounted = true;
                    self.push(
                        "site.path_not_mounted",
                        Severity::Error,
                        t!(
                            "finding.site.path_not_mounted",
                            path = path.display(),
                            container = &container.reference
                        ),
                        json!({ "container_path": path, "merged_path": merged }),
                    );
                }
            }
        }
    }

    async fn check_inode(&mut self, container: &Container, path: &Path, host: &Path) {
        let host_inode = std::fs::metadata(host).map(|metadata| metadata.ino());
        let seen =
            docker::inode_in_container(&container.reference, path, self.settings.command_timeout)
                .await;
        let evidence = |host_inode: Option<u64>, seen: Option<u64>| json!({ "container": container.reference, "container_path": path, "host_path": host, "host_inode": host_inode, "container_inode": seen });

        match (host_inode, seen) {
            (Ok(host_inode), Ok(seen)) if host_inode != seen => {
                self.signals.stale_inode = true;
                self.push(
                    "site.stale_inode",
                    Severity::Error,
                    t!(
                        "finding.site.stale_inode",
                        path = path.display(),
                        container = &container.reference,
                        seen = seen,
                        host = host.display(),
                        inode = host_inode
                    ),
                    evidence(Some(host_inode), Some(seen)),
                );
            }
            (Ok(host_inode), Ok(seen)) => self.push(
                "site.single_file_mount",
                Severity::Warning,
                t!(
                    "finding.site.single_file_mount",
                    path = path.display(),
                    container = &container.reference,
                    host = host.display()
                ),
                evidence(Some(host_inode), Some(seen)),
            ),
            (host_inode, seen) => {
                let detail = match (&host_inode, &seen) {
                    (Err(error), _) => format!("{}: {error}", host.display()),
                    (_, Err(error)) => error.to_string(),
                    _ => String::new(),
                };
                self.push(
                    "site.inode_unknown",
                    Severity::Warning,
                    t!(
                        "finding.site.inode_unknown",
                        path = path.display(),
                        detail = detail
                    ),
                    evidence(host_inode.ok(), seen.ok()),
                );
            }
        }
    }

    /// Records the variables later states need: the block's files on the host, the SNI name,
    /// the container forms of the commands, and the error log when none is set.
    fn discover(
        &mut self,
        variables: &Variables,
        files: &SiteFiles,
        block: &ServerBlock,
        container: Option<&Container>,
    ) {
        let mut discovered = vec![
            (
                "cert_file".to_string(),
                files.cert_host.display().to_string(),
            ),
            ("key_file".to_string(), files.key_host.display().to_string()),
            ("server_name".to_string(), self.settings.domain.clone()),
        ];
        if let Some(container) = container {
            for name in ["test_command", "reload_command"] {
                let text = variables.text(name);
                let wrapped = command_for_container(text, &container.reference);
                if wrapped != text {
                    discovered.push((name.to_string(), wrapped));
                }
            }
        }
        if variables.text("log_files").is_empty() && !block.error_logs.is_empty() {
            let logs: Vec<String> = block
                .error_logs
                .iter()
                .map(|log| host_path(log, container).display().to_string())
                .collect();
            discovered.push(("log_files".to_string(), logs.join(",")));
        }
        self.discovered = discovered;
    }

    /// Compares the served chain with the block's files.
    fn compare(
        &mut self,
        served: &Served,
        chain: Option<&ServedChain>,
        disk: &DiskPair,
        files: &SiteFiles,
        selection: &Selection<'_>,
    ) {
        self.signals.disk_unusable = !disk.usable;
        self.signals.served_chain_incomplete =
            chain.is_some_and(|chain| chain.verdict == Verdict::ChainIncomplete);
        self.leaf_only(disk, files);

        if selection.name_match == NameMatch::Default {
            let covers = disk
                .leaf()
                .is_some_and(|leaf| covers(&leaf.sans, &self.settings.domain));
            self.signals.name_fell_through = !covers;
            if let Some(finding) = self
                .findings
                .iter_mut()
                .find(|finding| finding.id == "site.no_name_match")
            {
                finding.severity = if covers {
                    Severity::Info
                } else {
                    Severity::Error
                };
            }
        }

        let (Some(served_leaf), Some(disk_leaf)) = (&served.leaf, disk.leaf()) else {
            return;
        };
        self.signals.served_matches_disk = served_leaf.sha256 == disk_leaf.sha256;
        self.push_finding(comparison_finding(served_leaf, disk_leaf));

        if self.signals.served_matches_disk {
            self.chain_differs(chain, disk, &files.cert_host);
            return;
        }
        if disk.usable && disk_leaf.not_after < served_leaf.not_after {
            self.signals.disk_older = true;
            self.push(
                "disk.older_than_served",
                Severity::Error,
                t!("finding.disk.older_than_served", disk = format_time(disk_leaf.not_after), served = format_time(served_leaf.not_after)),
                json!({ "disk_not_after": format_time(disk_leaf.not_after), "served_not_after": format_time(served_leaf.not_after) }),
            );
        }
    }

    fn push_finding(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    /// Reports a block that names a leaf-only file while a full chain with the same leaf sits beside it.
    fn leaf_only(&mut self, disk: &DiskPair, files: &SiteFiles) {
        let [leaf] = disk.chain.as_slice() else {
            return;
        };
        if leaf.summary.issuer == leaf.summary.subject
            || files
                .cert_host
                .file_name()
                .is_some_and(|name| name == FULLCHAIN_NAME)
        {
            return;
        }
        let Some(fullchain) = files.cert_host.parent().map(|dir| dir.join(FULLCHAIN_NAME)) else {
            return;
        };
        let Ok(full) = certs::read_chain_file(&fullchain) else {
            return;
        };
        if full.len() > 1 && full[0].der == leaf.der {
            self.signals.leaf_only = true;
            let fullchain_nginx = files
                .cert
                .parent()
                .map_or_else(|| fullchain.clone(), |dir| dir.join(FULLCHAIN_NAME));
            self.push(
                "site.leaf_only_certificate",
                Severity::Error,
                t!("finding.site.leaf_only_certificate", path = files.cert.display(), fullchain = fullchain_nginx.display(), count = full.len()),
                json!({ "ssl_certificate": files.cert, "fullchain": fullchain_nginx, "fullchain_length": full.len() }),
            );
        }
    }

    /// Same leaf, other chain: nginx loaded an earlier version of the file (e.g. before the
    /// intermediate was added).
    fn chain_differs(&mut self, chain: Option<&ServedChain>, disk: &DiskPair, path: &Path) {
        let Some(chain) = chain else { return };
        if same_chain(chain, disk) {
            return;
        }
        self.signals.served_chain_differs = true;
        let (served, on_disk) = (chain.chain.len(), disk.chain.len());
        self.push(
            "site.chain_differs",
            Severity::Warning,
            t!("finding.site.chain_differs", path = path.display(), served = served, disk = on_disk),
            json!({ "cert_file": path, "served_chain_length": served, "disk_chain_length": on_disk }),
        );
    }

    /// Reports when the served leaf, which differs from the selected block's file, is the
    /// certificate another server block names. That is evidence of SNI fall-through only when
    /// the served leaf is not an older version of the selected block's certificate: blocks that
    /// shared one certificate until only one of them was renewed serve the same old leaf.
    fn served_by_other_block(
        &mut self,
        served: &Served,
        disk: &DiskPair,
        selection: &Selection<'_>,
        container: Option<&Container>,
    ) {
        let (Some(served_leaf), Some(disk_leaf)) = (&served.leaf, disk.leaf()) else {
            return;
        };
        if served_leaf.sha256 == disk_leaf.sha256 {
            return;
        }
        let older_version = selection.name_match != NameMatch::Default
            && match self.cert_changed_after_reload {
                Some(changed) => changed,
                None => {
                    covers(&served_leaf.sans, &self.settings.domain)
                        && served_leaf.not_after < disk_leaf.not_after
                }
            };

        for other in selection
            .candidates
            .iter()
            .filter(|block| block.index != selection.block.index)
        {
            let Some(cert) = other.certificates.first() else {
                continue;
            };
            let Some(leaf) = leaf_of(&host_path(cert, container)) else {
                continue;
            };
            if leaf.sha256 != served_leaf.sha256 {
                continue;
            }
            if older_version {
                self.push(
                    "site.served_old_shared",
                    Severity::Info,
                    t!("finding.site.served_old_shared", domain = &self.settings.domain, location = other.location(), names = other.names.join(" "), path = cert.display()),
                    json!({ "location": other.location(), "server_name": other.names, "ssl_certificate": cert, "sha256": leaf.sha256, "cert_file_changed_after_reload": self.cert_changed_after_reload }),
                );
                return;
            }
            self.signals.served_other_block = true;
            self.push(
                "site.served_other_block",
                Severity::Error,
                t!("finding.site.served_other_block", domain = &self.settings.domain, location = other.location(), names = other.names.join(" "), path = cert.display()),
                json!({ "location": other.location(), "server_name": other.names, "ssl_certificate": cert, "sha256": leaf.sha256 }),
            );
            return;
        }
    }

    /// Compares the start time of the nginx master and the newest worker (the last start or
    /// reload) with the certificate file's mtime. Returns the last reload time when known.
    fn process_findings(
        &mut self,
        listeners: &Result<Vec<ListenerProcess>, ProcessError>,
        cert_host: &Path,
    ) -> Option<SystemTime> {
        let port = self.settings.port;
        let listeners = match listeners {
            Ok(listeners) if !listeners.is_empty() => listeners,
            Ok(_) => {
                self.push(
                    "process.not_found",
                    Severity::Info,
                    t!("finding.process.not_found", port = port),
                    json!({ "port": port }),
                );
                return None;
            }
            Err(error) => {
                self.push(
                    "process.not_found",
                    Severity::Info,
                    t!(
                        "finding.process.unknown",
                        port = port,
                        detail = error.to_string()
                    ),
                    json!({ "port": port, "detail": error.to_string() }),
                );
                return None;
            }
        };
        let (master, workers) = split_master(listeners)?;
        let last_reload = last_reload(master, &workers);

        if !NGINX_PROGRAMS
            .iter()
            .any(|name| master.command.contains(name))
        {
            self.push(
                "site.not_nginx",
                Severity::Warning,
                t!(
                    "finding.site.not_nginx",
                    port = port,
                    pid = master.pid,
                    command = &master.command
                ),
                json!({ "port": port, "pid": master.pid, "command": master.command }),
            );
        }

        let Ok(modified) = process::file_mtime(cert_host) else {
            return Some(last_reload);
        };
        let evidence = json!({
            "master_pid": master.pid,
            "command": master.command,
            "master_started": format_system_time(master.started_at),
            "workers": workers.iter().map(|worker| json!({ "pid": worker.pid, "started": format_system_time(worker.started_at) })).collect::<Vec<_>>(),
            "last_reload": format_system_time(last_reload),
            "cert_file": cert_host,
            "cert_file_modified": format_system_time(modified),
        });
        let changed = changed_after(modified, last_reload);
        self.cert_changed_after_reload = Some(changed);
        let (id, severity, key) = if changed {
            (
                "site.reload_before_change",
                Severity::Warning,
                "finding.site.reload_before_change",
            )
        } else {
            (
                "site.reload_after_change",
                Severity::Info,
                "finding.site.reload_after_change",
            )
        };
        let message = t!(
            key,
            pid = master.pid,
            started = format_system_time(master.started_at),
            reloaded = format_system_time(last_reload),
            changed = format_system_time(modified)
        );
        self.push(id, severity, message, evidence);
        Some(last_reload)
    }

    /// Notes a configuration file changed after the last reload: nginx still runs the old
    /// configuration, so a reload is the fix even when another block's certificate is served.
    fn conf_changes(
        &mut self,
        block: &ServerBlock,
        container: Option<&Container>,
        last_reload: Option<SystemTime>,
    ) {
        let Some(last_reload) = last_reload else {
            return;
        };
        let host = host_path(&block.file, container);
        let Ok(modified) = process::file_mtime(&host) else {
            return;
        };
        if !changed_after(modified, last_reload) {
            return;
        }
        self.signals.conf_changed_after_reload = true;
        self.push(
            "site.conf_changed_after_reload",
            Severity::Warning,
            t!("finding.site.conf_changed_after_reload", path = block.file.display(), changed = format_system_time(modified), reloaded = format_system_time(last_reload)),
            json!({ "conf_file": block.file, "host_path": host, "modified": format_system_time(modified), "last_reload": format_system_time(last_reload) }),
        );
    }

    /// Compares `expected_cert_file` (where the renewed certificate was put) with the file the
    /// block names.
    fn expected_file(&mut self, files: &SiteFiles, disk: &DiskPair) {
        let Some(expected) = self.settings.expected_cert_file.clone() else {
            return;
        };
        let leaf = match certs::read_chain_file(&expected) {
            Ok(chain) => chain.into_iter().next().map(|cert| cert.summary),
            Err(error) => {
                self.push(
                    "site.expected_unreadable",
                    Severity::Warning,
                    t!(
                        "finding.site.expected_unreadable",
                        path = expected.display(),
                        detail = error.to_string()
                    ),
                    json!({ "expected_cert_file": expected, "detail": error.to_string() }),
                );
                return;
            }
        };
        let Some(expected_leaf) = leaf else {
            return;
        };
        // A certificate for another name must never be offered as this site's renewal.
        if !covers(&expected_leaf.sans, &self.settings.domain) {
            self.push(
                "site.expected_wrong_name",
                Severity::Error,
                t!(
                    "finding.site.expected_wrong_name",
                    path = expected.display(),
                    domain = &self.settings.domain,
                    names = expected_leaf.sans.join(", ")
                ),
                json!({ "expected_cert_file": expected, "expected_sha256": expected_leaf.sha256, "expected_sans": expected_leaf.sans, "domain": self.settings.domain }),
            );
            return;
        }
        let Some(disk_leaf) = disk.leaf() else {
            return;
        };
        let evidence = json!({
            "expected_cert_file": expected,
            "expected_sha256": expected_leaf.sha256,
            "expected_not_after": format_time(expected_leaf.not_after),
            "cert_file": files.cert_host,
            "ssl_certificate": files.cert,
            "cert_file_sha256": disk_leaf.sha256,
            "cert_file_not_after": format_time(disk_leaf.not_after),
        });

        if expected_leaf.sha256 == disk_leaf.sha256 {
            self.push(
                "site.expected_in_place",
                Severity::Ok,
                t!("finding.site.expected_in_place", path = expected.display()),
                evidence,
            );
        } else if expected_leaf.not_after > disk_leaf.not_after {
            self.signals.renewed_elsewhere = true;
            self.push(
                "site.renewed_elsewhere",
                Severity::Error,
                t!(
                    "finding.site.renewed_elsewhere",
                    expected = expected.display(),
                    expected_date = format_time(expected_leaf.not_after),
                    path = files.cert.display(),
                    date = format_time(disk_leaf.not_after)
                ),
                evidence,
            );
        } else {
            self.push(
                "site.expected_older",
                Severity::Info,
                t!(
                    "finding.site.expected_older",
                    expected = expected.display(),
                    path = files.cert.display()
                ),
                evidence,
            );
        }
    }
}

/// Findings that compare served and disk certificates come after the served and disk findings.
fn is_comparison(id: &str) -> bool {
    matches!(
        id,
        "served.matches_disk"
            | "stale.served_differs_from_disk"
            | "disk.older_than_served"
            | "site.chain_differs"
            | "site.leaf_only_certificate"
            | "site.served_other_block"
            | "site.served_old_shared"
            | "site.reload_before_change"
            | "site.reload_after_change"
            | "site.not_nginx"
            | "process.not_found"
            | "site.conf_changed_after_reload"
            | "site.expected_in_place"
            | "site.renewed_elsewhere"
            | "site.expected_older"
            | "site.expected_unreadable"
            | "site.expected_wrong_name"
    )
}

/// Maps a path as nginx names it to the host; the identity for nginx on the host.
fn host_path(path: &Path, container: Option<&Container>) -> PathBuf {
    container.map_or_else(|| path.to_path_buf(), |container| container.to_host(path))
}

/// Reads the first certificate of a file, ignoring files that do not read.
fn leaf_of(path: &Path) -> Option<CertSummary> {
    let chain: Vec<ParsedCert> = certs::read_chain_file(path).ok()?;
    chain.into_iter().next().map(|cert| cert.summary)
}

/// Returns whether a certificate's names cover `domain`: an exact name, or a `*.` wildcard for
/// one label.
fn covers(sans: &[String], domain: &str) -> bool {
    sans.iter().any(|san| {
        let san = san.to_lowercase();
        match san.strip_prefix("*.") {
            Some(suffix) => domain
                .split_once('.')
                .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
            None => san == domain,
        }
    })
}

/// Returns the address the client reached: the probe's peer address, else the host itself.
fn local_address(target: &ProbeTarget, served: Option<&ServedChain>) -> IpAddr {
    if let Some(chain) = served {
        return chain.address.ip();
    }
    let host = target.host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse() {
        return ip;
    }
    (host, target.port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addresses| addresses.next())
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |address| address.ip())
}

/// Picks nginx's own complaint (`[emerg]`, `[alert]`, `[crit]`) from its stderr, else the last line.
fn nginx_error_line(stderr: &str) -> String {
    let levels = ["[emerg]", "[alert]", "[crit]", "[error]"];
    stderr
        .lines()
        .find(|line| levels.iter().any(|level| line.contains(level)))
        .or_else(|| stderr.lines().rev().find(|line| !line.trim().is_empty()))
        .unwrap_or("")
        .trim()
        .to_string()
}

fn last_lines(text: &str, count: usize) -> Vec<&str> {
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    lines[lines.len().saturating_sub(count)..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_san_covers_one_label() {
        let sans = vec!["*.example.org".to_string(), "example.org".to_string()];

        assert!(covers(&sans, "www.example.org"));
        assert!(covers(&sans, "example.org"));
        assert!(!covers(&sans, "a.b.example.org"));
        assert!(!covers(&sans, "example.com"));
    }

    #[test]
    fn nginx_emerg_line_is_picked() {
        let stderr = "nginx: [emerg] cannot load certificate \"/x.pem\"\nnginx: configuration file /etc/nginx/nginx.conf test failed\n";

        assert_eq!(
            nginx_error_line(stderr),
            "nginx: [emerg] cannot load certificate \"/x.pem\""
        );
        assert_eq!(nginx_error_line("plain failure\n\n"), "plain failure");
    }
}
