//! The panel's SQLite databases, opened read-only: the `settings` table and the certificate rows
//! of `website_ssls`.
//!
//! The panel keeps its databases in WAL mode while it runs, so a renewal can sit in the `-wal`
//! file and not yet in the main file. SQLite creates `-wal` and `-shm` files next to a WAL
//! database even for a read-only connection. So such a database is copied with its `-wal` file
//! into a private temporary directory and the copy is opened, which reads the rows in the WAL
//! and leaves the panel's directory as it was. A database in rollback-journal mode is opened in
//! place, which creates no files and waits for the panel's locks.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, OpenFlags};
use serde::Serialize;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Time a query waits for a lock the panel holds before the database counts as locked.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

/// Largest value read from one column; a certificate chain is a few KiB.
const MAX_VALUE_BYTES: usize = 1024 * 1024;

/// Most rows read from `settings`; a real install has about a hundred.
const MAX_SETTING_ROWS: usize = 10_000;

/// Failure to read a panel database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database file not found: {}", path.display())]
    Missing { path: PathBuf },

    #[error("{} is not a regular file", path.display())]
    NotAFile { path: PathBuf },

    #[error("database {} is locked by another process", path.display())]
    Locked { path: PathBuf },

    #[error("{} is not a readable SQLite database: {detail}", path.display())]
    Corrupt { path: PathBuf, detail: String },

    #[error("cannot open database {}: {detail}", path.display())]
    Open { path: PathBuf, detail: String },

    #[error("database {} has no table `{table}`", path.display())]
    MissingTable { path: PathBuf, table: &'static str },

    #[error("cannot read table `{table}` of {}: {detail}", path.display())]
    Query { path: PathBuf, table: &'static str, detail: String },

    #[error("table `website_ssls` of {} has no row with id {id}", path.display())]
    NoRow { path: PathBuf, id: i64 },

    #[error("column `{column}` of table `{table}` in {} holds {size} bytes, more than {max}", path.display())]
    TooLarge { path: PathBuf, table: &'static str, column: &'static str, size: usize, max: usize },
}

impl DbError {
    /// Returns the database file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            DbError::Missing { path }
            | DbError::NotAFile { path }
            | DbError::Locked { path }
            | DbError::Corrupt { path, .. }
            | DbError::Open { path, .. }
            | DbError::MissingTable { path, .. }
            | DbError::Query { path, .. }
            | DbError::NoRow { path, .. }
            | DbError::TooLarge { path, .. } => path,
        }
    }
}

/// Text that must not be printed, such as a private key. Debug shows only its length.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretText(String);

impl SecretText {
    pub fn new(text: String) -> SecretText {
        SecretText(text)
    }

    /// Returns the text, for parsing or writing it where it belongs.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretText(<{} bytes redacted>)", self.0.len())
    }
}

/// Whether the panel serves HTTPS, from the `SSL` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// `enable` (v1) or `Enable` (v2): TLS only.
    On,
    /// v2 `Mux`: TLS, and plain HTTP answered with a redirect on the same port.
    Mux,
    /// `disable` or `Disable`: plain HTTP, no certificate.
    Off,
    /// The setting is missing or has another value.
    Unknown,
}

/// The settings certwiz reads, as the `settings` table stores them (`key`, `value`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Settings {
    #[serde(rename = "SSL")]
    pub ssl: Option<String>,
    #[serde(rename = "SSLType")]
    pub ssl_type: Option<String>,
    #[serde(rename = "SSLID")]
    pub ssl_id: Option<String>,
    #[serde(rename = "ServerPort")]
    pub server_port: Option<String>,
    #[serde(rename = "BindAddress")]
    pub bind_address: Option<String>,
    #[serde(rename = "BindDomain")]
    pub bind_domain: Option<String>,
    #[serde(rename = "Ipv6")]
    pub ipv6: Option<String>,
    #[serde(rename = "AutoRestart")]
    pub auto_restart: Option<String>,
}

impl Settings {
    /// Builds the settings from `key` → `value` pairs, keeping only the keys certwiz reads.
    pub fn from_pairs(pairs: &BTreeMap<String, String>) -> Settings {
        let get = |key: &str| pairs.get(key).cloned();
        Settings {
            ssl: get("SSL"),
            ssl_type: get("SSLType"),
            ssl_id: get("SSLID"),
            server_port: get("ServerPort"),
            bind_address: get("BindAddress"),
            bind_domain: get("BindDomain"),
            ipv6: get("Ipv6"),
            auto_restart: get("AutoRestart"),
        }
    }

