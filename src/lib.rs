//! repart: a drop-in reimplementation of systemd-repart (upstream v257 behaviour).
//!
//! Data flows one way: `cli` → `config` (definitions) → `disk` (current state) →
//! `plan` (pure placement decisions) → `output` (table/JSON) and `apply` (writes).
//!
//! The functional core (values in, values out): `cli`, `config` (except
//! `discovery`/`system`), `gpt_types`, `size`, `fstype`, `plan`, `output`, `fstab`.
//! The imperative shell: `run` (the main sequence), `disk` (GPT, block devices),
//! `fs` (mkfs tools, content trees), `content` (block sources, Minimize=), `apply`
//! (writes in a data-safe order), `split`, `copy_from`, `factory_reset`, `discover`,
//! `cleanup` (signals), `log`, `fault` (test-only fault injection).

#![deny(missing_docs)]

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
pub mod list_devices;
pub mod log;
pub mod output;
pub mod plan;
pub mod run;
pub mod security_args;
pub mod signing;
pub mod size;
pub mod split;
pub mod verity;
