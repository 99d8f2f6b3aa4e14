//! The disk as the functional core sees it: its size, sector size and the partition
//! table found on it. `disk` reads these from a device or image file; `plan` decides
//! from them without I/O.

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
    /// Whether the backup header sits on the last LBA. Only a table whose backup is
    /// elsewhere (the device grew) gets its usable area moved to the end; a table that
    /// ends early on purpose keeps its last usable LBA (libfdisk's rule).
    pub backup_at_end: bool,
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
