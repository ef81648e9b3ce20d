//! A global allocator that counts each thread's live bytes and refuses an allocation that would take an armed
//! thread past its bound: the fuzz binaries install it, so "never allocates past a bound" is checked, not hoped.
//! A refused allocation ends the process (Rust's allocation-error handler aborts) after a line on stderr naming
//! the bound and the fuzz case, so the run fails loudly and reproducibly instead of taking the machine's memory.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
    /// The most live bytes this thread may hold while armed (`usize::MAX`: not armed).
    static LIMIT: Cell<usize> = const { Cell::new(usize::MAX) };
    /// (target name, case) of the fuzz case running on this thread, for the refusal message.
    static CASE: Cell<(&'static str, u64)> = const { Cell::new(("", 0)) };
}

/// Install in a test binary with `#[global_allocator] static ALLOC: CountingAllocator = CountingAllocator;`.
pub struct CountingAllocator;

fn live() -> usize {
    LIVE.try_with(Cell::get).unwrap_or(0)
}

/// Records `size` more live bytes; false (and a line on stderr) when that would pass the armed bound.
fn grow(size: usize) -> bool {
    let live = live().saturating_add(size);
    let limit = LIMIT.try_with(Cell::get).unwrap_or(usize::MAX);
    if live > limit {
        let (target, case) = CASE.try_with(Cell::get).unwrap_or(("", 0));
        let mut line = [0u8; 256];
        let mut out = &mut line[..];
        let _ = writeln!(
            out,
            "fuzz {target} case {case}: an allocation of {size} bytes would pass the bound of {limit} live bytes"
        );
        let written = 256 - out.len();
        let _ = std::io::stderr().write_all(&line[..written]);
        // Disarmed, so that what runs next (the allocation-error handler, a panic hook) can allocate.
        disarm();
        return false;
    }
    let _ = LIVE.try_with(|c| c.set(live));
    let _ = PEAK.try_with(|c| c.set(c.get().max(live)));
    true
}

/// Lifts this thread's bound (until the next [`with_bound`]).
pub fn disarm() {
    let _ = LIMIT.try_with(|c| c.set(usize::MAX));
}

fn shrink(size: usize) {
    let _ = LIVE.try_with(|c| c.set(c.get().saturating_sub(size)));
}

// SAFETY: every call forwards to `System` with the caller's layout; the counters only decide whether to forward.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !grow(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: same contract as the caller's.
        let ptr = unsafe { System.alloc(layout) };
        if ptr.is_null() {
            shrink(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !grow(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: same contract as the caller's.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if ptr.is_null() {
            shrink(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        shrink(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() && !grow(new_size - layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: same contract as the caller's.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if new.is_null() {
            if new_size > layout.size() {
                shrink(new_size - layout.size());
            }
        } else if new_size < layout.size() {
            shrink(layout.size() - new_size);
        }
        new
    }
}

/// Runs `f` on this thread with at most `bound` more live bytes than it starts with (a larger allocation aborts
/// the process, naming `target` and `case`); returns `f`'s result and the peak of extra bytes it held. Only
/// meaningful in a binary that installed [`CountingAllocator`] (elsewhere the peak reads 0).
pub fn with_bound<T>(target: &'static str, case: u64, bound: usize, f: impl FnOnce() -> T) -> (T, usize) {
    let start = live();
    let _ = PEAK.try_with(|c| c.set(start));
    let _ = CASE.try_with(|c| c.set((target, case)));
    let _ = LIMIT.try_with(|c| c.set(start.saturating_add(bound)));
    let out = f();
    disarm();
    let peak = PEAK.try_with(Cell::get).unwrap_or(start);
    (out, peak.saturating_sub(start))
}

/// Whether this binary counts allocations (a [`CountingAllocator`] is installed).
pub fn counting() -> bool {
    let before = live();
    let probe = std::hint::black_box(vec![0u8; 64]);
    let during = live();
    drop(probe);
    during > before
}
