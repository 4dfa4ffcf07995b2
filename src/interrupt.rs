//! Signals that end a run early: SIGINT (Ctrl-C), SIGTERM (`kill`, a service manager) and
//! SIGHUP (the terminal or tmux session closed). Each one stops the children certwiz started,
//! runs the cleanup hooks, restores the terminal and exits with 128 + the signal number, as a
//! shell reports a process that the signal killed: 130, 143 or 129.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{mpsc, Mutex, Once};

use tokio::signal::unix::{signal as listen, Signal as Listener, SignalKind};

type Hook = Box<dyn Fn() + Send>;

static HOOKS: Mutex<Vec<(u64, Hook)>> = Mutex::new(Vec::new());
static NEXT_ID: Mutex<u64> = Mutex::new(0);
static INSTALL: Once = Once::new();

/// Number of the first signal that arrived, or 0 before any. It is set before the cleanup
/// starts, so the runner takes no further step.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// Set by the first caller of [`exit_interrupted`]; later callers wait for it to exit.
static EXITING: AtomicBool = AtomicBool::new(false);

/// Terminal settings of stdin when [`install`] ran, restored on exit in case a prompt had put
/// the terminal in raw mode when the signal arrived.
static SAVED_TERMINAL: Mutex<Option<libc::termios>> = Mutex::new(None);

/// A signal that ends a run early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT: Ctrl-C outside a prompt, or `kill -INT`.
    Interrupt,
    /// SIGTERM: `kill`, or a service manager stopping certwiz.
    Terminate,
    /// SIGHUP: the terminal or the tmux session was closed.
    Hangup,
}

impl Signal {
    const ALL: [Signal; 3] = [Signal::Interrupt, Signal::Terminate, Signal::Hangup];

    /// Returns the signal number.
    pub fn number(self) -> libc::c_int {
        match self {
            Signal::Interrupt => libc::SIGINT,
            Signal::Terminate => libc::SIGTERM,
            Signal::Hangup => libc::SIGHUP,
        }
    }

    /// Returns the signal's name, such as `SIGTERM`.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
            Signal::Hangup => "SIGHUP",
        }
    }

    /// Returns the exit code of a run that this signal ended: 128 + the signal number.
    pub fn exit_code(self) -> u8 {
        // SIGHUP, SIGINT and SIGTERM are 1, 2 and 15 on Linux, so the sum fits in a u8.
        128 + self.number() as u8
    }

    fn from_number(number: libc::c_int) -> Option<Signal> {
        Signal::ALL.into_iter().find(|signal| signal.number() == number)
    }
}

/// Registers `hook` to run when a signal ends the run, and returns an id for [`remove`].
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

/// Runs every registered hook, newest first, and unregisters them.
pub fn run_hooks() {
    let hooks = std::mem::take(&mut *HOOKS.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
    for (_, hook) in hooks.iter().rev() {
        hook();
    }
}

/// Starts a thread that waits for SIGINT, SIGTERM or SIGHUP and then cleans up and exits with
/// the signal's exit code. The handlers are in place when this returns.
///
/// Prompts put the terminal in raw mode, where Ctrl-C arrives as a key instead of a signal. The
/// prompt then returns an interruption, and the caller takes the same exit path.
pub fn install() {
    INSTALL.call_once(|| {
        save_terminal();
        if let Err(error) = start_watching() {
            tracing::warn!(%error, "cannot watch for signals; children may outlive an interrupted run");
        }
    });
}

/// Returns whether a signal arrived. The main thread then stops at the next step and calls
/// [`exit_interrupted`], while the signal thread cleans up.
pub fn interrupted() -> bool {
    RECEIVED.load(Ordering::SeqCst) != 0
}

/// Returns the signal that arrived, if any. A Ctrl-C key at a prompt is no signal, so this
/// returns `None` for it.
pub fn received() -> Option<Signal> {
    Signal::from_number(RECEIVED.load(Ordering::SeqCst))
}

/// Cleans up and exits with the exit code of the signal that arrived, 130 (SIGINT) when none
/// did. When another thread is already doing so, waits for it, so that hooks run once and the
/// exit code is the first signal's.
pub fn exit_interrupted() -> ! {
    if EXITING.swap(true, Ordering::SeqCst) {
        loop {
            std::thread::park();
        }
    }
    let signal = received().unwrap_or(Signal::Interrupt);
    crate::action::kill_running_children();
    // Before the hooks, which may print the result.
    reset_terminal();
    run_hooks();
    std::process::exit(i32::from(signal.exit_code()));
}

/// Restores the terminal settings and clears what a prompt or a spinner was drawing, so that
/// later lines start at the left margin.
fn reset_terminal() {
    let prompt_was_open = restore_terminal();
    if !std::io::stderr().is_terminal() {
        return;
    }
    let clear = if prompt_was_open {
        // A prompt leaves the cursor at the end of its question line: erase the choices and
        // the help below it, and go to the next line.
        "\x1b[J\n"
    } else {
        // Erase a spinner line.
        "\r\x1b[2K"
    };
    // Then show the cursor and end bracketed paste, which prompts and spinners turn on.
    let _ = write!(std::io::stderr(), "{clear}\x1b[?25h\x1b[?2004l");
}

/// Handlers for the signals that end a run.
struct Listeners {
    interrupt: Listener,
    terminate: Listener,
    hangup: Listener,
}

impl Listeners {
    fn register() -> std::io::Result<Listeners> {
        Ok(Listeners {
            interrupt: listen(SignalKind::interrupt())?,
            terminate: listen(SignalKind::terminate())?,
            hangup: listen(SignalKind::hangup())?,
        })
    }

    /// Waits for the next signal.
    async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.interrupt.recv() => Signal::Interrupt,
            _ = self.terminate.recv() => Signal::Terminate,
            _ = self.hangup.recv() => Signal::Hangup,
        }
    }
}

