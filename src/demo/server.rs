//! Demo HTTPS server process: a stand-in for the 1Panel panel's HTTPS listener.
//!
//! Like the panel, it loads its certificate chain and key once at start-up and never reloads
//! them (no SIGHUP handling), so a renewed certificate is served only after a restart. Its log
//! lines copy the panel's formats: `[date time] [INFO] ...` lines, Go `net/http` handshake
//! errors and `panic: ...` on a failed start. All timestamps are UTC, because the `time` crate
//! cannot read the local offset safely in a multi-threaded process.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::Semaphore;
use tokio::time::{timeout_at, Instant};
use tokio_rustls::TlsAcceptor;

use super::restart::{state_path, ServerInfo};

/// Name of the hidden subcommand that runs this server; `cli.rs` declares the same name.
pub const SUBCOMMAND: &str = "__demo-server";

/// Exit status after a failed start, as a Go program's panic exits.
const PANIC_EXIT_STATUS: u8 = 2;

/// Time allowed for one connection's handshake, request and response together.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);

/// Maximum number of connections served at once; more are closed on accept.
const MAX_CONNECTIONS: usize = 64;

/// Maximum size of a request line plus headers.
const MAX_REQUEST_HEAD: usize = 8 * 1024;

/// Pause after a failed `accept`, so a persistent error such as EMFILE does not spin the loop.
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(100);

const PAGE: &str = "<!doctype html>\n<title>certwiz demo</title>\n<p>certwiz demo server</p>\n";

const PANEL_TIME: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
const GO_LOG_TIME: &[BorrowedFormatItem<'static>] =
    format_description!("[year]/[month]/[day] [hour]:[minute]:[second]");

/// Arguments of the hidden `__demo-server` command.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// Directory holding the server's state (pid, port, original arguments).
    #[arg(long)]
    pub state: PathBuf,

    /// Certificate chain file, PEM, leaf first.
    #[arg(long)]
    pub cert: PathBuf,

    /// Private key file, PEM.
    #[arg(long)]
    pub key: PathBuf,

    /// Loopback address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,

    /// Log file, appended to.
    #[arg(long)]
    pub log: PathBuf,
}

impl ServerArgs {
    /// Returns the command-line arguments after the subcommand name that start a server with
    /// these settings.
    pub fn to_args(&self) -> Vec<OsString> {
        vec![
            "--state".into(),
            self.state.clone().into(),
            "--cert".into(),
            self.cert.clone().into(),
            "--key".into(),
            self.key.clone().into(),
            "--listen".into(),
            self.listen.to_string().into(),
            "--log".into(),
            self.log.clone().into(),
        ]
    }

    /// Returns a copy with every path made absolute against the current directory, so the
    /// arguments still work when a restart runs from another directory.
    pub fn to_absolute(&self) -> io::Result<ServerArgs> {
        Ok(ServerArgs {
            state: std::path::absolute(&self.state)?,
            cert: std::path::absolute(&self.cert)?,
            key: std::path::absolute(&self.key)?,
            listen: self.listen,
            log: std::path::absolute(&self.log)?,
        })
    }
}

/// Error that stops the server before it serves.
///
/// The TLS messages copy Go's `crypto/tls` texts verbatim (and so do not name the file),
/// because the real panel logs those and log readers match them.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("getwd: {}", go_reason(.0))]
    CurrentDir(#[source] io::Error),

    #[error("open {}: {}", .path.display(), go_reason(.source))]
    Open { path: PathBuf, source: io::Error },

    #[error("tls: failed to find any PEM data in certificate input")]
    NoCertificate { path: PathBuf },

    #[error("tls: failed to find any PEM data in key input")]
    NoPrivateKey { path: PathBuf },

    // The PEM parser's own error can quote a line of the key file, so it is dropped here.
    #[error("tls: failed to parse private key")]
    InvalidPrivateKey { path: PathBuf },

    #[error("tls: private key does not match public key")]
    KeyMismatch { cert: PathBuf, key: PathBuf },

    #[error("tls: {0}")]
    Tls(#[source] rustls::Error),

    #[error("listen tcp {addr}: {addr} is not a loopback address")]
    NotLoopback { addr: SocketAddr },

    #[error("listen tcp {addr}: bind: {}", go_reason(.source))]
    Bind { addr: SocketAddr, source: io::Error },

    #[error("signal: {}", go_reason(.0))]
    Signal(#[source] io::Error),

    #[error("runtime: {}", go_reason(.0))]
    Runtime(#[source] io::Error),

    #[error("path {} is not valid UTF-8", .path.display())]
    NonUtf8Path { path: PathBuf },

    #[error("write {}: {}", .path.display(), go_reason(.source))]
    WriteState { path: PathBuf, source: io::Error },
}

/// Runs the server until SIGTERM or SIGINT and returns its exit status: 0 after a signal,
/// 2 after a failed start (with a `panic: ...` line in the log).
pub fn run(args: ServerArgs) -> ExitCode {
    let log = match ServerLog::open(&args.log) {
        Ok(log) => Arc::new(log),
        Err(error) => {
            eprintln!("panic: open {}: {}", args.log.display(), go_reason(&error));
            return ExitCode::from(PANIC_EXIT_STATUS);
        }
    };

    match start(&args, &log) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            log.write_line(&format!("panic: {error}"));
            ExitCode::from(PANIC_EXIT_STATUS)
        }
    }
}

fn start(args: &ServerArgs, log: &Arc<ServerLog>) -> Result<(), ServerError> {
    let args = args.to_absolute().map_err(ServerError::CurrentDir)?;
    if !args.listen.ip().is_loopback() {
        return Err(ServerError::NotLoopback { addr: args.listen });
    }

    let config = load_tls_config(&args.cert, &args.key)?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ServerError::Runtime)?;
    runtime.block_on(serve(&args, config, log))
}

