//! Writing the panel certificate from its database row into `secret/server.crt` and
//! `server.key`, the way the panel's own "Confirm" does: temporary files next to the targets,
//! a key-match check before anything is renamed, then a rename over each target. Unlike the
//! panel, certwiz keeps a timestamped copy of the pair it replaces.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use super::db::{CertificateRow, DbError, PanelDb};
use super::pair::{check_pair, PairProblem};
use crate::certs::{self, CertSummary};
use crate::checks::disk::format_time;

/// Mode of a new file and of every key file and key backup; the panel writes both with 0600.
const FILE_MODE: u32 = 0o600;

/// Returns the mode `file` gets when certwiz writes it: the key is always 0600, and the
/// certificate keeps the mode it has now (0600 when it does not exist yet).
pub fn written_mode(file: &Path, is_key: bool) -> u32 {
    if is_key {
        return FILE_MODE;
    }
    fs::metadata(file).map(|metadata| metadata.permissions().mode() & 0o777).unwrap_or(FILE_MODE)
}

/// Attempts at a free temporary or backup name before giving up.
const NAME_ATTEMPTS: u32 = 100;

/// Reason the files cannot be, or were not, written.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Database(#[from] DbError),

    #[error("the panel certificate type is `{ssl_type}`, which keeps no copy in the database")]
    NoDatabaseCopy { ssl_type: String },

    #[error("certificate row {id} in the database cannot be used: {problem}")]
    Unusable { id: i64, problem: PairProblem },

    #[error("the database certificate (valid until {database}) is older than the valid one in {} (valid until {file})", path.display())]
    OlderThanFile { path: PathBuf, database: String, file: String },

    #[error("directory {} does not exist", path.display())]
    NoDirectory { path: PathBuf },

    #[error("cert_file and key_file are the same file {}; the panel keeps them apart", path.display())]
    SamePath { path: PathBuf },

    #[error("cannot {action} {}: {source}", path.display())]
    Io { action: &'static str, path: PathBuf, source: io::Error },

    #[error("{} does not hold the database certificate and key after writing: {detail}", path.display())]
    Verify { path: PathBuf, detail: String },
}

/// The planned write, decided from a fresh read of the database and the files.
#[derive(Debug)]
pub struct SyncPlan {
    pub row: CertificateRow,
    pub certificates_db: PathBuf,
    /// The database leaf, which the files will hold.
    pub leaf: CertSummary,
    pub chain_length: usize,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// Whether the files already hold exactly the database's certificate and key.
    pub already_current: bool,
}

impl SyncPlan {
    /// Returns the targets that exist now, which get a backup before they are replaced.
    pub fn existing_targets(&self) -> Vec<&Path> {
        [self.cert_file.as_path(), self.key_file.as_path()].into_iter().filter(|path| path.exists()).collect()
    }
}

/// One thing the operation did, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncStep {
    /// An existing file was copied to a backup before being replaced.
    BackedUp { file: PathBuf, backup: PathBuf },
    /// A file was replaced with the database's content.
    Replaced { file: PathBuf },
    /// A replaced file was put back from its backup (or removed, when it did not exist before)
    /// after a later step failed.
    RolledBack { file: PathBuf },
    /// The file already held the database's content and was left alone.
    Unchanged { file: PathBuf },
}

/// The steps taken and how the operation ended.
#[derive(Debug)]
pub struct SyncRun {
    pub steps: Vec<SyncStep>,
    pub result: Result<(), SyncError>,
}

impl SyncRun {
    /// Returns the backups the operation made.
    pub fn backups(&self) -> Vec<&Path> {
        self.steps
            .iter()
            .filter_map(|step| match step {
                SyncStep::BackedUp { backup, .. } => Some(backup.as_path()),
                _ => None,
            })
            .collect()
    }
}

