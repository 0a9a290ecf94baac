//! What a run leaves on disk, and how it gets there without a half-written
//! file: below the script API and sweeps, above calibration and `support`.
//!
//! - [`table`]: `Table` and `Cell`, tidy CSV with 12 significant digits.
//! - [`staging`]: output names checked as the script gives them, files staged
//!   in memory and committed all or none (temporary file, rename).
//! - [`folder`]: the output folder's lock and its stale temporary files.
//! - [`manifest`]: `manifest.json`, what produced the outputs, and SHA-256.
//! - [`chrome_trace`]: an engine trace as Chrome trace JSON (Perfetto).
//! - [`trace_files`]: Chrome trace files streamed to disk while a run goes.
//!
//! Inside the layer: `trace_files` uses `staging`, `manifest` and
//! `chrome_trace`; `staging` uses `manifest` (the reserved names); the others
//! use none of it.

pub mod chrome_trace;
pub mod folder;
pub mod manifest;
pub mod staging;
pub mod table;
pub mod trace_files;