/// Loads the certificate chain and private key, as Go's `tls.LoadX509KeyPair` does.
pub fn load_tls_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, ServerError> {
    let cert_pem = read_file(cert)?;
    let key_pem = read_file(key)?;

    let chain = parse_chain(&cert_pem, cert)?;
    let private_key = parse_private_key(&key_pem, key)?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(ServerError::Tls)?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(|error| match error {
            rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
                ServerError::KeyMismatch {
                    cert: cert.to_path_buf(),
                    key: key.to_path_buf(),
                }
            }
            other => ServerError::Tls(other),
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];

    Ok(Arc::new(config))
}

fn read_file(path: &Path) -> Result<Vec<u8>, ServerError> {
    fs::read(path).map_err(|source| ServerError::Open {
        path: path.to_path_buf(),
        source,
    })
}

fn parse_chain(pem: &[u8], path: &Path) -> Result<Vec<CertificateDer<'static>>, ServerError> {
    // Like Go's pem.Decode, a malformed block counts as no PEM data.
    let no_certificate = || ServerError::NoCertificate {
        path: path.to_path_buf(),
    };

    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| no_certificate())?;
    if chain.is_empty() {
        return Err(no_certificate());
    }

    Ok(chain)
}

fn parse_private_key(pem: &[u8], path: &Path) -> Result<PrivateKeyDer<'static>, ServerError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|error| match error {
        pem::Error::NoItemsFound => ServerError::NoPrivateKey {
            path: path.to_path_buf(),
        },
        _ => ServerError::InvalidPrivateKey {
            path: path.to_path_buf(),
        },
    })
}

async fn serve(
    args: &ServerArgs,
    config: Arc<ServerConfig>,
    log: &Arc<ServerLog>,
) -> Result<(), ServerError> {
    // Handlers go in first, so a SIGTERM that arrives right after start-up is still logged.
    let mut terminate = signal(SignalKind::terminate()).map_err(ServerError::Signal)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(ServerError::Signal)?;

    let listener = bind(args.listen)?;
    let bound = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: args.listen,
        source,
    })?;

    write_state(args, bound)?;
    log.info(&format!("listen at https://{bound}"));

    let acceptor = TlsAcceptor::from(config);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));

    loop {
        tokio::select! {
            _ = terminate.recv() => {
                log.info("received SIGTERM, server stopped");
                return Ok(());
            }
            _ = interrupt.recv() => {
                log.info("received SIGINT, server stopped");
                return Ok(());
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                        log.error(&format!("too many connections, closed connection from {peer}"));
                        continue;
                    };
                    let acceptor = acceptor.clone();
                    let log = Arc::clone(log);
                    tokio::spawn(async move {
                        handle_connection(stream, peer, acceptor, &log).await;
                        drop(slot);
                    });
                }
                Err(error) => {
                    log.error(&format!("accept failed: {error}"));
                    tokio::time::sleep(ACCEPT_RETRY_DELAY).await;
                }
            },
        }
    }
}

