//! Fixtures for the `diagnose_*` integration tests: a builder that runs the built `certwiz`
//! binary, a site with its own CA, certificate files and demo HTTPS server, and small servers
//! for endpoints that are closed or do not speak TLS.
//!
//! Everything listens on 127.0.0.1 and lives in temporary directories. Each test file uses a
//! different subset of these helpers, hence the `dead_code` allowance.

#![allow(dead_code)]

pub mod tmux;

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime};

use certwiz::demo::restart::{read_state, start_server, stop_server, ServerInfo};
use certwiz::demo::server::ServerArgs;
use certwiz::pki::{write_pair, Authority, Issued, LeafSpec};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Path of the binary under test.
pub const EXE: &str = env!("CARGO_BIN_EXE_certwiz");

/// Names on every leaf the fixtures issue. The flow connects to 127.0.0.1 and sends
/// `localhost` as SNI, as `certwiz demo` does.
pub const NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// Upper bound on one certwiz run. The slowest run in these tests, a verify that never gets
/// the renewed certificate, takes a few seconds.
const RUN_TIMEOUT: Duration = Duration::from_secs(90);

const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Returns the SHA-256 fingerprint of `der` as certwiz prints it: upper-case hex pairs
/// joined by `:`.
pub fn fingerprint(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    let pairs: Vec<String> = digest.iter().map(|byte| format!("{byte:02X}")).collect();
    pairs.join(":")
}

/// Sets the modification time of `path` to now plus `seconds` (negative: in the past).
///
/// A file written in the same clock second as a server started cannot be ordered against the
/// process, because /proc start times are only as precise as the boot time in /proc/stat
/// (whole seconds). Moving the mtime a few seconds makes the order unambiguous.
pub fn set_mtime_from_now(path: &Path, seconds: i64) {
    let offset = Duration::from_secs(seconds.unsigned_abs());
    let now = SystemTime::now();
    let mtime = if seconds >= 0 { now + offset } else { now - offset };

    let file = File::options()
        .write(true)
        .open(path)
        .unwrap_or_else(|error| panic!("open {}: {error}", path.display()));
    file.set_modified(mtime)
        .unwrap_or_else(|error| panic!("set mtime of {}: {error}", path.display()));
}

/// Polls `condition` until it is true or `timeout` passes, and returns its last value.
pub fn eventually(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(POLL_INTERVAL);
    }
}

/// Returns whether `pid` is a running process (present in /proc and not a zombie).
pub fn is_running(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state letter follows the parenthesised command name, which may contain spaces.
    let state = stat.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next());
    !matches!(state, None | Some('Z' | 'X' | 'x'))
}

/// Builder for one run of the certwiz binary.
///
/// Runs start with `LANG=C`, no `LC_ALL`/`LC_MESSAGES`, `NO_COLOR=1`, stdin from /dev/null
/// and `--lang en`. [`Certwiz::lang`] and [`Certwiz::env`] change that.
pub struct Certwiz {
    args: Vec<OsString>,
    env: Vec<(String, String)>,
    lang: Option<String>,
}

impl Certwiz {
    /// Starts a command line with `args` after the executable.
    pub fn new<I, S>(args: I) -> Certwiz
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Certwiz {
            args: args.into_iter().map(Into::into).collect(),
            env: Vec::new(),
            lang: Some("en".to_string()),
        }
    }

    /// Starts `certwiz diagnose --non-interactive`.
    pub fn diagnose() -> Certwiz {
        Certwiz::new(["diagnose", "--non-interactive"])
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Certwiz {
        self.args.push(arg.into());
        self
    }

    /// Adds `--set NAME=VALUE`. A later value for the same name wins.
    pub fn set(self, name: &str, value: impl AsRef<str>) -> Certwiz {
        self.arg("--set").arg(format!("{name}={}", value.as_ref()))
    }

    /// Adds `--set NAME=PATH`.
    pub fn set_path(self, name: &str, path: &Path) -> Certwiz {
        let value = path.display().to_string();
        self.set(name, value)
    }

    /// Adds `--answers PATH`.
    pub fn answers(self, path: &Path) -> Certwiz {
        self.arg("--answers").arg(path)
    }

    /// Adds `--json`.
    pub fn json(self) -> Certwiz {
        self.arg("--json")
    }

    /// Adds `--yes`.
    pub fn yes(self) -> Certwiz {
        self.arg("--yes")
    }

    /// Passes `--lang LANG` instead of `--lang en`, or no `--lang` at all for `None`.
    pub fn lang(mut self, lang: Option<&str>) -> Certwiz {
        self.lang = lang.map(str::to_string);
        self
    }

    /// Sets an environment variable of the run.
    pub fn env(mut self, name: &str, value: &str) -> Certwiz {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    /// Runs the binary and waits at most 90 s for it, then kills it and fails the test.
    pub fn run(self) -> Output {
        let mut command = Command::new(EXE);
        command.args(&self.args);
        if let Some(lang) = &self.lang {
            command.arg("--lang").arg(lang);
        }
        command
            .env("LANG", "C")
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .env_remove("CLICOLOR_FORCE")
            .env("NO_COLOR", "1");
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());

        let description = format!("{EXE} {:?}", command.get_args().collect::<Vec<_>>());
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("failed to start {description}: {error}"));

        // The pipes are drained on threads, so a chatty run cannot block on a full pipe.
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());

        let deadline = Instant::now() + RUN_TIMEOUT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    // Errors are ignored because the child may have exited since `try_wait`.
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "{description} did not finish within {RUN_TIMEOUT:?}\nstderr:\n{}",
                        join_output(stderr)
                    );
                }
                Ok(None) => thread::sleep(POLL_INTERVAL),
                Err(error) => panic!("failed to wait for {description}: {error}"),
            }
        };

        Output {
            description,
            code: status.code(),
            stdout: join_output(stdout),
            stderr: join_output(stderr),
        }
    }
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            // A read error only shortens the captured output, and the exit code is still checked.
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn join_output(handle: JoinHandle<String>) -> String {
    handle.join().unwrap_or_else(|_| "<output reader panicked>".to_string())
}

