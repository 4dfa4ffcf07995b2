//! Fake 1Panel installs for the `panel_*` integration tests: a temporary root with
//! `usr/local/bin/1pctl`, SQLite databases in the panel's schema, `secret/server.crt|key`, logs,
//! and a demo HTTPS server standing in for the panel process.
//!
//! The tables copy the columns GORM creates for the panel's `Setting` and `WebsiteSSL` models
//! (1Panel v1.10 `backend/app/model`, v2 `core`/`agent` models), and times are stored the way
//! its SQLite driver writes them. `systemctl` and `journalctl` are replaced by scripts in a
//! directory put first on `PATH`, so the tests do not depend on the machine's systemd.

#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use certwiz::certs::CertSummary;
use certwiz::demo::restart::start_server;
use certwiz::demo::server::ServerArgs;
use certwiz::pki::{Authority, Issued, LeafSpec};
use rusqlite::Connection;
use time::OffsetDateTime;

use crate::support::{Certwiz, DemoServer, EXE, NAMES};

/// `BASE_DIR` of every fake install.
pub const BASE_DIR: &str = "/opt";

const SETTINGS_TABLE: &str = "CREATE TABLE `settings` (`id` integer PRIMARY KEY AUTOINCREMENT,`created_at` datetime,\
    `updated_at` datetime,`key` varchar(256) NOT NULL,`value` varchar(256),`about` longtext)";

const CERTIFICATES_TABLE: &str = "CREATE TABLE `website_ssls` (`id` integer PRIMARY KEY AUTOINCREMENT,\
    `created_at` datetime,`updated_at` datetime,`primary_domain` text,`private_key` text,`pem` text,\
    `domains` text,`cert_url` text,`type` text,`provider` text,`organization` text,`dns_account_id` integer,\
    `acme_account_id` integer,`ca_id` integer,`auto_renew` numeric,`expire_date` datetime,\
    `start_date` datetime,`status` text,`message` text,`key_type` text,`push_dir` numeric,`dir` text,\
    `description` text,`skip_dns` numeric,`nameserver1` text,`nameserver2` text,`disable_cname` numeric,\
    `exec_shell` numeric,`shell` text)";

/// Formats a time as the panel's SQLite driver stores it.
pub fn db_time(time: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:9][offset_hour sign:mandatory]:[offset_minute]"
    );
    time.format(format).expect("a UTC time formats")
}

/// Major version of a fake install.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// A fake install under a temporary root, its CA, and optionally a demo server on its files.
pub struct PanelTree {
    // Declared first so it is dropped first: the server must stop while its directories exist.
    server: Option<DemoServer>,
    pub version: Version,
    pub ca: Authority,
    /// The `--root` directory.
    pub root: tempfile::TempDir,
    /// Files outside the install: the CA, the server state, answers, fake tools.
    pub aux: tempfile::TempDir,
}

impl PanelTree {
    /// Creates `1pctl`, the data directories and the databases with empty tables.
    pub fn new(version: Version) -> PanelTree {
        let tree = PanelTree {
            server: None,
            version,
            ca: Authority::new("certwiz panel test root").expect("generate a root CA"),
            root: tempfile::tempdir().expect("create a temporary root"),
            aux: tempfile::tempdir().expect("create a temporary directory"),
        };
        let version_text = match version {
            Version::V1 => "v1.10.20-lts",
            Version::V2 => "v2.0.8",
        };
        tree.write(
            "usr/local/bin/1pctl",
            &format!("#!/bin/bash\naction=$1\nBASE_DIR={BASE_DIR}\nORIGINAL_PORT=9999\nORIGINAL_VERSION={version_text}\nLANGUAGE=en\n"),
        );
        for dir in ["secret", "db", "log/ssl"] {
            fs::create_dir_all(tree.data_dir().join(dir)).expect("create data directories");
        }
        tree.settings_connection().execute_batch(SETTINGS_TABLE).expect("create settings");
        tree.certificates_connection().execute_batch(CERTIFICATES_TABLE).expect("create website_ssls");
        fs::write(tree.aux.path().join("ca.pem"), tree.ca.cert_pem()).expect("write ca.pem");
        tree.fake_tool("systemctl", "LoadState=not-found\nActiveState=inactive\nSubState=dead\n");
        tree.fake_tool("journalctl", "-- No entries --\n");
        tree
    }

