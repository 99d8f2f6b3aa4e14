//! repart: a drop-in reimplementation of systemd-repart (upstream v257 behaviour).
//!
//! Data flows one way: `cli` → `config` (definitions) → `disk` (current state) →
//! `plan` (pure placement decisions) → `output` (table/JSON) and `apply` (writes).
//! Only `disk`, `fs`, `apply` and `config::discovery` touch the outside world.

pub mod apply;
pub mod cleanup;
pub mod cli;
pub mod config;
pub mod content;
pub mod copy_from;
pub mod discover;
pub mod disk;
pub mod factory_reset;
pub mod fault;
pub mod fs;
pub mod fstab;
pub mod fstype;
pub mod gpt_types;
pub mod log;
pub mod output;
pub mod plan;
pub mod run;
pub mod size;
pub mod split;
