//! The bottom layer: helpers that several layers above use, and that use
//! nothing of gilsim's.
//!
//! - [`interrupt`]: Ctrl-C and SIGTERM set a flag the script, sweeps and
//!   commands look at.
//! - [`memory`]: the allocator that counts the bytes a run holds (the
//!   `memory` limit).
//! - [`limits`]: every limit's name and largest value, and [`limits::raise_hint`],
//!   the sentence every limit error ends with.

pub mod interrupt;
pub mod limits;
pub mod memory;