/// Exit code and output of one finished certwiz run.
pub struct Output {
    description: String,
    /// Exit code, or `None` when a signal ended the process.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Returns the command line, exit code and both outputs, for assertion messages.
    pub fn context(&self) -> String {
        format!(
            "command: {}\nexit code: {:?}\n--- stderr ---\n{}\n--- stdout ---\n{}",
            self.description, self.code, self.stderr, self.stdout
        )
    }

    /// Asserts that the run exited with `code`.
    pub fn assert_code(&self, code: i32) {
        assert_eq!(self.code, Some(code), "unexpected exit code\n{}", self.context());
    }

    /// Parses stdout as the JSON report.
    pub fn report(&self) -> Report {
        match serde_json::from_str(&self.stdout) {
            Ok(value) => Report(value),
            Err(error) => panic!("stdout is not a JSON report: {error}\n{}", self.context()),
        }
    }
}

/// The JSON report of a run, with accessors for the fields the tests compare.
pub struct Report(pub Value);

impl Report {
    pub fn outcome(&self) -> &str {
        self.0["outcome"].as_str().unwrap_or("<missing>")
    }

    /// Returns the visited state ids in order.
    pub fn path(&self) -> Vec<&str> {
        strings(&self.0["path"])
    }

    /// Returns the finding ids in the order the run recorded them.
    pub fn finding_ids(&self) -> Vec<&str> {
        self.findings()
            .iter()
            .map(|finding| finding["id"].as_str().unwrap_or("<missing>"))
            .collect()
    }

    pub fn findings(&self) -> &[Value] {
        self.0["findings"].as_array().map_or(&[], Vec::as_slice)
    }

    /// Returns the first finding with `id`, failing the test when there is none.
    pub fn finding(&self, id: &str) -> &Value {
        self.findings()
            .iter()
            .find(|finding| finding["id"] == id)
            .unwrap_or_else(|| panic!("no finding `{id}` in {:?}", self.finding_ids()))
    }

    pub fn actions(&self) -> &[Value] {
        self.0["actions"].as_array().map_or(&[], Vec::as_slice)
    }

    /// Returns `certificates.served.sha256` or `certificates.disk.sha256`.
    pub fn sha256(&self, which: &str) -> &str {
        self.0["certificates"][which]["sha256"]
            .as_str()
            .unwrap_or("<missing>")
    }

    /// Returns the pretty JSON, for assertion messages.
    pub fn pretty(&self) -> String {
        serde_json::to_string_pretty(&self.0).unwrap_or_default()
    }
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .map(|items| items.iter().map(|item| item.as_str().unwrap_or("<non-string>")).collect())
        .unwrap_or_default()
}

/// A demo HTTPS server (`certwiz __demo-server`) that loaded its certificate once at start-up.
/// Dropping it stops the process that its state directory currently records, which is the
/// restarted one after a restart.
pub struct DemoServer {
    pub state: PathBuf,
    pub log: PathBuf,
    /// The server as first started.
    pub started: ServerInfo,
}

impl DemoServer {
    pub fn port(&self) -> u16 {
        self.started.port
    }

