//! End-to-end test of the demo server and `certwiz __demo-restart` as real processes: the
//! server keeps serving the certificate it loaded at start-up until a restart.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{mpsc, Arc, Once};
use std::thread;
use std::time::{Duration, Instant};

use certwiz::demo::restart::{read_state, start_server, stop_server, ServerInfo};
use certwiz::demo::server::ServerArgs;
use certwiz::pki::{write_pair, Authority, Issued, LeafSpec};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use time::macros::format_description;
use time::PrimitiveDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

const EXE: &str = env!("CARGO_BIN_EXE_certwiz");
const SUBCOMMAND: &str = "__demo-server";

/// Upper bound for one restart command; the restart itself allows 5 s + 2 s to stop and
/// 10 s to start.
const RESTART_TIMEOUT: Duration = Duration::from_secs(20);

/// Upper bound for one HTTPS request to the demo server.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Upper bound for a log line or process exit that happens in another process.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(5);

/// Certificate verifier that accepts any server certificate, so the test can record an
/// expired or self-issued leaf. It still checks the handshake signature against that leaf.
#[derive(Debug)]
struct AcceptAnyForTest(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyForTest {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Kills every demo server the test may have left behind, also when an assert fails.
struct Cleanup {
    state: PathBuf,
    pids: Vec<u32>,
}

impl Cleanup {
    fn new(state: &Path) -> Cleanup {
        Cleanup {
            state: state.to_path_buf(),
            pids: Vec::new(),
        }
    }

    fn track(&mut self, pid: u32) {
        self.pids.push(pid);
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Ok(info) = read_state(&self.state) {
            self.pids.push(info.pid);
        }
        for &pid in &self.pids {
            if is_live_demo_server(pid) {
                // SAFETY: kill(2) touches no memory. The pid was just checked to be a live demo
                // server, so no unrelated process gets the signal.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            }
            reap(pid);
        }
    }
}

/// Makes this test process the subreaper of its descendants, so a server started by a
/// restart command becomes its child when that command exits, and its exit can be checked
/// with waitpid instead of waiting for init to reap it.
fn adopt_orphans() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer flag and no pointers.
        let result = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        assert_eq!(result, 0, "prctl: {}", std::io::Error::last_os_error());
    });
}

/// Reaps `pid` if it is an exited child of this process; returns whether it did.
fn reap(pid: u32) -> bool {
    let mut status = 0;
    // SAFETY: `status` is a valid out-pointer for the duration of the call.
    let reaped = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, libc::WNOHANG) };
    reaped == pid as libc::pid_t
}

fn proc_dir(pid: u32) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}"))
}

fn is_live_demo_server(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(proc_dir(pid).join("stat")) else {
        return false;
    };
    let zombie = stat
        .rsplit_once(") ")
        .is_some_and(|(_, rest)| rest.starts_with('Z'));
    let cmdline = fs::read(proc_dir(pid).join("cmdline")).unwrap_or_default();
    let is_server = cmdline
        .split(|&byte| byte == 0)
        .any(|arg| arg == SUBCOMMAND.as_bytes());
    !zombie && is_server
}

/// Polls `condition` every 20 ms until it is true or `timeout` passes; returns its last value.
fn eventually(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

struct Scenario {
    dir: tempfile::TempDir,
    root: Authority,
    args: ServerArgs,
}

impl Scenario {
    fn new() -> Scenario {
        let dir = tempfile::tempdir().unwrap();
        let root = Authority::new("certwiz demo test root").unwrap();
        let args = ServerArgs {
            state: dir.path().join("state"),
            cert: dir.path().join("site.crt"),
            key: dir.path().join("site.key"),
            listen: "127.0.0.1:0".parse().unwrap(),
            log: dir.path().join("server.log"),
        };
        fs::create_dir(&args.state).unwrap();
        Scenario { dir, root, args }
    }

    fn install(&self, spec: &LeafSpec) -> Issued {
        let issued = self.root.issue(spec).unwrap();
        write_pair(self.dir.path(), "site", &issued, &[self.root.cert_pem()]).unwrap();
        issued
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.args.log).unwrap_or_default()
    }
}

/// Performs one HTTPS GET with `verifier` and returns the served leaf (DER) and the response.
fn fetch(port: u16, verifier: Arc<dyn ServerCertVerifier>) -> Result<(Vec<u8>, String), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        tokio::time::timeout(REQUEST_TIMEOUT, fetch_async(port, verifier))
            .await
            .map_err(|_| format!("request to port {port} timed out"))?
    })
}

async fn fetch_async(
    port: u16,
    verifier: Arc<dyn ServerCertVerifier>,
) -> Result<(Vec<u8>, String), String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| error.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    let connector = TlsConnector::from(Arc::new(config));

    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let tcp = TcpStream::connect(addr).await.map_err(|error| error.to_string())?;
    let name = ServerName::IpAddress(Ipv4Addr::LOCALHOST.into());
    let mut tls = connector
        .connect(name, tcp)
        .await
        .map_err(|error| error.to_string())?;

    let leaf = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|leaf| leaf.to_vec())
        .ok_or("server sent no certificate")?;

    tls.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .map_err(|error| error.to_string())?;
    let mut response = Vec::new();
    tls.read_to_end(&mut response)
        .await
        .map_err(|error| error.to_string())?;

    Ok((leaf, String::from_utf8_lossy(&response).into_owned()))
}

