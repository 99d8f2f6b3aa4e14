//! The integration tests of repart, as one test binary (`autotests = false`,
//! `[[test]] name = "tests"` in Cargo.toml): `cargo test --release --test tests`.
//!
//! * `cli`: `--version` as mkosi reads it.
//! * `golden`: testdata/golden/<case>/ against the recorded oracle outputs
//!   (`GOLDEN_CASE=name` runs one case).
//! * `fs`: reproducibility of the scenario image and a build without loop
//!   devices (tests/fs.rs).
//! * `crash` (with `--features fault-injection`): killed at every step of applying,
//!   the disk keeps its data and a rerun completes.
//! * `invariants`: dry runs leave the image's bytes alone, deferred and foreign
//!   partitions keep their bytes and entries (with the oracle too when installed).
//! * `uuid_collision`: a seed-derived partition UUID that is already taken falls
//!   back to one UUID, the same in `--generate-fstab=`, `--json` and the file system.
//! * `verity_signature`: `openssl smime -verify` accepts the `Verity=signature` partition.
//! * `tpm2`: sealing to swtpm, unlocked by upstream's systemd-cryptenroll; the binary
//!   does not link libtss2/libcryptsetup (tests/tpm2.rs).
//! * `crypt`: libcryptsetup is not linked (dlopen on demand); without it only encrypting
//!   fails, naming the library, before anything is written.
//! * `unit_file`: units/repart.service has upstream's directives (conditions, ordering,
//!   modules, exit codes) except `ExecStart=` and its description.
//! * `differential`: random definition sets against the live oracle
//!   (skipped when it is not installed, unless `REPART_REQUIRE_ORACLE=1`).
//!
//! `REPART_UNDER_TEST=tools/oracle/reference-repart` runs the oracle instead
//! of our binary (all goldens must pass then).

mod cli;
mod common;
#[cfg(feature = "fault-injection")]
mod crash;
mod crypt;
mod differential;
mod fs;
mod golden;
mod hardening;
mod invariants;
mod tpm2;
mod unit_file;
mod uuid_collision;
mod verity_signature;
