//! Calibration: what real CPython measured, as the model's defaults, and how
//! far the model's predictions are from it. Below the script API and the
//! commands; uses only the engine (and `gilsim_plots` for figures), never
//! writes a file.
//!
//! - [`profile`]: a calibration profile (`calibration/profiles/*.json`) read
//!   into the engine's costs and the wake path, each value range-checked.
//! - [`trace`]: a real program's trace (`python -m gilsim.trace`,
//!   docs/trace-format.md) read and checked.
//! - [`validation`]: the measured multi-thread scenarios predicted by the
//!   model, compared, and rendered as docs/validation.md and its figures.
//! - [`programs`]: real programs (pyperformance and two stdlib ones) traced,
//!   predicted and run: the comparison and docs/own-programs.md.
//! - [`versions`]: the same predictors against CPython 2.7 to 3.13, each
//!   version with its own profile and GIL.
//! - [`services`]: real Python servers under open-loop load against the
//!   same servers built as gilsim models.

pub mod profile;
pub mod programs;
pub mod services;
pub mod trace;
pub mod validation;
pub mod versions;