    /// Writes `body` at `path` under the root.
    pub fn write(&self, path: &str, body: &str) {
        let path = self.root.path().join(path);
        fs::create_dir_all(path.parent().expect("path has a parent")).expect("create parent");
        fs::write(path, body).expect("write file");
    }

    pub fn data_dir(&self) -> PathBuf {
        self.root.path().join(BASE_DIR.trim_start_matches('/')).join("1panel")
    }

    pub fn cert_file(&self) -> PathBuf {
        self.data_dir().join("secret/server.crt")
    }

    pub fn key_file(&self) -> PathBuf {
        self.data_dir().join("secret/server.key")
    }

    pub fn settings_db(&self) -> PathBuf {
        let name = match self.version {
            Version::V1 => "1Panel.db",
            Version::V2 => "core.db",
        };
        self.data_dir().join("db").join(name)
    }

    pub fn certificates_db(&self) -> PathBuf {
        let name = match self.version {
            Version::V1 => "1Panel.db",
            Version::V2 => "agent.db",
        };
        self.data_dir().join("db").join(name)
    }

    /// Returns the log the panel listener writes: `1Panel.log` (v1) or `1Panel-Core.log` (v2).
    pub fn main_log(&self) -> PathBuf {
        let name = match self.version {
            Version::V1 => "1Panel.log",
            Version::V2 => "1Panel-Core.log",
        };
        self.data_dir().join("log").join(name)
    }

    pub fn ca_file(&self) -> PathBuf {
        self.aux.path().join("ca.pem")
    }

    pub fn fake_bin(&self) -> PathBuf {
        self.aux.path().join("bin")
    }

    pub fn settings_connection(&self) -> Connection {
        Connection::open(self.settings_db()).expect("open the settings database")
    }

    pub fn certificates_connection(&self) -> Connection {
        Connection::open(self.certificates_db()).expect("open the certificates database")
    }

    /// Inserts settings rows the way the panel's migrations do.
    pub fn settings(&self, pairs: &[(&str, &str)]) {
        insert_settings(&self.settings_connection(), pairs);
    }

    /// Inserts `website_ssls` row `id` holding `issued`, as a renewal leaves it.
    pub fn insert_certificate(&self, id: i64, issued: &Issued) {
        insert_certificate(&self.certificates_connection(), id, issued);
    }

    /// Points the panel settings at row `id` with HTTPS on, on `port`, for `localhost`.
    pub fn select_certificate(&self, id: i64, port: u16) {
        let enable = match self.version {
            Version::V1 => "enable",
            Version::V2 => "Enable",
        };
        let id = id.to_string();
        let port = port.to_string();
        self.settings(&[
            ("SSL", enable),
            ("SSLType", "select"),
            ("SSLID", &id),
            ("ServerPort", &port),
            ("BindAddress", "0.0.0.0"),
            ("BindDomain", "localhost"),
            ("Ipv6", "disable"),
        ]);
    }

    pub fn issue(&self, spec: LeafSpec) -> Issued {
        self.ca.issue(&spec).expect("issue a leaf")
    }

    pub fn issue_valid(&self) -> Issued {
        self.issue(LeafSpec::valid_for(&NAMES, 90))
    }

    pub fn issue_expired(&self) -> Issued {
        self.issue(LeafSpec::expired(&NAMES))
    }

    /// Writes `secret/server.crt` and `secret/server.key` (0600), as the panel does.
    pub fn install_files(&self, issued: &Issued) {
        write_private(&self.cert_file(), &issued.cert_pem);
        write_private(&self.key_file(), &issued.key_pem);
    }

