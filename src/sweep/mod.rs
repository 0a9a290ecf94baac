//! Sweeps: a grid of points × replicates run in parallel, deterministically,
//! and what keeps their runs: below the script API, above outputs.
//!
//! - [`grid`]: the grid, the tasks, their seeds, parallel evaluation in task
//!   order, and the per-point summary (mean, 95% confidence interval).
//! - [`journal`]: every finished run on disk as it finishes (`--resume`).
//! - [`shard`]: a sweep's runs split over processes or machines
//!   (`--shard I/N`): who owns which run, and the shard's record.
//! - [`params`]: `--set NAME=VALUE` overrides and the parameters a script read.
//!
//! Inside the layer: `journal` and `shard` use `grid`; `grid` and `params`
//! use none of it.

pub mod grid;
pub mod journal;
pub mod params;
pub mod shard;