/// Reads the panel certificate row and the current files, and decides what to write.
///
/// Rejects a database pair that does not parse, does not match or is not valid at `now`, and a
/// database certificate that expires before a valid pair already in the files, so the
/// operation can never make things worse.
pub fn plan(settings_db: &Path, certificates_db: &Path, cert_file: &Path, key_file: &Path, now: OffsetDateTime) -> Result<SyncPlan, SyncError> {
    if cert_file == key_file {
        return Err(SyncError::SamePath { path: cert_file.to_path_buf() });
    }
    let settings = PanelDb::open(settings_db)?.settings()?;
    let Some(id) = settings.certificate_id() else {
        return Err(SyncError::NoDatabaseCopy { ssl_type: settings.ssl_type.unwrap_or_default() });
    };
    let row = PanelDb::open(certificates_db)?.certificate(id)?;

    let stored = check_pair(row.pem.as_bytes(), row.private_key.expose().as_bytes(), now);
    if let Some(problem) = stored.problem.clone() {
        return Err(SyncError::Unusable { id, problem });
    }
    let Some(leaf) = stored.leaf().cloned() else {
        return Err(SyncError::Unusable { id, problem: PairProblem::InvalidCertificate { detail: "no certificate".to_string() } });
    };

    reject_older_than_file(&leaf, cert_file, key_file, now)?;
    let already_current = file_equals(cert_file, row.pem.as_bytes()) && file_equals(key_file, row.private_key.expose().as_bytes());
    Ok(SyncPlan {
        chain_length: stored.chain.len(),
        row,
        certificates_db: certificates_db.to_path_buf(),
        leaf,
        cert_file: cert_file.to_path_buf(),
        key_file: key_file.to_path_buf(),
        already_current,
    })
}

/// Fails when the files hold a usable pair that stays valid longer than the database's.
fn reject_older_than_file(database: &CertSummary, cert_file: &Path, key_file: &Path, now: OffsetDateTime) -> Result<(), SyncError> {
    let (Ok(cert_pem), Ok(key_pem)) = (fs::read(cert_file), fs::read(key_file)) else {
        return Ok(());
    };
    let current = check_pair(&cert_pem, &key_pem, now);
    match current.leaf() {
        Some(file) if current.usable() && file.not_after > database.not_after => Err(SyncError::OlderThanFile {
            path: cert_file.to_path_buf(),
            database: format_time(database.not_after),
            file: format_time(file.not_after),
        }),
        _ => Ok(()),
    }
}

fn file_equals(path: &Path, expected: &[u8]) -> bool {
    fs::read(path).is_ok_and(|bytes| bytes == expected)
}

/// Writes the planned pair. Backups are named with `now`, as `<file>.certwiz-backup-<UTC time>`.
pub fn apply(plan: &SyncPlan, now: OffsetDateTime) -> SyncRun {
    let mut steps = Vec::new();
    if plan.already_current {
        steps.push(SyncStep::Unchanged { file: plan.cert_file.clone() });
        steps.push(SyncStep::Unchanged { file: plan.key_file.clone() });
        return SyncRun { steps, result: Ok(()) };
    }
    let result = write_pair(plan, now, &mut steps);
    SyncRun { steps, result }
}

fn write_pair(plan: &SyncPlan, now: OffsetDateTime, steps: &mut Vec<SyncStep>) -> Result<(), SyncError> {
    let cert_dir = parent_dir(&plan.cert_file)?;
    let key_dir = parent_dir(&plan.key_file)?;

    let cert_temp = write_temp(&plan.cert_file, plan.row.pem.as_bytes(), written_mode(&plan.cert_file, false))?;
    let key_temp = match write_temp(&plan.key_file, plan.row.private_key.expose().as_bytes(), FILE_MODE) {
        Ok(path) => path,
        Err(error) => {
            remove_quietly(&cert_temp);
            return Err(error);
        }
    };
    let temps = [cert_temp.as_path(), key_temp.as_path()];

    // The pair is checked as written, before any target changes.
    if let Err(error) = verify_written(&cert_temp, &key_temp, &plan.leaf) {
        temps.iter().for_each(|path| remove_quietly(path));
        return Err(error);
    }

    let mut backups = Vec::new();
    for (target, is_key) in [(&plan.cert_file, false), (&plan.key_file, true)] {
        if !target.exists() {
            backups.push(None);
            continue;
        }
        match back_up(target, now, is_key) {
            Ok(backup) => {
                steps.push(SyncStep::BackedUp { file: target.clone(), backup: backup.clone() });
                backups.push(Some(backup));
            }
            Err(error) => {
                temps.iter().for_each(|path| remove_quietly(path));
                return Err(error);
            }
        }
    }

    rename(&cert_temp, &plan.cert_file).inspect_err(|_| temps.iter().for_each(|path| remove_quietly(path)))?;
    steps.push(SyncStep::Replaced { file: plan.cert_file.clone() });
    if let Err(error) = rename(&key_temp, &plan.key_file) {
        remove_quietly(&key_temp);
        if roll_back(&plan.cert_file, backups[0].as_deref()) {
            steps.push(SyncStep::RolledBack { file: plan.cert_file.clone() });
        }
        return Err(error);
    }
    steps.push(SyncStep::Replaced { file: plan.key_file.clone() });

    sync_dir(&cert_dir);
    sync_dir(&key_dir);
    verify_written(&plan.cert_file, &plan.key_file, &plan.leaf)
}

