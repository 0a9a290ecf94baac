//! The top layer: what `gilsim`'s subcommands do (`main.rs` parses the
//! command line and calls one of these). Commands may use every layer below;
//! nothing below uses them.
//!
//! - [`run`]: `gilsim run` and `gilsim check`: a script run into a locked
//!   output folder, committed all or none, with its manifest (and the
//!   `--shard` side of a sharded sweep).
//! - [`merge`]: `gilsim merge`: shard folders merged into one run's outputs.
//! - [`report`]: `gilsim report`: every experiment run, and the report page.
//! - [`validate`]: `gilsim validate`: docs/validation.md and its figures.
//! - [`validate_programs`]: `gilsim validate-programs`: traced real programs
//!   predicted and compared, docs/own-programs.md.
//! - [`bench`](mod@bench): `gilsim bench`: the engine's speed on fixed scenarios.
//! - [`whatif`]: `gilsim whatif`: a traced program as threads, processes,
//!   free-threaded, at several switch intervals (a built-in script's run).
//!
//! Inside the layer: `merge`, `report`, `whatif` and `validate_programs` use `run`; the others use none of it.

pub mod bench;
pub mod merge;
pub mod report;
pub mod run;
pub mod validate;
pub mod validate_programs;
pub mod whatif;
