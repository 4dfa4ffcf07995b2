//! Ctrl-C: stop the children certwiz started, run cleanup hooks, restore the terminal, exit 130.

use std::io::{IsTerminal, Write};
use std::sync::{Mutex, Once};

type Hook = Box<dyn Fn() + Send>;

static HOOKS: Mutex<Vec<(u64, Hook)>> = Mutex::new(Vec::new());
static NEXT_ID: Mutex<u64> = Mutex::new(0);
static INSTALL: Once = Once::new();

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
/// Prompts put the terminal in raw mode, where Ctrl-C arrives as a key instead of a signal; the
/// prompt returns an interruption and the caller takes the same exit path.
pub fn install() {
    INSTALL.call_once(|| {
        let spawned = std::thread::Builder::new().name("ctrl-c".into()).spawn(|| {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            if runtime.block_on(tokio::signal::ctrl_c()).is_ok() {
                exit_interrupted();
            }
        });
        if let Err(error) = spawned {
            tracing::warn!(%error, "cannot watch for Ctrl-C; children may outlive an interrupted run");
        }
    });
}

/// Cleans up and exits with 130.
pub fn exit_interrupted() -> ! {
    crate::action::kill_running_children();
    run_hooks();
    if std::io::stderr().is_terminal() {
        // Show the cursor again in case a spinner or prompt hid it.
        let _ = write!(std::io::stderr(), "\x1b[?25h\n");
    }
    std::process::exit(i32::from(crate::exit::INTERRUPTED));
}