fn parent_dir(file: &Path) -> Result<PathBuf, SyncError> {
    let dir = match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(SyncError::NoDirectory { path: dir });
    }
    Ok(dir)
}

/// Creates a new file next to `target` with mode 0600, writes `contents`, sets `mode` and
/// flushes it to disk.
fn write_temp(target: &Path, contents: &[u8], mode: u32) -> Result<PathBuf, SyncError> {
    let (path, mut file) = create_new_beside(target, "tmp")?;
    let written = file
        .write_all(contents)
        .and_then(|()| file.set_permissions(fs::Permissions::from_mode(mode)))
        .and_then(|()| file.sync_all());
    if let Err(source) = written {
        remove_quietly(&path);
        return Err(SyncError::Io { action: "write", path, source });
    }
    Ok(path)
}

/// Creates `.<name>.certwiz-<pid>[-n].<suffix>` in the directory of `target`, never reusing a name.
fn create_new_beside(target: &Path, suffix: &str) -> Result<(PathBuf, File), SyncError> {
    let name = target.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let dir = target.parent().unwrap_or(Path::new("."));
    let pid = std::process::id();
    let mut last_error = None;
    for attempt in 0..NAME_ATTEMPTS {
        let candidate = match attempt {
            0 => dir.join(format!(".{name}.certwiz-{pid}.{suffix}")),
            n => dir.join(format!(".{name}.certwiz-{pid}-{n}.{suffix}")),
        };
        match OpenOptions::new().write(true).create_new(true).mode(FILE_MODE).open(&candidate) {
            Ok(file) => return Ok((candidate, file)),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => last_error = Some((candidate, error)),
            Err(source) => return Err(SyncError::Io { action: "create", path: candidate, source }),
        }
    }
    let (path, source) = last_error.unwrap_or_else(|| (dir.to_path_buf(), io::Error::from(io::ErrorKind::AlreadyExists)));
    Err(SyncError::Io { action: "create", path, source })
}

/// Checks that `cert` starts with `leaf` and that `key` belongs to it.
fn verify_written(cert: &Path, key: &Path, leaf: &CertSummary) -> Result<(), SyncError> {
    let verify_error = |detail: String| SyncError::Verify { path: cert.to_path_buf(), detail };
    let chain = certs::read_chain_file(cert).map_err(|error| verify_error(error.to_string()))?;
    let key_value = certs::read_key_file(key).map_err(|error| verify_error(error.to_string()))?;
    let Some(first) = chain.first() else {
        return Err(verify_error("no certificate".to_string()));
    };
    if first.summary.sha256 != leaf.sha256 {
        return Err(verify_error(format!("leaf SHA-256 is {}, expected {}", first.summary.sha256, leaf.sha256)));
    }
    match certs::key_matches(first, &key_value) {
        Ok(true) => Ok(()),
        Ok(false) => Err(verify_error("the key does not belong to the certificate".to_string())),
        Err(error) => Err(verify_error(error.to_string())),
    }
}

