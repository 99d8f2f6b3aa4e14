//! `Minimize=` (spec §10): build the file system once to learn how small it can be.
//!
//! Read-only file systems are built directly into a temporary file, whose size is the
//! answer. Writable ones (`guess`) are built in a 1 TiB sparse file with a random UUID; the
//! bytes holding data A (`SEEK_DATA`/`SEEK_HOLE`, as upstream measures: mke2fs' 1 GiB journal
//! is only reserved with `FALLOC_FL_ZERO_RANGE` and does not count) give the size `round_up(A + A/2, grain)` (xfs: `2A`), at least the file
//! system's minimum; the file is then emptied, resized and built again with the real UUID.

use uuid::Uuid;

use super::{FormatJob, FsError, mkfs, sys, tree};
use crate::pure::fstype::FileSystem;
use crate::pure::policy::LoopUse;
use crate::pure::size::{format_bytes, round_up};

/// A minimized file system image: becomes the partition's CopyBlocks source, and its size
/// the partition's minimum size.
#[derive(Debug)]
pub struct MinimizedImage {
    /// The temporary file (deleted when dropped).
    pub file: tempfile::TempPath,
    /// Its size in bytes.
    pub size: u64,
    /// Removes the file if the run is killed.
    pub tracked: crate::shell::signal_cleanup::Tracked,
}

const TIB: u64 = 1 << 40;

/// The smallest size upstream allows for a writable file system (0 if none).
pub fn minimal_size(fstype: &FileSystem) -> u64 {
    fstype.minimal_size().unwrap_or(0)
}

/// The partition size guessed from the allocated bytes of a first build.
pub fn guess_size(fstype: &FileSystem, allocated: u64, grain: u64) -> u64 {
    let grown = if *fstype == FileSystem::Xfs {
        allocated.saturating_mul(2)
    } else {
        allocated.saturating_add(allocated / 2)
    };
    round_up(grown, grain.max(1)).max(minimal_size(fstype))
}

/// Upstream 257 builds a writable file system for `Minimize=` on a loop device over
/// the temporary file unless `--offline=yes`; the bytes are the same made in the file
/// (as here), so a device is only made with `--offline=no`, to fail as upstream's
/// does without one. `block_size`: the target's sector size, as upstream's.
fn require_loop(
    file: &std::fs::File,
    path: &std::path::Path,
    size: u64,
    loop_use: LoopUse,
    block_size: u32,
) -> Result<(), FsError> {
    if loop_use != LoopUse::Require {
        return Ok(());
    }
    let device = crate::shell::disk::loopdev::LoopDevice::attach(file, 0, size, block_size)
        .map_err(|e| {
            FsError::io(
                format!("Failed to make loopback device of {}", path.display()),
                e,
            )
        })?;
    drop(device);
    Ok(())
}

/// Builds the minimal file system for `job` in a temporary file (`loop_use` and
/// `block_size`: see `require_loop`).
pub fn minimize(
    job: &FormatJob,
    loop_use: LoopUse,
    block_size: u32,
) -> Result<MinimizedImage, FsError> {
    let fstype = job.fstype();
    tracing::info!(
        "Pre-populating {fstype} filesystem of partition {} twice to calculate minimal partition size",
        job.hint
    );
    let temp = tempfile::Builder::new()
        .prefix(".#repart")
        .rand_bytes(16)
        .tempfile_in(&job.env.tmp_dir)
        .map_err(|e| FsError::io("Failed to generate temporary file path", e))?;
    let (file, path) = temp.into_parts();
    let tracked = crate::shell::signal_cleanup::track(&path);
    let stat = |what: &str| {
        file.metadata()
            .map_err(|e| FsError::io(format!("Failed to stat temporary file{what}"), e))
    };

    if fstype.is_read_only() {
        let source = tree::prepare(job)?;
        mkfs::make_filesystem(job, &path, source.as_ref(), job.fs_uuid())?;
        let size = stat("")?.len();
        tracing::info!(
            "Minimal partition size of {fstype} filesystem of partition {} is {}",
            job.hint,
            format_bytes(size)
        );
        return Ok(MinimizedImage {
            file: path,
            size,
            tracked,
        });
    }

    let resize = |len: u64| {
        file.set_len(len).map_err(|e| {
            FsError::io(
                format!("Failed to truncate temporary file to {}", format_bytes(len)),
                e,
            )
        })
    };
    resize(TIB)?;
    require_loop(&file, &path, TIB, loop_use, block_size)?;
    let source = tree::prepare(job)?;
    // A random UUID for the throw-away build, as upstream does.
    mkfs::make_filesystem(job, &path, source.as_ref(), Uuid::new_v4())?;
    let allocated = sys::data_bytes(&file)
        .map_err(|e| FsError::io("Failed to determine allocated size of temporary file", e))?;
    let size = guess_size(fstype, allocated, job.grain);
    tracing::info!(
        "Minimal partition size of {fstype} filesystem of partition {} is {}",
        job.hint,
        format_bytes(size)
    );
    file.set_len(0)
        .map_err(|e| FsError::io("Failed to erase temporary file", e))?;
    resize(size)?;
    require_loop(&file, &path, size, loop_use, block_size)?;
    mkfs::make_filesystem(job, &path, source.as_ref(), job.fs_uuid())?;
    let size = stat("")?.len();
    Ok(MinimizedImage {
        file: path,
        size,
        tracked,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guess_size(fstype: &str, allocated: u64, grain: u64) -> u64 {
        super::guess_size(&FileSystem::from_name(fstype), allocated, grain)
    }

    #[test]
    fn guesses() {
        assert_eq!(guess_size("ext4", 4096, 4096), 32 << 20);
        assert_eq!(guess_size("ext4", 100 << 20, 4096), 150 << 20);
        assert_eq!(guess_size("ext4", 1000, 4096), 32 << 20);
        assert_eq!(guess_size("vfat", 10_000, 4096), 16384);
        assert_eq!(guess_size("xfs", 200 << 20, 4096), 400 << 20);
        assert_eq!(guess_size("btrfs", 1 << 20, 4096), 256 << 20);
    }
}