    /// Returns the server that the state directory records now.
    pub fn current(&self) -> ServerInfo {
        read_state(&self.state)
            .unwrap_or_else(|error| panic!("read state {}: {error}", self.state.display()))
    }

    /// Returns the command line that restarts this server, quoted with shell rules.
    pub fn restart_command(&self) -> String {
        restart_command(&self.state)
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        if let Err(error) = stop_server(&self.state) {
            eprintln!("failed to stop demo server in {}: {error}", self.state.display());
        }
    }
}

fn restart_command(state: &Path) -> String {
    let state = state.display().to_string();
    let words = [EXE, "__demo-restart", "--state", state.as_str()];
    // The paths come from tempfile and Cargo and contain no NUL byte, so quoting succeeds.
    shlex::try_join(words).expect("paths contain no NUL byte")
}

/// A site: a CA, the certificate and key files the flow reads (`site.crt`, `site.key`), an
/// optional demo server, a server log and an empty `--root`, all in temporary directories.
pub struct Site {
    // Declared first so it is dropped first: the server must stop while its state
    // directory still exists.
    server: Option<DemoServer>,
    pub ca: Authority,
    pub dir: tempfile::TempDir,
    /// Empty directory passed as `--root`, so a panel installed on the test machine is ignored.
    pub root: tempfile::TempDir,
}