/// Binds with SO_REUSEADDR, so a restarted server can take the port while old connections
/// of the previous process are still in TIME_WAIT.
fn bind(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    let bind_error = |source| ServerError::Bind { addr, source };

    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(bind_error)?;
    socket.set_reuseaddr(true).map_err(bind_error)?;
    socket.bind(addr).map_err(bind_error)?;

    socket.listen(1024).map_err(bind_error)
}

/// Writes `server.json` through a temporary file and a rename, so readers never see a
/// partial file.
fn write_state(args: &ServerArgs, bound: SocketAddr) -> Result<(), ServerError> {
    let path = state_path(&args.state);
    let write_error = |source| ServerError::WriteState {
        path: path.clone(),
        source,
    };

    let info = ServerInfo {
        pid: std::process::id(),
        port: bound.port(),
        args: restart_args(args, bound)?,
    };
    let json = serde_json::to_vec_pretty(&info).map_err(|error| write_error(error.into()))?;

    let temporary = args
        .state
        .join(format!(".server.json.{}.tmp", std::process::id()));
    fs::write(&temporary, json).map_err(write_error)?;
    fs::rename(&temporary, &path).map_err(write_error)
}

/// Returns the full argv that starts this server again on the port it bound.
fn restart_args(args: &ServerArgs, bound: SocketAddr) -> Result<Vec<String>, ServerError> {
    let exe = std::env::current_exe().map_err(ServerError::CurrentDir)?;
    let fixed = ServerArgs {
        listen: bound,
        ..args.clone()
    };

    let mut argv = vec![exe.into_os_string(), SUBCOMMAND.into()];
    argv.extend(fixed.to_args());

    argv.into_iter()
        .map(|arg| {
            arg.into_string().map_err(|arg| ServerError::NonUtf8Path {
                path: PathBuf::from(arg),
            })
        })
        .collect()
}

async fn handle_connection(
    stream: TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    log: &ServerLog,
) {
    let deadline = Instant::now() + CONNECTION_TIMEOUT;

    // Readiness probes connect and close without sending a byte. Go's net/http logs an EOF
    // handshake error for each of them. This server skips them, so that a restart's own
    // probes do not read like client failures.
    let reason = match timeout_at(deadline, stream.peek(&mut [0u8; 1])).await {
        Ok(Ok(0)) => return,
        Ok(Ok(_)) => None,
        Ok(Err(error)) => Some(go_reason(&error)),
        Err(_) => Some("i/o timeout".to_string()),
    };
    if let Some(reason) = reason {
        log.handshake_error(peer, &reason);
        return;
    }

    let tls = match timeout_at(deadline, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(error)) => {
            log.handshake_error(peer, &handshake_reason(&error));
            return;
        }
        Err(_) => {
            log.handshake_error(peer, "i/o timeout");
            return;
        }
    };

    // Like Go's net/http, errors after the handshake are not logged.
    if let Ok(Err(error)) = timeout_at(deadline, respond(tls)).await {
        tracing::debug!(%peer, %error, "connection failed after handshake");
    }
}

fn handshake_reason(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::UnexpectedEof => "EOF".to_string(),
        _ => error.to_string(),
    }
}

/// Reads one HTTP/1.1 request head, writes the response and closes the stream.
pub async fn respond<S>(mut stream: S) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let head = read_request_head(&mut stream).await?;
    let response = response_for(&head);

    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

async fn read_request_head<S: AsyncRead + Unpin>(stream: &mut S) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(1024);
    let mut buffer = [0u8; 1024];

    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        if head.len() > MAX_REQUEST_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("request head exceeds {MAX_REQUEST_HEAD} bytes"),
            ));
        }
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&buffer[..read]);
    }

    Ok(head)
}

/// Returns the response to a request head: 200 with a small page for GET, 405 for other
/// methods and 400 for a malformed request line.
fn response_for(head: &[u8]) -> String {
    let request_line = head.split(|&byte| byte == b'\r').next().unwrap_or_default();
    let mut parts = request_line.split(|&byte| byte == b' ');
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or_default();
    let version = parts.next().unwrap_or_default();

    let well_formed = !method.is_empty() && !target.is_empty() && version.starts_with(b"HTTP/1.");
    match (well_formed, method) {
        (false, _) => http_response("400 Bad Request", "", "bad request\n"),
        (true, b"GET") => http_response("200 OK", "", PAGE),
        (true, _) => http_response("405 Method Not Allowed", "Allow: GET\r\n", "method not allowed\n"),
    }
}

