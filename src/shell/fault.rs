//! Fault injection for crash-safety tests: with the `fault-injection` feature,
//! `REPART_FAULT_AT=<point>` kills the process with SIGKILL when it reaches that
//! point, as a crash or power cut would. `REPART_FAULT_SIGNAL=TERM` sends SIGTERM to the
//! process instead (an orderly stop: temporary files are cleaned up) and waits there
//! for it, so the run does not get past the point. Without the feature the points
//! compile to nothing; release builds never carry it.
//!
//! Points, in the order `apply` reaches them: `wiped` (new partitions wiped and
//! discarded), `copied` (block copies done); per encrypted partition, offline (in
//! temporary files): `luks-formatted` (header and keyslots made in the detached header
//! file), `reencrypt-initialised` (reencryption set up there), `luks-header-restored`
//! (the header moved to the front of the partition image), `reencrypting` (first
//! progress report of the reencryption that is not its end), `encrypted` (before the
//! copy into the target); live (loop device and dm-crypt): `luks-formatted-live`
//! (header and keyslots written to the partition, nothing activated yet),
//! `activated-live` (the mapping is up, no file system yet), `formatted-live` (a file
//! system made through dm-crypt, the mapping and loop device still up); then
//! `formatted` (file systems written), `gpt-backup` (backup copy written), `gpt-primary`
//! (primary header and entries written, in one write; the protective MBR not yet).

/// Dies here if the test asked for it.
#[cfg(feature = "fault-injection")]
pub fn point(name: &str) {
    if std::env::var("REPART_FAULT_AT").as_deref() != Ok(name) {
        return;
    }
    if std::env::var("REPART_FAULT_SIGNAL").as_deref() == Ok("TERM") {
        // A process-directed signal: the cleanup thread's sigwait() takes it (a
        // thread-directed raise() would stay pending on this thread, which blocks it).
        // SAFETY: kill and pause have no memory-safety preconditions.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGTERM);
            loop {
                libc::pause();
            }
        }
    }
    // SAFETY: raising a signal at ourselves has no memory-safety preconditions.
    unsafe {
        libc::raise(libc::SIGKILL);
    }
}

/// Dies here if the test asked for it (a no-op without `fault-injection`).
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub fn point(_name: &str) {}
