//! Integration tests of the `gilsim` binary: one test binary, one module per
//! area (as ripgrep does), each running the built binary on scripts written
//! into temporary folders.

mod bad_input;
mod browser;
mod claims;
mod cli;
mod determinism;
mod docs;
mod experiments;
mod faults;
mod figures;
mod findings;
mod interrupt;
mod limits;
mod nothing_lost;
mod outputs;
mod package;
mod servers;
mod shard;
mod traces;
mod util;
mod whatif;
