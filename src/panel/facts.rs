//! Facts about the install that flow variable defaults name as `{{panel.*}}`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::db::{PanelDb, Settings};
use super::{under_root, Install};

/// Probe address when nothing else is known: the panel listens on every address by default.
const DEFAULT_HOST: &str = "127.0.0.1";

/// Returns the facts for `install`, reading its settings database when there is one.
///
/// `panel.base_dir`, `panel.host` and `panel.root` are always present. The others need a
/// detected install, `panel.unit` also needs the root to be `/`, and `panel.domain` and a
/// database `panel.port` need a readable database. A database that cannot be read only leaves
/// those facts out; the `panel-status` check reports why.
pub fn facts(root: &Path, install: Option<&Install>) -> BTreeMap<String, String> {
    let base = install.map(|install| install.base_path.clone()).unwrap_or_else(|| under_root(root, "/opt"));
    let mut facts = BTreeMap::new();
    facts.insert("panel.base_dir".to_string(), base.display().to_string());
    facts.insert("panel.host".to_string(), DEFAULT_HOST.to_string());
    facts.insert("panel.root".to_string(), root.display().to_string());

    let Some(install) = install else {
        return facts;
    };
    let version = install.version;
    facts.insert("panel.version".to_string(), version.number().to_string());
    // The host's systemd does not manage a copy under another root.
    if root == Path::new("/") {
        facts.insert("panel.unit".to_string(), version.unit().to_string());
    }
    facts.insert("panel.restart_command".to_string(), version.restart_command().to_string());
    if let Some(port) = install.original_port {
        facts.insert("panel.port".to_string(), port.to_string());
    }

    let settings_db = install.settings_db();
    let certificates_db = install.certificates_db();
    // The paths are filled in even when the files are missing, so `panel-status` names the
    // file it expected instead of silently skipping the database.
    facts.insert("panel.db_file".to_string(), settings_db.display().to_string());
    facts.insert("panel.ssl_db_file".to_string(), certificates_db.display().to_string());
    let settings = if settings_db.is_file() { PanelDb::open(&settings_db).and_then(|db| db.settings()).ok() } else { None };

    if let Some(settings) = &settings {
        insert_setting_facts(&mut facts, settings);
    }
    let logs = log_files(install, settings.as_ref(), &certificates_db);
    facts.insert("panel.log_files".to_string(), join_paths(&logs));
    facts
}

/// Adds the listener address the settings name; `ServerPort` wins over the install-time port.
fn insert_setting_facts(facts: &mut BTreeMap<String, String>, settings: &Settings) {
    if let Some(port) = settings.port() {
        facts.insert("panel.port".to_string(), port.to_string());
    }
    if let Some(domain) = settings.domain() {
        facts.insert("panel.domain".to_string(), domain.to_string());
    }
    facts.insert("panel.host".to_string(), settings.probe_host());
}

/// Returns the panel's logs and, when the panel certificate comes from a `website_ssls` row
/// whose log exists, that certificate's renewal log.
fn log_files(install: &Install, settings: Option<&Settings>, certificates_db: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = install.version.log_names().iter().map(|name| install.log_dir().join(name)).collect();

    let row = settings
        .and_then(Settings::certificate_id)
        .and_then(|id| PanelDb::open(certificates_db).and_then(|db| db.certificate(id)).ok());
    if let Some(log) = row.and_then(|row| install.certificate_log(&row.primary_domain, row.id)) {
        if log.is_file() {
            files.push(log);
        }
    }
    files
}

