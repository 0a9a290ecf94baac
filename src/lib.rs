//! # gilsim
//!
//! The scripting side of gilsim: experiments are Rhai scripts that describe a
//! machine and a Python program, run the engine ([`gilsim_engine`]), record
//! results in tables and sweep parameters in parallel. A run writes tidy CSV
//! files, figures (SVG and PNG), Chrome traces and a manifest into its output
//! folder, and only if it succeeds.
//!
//! - [`run()`] and [`check()`]: what `gilsim run` and `gilsim check` do.
//! - [`calibration`]: calibration profiles and the validation against real CPython.
//! - [`validate`]: what `gilsim validate` does.
//! - [`script`]: the Rhai API (one module per area) and error rendering.
//! - [`output`]: tables, staged output files, the output folder's lock, the
//!   manifest and Chrome traces.
//! - [`sweep`], [`params`]: the pieces behind it, usable without Rhai.
//! - [`support`]: helpers below every layer ([`support::interrupt`],
//!   [`support::memory`], [`support::limits`]).
//! - [`support::interrupt`] and [`journal`]: Ctrl-C and SIGTERM stop a run cleanly,
//!   and finished sweep runs survive it (`--resume`).
//! - [`shard`]: a sweep split over processes or machines (`--shard I/N`)
//!   and merged back (`gilsim merge`), byte for byte.
//!
//! The scripting API is documented for script authors in `docs/scripting.md`.

#![warn(missing_docs)]

pub mod bench;
pub mod calibration;
pub mod merge;
pub mod output;
pub mod report;
mod run;
pub mod script;
pub mod support;
pub mod sweep;
pub mod validate;

pub use run::{check, default_out_dir, run, Error, RunOptions, RunOutcome, DEFAULT_MAX_OPS, GRACE};
