//! Fault injection for crash-safety tests: with the `fault-injection` feature,
//! `REPART_FAULT_AT=<point>` kills the process with SIGKILL when it reaches that
//! point, as a crash or power cut would. Without the feature the points compile to
//! nothing; release builds never carry it.
//!
//! Points, in the order `apply` reaches them: `wiped` (new partitions wiped and
//! discarded), `copied` (block copies done), `formatted-live` (a file system made
//! through dm-crypt, the mapping and loop device still up), `formatted` (file systems
//! written), `gpt-backup`, `gpt-primary-entries`, `gpt-primary` (inside the table write).

/// Dies here if the test asked for it.
#[cfg(feature = "fault-injection")]
pub fn point(name: &str) {
    if std::env::var("REPART_FAULT_AT").as_deref() == Ok(name) {
        // SAFETY: raising a signal at ourselves has no memory-safety preconditions.
        unsafe {
            libc::raise(libc::SIGKILL);
        }
    }
}

/// Dies here if the test asked for it (a no-op without `fault-injection`).
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub fn point(_name: &str) {}