/// Starts the signal thread and waits until its handlers are registered.
fn start_watching() -> std::io::Result<()> {
    let (ready, registered) = mpsc::channel();
    std::thread::Builder::new().name("signals".into()).spawn(move || {
        let setup = tokio::runtime::Builder::new_current_thread().enable_all().build().and_then(|runtime| {
            let listeners = {
                let _context = runtime.enter();
                Listeners::register()?
            };
            Ok((runtime, listeners))
        });
        let (runtime, mut listeners) = match setup {
            Ok(setup) => setup,
            Err(error) => {
                let _ = ready.send(Err(error));
                return;
            }
        };
        let _ = ready.send(Ok(()));

        let signal = runtime.block_on(listeners.next());
        RECEIVED.store(signal.number(), Ordering::SeqCst);
        exit_interrupted();
    })?;
    registered
        .recv()
        .unwrap_or_else(|_| Err(std::io::Error::other("the signal thread ended before registering its handlers")))
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

/// Restores the settings that [`install`] saved, and returns whether a prompt had put the
/// terminal in raw mode (no line editing).
fn restore_terminal() -> bool {
    let saved = *SAVED_TERMINAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let Some(settings) = saved else { return false };

    // tcsetattr from a background process group stops the process with SIGTTOU, and only a
    // foreground process can have changed the settings with a prompt.
    // SAFETY: tcgetpgrp and getpgrp take plain integers and touch no memory of this process.
    let foreground = unsafe { libc::tcgetpgrp(libc::STDIN_FILENO) == libc::getpgrp() };
    if !foreground {
        return false;
    }
    // SAFETY: termios holds only integers and arrays of them, for which all-zero bytes are valid.
    let mut current: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: fd 0 is the terminal `settings` came from, and `current` is a valid pointer.
    let read = unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut current) } == 0;
    let raw = read && current.c_lflag & libc::ICANON == 0 && settings.c_lflag & libc::ICANON != 0;
    // SAFETY: `settings` came from tcgetattr on the same descriptor.
    unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &settings) };
    raw
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn exit_code_is_128_plus_signal() {
        assert_eq!(Signal::Interrupt.exit_code(), crate::exit::INTERRUPTED);
        assert_eq!(Signal::Terminate.exit_code(), 143);
        assert_eq!(Signal::Hangup.exit_code(), 129);
    }

    #[test]
    fn signal_number_round_trips() {
        for signal in Signal::ALL {
            assert_eq!(Signal::from_number(signal.number()), Some(signal));
        }
        assert_eq!(Signal::from_number(0), None);
        assert_eq!(Signal::from_number(libc::SIGKILL), None);
    }

    #[test]
    fn hooks_run_newest_first_once() {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let record = |name: &'static str| {
            let calls = Arc::clone(&calls);
            move || calls.lock().unwrap().push(name)
        };
        on_interrupt(record("first"));
        let removed = on_interrupt(record("removed"));
        on_interrupt(record("last"));
        remove(removed);

        run_hooks();
        run_hooks();

        assert_eq!(*calls.lock().unwrap(), vec!["last", "first"]);
    }
}
