//! Ctrl-C handling: exit 130, and never leave half-written output behind.
//!
//! Output files are written atomically (temp file + rename), so stopping the process at any
//! point leaves either the old file or the new one. Long-running commands can call
//! [`set_cancellable`] to be asked to stop instead: they then finish the current unit of work,
//! flush what they have, and `main` exits 130.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);
static CANCELLABLE: AtomicBool = AtomicBool::new(false);

/// Installs the SIGINT/SIGTERM handler. A failure to install it only loses the graceful path.
pub(crate) fn install() {
    let _ = ctrlc::set_handler(|| {
        let second = REQUESTED.swap(true, Ordering::SeqCst);
        if second || !CANCELLABLE.load(Ordering::SeqCst) {
            #[expect(
                clippy::exit,
                reason = "the process has nothing to flush; 130 is the shell convention for SIGINT"
            )]
            std::process::exit(130);
        }
    });
}

/// Whether Ctrl-C was pressed.
pub(crate) fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Declares that the running command polls [`requested`] and stops cleanly by itself.
#[allow(dead_code, reason = "first used by the long-running subcommands of later capabilities")]
pub(crate) fn set_cancellable() {
    CANCELLABLE.store(true, Ordering::SeqCst);
}
