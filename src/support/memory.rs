//! The `memory` limit: bytes the process holds on the heap.
//!
//! Every size limit bounds one value (a string, an array, a map), but many
//! values within their limits can still exhaust memory (8000 strings of
//! 512 KiB in a map, a table of a million rows of 200 columns, the printed
//! lines a sweep holds back, large modules, models with millions of tasks).
//! So the allocator counts the bytes allocated and not yet freed, and the
//! script stops at its next operation once they pass the `memory` limit, with
//! an error that names it. What is counted is everything the run holds:
//! tables, strings, arrays and maps, printed lines, modules, models and
//! simulation results.
//!
//! The count is kept per thread and added to a global total in steps of
//! `BATCH` bytes, so the cost per allocation is a thread-local add.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};

/// The system allocator, counting live bytes.
pub struct Counting;

/// Live bytes, up to [`BATCH`] per thread not yet added.
static LIVE: AtomicIsize = AtomicIsize::new(0);

/// Bytes a thread counts before adding them to [`LIVE`].
const BATCH: isize = 256 << 10;

thread_local! {
    static PENDING: Cell<isize> = const { Cell::new(0) };
}

fn note(delta: isize) {
    let flushed = PENDING.try_with(|p| {
        let v = p.get() + delta;
        if v.abs() >= BATCH {
            LIVE.fetch_add(v, Ordering::Relaxed);
            p.set(0);
        } else {
            p.set(v);
        }
    });
    if flushed.is_err() {
        LIVE.fetch_add(delta, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counting only touches an atomic and a const-initialised thread-local.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            note(layout.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            note(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        note(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            note(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes allocated on the heap and not yet freed, by every thread (give or
/// take 256 KiB per thread).
pub fn live_bytes() -> u64 {
    LIVE.load(Ordering::Relaxed).max(0) as u64
}

#[cfg(test)]
mod tests {
    #[test]
    fn live_bytes_follow_allocations() {
        let before = super::live_bytes();
        let big = vec![1u8; 64 << 20];
        let during = super::live_bytes();
        assert!(during >= before + (60 << 20), "{before} -> {during}");
        drop(big);
        assert!(super::live_bytes() < during - (60 << 20));
    }
}
