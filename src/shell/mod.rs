//! The imperative shell: everything that touches the world (files, block devices,
//! mkfs tools, the environment, signals, stderr). It gathers facts, hands them to
//! [`crate::pure`] for decisions and carries the decisions out.

pub mod apply;
pub mod block_sources;
pub mod copy_from;
pub mod crypt;
pub mod ddi;
pub mod definition_files;
pub mod disk;
pub mod dlopen;
pub mod environment;
pub mod factory_reset;
pub mod fault;
pub mod fs;
pub mod list_devices;
pub mod log;
pub mod root_device;
pub mod root_paths;
pub mod run;
pub mod signal_cleanup;
pub mod signing;
pub mod split;
pub mod system_info;
pub mod tpm2;
pub mod verity;