    /// Reads `SSL` case-insensitively, because v1 writes `enable` and v2 `Enable`.
    pub fn tls_mode(&self) -> TlsMode {
        match self.ssl.as_deref().map(|value| value.trim().to_ascii_lowercase()).as_deref() {
            Some("enable") => TlsMode::On,
            Some("mux") => TlsMode::Mux,
            Some("disable") => TlsMode::Off,
            _ => TlsMode::Unknown,
        }
    }

    /// Returns the `website_ssls` row the panel certificate comes from. Only the `select` and
    /// `self` types keep one; `import-paste` and `import-local` exist only as the files.
    pub fn certificate_id(&self) -> Option<i64> {
        let kind = self.ssl_type.as_deref()?.trim();
        if kind != "select" && kind != "self" {
            return None;
        }
        self.ssl_id.as_deref()?.trim().parse().ok().filter(|id| *id > 0)
    }

    /// Returns `ServerPort` when it is a valid port number.
    pub fn port(&self) -> Option<u16> {
        self.server_port.as_deref()?.trim().parse().ok().filter(|port| *port > 0)
    }

    /// Returns the address to probe: `BindAddress`, 127.0.0.1 when the panel listens on every
    /// IPv4 address (empty or `0.0.0.0`), or `::1` for `::`, which may be an IPv6-only listener.
    pub fn probe_host(&self) -> String {
        let address = self.bind_address.as_deref().unwrap_or("").trim().trim_start_matches('[').trim_end_matches(']');
        match address {
            "" | "0.0.0.0" => "127.0.0.1".to_string(),
            "::" => "::1".to_string(),
            other => other.to_string(),
        }
    }

    /// Returns `BindDomain` when it is set.
    pub fn domain(&self) -> Option<&str> {
        self.bind_domain.as_deref().map(str::trim).filter(|domain| !domain.is_empty())
    }
}

/// One row of `website_ssls`. The private key is kept as [`SecretText`]; the rest may be shown.
#[derive(Debug, Clone)]
pub struct CertificateRow {
    pub id: i64,
    pub primary_domain: String,
    pub domains: String,
    pub provider: String,
    pub status: String,
    pub auto_renew: String,
    /// `expire_date` as stored, which is what the settings page shows.
    pub expire_date: Option<String>,
    pub start_date: Option<String>,
    /// When the panel last saved the row, for example after a renewal.
    pub updated_at: Option<String>,
    pub pem: String,
    pub private_key: SecretText,
}

impl CertificateRow {
    /// Returns the row's fields for a report. The private key is reported only as present or
    /// absent, and the PEM is left for the caller to summarise.
    pub fn evidence(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "primary_domain": self.primary_domain,
            "domains": self.domains,
            "provider": self.provider,
            "status": self.status,
            "auto_renew": self.auto_renew,
            "expire_date": self.expire_date,
            "start_date": self.start_date,
            "updated_at": self.updated_at,
            "private_key": if self.private_key.is_empty() { "absent" } else { "present" },
        })
    }
}

/// A read-only connection to one panel database.
pub struct PanelDb {
    // Declared before the snapshot so the connection closes before the copy is removed.
    connection: Connection,
    path: PathBuf,
    _snapshot: Option<Snapshot>,
}

/// First bytes of every SQLite database file.
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";

/// Offset of the header's file format version bytes; 2 means WAL mode.
const WAL_VERSION_OFFSET: usize = 18;