    /// Starts a demo server on the secret files, logging to the main log, and returns its port.
    pub fn start_server(&mut self) -> u16 {
        assert!(self.server.is_none(), "the tree already runs a server");
        let args = ServerArgs {
            state: self.aux.path().join("state"),
            cert: self.cert_file(),
            key: self.key_file(),
            listen: "127.0.0.1:0".parse().expect("constant socket address"),
            log: self.main_log(),
        };
        let started = match start_server(Path::new(EXE), &args) {
            Ok(info) => info,
            Err(error) => panic!("failed to start the demo server: {error}\nlog:\n{}", fs::read_to_string(&args.log).unwrap_or_default()),
        };
        let port = started.port;
        self.server = Some(DemoServer { state: args.state, log: args.log, started });
        port
    }

    pub fn server(&self) -> &DemoServer {
        self.server.as_ref().expect("the tree runs a server")
    }

    /// Replaces the fake `tool` on `PATH` with a script that prints `output` and exits 0.
    pub fn fake_tool(&self, tool: &str, output: &str) {
        let dir = self.fake_bin();
        fs::create_dir_all(&dir).expect("create the fake bin directory");
        let path = dir.join(tool);
        fs::write(&path, format!("#!/bin/sh\ncat <<'CERTWIZ_EOF'\n{output}CERTWIZ_EOF\n")).expect("write fake tool");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("make the fake tool executable");
    }

    /// Writes a TOML answers file and returns its path.
    pub fn answers_file(&self, text: &str) -> PathBuf {
        let path = self.aux.path().join("answers.toml");
        fs::write(&path, text).expect("write answers file");
        path
    }

    /// Returns `certwiz diagnose --non-interactive --root <tree>` with the test CA, short
    /// timeouts, the fake tools first on `PATH` and, when a server runs, its restart command.
    /// Everything else comes from the install's defaults.
    pub fn diagnose(&self) -> Certwiz {
        let certwiz = self.diagnose_with_defaults();
        match &self.server {
            Some(server) => certwiz.set("restart_command", server.restart_command()),
            None => certwiz,
        }
    }

    /// Returns [`PanelTree::diagnose`] without the restart command, so the install's own
    /// `1pctl` command stays in place.
    pub fn diagnose_with_defaults(&self) -> Certwiz {
        let path = format!("{}:{}", self.fake_bin().display(), std::env::var("PATH").unwrap_or_default());
        Certwiz::diagnose()
            .arg("--root")
            .arg(self.root.path())
            .set_path("ca_file", &self.ca_file())
            .set("timeout_secs", "3")
            .set("verify_attempts", "5")
            .set("verify_interval_secs", "1")
            .set("action_timeout_secs", "30")
            .env("PATH", &path)
    }
}

/// Inserts settings rows with creation times, as the panel's migrations do.
pub fn insert_settings(connection: &Connection, pairs: &[(&str, &str)]) {
    let now = db_time(OffsetDateTime::now_utc());
    for (key, value) in pairs {
        connection
            .execute(
                "INSERT INTO settings (created_at, updated_at, key, value, about) VALUES (?1, ?1, ?2, ?3, '')",
                [now.as_str(), key, value],
            )
            .expect("insert a setting");
    }
}

/// Inserts row `id` with the leaf's `notAfter` as `expire_date`, as the panel saves a renewal.
pub fn insert_certificate(connection: &Connection, id: i64, issued: &Issued) {
    let leaf = CertSummary::from_der(&issued.der).expect("the issued leaf parses");
    let now = db_time(OffsetDateTime::now_utc());
    let expire = db_time(leaf.not_after);
    connection
        .execute(
            "INSERT INTO website_ssls (id, created_at, updated_at, primary_domain, private_key, pem, domains, \
             provider, auto_renew, expire_date, start_date, status, key_type) \
             VALUES (?1, ?2, ?2, 'localhost', ?3, ?4, '127.0.0.1', 'dnsAccount', 1, ?5, ?2, 'ready', 'P256')",
            rusqlite::params![id, now, issued.key_pem, issued.cert_pem, expire],
        )
        .expect("insert a certificate row");
}

fn write_private(path: &Path, contents: &str) {
    fs::write(path, contents).expect("write a secret file");
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).expect("narrow the mode");
}

/// Returns the files in `dir` whose names contain `part`.
pub fn files_containing(dir: &Path, part: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .expect("read the directory")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.file_name().and_then(|name| name.to_str()).is_some_and(|name| name.contains(part)))
        .collect();
    found.sort();
    found
}
