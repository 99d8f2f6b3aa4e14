//! Executes a [`Plan`] on the target in an order that never loses data: only space
//! that the plan gives to new partitions is touched before the partition table, and
//! the table itself is written last, in one go.

use crate::cli::{EmptyMode, Options};
use crate::config::Definition;
use crate::disk::gpt::{NewEntry, NewTable};
use crate::disk::{DiscardOutcome, DiskError, ExistingPartition, Target};
use crate::plan::flags::new_partition_attrs;
use crate::plan::{Plan, PlannedPartition};

/// Why applying failed (the caller prints it; `--empty=create` images are removed).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// The target could not be written.
    #[error(transparent)]
    Disk(#[from] DiskError),
    /// A partition needs a feature this build does not have yet.
    #[error("{0}")]
    Unsupported(String),
}

/// Bytes zeroed at both ends of a new partition so stale signatures disappear.
const WIPE_BYTES: u64 = 1 << 20;

/// Applies `plan` to `target`. `existing` is the table the plan was made from.
pub fn apply(
    plan: &Plan,
    definitions: &[Definition],
    existing: &[ExistingPartition],
    target: &mut Target,
    options: &Options,
) -> Result<(), ApplyError> {
    for row in plan.partitions.iter().filter(|p| p.is_new()) {
        let def = row.definition.and_then(|i| definitions.get(i));
        if let Some(def) = def {
            if def.format.is_some() || def.needs_populate() || def.copy_blocks.is_some() {
                return Err(ApplyError::Unsupported(format!(
                    "{}: Format=/CopyFiles=/CopyBlocks= are not supported by this build yet.",
                    def.path.display()
                )));
            }
        }
    }
    // A freshly created image holds nothing to wipe; everything else is cleaned first.
    if options.empty != EmptyMode::Create {
        if plan.from_scratch {
            wipe_whole_device(target, options)?;
        }
        wipe_and_discard(plan, target, options)?;
    }

    let mut entries = Vec::new();
    for row in &plan.partitions {
        announce(row, definitions);
        let current = existing
            .iter()
            .find(|e| e.partno == row.partno && !row.is_new());
        entries.push(new_entry(row, current, plan.sector_size));
    }
    tracing::info!("Writing new partition table.");
    let table = NewTable {
        disk_guid: plan.disk_guid,
        first_lba: plan.first_lba,
        last_lba: plan.last_lba,
        entry_count: 128,
        entries,
    };
    target.write_table(plan.sector_size, &table)?;
    Ok(())
}

fn announce(row: &PlannedPartition, definitions: &[Definition]) {
    if row.is_new() {
        // Upstream computes the flags (and warns about them) before announcing.
        if let Some(def) = row.definition.and_then(|i| definitions.get(i)) {
            for warning in new_partition_attrs(def).1 {
                tracing::warn!("{warning}");
            }
        }
        tracing::info!("Adding new partition {} to partition table.", row.partno);
        return;
    }
    if row.old_size != Some(row.new_size) {
        tracing::info!("Growing existing partition {}.", row.partno);
    }
    if row.init_uuid {
        tracing::info!("Initializing UUID of existing partition {}.", row.partno);
    }
    if row.init_label {
        tracing::info!(
            "Setting partition label of existing partition {}.",
            row.partno
        );
    }
}

/// The table entry for a row. Existing partitions keep their name unless the plan
/// initializes an empty one (the displayed label of a foreign row is only a fallback).
fn new_entry(
    row: &PlannedPartition,
    current: Option<&ExistingPartition>,
    sector_size: u64,
) -> NewEntry {
    let label = match current {
        Some(e) if !row.init_label => e.label.clone(),
        _ => row.label.clone(),
    };
    NewEntry {
        partno: row.partno,
        type_uuid: row.partition_type.uuid,
        uuid: row.uuid,
        label,
        first_lba: row.offset / sector_size,
        last_lba: (row.offset + row.new_size) / sector_size - 1,
        attrs: row.attrs,
    }
}

/// Zeroes the first and last MiB of a range: where file system signatures live.
fn wipe(target: &mut Target, offset: u64, len: u64) -> Result<(), DiskError> {
    let head = len.min(WIPE_BYTES);
    target.zero_range(offset, head)?;
    if len > head {
        let tail = (len - head).min(WIPE_BYTES);
        target.zero_range(offset + len - tail, tail)?;
    }
    Ok(())
}

/// Starting from scratch: the old contents of the whole device go first.
fn wipe_whole_device(target: &mut Target, options: &Options) -> Result<(), ApplyError> {
    let size = target.total_bytes;
    wipe(target, 0, size)?;
    tracing::info!("Wiped block device.");
    if options.discard {
        match target.discard(0, size)? {
            DiscardOutcome::Discarded => tracing::info!("Discarded entire block device."),
            _ => tracing::info!(
                "Storage does not support discard, not discarding entire block device data."
            ),
        }
    }
    Ok(())
}

/// Wipes new partitions; on an existing table also discards them and the gaps.
fn wipe_and_discard(
    plan: &Plan,
    target: &mut Target,
    options: &Options,
) -> Result<(), ApplyError> {
    for row in plan.partitions.iter().filter(|p| p.is_new()) {
        let n = row.partno;
        wipe(target, row.offset, row.new_size)?;
        tracing::info!("Successfully wiped file system signatures from future partition {n}.");
        if !options.discard || plan.from_scratch {
            continue;
        }
        match target.discard(row.offset, row.new_size)? {
            DiscardOutcome::Discarded => {
                tracing::info!("Successfully discarded data from future partition {n}.")
            }
            DiscardOutcome::Unsupported => tracing::info!(
                "Storage does not support discard, not discarding data in future partition {n}."
            ),
            DiscardOutcome::Busy => tracing::info!(
                "Block device is busy, not discarding partition {n} because it probably is mounted."
            ),
        }
        let (gap_start, gap_len) = gap_after(plan, row.offset + row.new_size);
        if gap_len > 0 && target.discard(gap_start, gap_len)? == DiscardOutcome::Discarded {
            tracing::info!("Successfully discarded gap after partition {n}.");
        }
    }
    if options.discard && !plan.from_scratch {
        let first = plan.first_lba * plan.sector_size;
        let lowest = plan.partitions.iter().map(|p| p.offset).min();
        if let Some(lowest) = lowest.filter(|&l| l > first) {
            if target.discard(first, lowest - first)? == DiscardOutcome::Discarded {
                tracing::info!("Successfully discarded gap at beginning of disk.");
            }
        }
    }
    Ok(())
}

/// The unused bytes between `end` and the next partition (or the end of usable space).
fn gap_after(plan: &Plan, end: u64) -> (u64, u64) {
    let usable_end = (plan.last_lba + 1) * plan.sector_size;
    let next = plan
        .partitions
        .iter()
        .map(|p| p.offset)
        .filter(|&o| o >= end)
        .min()
        .unwrap_or(usable_end);
    (end, next.saturating_sub(end))
}