/// Returns whether `path` is a WAL-mode database or has a `-wal` file beside it.
fn uses_wal(path: &Path) -> bool {
    if sibling(path, "-wal").exists() {
        return true;
    }
    let mut header = [0u8; 20];
    let read = std::fs::File::open(path).and_then(|mut file| std::io::Read::read_exact(&mut file, &mut header));
    read.is_ok() && header.starts_with(SQLITE_MAGIC) && header[WAL_VERSION_OFFSET] == 2
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// A copy of a database and its `-wal` file in a private directory (mode 0700, because the
/// database contains private keys), removed on drop.
struct Snapshot {
    dir: PathBuf,
    database: PathBuf,
}

impl Snapshot {
    /// Copies `path` and, when present, `path-wal`. The main file is copied first, so a
    /// checkpoint in between at worst leaves WAL frames SQLite ignores.
    // NOTE: a checkpoint that also restarts the WAL between the two copies can lose the newest
    // rows from this snapshot; a second run reads them.
    fn take(path: &Path) -> std::io::Result<Snapshot> {
        use std::os::unix::fs::DirBuilderExt;
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

        let count = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|elapsed| elapsed.subsec_nanos()).unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("certwiz-db-{}-{nanos}-{count}", std::process::id()));
        std::fs::DirBuilder::new().mode(0o700).create(&dir)?;

        let snapshot = Snapshot { database: dir.join("panel.db"), dir };
        std::fs::copy(path, &snapshot.database)?;
        match std::fs::copy(sibling(path, "-wal"), sibling(&snapshot.database, "-wal")) {
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
        Ok(snapshot)
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl PanelDb {
    /// Opens `path` read-only, waiting up to [`BUSY_TIMEOUT`] for the panel's locks.
    pub fn open(path: &Path) -> Result<PanelDb, DbError> {
        PanelDb::open_with_timeout(path, BUSY_TIMEOUT)
    }

    /// Opens `path` read-only, waiting up to `busy_timeout` for locks.
    pub fn open_with_timeout(path: &Path, busy_timeout: Duration) -> Result<PanelDb, DbError> {
        // A FIFO or directory would make SQLite block or fail obscurely, so only regular files pass.
        match std::fs::metadata(path) {
            Ok(metadata) if metadata.is_file() => {}
            Ok(_) => return Err(DbError::NotAFile { path: path.to_path_buf() }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(DbError::Missing { path: path.to_path_buf() });
            }
            Err(error) => return Err(DbError::Open { path: path.to_path_buf(), detail: error.to_string() }),
        }

        let snapshot = if uses_wal(path) {
            Some(Snapshot::take(path).map_err(|error| DbError::Open { path: path.to_path_buf(), detail: error.to_string() })?)
        } else {
            None
        };
        let opened = snapshot.as_ref().map_or(path, |snapshot| snapshot.database.as_path());

        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = Connection::open_with_flags(opened, flags).map_err(|error| open_error(path, &error))?;
        connection.busy_timeout(busy_timeout).map_err(|error| open_error(path, &error))?;
        Ok(PanelDb { connection, path: path.to_path_buf(), _snapshot: snapshot })
    }

    /// Reads the `settings` table.
    pub fn settings(&self) -> Result<Settings, DbError> {
        const TABLE: &str = "settings";
        self.require_table(TABLE)?;

        let mut statement = self
            .connection
            .prepare("SELECT key, value FROM settings")
            .map_err(|error| self.query_error(TABLE, &error))?;
        let mut rows = statement.query([]).map_err(|error| self.query_error(TABLE, &error))?;

        let mut pairs = BTreeMap::new();
        let mut count = 0;
        while let Some(row) = rows.next().map_err(|error| self.query_error(TABLE, &error))? {
            count += 1;
            if count > MAX_SETTING_ROWS {
                break;
            }
            let key = self.text(row, TABLE, "key")?;
            let value = self.text(row, TABLE, "value")?;
            if let Some(key) = key {
                // Like the panel's `First`, the row with the lowest id wins for a repeated key.
                pairs.entry(key).or_insert_with(|| value.unwrap_or_default());
            }
        }
        Ok(Settings::from_pairs(&pairs))
    }

    /// Reads row `id` of `website_ssls`.
    pub fn certificate(&self, id: i64) -> Result<CertificateRow, DbError> {
        const TABLE: &str = "website_ssls";
        self.require_table(TABLE)?;

        let sql = "SELECT id, primary_domain, domains, provider, status, auto_renew, expire_date, \
                   start_date, updated_at, pem, private_key FROM website_ssls WHERE id = ?1";
        let mut statement = self.connection.prepare(sql).map_err(|error| self.query_error(TABLE, &error))?;
        let mut rows = statement.query([id]).map_err(|error| self.query_error(TABLE, &error))?;
        let Some(row) = rows.next().map_err(|error| self.query_error(TABLE, &error))? else {
            return Err(DbError::NoRow { path: self.path.clone(), id });
        };

        let text = |column: &'static str| self.text(row, TABLE, column).map(Option::unwrap_or_default);
        Ok(CertificateRow {
            id,
            primary_domain: text("primary_domain")?,
            domains: text("domains")?,
            provider: text("provider")?,
            status: text("status")?,
            auto_renew: text("auto_renew")?,
            expire_date: self.text(row, TABLE, "expire_date")?,
            start_date: self.text(row, TABLE, "start_date")?,
            updated_at: self.text(row, TABLE, "updated_at")?,
            pem: text("pem")?,
            private_key: SecretText::new(text("private_key")?),
        })
    }

    fn require_table(&self, table: &'static str) -> Result<(), DbError> {
        let count: i64 = self
            .connection
            .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [table], |row| row.get(0))
            .map_err(|error| self.query_error(table, &error))?;
        if count == 0 {
            return Err(DbError::MissingTable { path: self.path.clone(), table });
        }
        Ok(())
    }

    /// Reads a column as text whatever type SQLite stored, because GORM and older panel
    /// versions store booleans, numbers and times in varying types.
    fn text(&self, row: &rusqlite::Row<'_>, table: &'static str, column: &'static str) -> Result<Option<String>, DbError> {
        let value = row.get_ref(column).map_err(|error| self.query_error(table, &error))?;
        let size = match value {
            ValueRef::Text(bytes) | ValueRef::Blob(bytes) => bytes.len(),
            _ => 0,
        };
        if size > MAX_VALUE_BYTES {
            return Err(DbError::TooLarge { path: self.path.clone(), table, column, size, max: MAX_VALUE_BYTES });
        }
        Ok(match value {
            ValueRef::Null => None,
            ValueRef::Integer(number) => Some(number.to_string()),
            ValueRef::Real(number) => Some(number.to_string()),
            ValueRef::Text(bytes) | ValueRef::Blob(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        })
    }

    fn query_error(&self, table: &'static str, error: &rusqlite::Error) -> DbError {
        match sqlite_code(error) {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => DbError::Locked { path: self.path.clone() },
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
                DbError::Corrupt { path: self.path.clone(), detail: error.to_string() }
            }
            _ => DbError::Query { path: self.path.clone(), table, detail: error.to_string() },
        }
    }
}

fn sqlite_code(error: &rusqlite::Error) -> Option<ErrorCode> {
    match error {
        rusqlite::Error::SqliteFailure(failure, _) => Some(failure.code),
        _ => None,
    }
}

fn open_error(path: &Path, error: &rusqlite::Error) -> DbError {
    match sqlite_code(error) {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => DbError::Locked { path: path.to_path_buf() },
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            DbError::Corrupt { path: path.to_path_buf(), detail: error.to_string() }
        }
        _ => DbError::Open { path: path.to_path_buf(), detail: error.to_string() },
    }
}