fn http_response(status: &str, extra_headers: &str, body: &str) -> String {
    let content_type = if status.starts_with("200") {
        "text/html; charset=utf-8"
    } else {
        "text/plain; charset=utf-8"
    };

    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         {extra_headers}Connection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Returns the text Go prints for an OS error: the C library message in lower case, without
/// Rust's ` (os error N)` suffix.
fn go_reason(error: &io::Error) -> String {
    let text = error.to_string();
    let Some(code) = error.raw_os_error() else {
        return text;
    };

    let message = text
        .strip_suffix(&format!(" (os error {code})"))
        .unwrap_or(&text);
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => message.to_string(),
    }
}

/// Append-only log file shared by all connections.
struct ServerLog {
    file: Mutex<File>,
}

impl ServerLog {
    fn open(path: &Path) -> io::Result<ServerLog> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(ServerLog {
            file: Mutex::new(file),
        })
    }

    fn info(&self, message: &str) {
        self.write_line(&format!("[{}] [INFO] {message}", now(PANEL_TIME)));
    }

    fn error(&self, message: &str) {
        self.write_line(&format!("[{}] [ERROR] {message}", now(PANEL_TIME)));
    }

    fn handshake_error(&self, peer: SocketAddr, reason: &str) {
        self.write_line(&format!(
            "{} http: TLS handshake error from {peer}: {reason}",
            now(GO_LOG_TIME)
        ));
    }

    /// Writes one line with a single `write` call, so lines from concurrent writers (and from
    /// another process appending to the same file) do not interleave.
    fn write_line(&self, line: &str) {
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(error) = file.write_all(format!("{line}\n").as_bytes()) {
            eprintln!("{line}\n(log write failed: {error})");
        }
    }
}

