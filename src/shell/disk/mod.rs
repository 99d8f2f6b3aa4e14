//! The target disk: opening image files and block devices, reading the current GPT
//! into a `DiskState` and writing a new table the way libfdisk lays it out.
//!
//! This is the imperative shell for everything GPT: it produces the core's
//! [`DiskState`](crate::pure::model::DiskState); `plan` never sees a file.

pub mod blkid;
pub mod blockcopy;
pub mod blockdev;
pub mod gpt;
pub mod loopdev;
pub mod target;
#[cfg(test)]
mod testutil;

use std::io;
use std::path::PathBuf;

pub use gpt::{
    GptInfo, GptProbe, NewEntry, NewTable, extend_table, probe_sector_size, read_gpt, read_label,
    write_table, zero_range,
};
pub use target::{
    DiscardOutcome, GrowOutcome, LockMode, OpenOptions, Target, TargetKind, open_target,
};

/// Formats an I/O error like C's `%m`: the description without Rust's
/// " (os error N)" suffix.
pub fn strerror(e: &io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) if s.ends_with(')') => s[..i].to_string(),
        _ => s,
    }
}

/// Errors from reading, writing and opening targets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiskError {
    /// An I/O error at a byte offset of the device.
    #[error("Failed to {op} at offset {offset}: {}", strerror(.source))]
    Io {
        /// "read", "write", "seek", "flush".
        op: &'static str,
        /// Byte offset.
        offset: u64,
        /// The underlying error.
        source: io::Error,
    },
    /// Another error, attributed to a file or device.
    #[error("{}: {source}", .path.display())]
    File {
        /// The file or device.
        path: PathBuf,
        /// What went wrong.
        source: Box<DiskError>,
    },
    /// Opening the target failed (upstream's wording: it looks for the backing device
    /// of a path that is neither a file nor a block device in the same step).
    #[error("Failed to open file or determine backing device of {}: {}", .path.display(), strerror(.source))]
    Open {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Creating a new image file failed (`--empty=create`).
    #[error("Failed to create '{}': {}", .path.display(), strerror(.source))]
    Create {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A system call on the target failed.
    #[error("Failed to {what} '{}': {}", .path.display(), strerror(.source))]
    Os {
        /// What was attempted ("lock", "stat", "truncate", "query size of", ...).
        what: &'static str,
        /// The file or device.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The target is neither a regular file nor a block device.
    #[error("'{}' is not a regular file or block device.", .path.display())]
    NotFileOrBlockDevice {
        /// The path.
        path: PathBuf,
    },
    /// Refusing to make a file smaller.
    #[error("Refusing to shrink '{}' from {from} to {to} bytes.", .path.display())]
    Shrink {
        /// The path.
        path: PathBuf,
        /// Current size.
        from: u64,
        /// Requested size.
        to: u64,
    },
    /// Unsupported logical sector size.
    #[error("Sector size {sector_size} is not a power of two larger than 512? Refusing.")]
    InvalidSectorSize {
        /// The offending size.
        sector_size: u64,
    },
    /// GPT headers found at offsets matching several sector sizes.
    #[error(
        "Detected valid partition table at offsets matching multiple sector sizes ({candidates:?}), refusing."
    )]
    AmbiguousSectorSize {
        /// The sector sizes that matched.
        candidates: Vec<u64>,
    },
    /// A partition lies outside the usable area (or ends before it starts).
    #[error(
        "Partition {partno} (LBA {first_lba}..={last_lba}) lies outside the usable area {first_usable}..={last_usable}."
    )]
    PartitionOutOfRange {
        /// 0-based slot.
        partno: u32,
        /// First LBA.
        first_lba: u64,
        /// Last LBA.
        last_lba: u64,
        /// First usable LBA.
        first_usable: u64,
        /// Last usable LBA.
        last_usable: u64,
    },
    /// Two partitions overlap.
    #[error("Partitions {a} and {b} overlap.")]
    PartitionsOverlap {
        /// 0-based slot of the earlier partition.
        a: u32,
        /// 0-based slot of the later partition.
        b: u32,
    },
    /// Zero entries or an entry array larger than we accept.
    #[error("Invalid number of partition table entries: {entry_count}.")]
    BadEntryCount {
        /// The count.
        entry_count: u32,
    },
    /// Usable area does not fit the device (or the device is too small for a GPT).
    #[error(
        "Usable area {first_lba}..={last_lba} does not fit a device of {total_sectors} sectors."
    )]
    BadUsableRange {
        /// First usable LBA.
        first_lba: u64,
        /// Last usable LBA.
        last_lba: u64,
        /// Device size in sectors.
        total_sectors: u64,
    },
    /// An entry's slot is beyond the entry array.
    #[error("Partition number {partno} exceeds the partition table size ({entry_count} entries).")]
    SlotOutOfRange {
        /// 0-based slot.
        partno: u32,
        /// Entries in the array.
        entry_count: u32,
    },
    /// Two entries use the same slot.
    #[error("Partition number {partno} used twice.")]
    DuplicateSlot {
        /// 0-based slot.
        partno: u32,
    },
    /// An entry with the all-zero type (which would mark the slot unused).
    #[error("Partition {partno} has a nil type UUID.")]
    NilPartitionType {
        /// 0-based slot.
        partno: u32,
    },
}

impl DiskError {
    pub(crate) fn io(op: &'static str, offset: u64, source: io::Error) -> DiskError {
        DiskError::Io { op, offset, source }
    }

    /// Attributes this error to `path` (no-op if it already names a file).
    pub fn at(self, path: impl Into<PathBuf>) -> DiskError {
        match self {
            DiskError::Io { .. }
            | DiskError::InvalidSectorSize { .. }
            | DiskError::AmbiguousSectorSize { .. }
            | DiskError::PartitionOutOfRange { .. }
            | DiskError::PartitionsOverlap { .. }
            | DiskError::BadEntryCount { .. }
            | DiskError::BadUsableRange { .. }
            | DiskError::SlotOutOfRange { .. }
            | DiskError::DuplicateSlot { .. }
            | DiskError::NilPartitionType { .. } => DiskError::File {
                path: path.into(),
                source: Box::new(self),
            },
            other => other,
        }
    }
}
