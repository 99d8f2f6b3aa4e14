//! The functional core: values in, values out. Nothing here reads files, the clock,
//! the environment or a random source; the shell gathers those facts and passes them in.

pub mod cli;
pub mod config;
pub mod fstab;
pub mod fstype;
pub mod gpt_types;
pub mod model;
pub mod output;
pub mod plan;
pub mod policy;
pub mod security_args;
pub mod size;
pub mod tpm2;
pub mod verity;