/// Copies `file` to `<file>.certwiz-backup-<time>` and returns the copy. A key backup gets mode
/// 0600 even when the key was readable by others; a certificate backup keeps the file's mode.
fn back_up(file: &Path, now: OffsetDateTime, is_key: bool) -> Result<PathBuf, SyncError> {
    let stamp = backup_stamp(now);
    let mode = fs::metadata(file)
        .map(|metadata| metadata.permissions().mode() & 0o777)
        .map_err(|source| SyncError::Io { action: "read", path: file.to_path_buf(), source })?;
    let mode = if is_key { FILE_MODE } else { mode };
    let contents = fs::read(file).map_err(|source| SyncError::Io { action: "read", path: file.to_path_buf(), source })?;

    for attempt in 0..NAME_ATTEMPTS {
        let name = match attempt {
            0 => format!("{}.certwiz-backup-{stamp}", file.display()),
            n => format!("{}.certwiz-backup-{stamp}-{n}", file.display()),
        };
        let backup = PathBuf::from(name);
        let mut handle = match OpenOptions::new().write(true).create_new(true).mode(mode).open(&backup) {
            Ok(handle) => handle,
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(source) => return Err(SyncError::Io { action: "create", path: backup, source }),
        };
        let written = handle
            .set_permissions(fs::Permissions::from_mode(mode))
            .and_then(|()| handle.write_all(&contents))
            .and_then(|()| handle.sync_all());
        return match written {
            Ok(()) => Ok(backup),
            Err(source) => {
                remove_quietly(&backup);
                Err(SyncError::Io { action: "write", path: backup, source })
            }
        };
    }
    Err(SyncError::Io {
        action: "create",
        path: file.to_path_buf(),
        source: io::Error::new(io::ErrorKind::AlreadyExists, "no free backup name"),
    })
}

/// Formats `now` for backup names: `20261130T030009Z`.
pub fn backup_stamp(now: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    now.to_offset(time::UtcOffset::UTC).format(format).unwrap_or_else(|_| now.unix_timestamp().to_string())
}

fn rename(from: &Path, to: &Path) -> Result<(), SyncError> {
    fs::rename(from, to).map_err(|source| SyncError::Io { action: "rename a file onto", path: to.to_path_buf(), source })
}

/// Puts `file` back from `backup`, or removes it when there was no file before; returns whether
/// that worked.
fn roll_back(file: &Path, backup: Option<&Path>) -> bool {
    let Some(backup) = backup else {
        return fs::remove_file(file).is_ok();
    };
    let Ok(contents) = fs::read(backup) else {
        return false;
    };
    // The backup has the mode the file had, except for a key, whose mode is 0600 either way.
    let mode = fs::metadata(backup).map(|metadata| metadata.permissions().mode() & 0o777).unwrap_or(FILE_MODE);
    match write_temp(file, &contents, mode) {
        Ok(temp) => {
            let renamed = fs::rename(&temp, file).is_ok();
            if !renamed {
                remove_quietly(&temp);
            }
            renamed
        }
        Err(_) => false,
    }
}

fn remove_quietly(path: &Path) {
    if let Err(error) = fs::remove_file(path) {
        tracing::debug!(path = %path.display(), %error, "could not remove a temporary file");
    }
}

