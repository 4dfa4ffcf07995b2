//! A detached tmux session on a private socket that runs certwiz in a real terminal, so a prompt
//! puts the terminal in raw mode; tests read the screen with `capture-pane` and type with
//! `send-keys`. Needs `tmux` on PATH; a test fails with a clear message when it is missing.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::{eventually, is_running, EXE};

/// Maximum wait for one screen state or one exit. The demo reaches its first prompt in well
/// under a second on a quiet machine.
pub const TIMEOUT: Duration = Duration::from_secs(30);

static SESSIONS: AtomicUsize = AtomicUsize::new(0);

/// A detached tmux session on its own server that runs `certwiz demo`, killed when dropped.
///
/// After certwiz exits, the shell in the pane writes its exit code to `status` and the output
/// of `stty -a` on the pane's terminal to `stty`, then waits, so the screen can still be read.
pub struct Tmux {
    socket: String,
    dir: PathBuf,
}

impl Tmux {
    /// Starts `certwiz ARGS` in a 160x50 terminal, with `TMPDIR` set to `tmpdir` when given.
    pub fn start(dir: &Path, tmpdir: Option<&Path>, args: &[&str]) -> Tmux {
        let number = SESSIONS.fetch_add(1, Ordering::SeqCst);
        let socket = format!("certwiz-test-{}-{number}", std::process::id());
        let script = r#"exe="$1"; dir="$2"; shift 2; "$exe" "$@"; echo "$?" > "$dir/status"; stty -a > "$dir/stty"; exec sleep 600"#;

        let mut command = Command::new("tmux");
        command.args(["-u", "-L", &socket, "-f", "/dev/null", "new-session", "-d", "-s", "demo", "-x", "160", "-y", "50"]);
        if let Some(tmpdir) = tmpdir {
            command.args(["-e", &format!("TMPDIR={}", tmpdir.display())]).env("TMPDIR", tmpdir);
        }
        command
            .args(["sh", "-c", script, "certwiz-test", EXE])
            .arg(dir)
            .args(args)
            .env("LC_ALL", "C.UTF-8")
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE");
        let tmux = Tmux { socket, dir: dir.to_path_buf() };
        let output = run_tmux(&mut command);
        assert!(output.status.success(), "tmux new-session failed: {}", String::from_utf8_lossy(&output.stderr));
        tmux
    }

    pub fn command(&self, args: &[&str]) -> Output {
        run_tmux(Command::new("tmux").args(["-L", &self.socket]).args(args))
    }

    /// Returns the whole screen and its scrollback, wrapped lines joined.
    pub fn screen(&self) -> String {
        let output = self.command(&["capture-pane", "-p", "-J", "-S", "-500", "-t", "demo"]);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    pub fn send(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "demo"];
        args.extend_from_slice(keys);
        let output = self.command(&args);
        assert!(output.status.success(), "tmux send-keys {keys:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    }

    /// Waits until the screen shows `text`; fails with the screen when it does not.
    pub fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(Instant::now() < deadline, "the screen never showed {text:?}:\n{screen}");
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Returns the pid of the certwiz process: the child of the pane's shell.
    pub fn certwiz_pid(&self) -> u32 {
        let output = self.command(&["display-message", "-p", "-t", "demo", "#{pane_pid}"]);
        let shell: u32 = String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .unwrap_or_else(|error| panic!("tmux printed no pane pid ({error}): {output:?}"));
        let mut pids = Vec::new();
        let found = eventually(TIMEOUT, || {
            pids = processes().into_iter().filter(|process| process.ppid == shell && process.argv.first().is_some_and(|program| program == EXE)).map(|process| process.pid).collect();
            pids.len() == 1
        });
        assert!(found, "expected one certwiz child of the pane shell {shell}, found {pids:?}");
        pids[0]
    }

    /// Waits for certwiz to exit and returns its exit code.
    pub fn exit_code(&self) -> i32 {
        let mut code = None;
        let finished = eventually(TIMEOUT, || {
            code = fs::read_to_string(self.dir.join("status")).ok().and_then(|text| text.trim().parse().ok());
            code.is_some()
        });
        assert!(finished, "certwiz did not exit:\n{}", self.screen());
        code.unwrap_or(-1)
    }

    /// Returns the `stty -a` output that the pane's shell wrote after certwiz exited.
    pub fn terminal_settings(&self) -> String {
        let path = self.dir.join("stty");
        let mut settings = String::new();
        let written = eventually(TIMEOUT, || {
            settings = fs::read_to_string(&path).unwrap_or_default();
            settings.contains("icanon")
        });
        assert!(written, "the shell wrote no `stty -a` output:\n{}", self.screen());
        settings
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command(&["kill-server"]);
    }
}

fn run_tmux(command: &mut Command) -> Output {
    command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("cannot run tmux (is it installed?): {error}"))
}

/// One entry of /proc.
pub struct Process {
    pub pid: u32,
    pub ppid: u32,
    pub argv: Vec<String>,
}

/// Lists the running processes with their parent pid and command line.
pub fn processes() -> Vec<Process> {
    let Ok(entries) = fs::read_dir("/proc") else { return Vec::new() };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else { continue };
        if !is_running(pid) {
            continue;
        }
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The parent pid is the second field after the parenthesised command name.
        let ppid = stat.rsplit_once(") ").and_then(|(_, rest)| rest.split(' ').nth(1)).and_then(|ppid| ppid.parse::<u32>().ok());
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let argv = cmdline.split(|byte| *byte == 0).filter(|word| !word.is_empty()).map(|word| String::from_utf8_lossy(word).into_owned()).collect();
        if let Some(ppid) = ppid {
            found.push(Process { pid, ppid, argv });
        }
    }
    found
}