fn now(format: &[BorrowedFormatItem<'_>]) -> String {
    OffsetDateTime::now_utc()
        .format(format)
        .unwrap_or_else(|error| format!("<time format failed: {error}>"))
}

#[cfg(test)]
mod tests {
    use super::*;

    use clap::Parser;

    use crate::cli::{Cli, Command};
    use crate::pki::{write_pair, Authority, LeafSpec};

    fn issue_pair(dir: &Path, stem: &str) -> (PathBuf, PathBuf) {
        let root = Authority::new("certwiz test root").unwrap();
        let issued = root.issue(&LeafSpec::valid_for(&["127.0.0.1"], 30)).unwrap();
        write_pair(dir, stem, &issued, &[root.cert_pem()]).unwrap()
    }

    #[test]
    fn subcommand_name_matches_cli() {
        let args = ServerArgs {
            state: "/tmp/state".into(),
            cert: "/tmp/site.crt".into(),
            key: "/tmp/site.key".into(),
            listen: "127.0.0.1:8443".parse().unwrap(),
            log: "/tmp/server.log".into(),
        };
        let mut argv: Vec<OsString> = vec!["certwiz".into(), SUBCOMMAND.into()];
        argv.extend(args.to_args());

        let cli = Cli::try_parse_from(argv).unwrap();

        let Command::DemoServer(parsed) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(parsed.state, args.state);
        assert_eq!(parsed.cert, args.cert);
        assert_eq!(parsed.key, args.key);
        assert_eq!(parsed.listen, args.listen);
        assert_eq!(parsed.log, args.log);
    }

    #[test]
    fn load_tls_config_accepts_matching_pair() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = issue_pair(dir.path(), "site");

        assert!(load_tls_config(&cert, &key).is_ok());
    }

    #[test]
    fn load_tls_config_missing_cert_names_path() {
        let dir = tempfile::tempdir().unwrap();
        let (_, key) = issue_pair(dir.path(), "site");
        let missing = dir.path().join("absent.crt");

        let error = load_tls_config(&missing, &key).unwrap_err();

        assert!(matches!(&error, ServerError::Open { path, .. } if *path == missing));
        assert_eq!(
            error.to_string(),
            format!("open {}: no such file or directory", missing.display())
        );
    }

    #[test]
    fn load_tls_config_mismatched_key_is_key_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, _) = issue_pair(dir.path(), "first");
        let (_, other_key) = issue_pair(dir.path(), "second");

        let error = load_tls_config(&cert, &other_key).unwrap_err();

        assert!(matches!(error, ServerError::KeyMismatch { .. }), "{error:?}");
        assert_eq!(error.to_string(), "tls: private key does not match public key");
    }

    #[test]
    fn load_tls_config_empty_cert_is_no_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let (_, key) = issue_pair(dir.path(), "site");
        let empty = dir.path().join("empty.crt");
        fs::write(&empty, "not a certificate\n").unwrap();

        let error = load_tls_config(&empty, &key).unwrap_err();

        assert!(matches!(error, ServerError::NoCertificate { .. }), "{error:?}");
    }

    #[test]
    fn load_tls_config_cert_as_key_is_no_private_key() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, _) = issue_pair(dir.path(), "site");

        let error = load_tls_config(&cert, &cert).unwrap_err();

        assert!(matches!(error, ServerError::NoPrivateKey { .. }), "{error:?}");
    }

    #[test]
    fn load_tls_config_corrupt_key_hides_key_text() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = issue_pair(dir.path(), "site");
        let pem = fs::read_to_string(&key).unwrap();
        let secret_line = pem.lines().nth(1).unwrap().to_string();
        // A malformed BEGIN line that the PEM parser quotes in full in its own error.
        let corrupt = pem.replacen(
            "-----BEGIN PRIVATE KEY-----",
            &format!("-----BEGIN PRIVATE KEY {secret_line}----"),
            1,
        );
        fs::write(&key, corrupt).unwrap();

        let error = load_tls_config(&cert, &key).unwrap_err();

        assert!(matches!(error, ServerError::InvalidPrivateKey { .. }), "{error:?}");
        let rendered = format!("{error} {error:?}");
        assert!(!rendered.contains(&secret_line), "{rendered}");
    }

    #[test]
    fn go_reason_drops_os_error_suffix() {
        let error = io::Error::from_raw_os_error(libc::EADDRINUSE);

        assert_eq!(go_reason(&error), "address already in use");
    }

    #[test]
    fn bind_reuses_address_after_close() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();

        runtime.block_on(async {
            let first = bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let addr = first.local_addr().unwrap();
            let client = TcpStream::connect(addr).await.unwrap();
            let (accepted, _) = first.accept().await.unwrap();
            // The server side closes first, which leaves its socket in TIME_WAIT.
            drop(accepted);
            drop(client);
            drop(first);

            assert!(bind(addr).is_ok());
        });
    }

    #[test]
    fn bind_port_in_use_is_bind_error() {
        let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = holder.local_addr().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();

        let error = runtime.block_on(async { bind(addr).unwrap_err() });

        assert!(error.to_string().ends_with("bind: address already in use"), "{error}");
    }

    #[test]
    fn non_loopback_listen_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = issue_pair(dir.path(), "site");
        let log_path = dir.path().join("server.log");
        let args = ServerArgs {
            state: dir.path().to_path_buf(),
            cert,
            key,
            listen: "0.0.0.0:0".parse().unwrap(),
            log: log_path.clone(),
        };

        let status = run(args);

        assert_eq!(status, ExitCode::from(PANIC_EXIT_STATUS));
        let log = fs::read_to_string(&log_path).unwrap();
        assert!(log.contains("panic: listen tcp 0.0.0.0:0: 0.0.0.0:0 is not a loopback address"), "{log}");
        assert!(!state_path(dir.path()).exists());
    }

    fn respond_to(request: &[u8]) -> io::Result<String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();

        runtime.block_on(async {
            let (mut client, server) = tokio::io::duplex(64 * 1024);
            client.write_all(request).await?;
            let result = respond(server).await;
            let mut response = String::new();
            client.read_to_string(&mut response).await?;
            result.map(|()| response)
        })
    }

    #[test]
    fn respond_get_returns_page() {
        let response = respond_to(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();

        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        assert!(response.contains(&format!("Content-Length: {}\r\n", PAGE.len())));
        assert!(response.ends_with(PAGE));
    }

    #[test]
    fn respond_post_returns_405() {
        let response = respond_to(b"POST / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();

        assert!(response.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"), "{response}");
        assert!(response.contains("Allow: GET\r\n"));
    }

    #[test]
    fn respond_garbage_returns_400() {
        let response = respond_to(b"hello\r\n\r\n").unwrap();

        assert!(response.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{response}");
    }

    #[test]
    fn respond_oversized_head_is_error() {
        let mut request = b"GET / HTTP/1.1\r\n".to_vec();
        request.extend(std::iter::repeat_n(b'a', MAX_REQUEST_HEAD + 10));

        let error = respond_to(&request).unwrap_err();

        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn respond_truncated_head_is_eof() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();

        let error = runtime.block_on(async {
            let (mut client, server) = tokio::io::duplex(1024);
            client.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
            client.shutdown().await.unwrap();
            respond(server).await.unwrap_err()
        });

        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    }
}
