//! # gilsim
//!
//! The scripting side of gilsim: experiments are Rhai scripts that describe a
//! machine and a Python program, run the engine ([`gilsim_engine`]), record
//! results in tables and sweep parameters in parallel. A run writes tidy CSV
//! files, figures (SVG and PNG), Chrome traces and a manifest into its output
//! folder, and only if it succeeds.
//!
//! The modules are layers, top-down; each uses only those below it (the
//! test in `src/layers.rs` checks it, ARCHITECTURE.md explains it):
//!
//! 1. [`commands`]: what `gilsim run`, `check`, `merge`, `report`, `validate`
//!    and `bench` do ([`run()`] and [`check()`] are re-exported here).
//! 2. [`script`]: the Rhai API (one module per area) and error rendering.
//! 3. [`sweep`]: parameter sweeps, their journal (`--resume`), shards
//!    (`--shard I/N`) and `--set` parameters.
//! 4. [`output`]: tables, staged output files, the output folder's lock, the
//!    manifest and Chrome traces.
//! 5. [`calibration`]: calibration profiles and the validation against real
//!    CPython.
//! 6. [`support`]: Ctrl-C and SIGTERM, the memory-counting allocator, the
//!    limits' names and hints.
//!
//! The scripting API is documented for script authors in `docs/scripting.md`.

#![warn(missing_docs)]

pub mod calibration;
pub mod commands;
pub mod output;
pub mod script;
pub mod support;
pub mod sweep;

#[cfg(test)]
mod layers;

pub use commands::run::{check, default_out_dir, run, Error, RunOptions, RunOutcome, GRACE};
pub use script::context::DEFAULT_MAX_OPS;