/// Joins paths with commas, the separator of list variables. A path that itself contains a comma
/// is left out, because it would split into two wrong paths.
fn join_paths(paths: &[PathBuf]) -> String {
    let texts: Vec<String> = paths.iter().map(|path| path.display().to_string()).filter(|text| !text.contains(',')).collect();
    texts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::panel::detect;

    fn write(root: &Path, path: &str, body: &str) {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }

    fn settings_db(path: &Path, pairs: &[(&str, &str)]) -> rusqlite::Connection {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let connection = rusqlite::Connection::open(path).unwrap();
        connection.execute_batch("CREATE TABLE settings (id integer PRIMARY KEY AUTOINCREMENT, key varchar(256) NOT NULL, value varchar(256))").unwrap();
        for (key, value) in pairs {
            connection.execute("INSERT INTO settings (key, value) VALUES (?1, ?2)", [key, value]).unwrap();
        }
        connection
    }

    #[test]
    fn v1_without_db_uses_script_port() {
        let root = tempfile::tempdir().unwrap();
        write(root.path(), "usr/local/bin/1pctl", "BASE_DIR=/data\nORIGINAL_PORT=23456\nORIGINAL_VERSION=v1.10.14-lts\n");
        let install = detect(root.path()).unwrap();

        let facts = facts(root.path(), Some(&install));

        assert_eq!(facts["panel.port"], "23456");
        assert_eq!(facts["panel.host"], "127.0.0.1");
        assert_eq!(facts["panel.version"], "1");
        assert!(!facts.contains_key("panel.unit"), "a copy under a root has no systemd unit");
        assert_eq!(facts["panel.restart_command"], "1pctl restart");
        assert!(facts["panel.log_files"].ends_with("data/1panel/log/1Panel.log"));
        assert_eq!(facts["panel.db_file"], root.path().join("data/1panel/db/1Panel.db").display().to_string());
    }

    #[test]
    fn v2_db_settings_win_over_script() {
        let root = tempfile::tempdir().unwrap();
        write(root.path(), "usr/local/bin/1pctl", "BASE_DIR=/opt\nORIGINAL_PORT=1111\nORIGINAL_VERSION=v2.0.8\n");
        let db = root.path().join("opt/1panel/db/core.db");
        drop(settings_db(&db, &[("ServerPort", "2222"), ("BindAddress", "192.0.2.9"), ("BindDomain", "panel.example.com")]));
        let install = detect(root.path()).unwrap();

        let facts = facts(root.path(), Some(&install));

        assert_eq!(facts["panel.port"], "2222");
        assert_eq!(facts["panel.host"], "192.0.2.9");
        assert_eq!(facts["panel.domain"], "panel.example.com");
        assert_eq!(facts["panel.db_file"], db.display().to_string());
        assert_eq!(facts["panel.restart_command"], "1pctl restart core");
        let logs: Vec<&str> = facts["panel.log_files"].split(',').collect();
        assert_eq!(logs.len(), 2, "{logs:?}");
        assert!(logs[0].ends_with("1Panel-Core.log"));
        assert!(logs[1].ends_with("1Panel.log"));
    }

    #[test]
    fn certificate_log_is_listed_when_present() {
        let root = tempfile::tempdir().unwrap();
        write(root.path(), "usr/local/bin/1pctl", "BASE_DIR=/opt\nORIGINAL_VERSION=v1.10.20-lts\n");
        let db = root.path().join("opt/1panel/db/1Panel.db");
        let connection = settings_db(&db, &[("SSLType", "select"), ("SSLID", "4")]);
        connection.execute_batch("CREATE TABLE website_ssls (id integer PRIMARY KEY, primary_domain text, domains text, provider text, status text, auto_renew numeric, expire_date datetime, start_date datetime, updated_at datetime, pem text, private_key text)").unwrap();
        connection.execute("INSERT INTO website_ssls (id, primary_domain) VALUES (4, 'panel.example.com')", []).unwrap();
        write(root.path(), "opt/1panel/log/ssl/panel.example.com-ssl-4.log", "");
        let install = detect(root.path()).unwrap();

        let facts = facts(root.path(), Some(&install));

        assert!(facts["panel.log_files"].ends_with("log/ssl/panel.example.com-ssl-4.log"), "{}", facts["panel.log_files"]);
        assert_eq!(facts["panel.ssl_db_file"], db.display().to_string());
    }

    #[test]
    fn no_install_falls_back_to_opt() {
        let root = tempfile::tempdir().unwrap();

        let facts = facts(root.path(), None);

        assert_eq!(facts["panel.base_dir"], root.path().join("opt").display().to_string());
        assert_eq!(facts["panel.host"], "127.0.0.1");
        assert!(!facts.contains_key("panel.restart_command"));
        assert!(!facts.contains_key("panel.db_file"));
    }

    #[test]
    fn corrupt_db_keeps_script_facts() {
        let root = tempfile::tempdir().unwrap();
        write(root.path(), "usr/local/bin/1pctl", "BASE_DIR=/opt\nORIGINAL_PORT=3333\nORIGINAL_VERSION=v1.10.20-lts\n");
        write(root.path(), "opt/1panel/db/1Panel.db", &"garbage ".repeat(1000));
        let install = detect(root.path()).unwrap();

        let facts = facts(root.path(), Some(&install));

        assert_eq!(facts["panel.port"], "3333");
        assert!(facts.contains_key("panel.db_file"));
    }
}