/// Parses a time as the panel's SQLite driver stores it: `2026-11-30 03:00:09.123456789+08:00`,
/// also with `T`, `Z` or no offset (read as UTC). Returns `None` for other text and for Go's
/// zero time (year 1), which stands for "never set".
pub fn parse_time(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    let date_text = text.get(..10)?;
    let separator = text.get(10..11)?;
    let time_text = text.get(11..19)?;
    if separator != " " && separator != "T" {
        return None;
    }

    let date = Date::parse(date_text, time::macros::format_description!("[year]-[month]-[day]")).ok()?;
    let clock = Time::parse(time_text, time::macros::format_description!("[hour]:[minute]:[second]")).ok()?;
    let rest = text.get(19..)?;
    let (nanos, rest) = split_fraction(rest)?;
    let offset = parse_offset(rest.trim())?;

    if date.year() <= 1 {
        return None;
    }
    let clock = clock.replace_nanosecond(nanos).ok()?;
    Some(PrimitiveDateTime::new(date, clock).assume_offset(offset).to_offset(UtcOffset::UTC))
}

/// Splits `.123456789` off the front of `rest` and returns it as nanoseconds.
fn split_fraction(rest: &str) -> Option<(u32, &str)> {
    let Some(fraction) = rest.strip_prefix('.') else {
        return Some((0, rest));
    };
    let digits = fraction.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let kept = &fraction[..digits.min(9)];
    let nanos = kept.parse::<u32>().ok()? * 10u32.pow(9 - kept.len() as u32);
    Some((nanos, &fraction[digits..]))
}

