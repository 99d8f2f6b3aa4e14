//! The plan: every decision that shapes the printed table and the written GPT, computed
//! from definitions and the disk state without I/O (spec §5).
//!
//! The stages ([`Draft`] → [`Identified`] → [`Measured`] → [`Plan`]) are in `stages`;
//! `geometry` (usable window, free areas), `sizes` (min/max/padding), `ids` (UUIDs and
//! labels), `alloc` (first fit), `supplement` (`SupplementFor=`) and `grow` (weights,
//! placing) are their parts. Nothing here reads the environment or draws at random.

pub mod alloc;
pub mod flags;
pub mod geometry;
pub mod grow;
mod identity;
pub mod ids;
pub mod sizes;
mod slot;
mod stages;
pub mod supplement;
#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

use uuid::Uuid;

use crate::pure::config::{Definition, VerityMode};
use crate::pure::gpt_types::PartitionType;
use crate::pure::size::format_bytes;

pub use identity::{Identity, RootHash};
pub use slot::Slot;
pub use stages::{Content, Draft, Identified, Measured};

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
    /// UUID and label (a foreign partition without a label shows its type's name).
    pub identity: Identity,
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
    /// Split artifact written for this partition, once `--split` ran.
    pub split_path: Option<String>,
    /// ROOTHASH of a verity partition (`None` for other partitions).
    pub roothash: Option<RootHash>,
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
    /// Entries in the partition entry array (an existing table keeps its count).
    pub entry_count: u32,
    /// Whether the table is created from scratch.
    pub from_scratch: bool,
    /// Rows in list order (definitions, then foreign partitions), dropped ones removed.
    pub partitions: Vec<PlannedPartition>,
    /// How many partitions were dropped for lack of space (they still make the table
    /// print its header even when no row is left).
    pub dropped: usize,
}

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// Even after dropping by priority the partitions do not fit.
    #[error("Can't fit requested partitions into available free space ({}), refusing.", format_bytes(*largest))]
    DoesNotFit {
        /// Available bytes of the largest free area.
        largest: u64,
        /// The disk size `--size=auto` would have picked for what was requested.
        minimal_disk_size: u64,
        /// The current device size.
        current_size: u64,
        /// The first partition that did not fit (definition file or label), the bytes
        /// it needed and the bytes it could get.
        shortfall: Option<(String, u64, u64)>,
    },
}

impl PlanError {
    /// A line upstream does not print: which partition did not fit and how many bytes
    /// were missing (`None` when no single partition is to blame).
    pub fn shortfall_detail(&self) -> Option<String> {
        let PlanError::DoesNotFit { shortfall, .. } = self;
        let (name, needed, available) = shortfall.as_ref()?;
        let missing = needed.saturating_sub(*available);
        Some(format!(
            "Partition {name} needs {needed} bytes ({}) but only {available} bytes ({}) are available: {missing} bytes ({}) missing.",
            format_bytes(*needed),
            format_bytes(*available),
            format_bytes(missing)
        ))
    }

    /// The follow-up line upstream logs after a failed fit.
    pub fn size_hint(&self) -> String {
        match self {
            PlanError::DoesNotFit {
                minimal_disk_size,
                current_size,
                ..
            } => format!(
                "Automatically determined minimal disk image size as {}, current image size is {}.",
                format_bytes(*minimal_disk_size),
                format_bytes(*current_size)
            ),
        }
    }
}

impl Plan {
    /// Records the root hash of the verity set whose hash partition is definition
    /// `hash_definition`: the ROOTHASH of every member, and the UUIDs of new data/hash
    /// partitions without `UUID=` (first/last 16 bytes of the root hash).
    pub fn set_root_hash(
        &mut self,
        definitions: &[Definition],
        hash_definition: usize,
        root: &[u8; 32],
    ) {
        let (data_uuid, hash_uuid) = crate::pure::verity::uuids_from_root_hash(root);
        for row in &mut self.partitions {
            let Some(index) = row.definition else {
                continue;
            };
            let Some(def) = definitions.get(index) else {
                continue;
            };
            if def.verity == VerityMode::Off
                || crate::pure::verity::sibling(definitions, index, VerityMode::Hash)
                    != Some(hash_definition)
            {
                continue;
            }
            row.roothash = Some(RootHash::Known(*root));
            if row.is_new() && def.uuid.is_none() {
                match def.verity {
                    VerityMode::Data => row.identity.uuid = data_uuid,
                    VerityMode::Hash => row.identity.uuid = hash_uuid,
                    _ => {}
                }
            }
        }
    }

    /// Whether some row shows a computed root hash (upstream prints the table again
    /// after writing then).
    pub fn has_root_hash(&self) -> bool {
        self.partitions
            .iter()
            .any(|p| p.roothash.is_some_and(|r| r.known().is_some()))
    }

    /// Whether applying would change anything (new or grown partitions, or a new table).
    ///
    /// Initializing an empty label or zero UUID alone is not a change (upstream quirk).
    pub fn has_changes(&self) -> bool {
        self.from_scratch
            || self
                .partitions
                .iter()
                .any(|p| p.is_new() || p.old_size != Some(p.new_size))
    }
}
