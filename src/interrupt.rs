//! Ctrl-C: stop the children certwiz started, run cleanup hooks, restore the terminal, exit 130.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};

type Hook = Box<dyn Fn() + Send>;

static HOOKS: Mutex<Vec<(u64, Hook)>> = Mutex::new(Vec::new());
static NEXT_ID: Mutex<u64> = Mutex::new(0);
static INSTALL: Once = Once::new();

/// Set when SIGINT arrives, before the cleanup starts; the runner takes no further step then.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Set by the first caller of [`exit_interrupted`]; later callers wait for it to exit.
static EXITING: AtomicBool = AtomicBool::new(false);

/// Terminal settings of stdin when [`install`] ran, restored on exit in case a prompt had put
/// the terminal in raw mode when the signal arrived.
static SAVED_TERMINAL: Mutex<Option<libc::termios>> = Mutex::new(None);

/// Registers `hook` to run on Ctrl-C; returns an id for [`remove`].
pub fn on_interrupt(hook: impl Fn() + Send + 'static) -> u64 {
    let mut next = NEXT_ID.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    *next += 1;
    let id = *next;
    HOOKS.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push((id, Box::new(hook)));
    id
}

/// Removes a hook once its cleanup is no longer needed.
pub fn remove(id: u64) {
    HOOKS.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).retain(|(hook_id, _)| *hook_id != id);
}

/// Runs every registered hook, newest first.
pub fn run_hooks() {
    let hooks = std::mem::take(&mut *HOOKS.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
    for (_, hook) in hooks.iter().rev() {
        hook();
    }
}

/// Starts a thread that waits for SIGINT and then cleans up and exits with 130.
///
/// Prompts put the terminal in raw mode, where Ctrl-C arrives as a key instead of a signal. The
/// prompt then returns an interruption, and the caller takes the same exit path.
pub fn install() {
    INSTALL.call_once(|| {
        save_terminal();
        let spawned = std::thread::Builder::new().name("ctrl-c".into()).spawn(|| {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            if runtime.block_on(tokio::signal::ctrl_c()).is_ok() {
                INTERRUPTED.store(true, Ordering::SeqCst);
                exit_interrupted();
            }
        });
        if let Err(error) = spawned {
            tracing::warn!(%error, "cannot watch for Ctrl-C; children may outlive an interrupted run");
        }
    });
}

/// Returns whether SIGINT arrived. The main thread then stops at the next step and calls
/// [`exit_interrupted`], while the signal thread cleans up.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Cleans up and exits with 130. When another thread is already doing so, waits for it, so
/// that hooks run once and the exit code stays 130.
pub fn exit_interrupted() -> ! {
    if EXITING.swap(true, Ordering::SeqCst) {
        loop {
            std::thread::park();
        }
    }
    crate::action::kill_running_children();
    run_hooks();
    restore_terminal();
    if std::io::stderr().is_terminal() {
        // Clear a spinner line, show the cursor and end bracketed paste, in case a spinner or
        // a prompt was drawing when the signal arrived.
        let _ = write!(std::io::stderr(), "\r\x1b[2K\x1b[?25h\x1b[?2004l\n");
    }
    std::process::exit(i32::from(crate::exit::INTERRUPTED));
}

fn save_terminal() {
    if !std::io::stdin().is_terminal() {
        return;
    }
    // SAFETY: termios holds only integers and arrays of them, for which all-zero bytes are valid.
    let mut settings: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: fd 0 is open (it is a terminal, checked above) and `settings` is a valid pointer.
    if unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut settings) } == 0 {
        *SAVED_TERMINAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(settings);
    }
}

fn restore_terminal() {
    let saved = *SAVED_TERMINAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(settings) = saved {
        // SAFETY: `settings` came from tcgetattr on the same descriptor.
        unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &settings) };
    }
}