fn accept_any() -> Arc<dyn ServerCertVerifier> {
    Arc::new(AcceptAnyForTest(Arc::new(
        rustls::crypto::ring::default_provider(),
    )))
}

/// Returns the served leaf, failing the test if the request fails or the status is not 200.
fn served_leaf(port: u16) -> Vec<u8> {
    let (leaf, response) = fetch(port, accept_any()).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    leaf
}

/// Runs `certwiz __demo-restart` with piped stdout and stderr and returns its output and run
/// time. Waiting for the output also proves the new server does not hold those pipes open.
fn run_restart(state: &Path, cleanup: &mut Cleanup) -> (Output, Duration) {
    let started = Instant::now();
    let child = Command::new(EXE)
        .args(["__demo-restart", "--state"])
        .arg(state)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let restart_pid = child.id();

    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || sender.send(child.wait_with_output()));

    match receiver.recv_timeout(RESTART_TIMEOUT) {
        Ok(output) => (output.unwrap(), started.elapsed()),
        Err(_) => {
            // SAFETY: kill(2) touches no memory; `restart_pid` is our own unreaped child.
            unsafe { libc::kill(restart_pid as libc::pid_t, libc::SIGKILL) };
            if let Ok(info) = read_state(state) {
                cleanup.track(info.pid);
            }
            panic!("restart (pid {restart_pid}) did not finish within {RESTART_TIMEOUT:?}");
        }
    }
}

/// Returns the log lines `[YYYY-MM-DD HH:MM:SS] [INFO] <message>` for exactly `message`.
fn panel_info_lines<'a>(log: &'a str, message: &str) -> Vec<&'a str> {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    log.lines()
        .filter(|line| {
            let Some(rest) = line.strip_prefix('[') else {
                return false;
            };
            let Some((stamp, rest)) = rest.split_once("] [INFO] ") else {
                return false;
            };
            PrimitiveDateTime::parse(stamp, format).is_ok() && rest == message
        })
        .collect()
}

fn assert_exited(pid: u32) {
    assert!(
        eventually(SETTLE_TIMEOUT, || !is_live_demo_server(pid)),
        "process {pid} is still running"
    );
    // A server this test adopted is reaped here; one started in-process is reaped by certwiz.
    reap(pid);
    assert!(
        eventually(SETTLE_TIMEOUT, || !proc_dir(pid).exists()),
        "/proc/{pid} still exists"
    );
}

#[test]
fn restart_serves_renewed_certificate() {
    adopt_orphans();
    let scenario = Scenario::new();
    let mut cleanup = Cleanup::new(&scenario.args.state);
    let expired = scenario.install(&LeafSpec::expired(&["127.0.0.1"]));

    let first: ServerInfo = start_server(Path::new(EXE), &scenario.args).unwrap();
    cleanup.track(first.pid);

    assert_eq!(served_leaf(first.port), expired.der);

    let renewed = scenario.install(&LeafSpec::valid_for(&["127.0.0.1"], 90));
    assert_ne!(renewed.der, expired.der);
    // Without a restart the process keeps the certificate it loaded at start-up.
    assert_eq!(served_leaf(first.port), expired.der);

    let (output, elapsed) = run_restart(&scenario.args.state, &mut cleanup);
    let second = read_state(&scenario.args.state).unwrap();
    cleanup.track(second.pid);

    assert!(
        output.status.success(),
        "restart failed: {:?}\nstderr: {}\nlog:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr),
        scenario.log()
    );
    assert!(elapsed < Duration::from_secs(5), "restart took {elapsed:?}");
    assert_ne!(second.pid, first.pid);
    assert_eq!(second.port, first.port);
    assert!(String::from_utf8_lossy(&output.stdout).contains(&second.pid.to_string()));
    assert_exited(first.pid);

    assert_eq!(served_leaf(second.port), renewed.der);

    let log = scenario.log();
    let listen = format!("listen at https://127.0.0.1:{}", first.port);
    assert_eq!(panel_info_lines(&log, &listen).len(), 2, "log:\n{log}");
    assert_eq!(panel_info_lines(&log, "received SIGTERM, server stopped").len(), 1, "log:\n{log}");
    // The restart's readiness probes close without a handshake and are not logged.
    assert!(!log.contains("TLS handshake error"), "log:\n{log}");

    stop_server(&scenario.args.state).unwrap();
    assert_exited(second.pid);
}