/// Flushes a directory so the renames survive a crash; a failure only weakens that guarantee.
fn sync_dir(dir: &Path) {
    if let Err(error) = File::open(dir).and_then(|handle| handle.sync_all()) {
        tracing::debug!(dir = %dir.display(), %error, "could not flush the directory");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{Authority, Issued, LeafSpec};
    use rusqlite::Connection;

    struct Fixture {
        dir: tempfile::TempDir,
        ca: Authority,
    }

    impl Fixture {
        fn new() -> Fixture {
            Fixture { dir: tempfile::tempdir().unwrap(), ca: Authority::new("sync test root").unwrap() }
        }

        fn db(&self) -> PathBuf {
            self.dir.path().join("1Panel.db")
        }

        fn cert(&self) -> PathBuf {
            self.dir.path().join("server.crt")
        }

        fn key(&self) -> PathBuf {
            self.dir.path().join("server.key")
        }

        fn issue(&self, spec: LeafSpec) -> Issued {
            self.ca.issue(&spec).unwrap()
        }

        /// Creates the database with `SSLType` `kind` pointing at row 1, which contains `cert_pem` and `key_pem`.
        fn database(&self, kind: &str, cert_pem: &str, key_pem: &str) {
            let connection = Connection::open(self.db()).unwrap();
            connection
                .execute_batch(
                    "CREATE TABLE settings (id integer PRIMARY KEY AUTOINCREMENT, key varchar(256), value varchar(256));
                     CREATE TABLE website_ssls (id integer PRIMARY KEY, primary_domain text, domains text, provider text,
                       status text, auto_renew numeric, expire_date datetime, start_date datetime, updated_at datetime,
                       pem text, private_key text);",
                )
                .unwrap();
            for (key, value) in [("SSL", "enable"), ("SSLType", kind), ("SSLID", "1")] {
                connection.execute("INSERT INTO settings (key, value) VALUES (?1, ?2)", [key, value]).unwrap();
            }
            connection
                .execute("INSERT INTO website_ssls (id, primary_domain, pem, private_key) VALUES (1, 'localhost', ?1, ?2)", [cert_pem, key_pem])
                .unwrap();
        }

        fn files(&self, issued: &Issued) {
            fs::write(self.cert(), &issued.cert_pem).unwrap();
            fs::write(self.key(), &issued.key_pem).unwrap();
        }

        fn plan(&self) -> Result<SyncPlan, SyncError> {
            plan(&self.db(), &self.db(), &self.cert(), &self.key(), OffsetDateTime::now_utc())
        }
    }

    #[test]
    fn renewed_row_replaces_files_with_backups() {
        let fixture = Fixture::new();
        let old = fixture.issue(LeafSpec::expired(&["localhost"]));
        let renewed = fixture.issue(LeafSpec::valid_for(&["localhost"], 90));
        fixture.files(&old);
        fixture.database("select", &renewed.cert_pem, &renewed.key_pem);

        let plan = fixture.plan().unwrap();
        assert!(!plan.already_current);
        let run = apply(&plan, OffsetDateTime::now_utc());

        assert!(run.result.is_ok(), "{:?}", run.result);
        assert_eq!(fs::read_to_string(fixture.cert()).unwrap(), renewed.cert_pem);
        assert_eq!(fs::read_to_string(fixture.key()).unwrap(), renewed.key_pem);
        assert_eq!(fs::metadata(fixture.key()).unwrap().permissions().mode() & 0o777, 0o600);
        let backups = run.backups();
        assert_eq!(backups.len(), 2, "{:?}", run.steps);
        assert_eq!(fs::read_to_string(backups[0]).unwrap(), old.cert_pem);
        assert_eq!(fs::read_to_string(backups[1]).unwrap(), old.key_pem);
        let leftovers: Vec<_> = fs::read_dir(fixture.dir.path())
            .unwrap()
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| name.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn certificate_keeps_mode_and_key_backup_is_private() {
        let fixture = Fixture::new();
        let old = fixture.issue(LeafSpec::expired(&["localhost"]));
        let renewed = fixture.issue(LeafSpec::valid_for(&["localhost"], 90));
        fixture.files(&old);
        fs::set_permissions(fixture.cert(), fs::Permissions::from_mode(0o644)).unwrap();
        fs::set_permissions(fixture.key(), fs::Permissions::from_mode(0o644)).unwrap();
        fixture.database("select", &renewed.cert_pem, &renewed.key_pem);
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;

        assert_eq!(written_mode(&fixture.cert(), false), 0o644);
        assert_eq!(written_mode(&fixture.key(), true), 0o600);
        let run = apply(&fixture.plan().unwrap(), OffsetDateTime::now_utc());

        assert!(run.result.is_ok(), "{:?}", run.result);
        assert_eq!(mode(&fixture.cert()), 0o644);
        assert_eq!(mode(&fixture.key()), 0o600);
        let backups = run.backups();
        assert_eq!(mode(backups[0]), 0o644);
        assert_eq!(mode(backups[1]), 0o600);
    }

    #[test]
    fn missing_files_are_written_without_backup() {
        let fixture = Fixture::new();
        let renewed = fixture.issue(LeafSpec::valid_for(&["localhost"], 90));
        fixture.database("self", &renewed.cert_pem, &renewed.key_pem);

        let run = apply(&fixture.plan().unwrap(), OffsetDateTime::now_utc());

        assert!(run.result.is_ok(), "{:?}", run.result);
        assert!(run.backups().is_empty());
        assert_eq!(fs::read_to_string(fixture.cert()).unwrap(), renewed.cert_pem);
    }

    #[test]
    fn expired_row_is_rejected() {
        let fixture = Fixture::new();
        let expired = fixture.issue(LeafSpec::expired(&["localhost"]));
        fixture.database("select", &expired.cert_pem, &expired.key_pem);

        let error = fixture.plan().unwrap_err();

        assert!(matches!(error, SyncError::Unusable { id: 1, problem: PairProblem::Expired { .. } }), "{error:?}");
    }

    #[test]
    fn mismatched_row_is_rejected() {
        let fixture = Fixture::new();
        let one = fixture.issue(LeafSpec::valid_for(&["localhost"], 90));
        let other = fixture.issue(LeafSpec::valid_for(&["localhost"], 90));
        fixture.database("select", &one.cert_pem, &other.key_pem);

        let error = fixture.plan().unwrap_err();

        assert!(matches!(error, SyncError::Unusable { problem: PairProblem::KeyMismatch, .. }), "{error:?}");
        assert!(!error.to_string().contains("PRIVATE KEY"));
    }

    #[test]
    fn older_row_than_files_is_rejected() {
        let fixture = Fixture::new();
        let longer = fixture.issue(LeafSpec::valid_for(&["localhost"], 300));
        let shorter = fixture.issue(LeafSpec::valid_for(&["localhost"], 30));
        fixture.files(&longer);
        fixture.database("select", &shorter.cert_pem, &shorter.key_pem);

        let error = fixture.plan().unwrap_err();

        assert!(matches!(error, SyncError::OlderThanFile { .. }), "{error:?}");
    }

    #[test]
    fn imported_type_has_no_copy() {
        let fixture = Fixture::new();
        let issued = fixture.issue(LeafSpec::valid_for(&["localhost"], 90));
        fixture.database("import-paste", &issued.cert_pem, &issued.key_pem);

        let error = fixture.plan().unwrap_err();

        assert!(matches!(error, SyncError::NoDatabaseCopy { ref ssl_type } if ssl_type == "import-paste"), "{error:?}");
    }

    #[test]
    fn identical_files_are_left_alone() {
        let fixture = Fixture::new();
        let issued = fixture.issue(LeafSpec::valid_for(&["localhost"], 90));
        fixture.files(&issued);
        fixture.database("select", &issued.cert_pem, &issued.key_pem);

        let plan = fixture.plan().unwrap();
        let run = apply(&plan, OffsetDateTime::now_utc());

        assert!(plan.already_current);
        assert!(run.result.is_ok());
        assert!(run.backups().is_empty());
        assert!(matches!(run.steps[0], SyncStep::Unchanged { .. }));
    }

    #[test]
    fn missing_directory_is_reported_before_writing() {
        let fixture = Fixture::new();
        let renewed = fixture.issue(LeafSpec::valid_for(&["localhost"], 90));
        fixture.database("select", &renewed.cert_pem, &renewed.key_pem);
        let absent = fixture.dir.path().join("absent");

        let plan = plan(&fixture.db(), &fixture.db(), &absent.join("server.crt"), &absent.join("server.key"), OffsetDateTime::now_utc()).unwrap();
        let run = apply(&plan, OffsetDateTime::now_utc());

        assert!(matches!(run.result, Err(SyncError::NoDirectory { .. })), "{:?}", run.result);
        assert!(run.steps.is_empty());
    }

    #[test]
    fn same_cert_and_key_path_is_rejected() {
        let fixture = Fixture::new();
        let renewed = fixture.issue(LeafSpec::valid_for(&["localhost"], 90));
        fixture.database("select", &renewed.cert_pem, &renewed.key_pem);

        let error = plan(&fixture.db(), &fixture.db(), &fixture.cert(), &fixture.cert(), OffsetDateTime::now_utc()).unwrap_err();

        assert!(matches!(error, SyncError::SamePath { .. }), "{error:?}");
    }

    #[test]
    fn second_backup_gets_a_new_name() {
        let fixture = Fixture::new();
        let old = fixture.issue(LeafSpec::expired(&["localhost"]));
        fixture.files(&old);
        let now = OffsetDateTime::now_utc();

        let first = back_up(&fixture.cert(), now, false).unwrap();
        let second = back_up(&fixture.cert(), now, false).unwrap();

        assert_ne!(first, second);
        assert!(second.display().to_string().ends_with("-1"), "{}", second.display());
    }

    #[test]
    fn backup_stamp_is_utc_compact() {
        let time = time::macros::datetime!(2026-11-30 03:00:09 +08:00);
        assert_eq!(backup_stamp(time), "20261129T190009Z");
    }
}