fn parse_offset(text: &str) -> Option<UtcOffset> {
    if text.is_empty() || text == "Z" || text == "UTC" {
        return Some(UtcOffset::UTC);
    }
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = text[1..].chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let hours: i8 = digits[..2].parse().ok()?;
    let minutes: i8 = digits[2..].parse().ok()?;
    UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTINGS_SCHEMA: &str = "CREATE TABLE `settings` (`id` integer PRIMARY KEY AUTOINCREMENT,`created_at` datetime,\
        `updated_at` datetime,`key` varchar(256) NOT NULL,`value` varchar(256),`about` longtext)";
    const SSLS_SCHEMA: &str = "CREATE TABLE `website_ssls` (`id` integer PRIMARY KEY AUTOINCREMENT,`created_at` datetime,\
        `updated_at` datetime,`primary_domain` text,`private_key` text,`pem` text,`domains` text,`cert_url` text,\
        `type` text,`provider` text,`organization` text,`dns_account_id` integer,`acme_account_id` integer,\
        `ca_id` integer,`auto_renew` numeric,`expire_date` datetime,`start_date` datetime,`status` text,\
        `message` text,`key_type` text)";

    fn create(path: &Path, settings: &[(&str, &str)]) -> Connection {
        let connection = Connection::open(path).unwrap();
        connection.execute_batch(SETTINGS_SCHEMA).unwrap();
        connection.execute_batch(SSLS_SCHEMA).unwrap();
        for (key, value) in settings {
            connection
                .execute("INSERT INTO settings (created_at, updated_at, key, value, about) VALUES (?1, ?1, ?2, ?3, '')", ["2026-01-01 00:00:00+00:00", key, value])
                .unwrap();
        }
        connection
    }

    #[test]
    fn settings_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1Panel.db");
        drop(create(&path, &[("SSL", "enable"), ("SSLType", "select"), ("SSLID", "3"), ("ServerPort", "23456"), ("Password", "x")]));

        let settings = PanelDb::open(&path).unwrap().settings().unwrap();

        assert_eq!(settings.tls_mode(), TlsMode::On);
        assert_eq!(settings.certificate_id(), Some(3));
        assert_eq!(settings.port(), Some(23456));
        assert_eq!(settings.probe_host(), "127.0.0.1");
        let evidence = serde_json::to_value(&settings).unwrap();
        assert_eq!(evidence["SSLType"], "select");
        assert!(evidence.get("Password").is_none());
    }

    #[test]
    fn tls_mode_ignores_case() {
        let mode = |value: &str| Settings { ssl: Some(value.to_string()), ..Settings::default() }.tls_mode();
        assert_eq!(mode("Enable"), TlsMode::On);
        assert_eq!(mode("disable"), TlsMode::Off);
        assert_eq!(mode("Disable"), TlsMode::Off);
        assert_eq!(mode("Mux"), TlsMode::Mux);
        assert_eq!(mode("maybe"), TlsMode::Unknown);
        assert_eq!(Settings::default().tls_mode(), TlsMode::Unknown);
    }

    #[test]
    fn imported_certificate_has_no_row() {
        let settings = Settings {
            ssl_type: Some("import-paste".to_string()),
            ssl_id: Some("4".to_string()),
            ..Settings::default()
        };
        assert_eq!(settings.certificate_id(), None);
    }

    #[test]
    fn bind_address_becomes_probe_host() {
        let host = |address: &str| Settings { bind_address: Some(address.to_string()), ..Settings::default() }.probe_host();
        assert_eq!(host("0.0.0.0"), "127.0.0.1");
        assert_eq!(host("::"), "::1");
        assert_eq!(host("[::]"), "::1");
        assert_eq!(host("192.0.2.7"), "192.0.2.7");
        assert_eq!(host("[::1]"), "::1");
    }

    #[test]
    fn certificate_row_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1Panel.db");
        let connection = create(&path, &[]);
        connection
            .execute(
                "INSERT INTO website_ssls (id, primary_domain, pem, private_key, provider, auto_renew, expire_date, status) \
                 VALUES (7, 'panel.example.com', 'PEM', 'KEY', 'dnsAccount', 1, '2027-02-28 11:22:33.5+08:00', 'ready')",
                [],
            )
            .unwrap();

        let row = PanelDb::open(&path).unwrap().certificate(7).unwrap();

        assert_eq!(row.primary_domain, "panel.example.com");
        assert_eq!(row.auto_renew, "1");
        assert_eq!(row.private_key.expose(), "KEY");
        assert!(!format!("{row:?}").contains("KEY\""), "{row:?}");
        assert_eq!(row.evidence()["private_key"], "present");
        assert!(!row.evidence().to_string().contains("KEY\""));
        let expires = parse_time(row.expire_date.as_deref().unwrap()).unwrap();
        assert_eq!(expires.hour(), 3);
    }

    #[test]
    fn missing_row_is_no_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1Panel.db");
        drop(create(&path, &[]));

        let error = PanelDb::open(&path).unwrap().certificate(9).unwrap_err();

        assert!(matches!(error, DbError::NoRow { id: 9, .. }), "{error:?}");
    }

    #[test]
    fn missing_file_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let error = PanelDb::open(&dir.path().join("none.db")).err().unwrap();
        assert!(matches!(error, DbError::Missing { .. }), "{error:?}");
    }

    #[test]
    fn directory_is_not_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let error = PanelDb::open(dir.path()).err().unwrap();
        assert!(matches!(error, DbError::NotAFile { .. }), "{error:?}");
    }

    #[test]
    fn garbage_file_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1Panel.db");
        std::fs::write(&path, b"this is not a database at all, just text that is long enough".repeat(100)).unwrap();

        let error = PanelDb::open(&path).and_then(|db| db.settings()).unwrap_err();

        assert!(matches!(error, DbError::Corrupt { .. }), "{error:?}");
    }

    #[test]
    fn table_missing_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.db");
        Connection::open(&path).unwrap().execute_batch("CREATE TABLE other (x)").unwrap();

        let error = PanelDb::open(&path).unwrap().settings().unwrap_err();

        assert!(matches!(error, DbError::MissingTable { table: "settings", .. }), "{error:?}");
    }

    #[test]
    fn exclusive_lock_is_locked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1Panel.db");
        let writer = create(&path, &[("SSL", "enable")]);
        writer.execute_batch("PRAGMA journal_mode = DELETE; BEGIN EXCLUSIVE;").unwrap();

        let error = PanelDb::open_with_timeout(&path, Duration::from_millis(100)).and_then(|db| db.settings()).unwrap_err();

        assert!(matches!(error, DbError::Locked { .. }), "{error:?}");
        writer.execute_batch("ROLLBACK").unwrap();
    }

    #[test]
    fn uncheckpointed_wal_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("core.db");
        let writer = create(&path, &[]);
        writer.execute_batch("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;").unwrap();
        writer.execute("INSERT INTO settings (key, value) VALUES ('SSL', 'Enable')", []).unwrap();
        assert!(dir.path().join("core.db-wal").exists());

        let settings = PanelDb::open(&path).unwrap().settings().unwrap();

        assert_eq!(settings.tls_mode(), TlsMode::On);
        drop(writer);
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn wal_database_copy_leaves_directory_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("core.db");
        let writer = create(&path, &[("SSL", "enable")]);
        writer.execute_batch("PRAGMA journal_mode = WAL;").unwrap();
        drop(writer);
        let before = listing(dir.path());
        assert_eq!(before, ["core.db"], "closing the writer checkpoints and removes the WAL");

        let settings = PanelDb::open(&path).unwrap().settings().unwrap();

        assert_eq!(settings.tls_mode(), TlsMode::On);
        assert_eq!(listing(dir.path()), before);
    }

    #[test]
    fn repeated_key_keeps_first_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1Panel.db");
        drop(create(&path, &[("ServerPort", "1111"), ("ServerPort", "2222")]));

        assert_eq!(PanelDb::open(&path).unwrap().settings().unwrap().port(), Some(1111));
    }

    #[test]
    fn times_parse_in_stored_shapes() {
        let utc = |text: &str| parse_time(text).map(|time| time.to_string());
        assert_eq!(utc("2026-11-30 03:00:09.123456789+08:00").as_deref(), Some("2026-11-29 19:00:09.123456789 +00:00:00"));
        assert_eq!(utc("2026-11-30T03:00:09Z").as_deref(), Some("2026-11-30 3:00:09.0 +00:00:00"));
        assert_eq!(utc("2026-11-30 03:00:09").as_deref(), Some("2026-11-30 3:00:09.0 +00:00:00"));
        assert_eq!(utc("2026-11-30 03:00:09-0500").as_deref(), Some("2026-11-30 8:00:09.0 +00:00:00"));
        assert_eq!(utc("0001-01-01 00:00:00+00:00"), None);
        assert_eq!(utc("2026-13-30 03:00:09"), None);
        assert_eq!(utc("yesterday"), None);
        assert_eq!(utc("2026-11-30 03:00:09.+08:00"), None);
        assert_eq!(utc("2026-11-30 03:00:09 +99:00"), None);
    }
}
