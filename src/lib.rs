//! repart: a drop-in reimplementation of systemd-repart (upstream v257 behaviour).
//!
//! Two layers, one folder each:
//!
//! - [`pure`], the functional core (values in, values out; no I/O, no randomness, no
//!   environment reads): `cli` (what the command line means), `config` (repart.d
//!   text → definitions), `plan` (placement decisions), `output` (table/JSON),
//!   `gpt_types`, `size`, `fstype`, `fstab` (fstab/crypttab rendering), `verity`
//!   (sibling pairing, hash-tree format, signature partition contents), `security_args` (key/TPM2/policy option values).
//! - [`shell`], the imperative shell: `run` (the main sequence), `definition_files`
//!   (finding and reading repart.d files), `system_info` (host facts for specifiers),
//!   `disk` (GPT, block devices), `root_device` (which disk backs `/`), `fs` (mkfs
//!   tools, content trees), `block_sources` (`CopyBlocks=` sources and `Minimize=`
//!   images, sized before planning), `apply` (writes in a data-safe order), `split`,
//!   `copy_from`, `factory_reset`, `verity` (hash trees over files and partitions, hash
//!   and signature partitions written while applying), `signing` (key/certificate files,
//!   OpenSSL PKCS#7 signatures), `list_devices`,
//!   `signal_cleanup` (temporary files removed on SIGTERM/SIGINT), `log`, `fault`
//!   (test-only fault injection).
//!
//! Data flows one way: `cli` → `config` (definitions) → `disk` (current state) →
//! `plan` (pure placement decisions) → `output` (table/JSON) and `apply` (writes).
//! The shell calls into the core; the core does not call into the shell (remaining
//! exceptions, `plan` using `disk`'s state types and `cli` re-exporting
//! `signing::Secret`, are issue 11).

#![deny(missing_docs)]

pub mod pure;
pub mod shell;
