//! Ctrl-C handling: exit 130, and never leave half-written output behind.
//!
//! Output files are written atomically (temp file + rename), so stopping the process at any
//! point leaves either the old file or the new one. Long-running commands can call
//! [`set_cancellable`] to be asked to stop instead: they then finish the current unit of work,
//! flush what they have, and `main` exits 130.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);
static CANCELLABLE: AtomicBool = AtomicBool::new(false);
static FORWARDING: AtomicBool = AtomicBool::new(false);
static SIGNALS: AtomicU32 = AtomicU32::new(0);

/// Installs the SIGINT/SIGTERM handler. A failure to install it only loses the graceful path.
pub(crate) fn install() {
    let _ = ctrlc::set_handler(|| {
        SIGNALS.fetch_add(1, Ordering::SeqCst);
        if FORWARDING.load(Ordering::SeqCst) {
            REQUESTED.store(true, Ordering::SeqCst);
            return;
        }
        let second = REQUESTED.swap(true, Ordering::SeqCst);
        if second || !CANCELLABLE.load(Ordering::SeqCst) {
            exit_interrupted();
        }
        // The command polls `requested` between units of work, but it may be blocked (a FIFO
        // with no writer, a long read): one signal must still stop it within a second.
        std::thread::spawn(|| {
            std::thread::sleep(GRACE);
            exit_interrupted();
        });
    });
}

/// How long a cancellable command has after the first signal to stop by itself.
const GRACE: std::time::Duration = std::time::Duration::from_millis(900);

/// Exits 130 (the shell's convention for SIGINT), saying why. Output files are written
/// atomically, so nothing half-written is left.
fn exit_interrupted() -> ! {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "ocrperf: interrupted");
    #[expect(clippy::exit, reason = "the process has nothing to flush; 130 is the shell convention for SIGINT")]
    std::process::exit(130);
}

/// Whether Ctrl-C was pressed.
pub(crate) fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Declares that the running command polls [`requested`] and stops cleanly by itself.
pub(crate) fn set_cancellable() {
    CANCELLABLE.store(true, Ordering::SeqCst);
}

/// Declares that every signal is passed on to a child process by the running command (which
/// polls [`signals`]): the handler then never exits by itself.
pub(crate) fn set_forwarding() {
    FORWARDING.store(true, Ordering::SeqCst);
}

/// How many SIGINT/SIGTERM/SIGHUP have arrived.
pub(crate) fn signals() -> u32 {
    SIGNALS.load(Ordering::SeqCst)
}
