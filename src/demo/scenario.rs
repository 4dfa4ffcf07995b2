//! `certwiz demo`: a real HTTPS process serving an expired certificate after a renewal on disk,
//! diagnosed and fixed with the panel flow.

use std::path::Path;

use rust_i18n::t;
use time::{Duration, OffsetDateTime};

use super::restart::{start_server, stop_server};
use super::server::ServerArgs;
use crate::cli::DemoArgs;
use crate::commands::{execute, invalid_input};
use crate::flow;
use crate::pki::{write_pair, Authority, KeyKind, LeafSpec};
use crate::style::Styles;
use crate::variables::Variables;

/// Names on the demo certificates; the probe connects to 127.0.0.1 and sends `localhost` as SNI.
const NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// Time between the server's start and the renewal on disk; longer than the start-time precision.
const RENEWAL_DELAY: std::time::Duration = std::time::Duration::from_millis(2100);

/// Runs the demo and returns the exit code of the diagnosis.
pub fn run(args: &DemoArgs, styles: Styles) -> u8 {
    let workspace = match tempfile::Builder::new().prefix("certwiz-demo-").tempdir() {
        Ok(dir) => dir,
        Err(error) => return invalid_input(styles, &t!("demo.error.tempdir", detail = error.to_string())),
    };
    let dir = workspace.path().to_path_buf();
    let state = dir.join("state");

    // The server and the temporary directory, which contains a private key, go away when a
    // signal ends the run too: SIGINT, SIGTERM or SIGHUP.
    crate::interrupt::install();
    let cleanup_state = state.clone();
    let cleanup_dir = dir.clone();
    let hook = crate::interrupt::on_interrupt(move || {
        let _ = stop_server(&cleanup_state);
        let _ = std::fs::remove_dir_all(&cleanup_dir);
    });

    let code = match prepare(&dir, &state) {
        Ok(variables) => {
            // The embedded panel flow is validated by the test suite, so it loads.
            let flow = flow::embedded("panel").expect("panel flow is embedded").expect("panel flow is valid");
            eprintln!("{}", t!("demo.running"));
            execute(&flow, &variables, &args.run, styles)
        }
        Err(message) => invalid_input(styles, &message),
    };

    if let Err(error) = stop_server(&state) {
        tracing::debug!(%error, "demo server was not running at the end");
    }
    crate::interrupt::remove(hook);
    drop(workspace);
    if crate::interrupt::interrupted() {
        // A signal arrived during the cleanup above: its thread owns the exit and its code.
        crate::interrupt::exit_interrupted();
    }
    code
}

/// Makes the certificates, starts the server on the expired pair, renews the files on disk, and
/// returns the variables that point the panel flow at all of it.
fn prepare(dir: &Path, state: &Path) -> Result<Variables, String> {
    let fail = |error: &dyn std::fmt::Display| t!("demo.error.setup", detail = error.to_string()).into_owned();

    eprintln!("{}", t!("demo.step.certificates", dir = dir.display()));
    let authority = Authority::new("certwiz demo CA").map_err(|error| fail(&error))?;
    let now = OffsetDateTime::now_utc();
    let expired = LeafSpec {
        names: NAMES.iter().map(|name| name.to_string()).collect(),
        not_before: now - Duration::days(90),
        not_after: now - Duration::days(1),
        key: KeyKind::EcdsaP256,
    };
    let expired = authority.issue(&expired).map_err(|error| fail(&error))?;
    let renewed = authority.issue(&LeafSpec::valid_for(&NAMES, 90)).map_err(|error| fail(&error))?;

    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, authority.cert_pem()).map_err(|error| fail(&error))?;
    let (cert_file, key_file) = write_pair(dir, "server", &expired, &[]).map_err(|error| fail(&error))?;
    let log_file = dir.join("server.log");

    let exe = std::env::current_exe().map_err(|error| fail(&error))?;
    let server = ServerArgs {
        state: state.to_path_buf(),
        cert: cert_file.clone(),
        key: key_file.clone(),
        listen: "127.0.0.1:0".parse().expect("constant socket address"),
        log: log_file.clone(),
    };
    let info = start_server(&exe, &server).map_err(|error| fail(&error))?;
    eprintln!("{}", t!("demo.step.server", pid = info.pid, port = info.port));

    // A real renewal lands long after the start. Process start times are only accurate to about a
    // second, so the demo waits longer than that before it renews, or the order would be unknown.
    std::thread::sleep(RENEWAL_DELAY);
    write_pair(dir, "server", &renewed, &[]).map_err(|error| fail(&error))?;
    eprintln!("{}", t!("demo.step.renewed", path = cert_file.display()));

    let restart = restart_command(&exe, state);
    let port = info.port.to_string();
    let pairs = [
        ("host", "127.0.0.1"),
        ("port", port.as_str()),
        ("server_name", "localhost"),
        ("cert_file", &path_text(&cert_file)),
        ("key_file", &path_text(&key_file)),
        ("ca_file", &path_text(&ca_file)),
        ("restart_command", restart.as_str()),
        ("log_files", &path_text(&log_file)),
        ("timeout_secs", "5"),
        ("verify_attempts", "10"),
        ("verify_interval_secs", "1"),
        ("action_timeout_secs", "60"),
    ];
    Ok(Variables::from_pairs(pairs.iter().map(|(name, value)| (*name, &**value))))
}

fn path_text(path: &Path) -> String {
    path.display().to_string()
}

/// Builds the restart command line: this binary's hidden restart command, quoted like a shell would.
fn restart_command(exe: &Path, state: &Path) -> String {
    let exe = exe.display().to_string();
    let state = state.display().to_string();
    let words = [exe.as_str(), "__demo-restart", "--state", state.as_str()];
    shlex::try_join(words).unwrap_or_else(|_| words.join(" "))
}
