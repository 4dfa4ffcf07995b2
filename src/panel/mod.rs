//! The 1Panel install on this machine (or under `--root`): where it lives, which version it is,
//! what its settings database holds, and how its certificate files are rewritten from there.
//!
//! Layout facts were read from 1Panel's source: `BASE_DIR` and `ORIGINAL_*` lines in
//! `/usr/local/bin/1pctl`, data under `BASE_DIR/1panel`, settings in `db/1Panel.db` (v1) or
//! `db/core.db` (v2, with managed certificates in `db/agent.db`), logs in `log/`.

pub mod db;
mod detect;
mod facts;
pub mod journal;
pub mod pair;
pub mod sync;

use std::path::{Path, PathBuf};

pub use detect::{detect, CTL_PATH};
pub use facts::facts;

/// Major version of the install. Version 2 splits the panel into `1panel-core` (web UI, TLS
/// listener, settings) and `1panel-agent` (websites, certificates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum PanelVersion {
    V1,
    V2,
}

impl PanelVersion {
    /// Returns the major version number as text: `1` or `2`.
    pub fn number(self) -> &'static str {
        match self {
            PanelVersion::V1 => "1",
            PanelVersion::V2 => "2",
        }
    }

    /// Returns the file name of the database that holds the `settings` table.
    pub fn settings_db_name(self) -> &'static str {
        match self {
            PanelVersion::V1 => "1Panel.db",
            PanelVersion::V2 => "core.db",
        }
    }

    /// Returns the file name of the database that holds the `website_ssls` table.
    pub fn certificates_db_name(self) -> &'static str {
        match self {
            PanelVersion::V1 => "1Panel.db",
            PanelVersion::V2 => "agent.db",
        }
    }

    /// Returns the systemd unit of the process that serves the panel's TLS listener.
    pub fn unit(self) -> &'static str {
        match self {
            PanelVersion::V1 => "1panel.service",
            PanelVersion::V2 => "1panel-core.service",
        }
    }

    /// Returns the `1pctl` command that restarts the panel listener. Version 2's `1pctl restart`
    /// fails without a target (`core`, `agent` or `all`).
    pub fn restart_command(self) -> &'static str {
        match self {
            PanelVersion::V1 => "1pctl restart",
            PanelVersion::V2 => "1pctl restart core",
        }
    }

    /// Returns the log files in `BASE_DIR/1panel/log`, the listener's own log first. Version 2's
    /// agent, which runs the certificate renewal job, still writes `1Panel.log`.
    pub fn log_names(self) -> &'static [&'static str] {
        match self {
            PanelVersion::V1 => &["1Panel.log"],
            PanelVersion::V2 => &["1Panel-Core.log", "1Panel.log"],
        }
    }
}

/// Facts that the control script and the file layout give about the install.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Install {
    pub ctl: PathBuf,
    /// `BASE_DIR` as the script writes it, before `--root` is applied.
    pub base_dir: String,
    /// `BASE_DIR` under the root certwiz reads from.
    pub base_path: PathBuf,
    pub version: PanelVersion,
    pub version_text: Option<String>,
    pub original_port: Option<u16>,
}

impl Install {
    /// Returns the panel's data directory, `BASE_DIR/1panel`.
    pub fn data_dir(&self) -> PathBuf {
        self.base_path.join("1panel")
    }

    /// Returns the path of the database that holds the `settings` table.
    pub fn settings_db(&self) -> PathBuf {
        self.data_dir().join("db").join(self.version.settings_db_name())
    }

    /// Returns the path of the database that holds the `website_ssls` table.
    pub fn certificates_db(&self) -> PathBuf {
        self.data_dir().join("db").join(self.version.certificates_db_name())
    }

    /// Returns the directory of the panel's own logs.
    pub fn log_dir(&self) -> PathBuf {
        self.data_dir().join("log")
    }

    /// Returns the per-certificate log of `website_ssls` row `id`, as the panel names it:
    /// `log/ssl/<primary domain>-ssl-<id>.log`. Returns `None` for a domain that would lead out
    /// of that directory, because the name comes from the database.
    pub fn certificate_log(&self, primary_domain: &str, id: i64) -> Option<PathBuf> {
        let name = format!("{primary_domain}-ssl-{id}.log");
        let plain = !primary_domain.is_empty() && !primary_domain.contains(['/', '\0']) && !primary_domain.starts_with('.');
        plain.then(|| self.log_dir().join("ssl").join(name))
    }
}

/// Joins an absolute path from the panel's point of view onto `root`.
pub fn under_root(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}
