//! The target disk: opening image files and block devices, reading the current GPT
//! into a [`DiskState`] and writing a new table the way libfdisk lays it out.
//!
//! This is the imperative shell for everything GPT; `plan` only ever sees `DiskState`.

pub mod gpt;

use uuid::Uuid;

/// A partition found in the existing table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingPartition {
    /// 0-based slot index in the entry array (PARTNO column).
    pub partno: u32,
    /// GPT type UUID.
    pub type_uuid: Uuid,
    /// Partition UUID (may be all-zero).
    pub uuid: Uuid,
    /// GPT name (may be empty).
    pub label: String,
    /// Byte offset of the first sector.
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
    /// GPT attribute bits.
    pub attrs: u64,
}

/// An existing GPT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingTable {
    /// Disk GUID.
    pub disk_guid: Uuid,
    /// First usable LBA as recorded in the header.
    pub first_lba: u64,
    /// Last usable LBA as recorded in the primary header.
    pub last_lba: u64,
    /// Number of entries in the partition entry array (usually 128).
    pub entry_count: u32,
    /// Used entries in slot order.
    pub partitions: Vec<ExistingPartition>,
}

/// What kind of partition table the device carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Label {
    /// No partition table.
    None,
    /// A GPT.
    Gpt(ExistingTable),
    /// Something else (MBR, ...).
    Other,
}

/// The target as the planner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskState {
    /// Logical sector size.
    pub sector_size: u64,
    /// Device/file size in bytes.
    pub total_bytes: u64,
    /// The table found on it.
    pub label: Label,
}
