//! The plan: every decision that shapes the printed table and the written GPT, computed
//! from definitions and the disk state without I/O (spec §5).
//!
//! `geometry` (usable window, free areas), `sizes` (min/max/padding), `ids` (UUIDs and
//! labels), `alloc` (first fit, priority drops), `grow` (weights) and `place`.

pub mod alloc;
pub mod geometry;
pub mod grow;
pub mod ids;
pub mod sizes;

use std::path::PathBuf;

use uuid::Uuid;

use crate::gpt_types::PartitionType;

/// A row of the plan: one partition that will exist after applying.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedPartition {
    /// Index into the definition list, `None` for a foreign partition.
    pub definition: Option<usize>,
    /// Definition file path (JSON `file`), `None` for foreign partitions.
    pub path: Option<PathBuf>,
    /// Drop-in files of the definition.
    pub dropins: Vec<PathBuf>,
    /// Partition type.
    pub partition_type: PartitionType,
    /// Final label (new, else current).
    pub label: String,
    /// Final partition UUID.
    pub uuid: Uuid,
    /// 0-based slot number.
    pub partno: u32,
    /// Byte offset.
    pub offset: u64,
    /// Current size, `None` for a new partition.
    pub old_size: Option<u64>,
    /// Size after applying.
    pub new_size: u64,
    /// Current padding, `None` for a new partition.
    pub old_padding: Option<u64>,
    /// Padding after applying.
    pub new_padding: u64,
    /// GPT attribute bits for a new partition (existing ones keep theirs).
    pub attrs: u64,
    /// Whether the UUID changes an existing all-zero UUID.
    pub init_uuid: bool,
    /// Whether the label is set on an existing unlabelled partition.
    pub init_label: bool,
}

impl PlannedPartition {
    /// Whether this row creates a new partition.
    pub fn is_new(&self) -> bool {
        self.old_size.is_none()
    }
    /// Whether this row is a foreign partition (no definition).
    pub fn is_foreign(&self) -> bool {
        self.definition.is_none()
    }
    /// `create`, `resize` or `unchanged` (ACTIVITY column).
    pub fn activity(&self) -> &'static str {
        match self.old_size {
            None => "create",
            Some(old) if old != self.new_size => "resize",
            Some(_) => "unchanged",
        }
    }
}

/// The complete result of planning.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Logical sector size.
    pub sector_size: u64,
    /// Alignment of starts and sizes (max(4096, sector size)).
    pub grain: u64,
    /// Whole device size in bytes (bar diagram scale).
    pub total_bytes: u64,
    /// First usable LBA of the table to write.
    pub first_lba: u64,
    /// Last usable LBA of the table to write.
    pub last_lba: u64,
    /// Disk GUID of the table to write.
    pub disk_guid: Uuid,
    /// Whether the table is created from scratch.
    pub from_scratch: bool,
    /// Rows in list order (definitions, then foreign partitions), dropped ones removed.
    pub partitions: Vec<PlannedPartition>,
}