impl Site {
    /// Creates the directories and a root CA, written to `ca.pem`.
    pub fn new() -> Site {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let root = tempfile::tempdir().expect("create a temporary directory");
        let ca = Authority::new("certwiz itest root").expect("generate a root CA");
        fs::write(dir.path().join("ca.pem"), ca.cert_pem()).expect("write ca.pem");
        Site {
            server: None,
            ca,
            dir,
            root,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn ca_file(&self) -> PathBuf {
        self.path("ca.pem")
    }

    pub fn cert_file(&self) -> PathBuf {
        self.path("site.crt")
    }

    pub fn key_file(&self) -> PathBuf {
        self.path("site.key")
    }

    pub fn log_file(&self) -> PathBuf {
        self.path("server.log")
    }

    pub fn state_dir(&self) -> PathBuf {
        self.path("state")
    }

    /// Issues a leaf for `spec` from the site CA.
    pub fn issue(&self, spec: LeafSpec) -> Issued {
        self.ca.issue(&spec).expect("issue a leaf certificate")
    }

    /// Issues a leaf valid for 90 days from now.
    pub fn issue_valid(&self) -> Issued {
        self.issue(LeafSpec::valid_for(&NAMES, 90))
    }

    /// Issues a leaf that expired yesterday.
    pub fn issue_expired(&self) -> Issued {
        self.issue(LeafSpec::expired(&NAMES))
    }

    /// Writes `STEM.crt` (leaf, then `chain_extra`) and `STEM.key` in the site directory.
    pub fn write_pair(&self, stem: &str, issued: &Issued, chain_extra: &[String]) -> (PathBuf, PathBuf) {
        write_pair(self.dir.path(), stem, issued, chain_extra).expect("write certificate and key")
    }

    /// Writes `site.crt` and `site.key`, the files the flow reads.
    pub fn install(&self, issued: &Issued) {
        self.write_pair("site", issued, &[]);
    }

    /// Starts a demo server that loads `cert` and `key` and logs to `server.log`, and waits
    /// until it accepts connections.
    pub fn start_server(&mut self, cert: &Path, key: &Path) -> &DemoServer {
        assert!(self.server.is_none(), "the site already runs a server");
        let args = ServerArgs {
            state: self.state_dir(),
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            listen: "127.0.0.1:0".parse().expect("constant socket address"),
            log: self.log_file(),
        };
        let started = match start_server(Path::new(EXE), &args) {
            Ok(info) => info,
            Err(error) => panic!(
                "failed to start the demo server: {error}\nlog:\n{}",
                fs::read_to_string(&args.log).unwrap_or_default()
            ),
        };
        self.server.insert(DemoServer {
            state: args.state,
            log: args.log,
            started,
        })
    }

    /// Starts a demo server on `site.crt` and `site.key`.
    pub fn start_site_server(&mut self) -> &DemoServer {
        let (cert, key) = (self.cert_file(), self.key_file());
        self.start_server(&cert, &key)
    }

    pub fn server(&self) -> &DemoServer {
        self.server.as_ref().expect("the site runs a server")
    }

    /// Returns `certwiz diagnose --non-interactive` aimed at the site's server, with every
    /// panel variable set and short timeouts.
    pub fn diagnose(&self) -> Certwiz {
        self.diagnose_port(self.server().port())
    }

    /// Returns `certwiz diagnose --non-interactive` aimed at 127.0.0.1:`port` and the site's
    /// files, with every panel variable set and short timeouts.
    pub fn diagnose_port(&self, port: u16) -> Certwiz {
        Certwiz::diagnose()
            .arg("--root")
            .arg(self.root.path())
            .set("host", "127.0.0.1")
            .set("port", port.to_string())
            .set("server_name", "localhost")
            .set_path("cert_file", &self.cert_file())
            .set_path("key_file", &self.key_file())
            .set_path("ca_file", &self.ca_file())
            .set("restart_command", restart_command(&self.state_dir()))
            .set_path("log_files", &self.log_file())
            .set("timeout_secs", "3")
            .set("verify_attempts", "5")
            .set("verify_interval_secs", "1")
            .set("action_timeout_secs", "30")
    }

    /// Writes a TOML answers file and returns its path.
    pub fn answers_file(&self, text: &str) -> PathBuf {
        let path = self.path("answers.toml");
        fs::write(&path, text).expect("write answers file");
        path
    }
}

/// Returns a loopback port that nothing listens on: the port of a listener that was just
/// closed. Another process could take it in between, which is unlikely on a test machine.
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    port
}

/// A plain-text TCP server on 127.0.0.1 that answers every connection with
/// `HTTP/1.1 400 Bad Request`, as an HTTP server does when it receives a TLS ClientHello.
pub struct PlainHttpServer {
    port: u16,
    stop: Arc<AtomicBool>,
    connections: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl PlainHttpServer {
    pub fn start() -> PlainHttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(AtomicUsize::new(0));

        let thread = {
            let stop = Arc::clone(&stop);
            let connections = Arc::clone(&connections);
            thread::spawn(move || serve_plain_http(&listener, &stop, &connections))
        };

        PlainHttpServer {
            port,
            stop,
            connections,
            thread: Some(thread),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Returns how many connections the server has responded to.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

fn serve_plain_http(listener: &TcpListener, stop: &AtomicBool, connections: &AtomicUsize) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(mut stream) = stream else { continue };

        // Reads the start of the request (a ClientHello) before answering, like an HTTP server.
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let mut request = [0u8; 1024];
        let _ = stream.read(&mut request);
        let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        let _ = stream.shutdown(Shutdown::Both);
        connections.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for PlainHttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // One more connection wakes the blocking `accept`, which then reads the stop flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// An RSA CA and leaf made by `/usr/bin/openssl`, because rcgen cannot generate RSA keys with
/// the ring backend.
pub struct OpensslPki {
    pub ca_file: PathBuf,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// DER of the leaf certificate.
    pub leaf_der: Vec<u8>,
}

/// Makes an RSA-2048 root CA (`rsa-ca.pem`) and an RSA-2048 leaf for [`NAMES`] signed by it
/// (`rsa.crt`, `rsa.key`) in `dir`.
pub fn openssl_rsa_pki(dir: &Path) -> OpensslPki {
    let ca_key = dir.join("rsa-ca.key");
    let ca_file = dir.join("rsa-ca.pem");
    let csr = dir.join("rsa.csr");
    let cert_file = dir.join("rsa.crt");
    let key_file = dir.join("rsa.key");
    let extensions = dir.join("rsa-leaf.cnf");

    openssl(&[
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
        "-subj", "/CN=certwiz itest RSA root",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-keyout", path_str(&ca_key), "-out", path_str(&ca_file),
    ]);
    openssl(&[
        "req", "-new", "-newkey", "rsa:2048", "-nodes",
        "-subj", "/CN=localhost",
        "-keyout", path_str(&key_file), "-out", path_str(&csr),
    ]);
    fs::write(
        &extensions,
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n\
         basicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\n",
    )
    .expect("write leaf extensions");
    openssl(&[
        "x509", "-req", "-in", path_str(&csr),
        "-CA", path_str(&ca_file), "-CAkey", path_str(&ca_key),
        "-set_serial", "0x5eed1234", "-days", "30",
        "-extfile", path_str(&extensions), "-out", path_str(&cert_file),
    ]);

    let pem = fs::read(&cert_file).expect("read the openssl leaf");
    let (_, parsed) = x509_parser::pem::parse_x509_pem(&pem).expect("openssl writes a PEM certificate");
    OpensslPki {
        ca_file,
        cert_file,
        key_file,
        leaf_der: parsed.contents,
    }
}

fn path_str(path: &Path) -> &str {
    // tempfile names are ASCII, so only a non-UTF-8 TMPDIR can fail this, with a clear message.
    path.to_str().expect("temporary paths are UTF-8")
}

fn openssl(args: &[&str]) {
    let output = Command::new("/usr/bin/openssl")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run /usr/bin/openssl");
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}
