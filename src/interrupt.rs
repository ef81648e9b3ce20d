//! SIGINT / SIGTERM for the long-running commands (`train`, `predict`): the first signal sets a flag they check
//! between steps or batches, so they stop cleanly and say what they left; a second one exits at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Exit status after an interruption (128 + SIGINT, the shell's convention).
pub const EXIT_CODE: i32 = 130;

/// Installs the handlers; returns the flag they set.
pub fn install() -> Arc<AtomicBool> {
    let flag = Arc::clone(FLAG.get_or_init(|| Arc::new(AtomicBool::new(false))));
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only does async-signal-safe work (an atomic swap, write(2), _exit(2)); the sigaction
        // struct is zeroed and then filled as the C API expects.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
    flag
}

/// Whether a signal arrived (the handlers are installed and one was caught).
pub fn requested() -> bool {
    FLAG.get().is_some_and(|flag| flag.load(Ordering::SeqCst))
}

extern "C" fn on_signal(signal: libc::c_int) {
    let first = FLAG.get().is_some_and(|flag| !flag.swap(true, Ordering::SeqCst));
    let message: &[u8] = if first {
        b"\ninterrupt: stopping after the step in progress (again to quit at once)\n"
    } else {
        b"\ninterrupt: quitting at once\n"
    };
    // SAFETY: write(2) and _exit(2) are async-signal-safe.
    unsafe {
        libc::write(2, message.as_ptr().cast(), message.len());
        if !first {
            libc::_exit(128 + signal);
        }
    }
}