#[test]
fn start_records_fixed_port_argv() {
    adopt_orphans();
    let scenario = Scenario::new();
    let mut cleanup = Cleanup::new(&scenario.args.state);
    scenario.install(&LeafSpec::valid_for(&["127.0.0.1"], 30));

    let info = start_server(Path::new(EXE), &scenario.args).unwrap();
    cleanup.track(info.pid);

    let listen = format!("127.0.0.1:{}", info.port);
    let state_dir = scenario.args.state.display().to_string();
    assert_eq!(info.args[0], fs::canonicalize(EXE).unwrap().display().to_string());
    assert_eq!(info.args[1], SUBCOMMAND);
    let after_listen = info.args.iter().skip_while(|arg| *arg != "--listen").nth(1);
    assert_eq!(after_listen, Some(&listen));
    let after_state = info.args.iter().skip_while(|arg| *arg != "--state").nth(1);
    assert_eq!(after_state, Some(&state_dir));
    assert_eq!(read_state(&scenario.args.state).unwrap(), info);

    stop_server(&scenario.args.state).unwrap();
    assert_exited(info.pid);
}

#[test]
fn restart_with_mismatched_key_fails() {
    adopt_orphans();
    let scenario = Scenario::new();
    let mut cleanup = Cleanup::new(&scenario.args.state);
    let original = scenario.install(&LeafSpec::expired(&["127.0.0.1"]));

    let first = start_server(Path::new(EXE), &scenario.args).unwrap();
    cleanup.track(first.pid);

    // A renewed certificate next to the old key, as when only the .crt file was replaced.
    let renewed = scenario
        .root
        .issue(&LeafSpec::valid_for(&["127.0.0.1"], 90))
        .unwrap();
    fs::write(&scenario.args.cert, &renewed.cert_pem).unwrap();
    assert_eq!(fs::read_to_string(&scenario.args.key).unwrap(), original.key_pem);

    let (output, _) = run_restart(&scenario.args.state, &mut cleanup);

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains("exit status: 2"), "stderr: {stderr}");
    assert!(stderr.contains(&scenario.args.log.display().to_string()), "stderr: {stderr}");
    let log = scenario.log();
    assert!(
        log.lines().any(|line| line == "panic: tls: private key does not match public key"),
        "log:\n{log}"
    );
    assert_exited(first.pid);
    assert!(std::net::TcpStream::connect(("127.0.0.1", first.port)).is_err());
    // The failed start leaves the state of the last good server for a retry.
    assert_eq!(read_state(&scenario.args.state).unwrap().pid, first.pid);
}

#[test]
fn start_with_missing_key_fails() {
    let scenario = Scenario::new();
    let _cleanup = Cleanup::new(&scenario.args.state);
    scenario.install(&LeafSpec::valid_for(&["127.0.0.1"], 30));
    fs::remove_file(&scenario.args.key).unwrap();

    let error = start_server(Path::new(EXE), &scenario.args).unwrap_err();

    assert!(error.to_string().contains("exit status: 2"), "{error}");
    let expected = format!(
        "panic: open {}: no such file or directory",
        scenario.args.key.display()
    );
    let log = scenario.log();
    assert!(log.lines().any(|line| line == expected), "log:\n{log}");
    assert!(read_state(&scenario.args.state).is_err());
}

#[test]
fn rejected_handshake_is_logged() {
    let scenario = Scenario::new();
    let mut cleanup = Cleanup::new(&scenario.args.state);
    scenario.install(&LeafSpec::valid_for(&["127.0.0.1"], 30));
    let info = start_server(Path::new(EXE), &scenario.args).unwrap();
    cleanup.track(info.pid);

    // A client that trusts another root rejects the served chain and sends an alert.
    let other_root = Authority::new("certwiz unrelated root").unwrap();
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(other_root.cert_der().to_vec()))
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        provider,
    )
    .build()
    .unwrap();

    let result = fetch(info.port, verifier);

    assert!(result.is_err(), "{result:?}");
    let format = format_description!("[year]/[month]/[day] [hour]:[minute]:[second]");
    let prefix = " http: TLS handshake error from 127.0.0.1:";
    let logged = eventually(SETTLE_TIMEOUT, || {
        scenario.log().lines().any(|line| {
            line.get(..19)
                .is_some_and(|stamp| PrimitiveDateTime::parse(stamp, format).is_ok())
                && line[19..].starts_with(prefix)
        })
    });
    assert!(logged, "log:\n{}", scenario.log());
    // The server keeps serving after a failed handshake.
    assert!(fetch(info.port, accept_any()).is_ok());
}

#[test]
fn server_loads_openssl_rsa_key() {
    let scenario = Scenario::new();
    let mut cleanup = Cleanup::new(&scenario.args.state);
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=127.0.0.1", "-keyout"])
        .arg(&scenario.args.key)
        .arg("-out")
        .arg(&scenario.args.cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl is installed");
    assert!(status.success());

    let info = start_server(Path::new(EXE), &scenario.args).unwrap();
    cleanup.track(info.pid);

    let pem = fs::read(&scenario.args.cert).unwrap();
    let (_, expected) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
    assert_eq!(served_leaf(info.port), expected.contents);
}
