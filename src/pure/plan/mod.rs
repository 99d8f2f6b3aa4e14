//! The plan: every decision that shapes the printed table and the written GPT, computed
//! from definitions and the disk state without I/O (spec §5).
//!
//! `geometry` (usable window, free areas), `sizes` (min/max/padding), `ids` (UUIDs and
//! labels), `alloc` (first fit, priority drops), `grow` (weights) and `place`.

pub mod alloc;
pub mod flags;
pub mod geometry;
pub mod grow;
pub mod ids;
pub mod sizes;
mod slot;
pub mod supplement;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

use uuid::Uuid;

use crate::pure::config::{Definition, Diagnostic, Level, UuidSetting, VerityMode};
use crate::pure::gpt_types::PartitionType;
use crate::pure::size::{format_bytes, round_up};
use crate::shell::disk::{DiskState, ExistingPartition, Label};

pub use slot::Slot;

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
    /// Split artifact written for this partition (`-` for none), once `--split` ran.
    pub split_path: Option<String>,
    /// ROOTHASH of a verity partition: the hex root hash of its set, `TBD` until it
    /// is computed; `None` for other partitions.
    pub roothash: Option<String>,
    /// The UUID file system (and LUKS) UUIDs derive from when it differs from `uuid`:
    /// the derived UUID of a verity data/hash partition whose partition UUID comes
    /// from the root hash.
    pub fs_uuid_key: Option<Uuid>,
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

/// What the planner needs to know; everything comes in as values.
#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    /// Definitions in definition order.
    pub definitions: &'a [Definition],
    /// The target's state.
    pub disk: &'a DiskState,
    /// Ignore any existing table (`--empty=force|require|create`, or no label).
    pub from_scratch: bool,
    /// Seed for derived UUIDs.
    pub seed: Uuid,
    /// Per definition: size of block content to copy in (CopyBlocks or a minimized image).
    pub copy_sizes: &'a [Option<u64>],
    /// Per definition: size found by `Minimize=` (becomes the minimum size).
    pub minimized_sizes: &'a [Option<u64>],
    /// Move the end of an existing table to the end of the device (not in dry-run).
    pub extend_table: bool,
    /// Per definition: the root hash of a `Verity=hash` definition's tree when it is
    /// already known (computed by `Minimize=`).
    pub root_hashes: &'a [Option<[u8; 32]>],
    /// Per definition: the partition UUID used when the one derived from the seed is
    /// already taken. Upstream draws it at random, once per run; the shell does too and
    /// passes it in, so every planner call (fstab, `Minimize=`, the plan) agrees on it.
    /// A definition without an entry gets the all-zero UUID.
    pub fallback_uuids: &'a [Uuid],
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

struct Layout {
    first_lba: u64,
    last_lba: u64,
    disk_guid: Uuid,
    entry_count: u32,
    existing: Vec<ExistingPartition>,
}

fn layout(input: &PlanInput) -> Layout {
    let disk = input.disk;
    let fresh = geometry::fresh_usable_lbas(disk.total_bytes, disk.sector_size);
    match &disk.label {
        Label::Gpt(table) if !input.from_scratch => {
            // Like libfdisk, only a table whose backup header is not on the last LBA
            // (the device grew) is moved to the end; one that ends early on purpose
            // keeps its end. Moving the end only ever grows the usable area (the
            // table is never made to cover less than it did; found by fuzzing with
            // inconsistent entry counts).
            let last_lba = if input.extend_table && !table.backup_at_end {
                geometry::last_usable_lba(disk.total_bytes, disk.sector_size, table.entry_count)
                    .max(table.last_lba)
            } else {
                table.last_lba
            };
            Layout {
                first_lba: table.first_lba,
                last_lba,
                // An all-zero GUID never gets here: upstream (and so `run`) refuses it.
                disk_guid: table.disk_guid,
                entry_count: table.entry_count,
                existing: table.partitions.clone(),
            }
        }
        _ => Layout {
            first_lba: fresh.0,
            last_lba: fresh.1,
            disk_guid: ids::disk_guid(input.seed),
            entry_count: geometry::DEFAULT_ENTRY_COUNT,
            existing: Vec::new(),
        },
    }
}

/// Builds the slot list: definitions in order, existing partitions matched by type in
/// slot order, unmatched ones appended as foreign partitions.
fn build_slots<'a>(input: &PlanInput<'a>, existing: &[ExistingPartition]) -> Vec<Slot<'a>> {
    let mut slots: Vec<Slot<'a>> = input
        .definitions
        .iter()
        .enumerate()
        .map(|(i, def)| {
            let mut slot = Slot::for_definition(i, def);
            slot.copy_size = input.copy_sizes.get(i).copied().flatten();
            slot.minimized = input.minimized_sizes.get(i).copied().flatten();
            slot
        })
        .collect();
    let defined = slots.len();
    for part in existing {
        let matched = (0..defined).find(|&i| {
            slots[i].existing.is_none() && slots[i].partition_type.uuid == part.type_uuid
        });
        match matched {
            Some(i) => slots[i].existing = Some(part.clone()),
            None => slots.push(Slot::foreign(part.clone())),
        }
    }
    let targets = crate::pure::config::definition::supplement_targets(input.definitions);
    supplement::link(&mut slots, &targets);
    slots
}

fn assign_uuids(slots: &mut [Slot], seed: Uuid, fallback: &[Uuid], diags: &mut Vec<Diagnostic>) {
    for i in 0..slots.len() {
        let current = slots[i].existing.as_ref().map(|e| e.uuid);
        if let Some(uuid) = current.filter(|u| !u.is_nil()) {
            slots[i].uuid = uuid;
            continue;
        }
        let (Some(def), Some(index)) = (slots[i].def, slots[i].definition) else {
            slots[i].uuid = current.unwrap_or_default();
            continue;
        };
        let uuid = match def.uuid {
            Some(UuidSetting::Explicit(u)) => u,
            Some(UuidSetting::Null) => Uuid::nil(),
            None => {
                let ty = slots[i].partition_type.uuid;
                let k = slots[..i]
                    .iter()
                    .filter(|s| s.partition_type.uuid == ty)
                    .count() as u64;
                let derived = ids::partition_uuid(seed, ty, k);
                // Only existing partitions' UUIDs count: upstream lets another
                // definition's `UUID=` equal a derived UUID (both partitions get it;
                // golden uuid-explicit-equals-derived), and two derivations never meet.
                let taken = slots
                    .iter()
                    .enumerate()
                    .any(|(j, s)| j != i && s.existing.as_ref().is_some_and(|e| e.uuid == derived));
                if taken {
                    // A new partition has no number yet: upstream prints its unset
                    // number, UINT64_MAX.
                    let partno = slots[i]
                        .existing
                        .as_ref()
                        .map_or(u64::MAX, |e| u64::from(e.partno));
                    diags.push(Diagnostic {
                        level: Level::Warning,
                        message: format!(
                            "Partition UUID calculated from seed for partition {partno} already used, reverting to randomized UUID."
                        ),
                    });
                    fallback.get(index).copied().unwrap_or_default()
                } else {
                    derived
                }
            }
        };
        slots[i].init_uuid = current.is_some() && !uuid.is_nil();
        slots[i].uuid = uuid;
    }
}

/// New verity data/hash partitions without `UUID=` take their UUIDs from the root
/// hash: all-zero until it is known (spec §5.5). The derived UUID stays the key of
/// the file system UUID (`identities`).
fn assign_verity_uuids(slots: &mut [Slot], input: &PlanInput) {
    for slot in slots.iter_mut() {
        let (Some(def), Some(index)) = (slot.def, slot.definition) else {
            continue;
        };
        if def.verity == VerityMode::Off {
            continue;
        }
        let root = crate::pure::verity::sibling(input.definitions, index, VerityMode::Hash)
            .and_then(|h| input.root_hashes.get(h).copied().flatten());
        slot.roothash =
            Some(root.map_or_else(|| "TBD".to_string(), |r| crate::pure::verity::hex(&r)));
        if slot.existing.is_some()
            || def.uuid.is_some()
            || !matches!(def.verity, VerityMode::Data | VerityMode::Hash)
        {
            continue;
        }
        slot.fs_uuid_key = Some(slot.uuid);
        slot.uuid = match root.map(|r| crate::pure::verity::uuids_from_root_hash(&r)) {
            Some((data, _)) if def.verity == VerityMode::Data => data,
            Some((_, hash)) => hash,
            None => Uuid::nil(),
        };
    }
}

fn assign_labels(slots: &mut [Slot]) {
    for i in 0..slots.len() {
        let current = slots[i]
            .existing
            .as_ref()
            .map(|e| e.label.clone())
            .unwrap_or_default();
        if !current.is_empty() || slots[i].def.is_none() {
            slots[i].label = current;
            continue;
        }
        let label = match slots[i].def.and_then(|d| d.label.clone()) {
            Some(label) => label,
            None => {
                let prefix = slots[i].partition_type.name.unwrap_or("linux").to_string();
                let taken: Vec<&str> = slots[..i].iter().map(|s| s.label.as_str()).collect();
                ids::default_label(&prefix, taken.iter().copied())
            }
        };
        slots[i].init_label = slots[i].existing.is_some() && !label.is_empty();
        slots[i].label = label;
    }
}

/// `--size=auto`: GPT metadata plus every partition's minimum with padding (merged
/// supplements count through their target).
fn minimal_size(slots: &[Slot], grain: u64) -> u64 {
    slots
        .iter()
        .enumerate()
        .filter(|&(i, s)| !s.dropped && !supplement::is_suppressed(slots, i))
        .map(|(_, s)| s)
        .fold(round_up(geometry::GPT_METADATA_SIZE, 4096), |sum, s| {
            sum.saturating_add(sizes::min_size_with_padding(s, grain))
        })
}

/// The image size `--size=auto` picks for these definitions on this disk.
pub fn minimal_disk_size(input: &PlanInput) -> u64 {
    let layout = layout(input);
    let slots = build_slots(input, &layout.existing);
    minimal_size(&slots, geometry::grain(input.disk.sector_size))
}

/// Drops (or freezes) every partition of the highest priority; false if none is > 0.
fn drop_by_priority(slots: &mut [Slot], diags: &mut Vec<Diagnostic>) -> bool {
    let highest = slots
        .iter()
        .filter(|s| !s.dropped && !s.is_foreign())
        .filter_map(|s| s.def.map(|d| d.priority))
        .max();
    let Some(highest) = highest.filter(|&p| p > 0) else {
        return false;
    };
    for i in 0..slots.len() {
        let slot = &mut slots[i];
        if slot.dropped || slot.is_foreign() {
            continue;
        }
        let Some(def) = slot.def else { continue };
        if def.priority < highest {
            continue;
        }
        if slot.existing.is_some() {
            // Upstream names it by its current label, else the label it was given.
            diags.push(Diagnostic {
                level: Level::Info,
                message: format!(
                    "Can't grow existing partition {} of priority {}, ignoring.",
                    slot.label, def.priority
                ),
            });
            slot.foreignized = true;
            supplement::unlink(slots, i);
        } else {
            diags.push(Diagnostic {
                level: Level::Info,
                message: format!(
                    "Can't fit partition {} of priority {}, dropping.",
                    def.path.display(),
                    def.priority
                ),
            });
            slot.dropped = true;
            supplement::release(slots, i);
        }
    }
    true
}

/// The UUID and label each new partition will get, indexed by definition (`None` for
/// definitions that matched an existing partition), with the messages upstream logs
/// while deciding them (a seed-derived UUID that is taken). File systems need them
/// before the plan exists: upstream decides them before Minimize= and `--size=auto`,
/// and logs those messages there (so `compute` does not repeat them).
pub fn new_partition_identities(
    input: &PlanInput,
) -> (Vec<Option<(Uuid, String)>>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let new = identities_logged(input, &mut diags)
        .into_iter()
        .map(|i| {
            i.filter(|(_, _, new)| *new)
                .map(|(uuid, label, _)| (uuid, label))
        })
        .collect();
    (new, diags)
}

/// UUID, label and "is new" of every definition's partition, indexed by definition.
pub fn identities(input: &PlanInput) -> Vec<Option<(Uuid, String, bool)>> {
    identities_logged(input, &mut Vec::new())
}

fn identities_logged(
    input: &PlanInput,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Option<(Uuid, String, bool)>> {
    let layout = layout(input);
    let mut slots = build_slots(input, &layout.existing);
    assign_uuids(&mut slots, input.seed, input.fallback_uuids, diags);
    assign_labels(&mut slots);
    let mut out = vec![None; input.definitions.len()];
    for slot in &slots {
        if let Some(i) = slot.definition {
            out[i] = Some((slot.uuid, slot.label.clone(), slot.existing.is_none()));
        }
    }
    out
}

/// Slot numbers of existing partitions a factory reset removes: those matched by a
/// definition with `FactoryReset=yes`.
pub fn factory_reset_partitions(input: &PlanInput) -> Vec<u32> {
    let layout = layout(input);
    build_slots(input, &layout.existing)
        .iter()
        .filter(|s| s.def.is_some_and(|d| d.factory_reset))
        .filter_map(|s| s.existing.as_ref().map(|e| e.partno))
        .collect()
}

/// Computes the plan, returning it with the messages upstream logs along the way.
pub fn compute(input: &PlanInput) -> Result<(Plan, Vec<Diagnostic>), (PlanError, Vec<Diagnostic>)> {
    let mut diags = Vec::new();
    let disk = input.disk;
    let grain = geometry::grain(disk.sector_size);
    let layout = layout(input);
    let mut slots = build_slots(input, &layout.existing);
    // Its messages were logged by `new_partition_identities`, as upstream's order wants.
    assign_uuids(
        &mut slots,
        input.seed,
        input.fallback_uuids,
        &mut Vec::new(),
    );
    assign_verity_uuids(&mut slots, input);
    assign_labels(&mut slots);

    let (start, end) =
        geometry::usable_window(layout.first_lba, layout.last_lba, disk.sector_size, grain);
    let mut areas = alloc::free_areas(&mut slots, start, end, grain);
    loop {
        match alloc::allocate(&mut slots, &mut areas, grain) {
            alloc::Allocation::Fits => break,
            alloc::Allocation::DoesNotFit { largest, blocker } => {
                if supplement::unmerge_and_allocate(&mut slots, &mut areas, grain) {
                    break;
                }
                if !drop_by_priority(&mut slots, &mut diags) {
                    let shortfall = blocker.map(|(i, needed, available)| {
                        let slot = &slots[i];
                        let name = match (slot.def, slot.existing.is_some()) {
                            (Some(d), false) => d.path.display().to_string(),
                            _ => format!(
                                "{} (existing partition {})",
                                slot.label,
                                slot.existing.as_ref().map_or(0, |e| e.partno)
                            ),
                        };
                        (name, needed, available)
                    });
                    let err = PlanError::DoesNotFit {
                        largest,
                        minimal_disk_size: minimal_size(&slots, grain),
                        current_size: disk.total_bytes,
                        shortfall,
                    };
                    return Err((err, diags));
                }
            }
        }
    }
    supplement::finish(&mut slots, &mut diags);
    grow::grow(&mut slots, &areas, grain);
    grow::place(&mut slots, &areas, start, grain);

    let partitions = slots
        .iter()
        .filter(|s| !s.dropped)
        .map(|s| s.to_planned())
        .collect();
    let plan = Plan {
        sector_size: disk.sector_size,
        grain,
        total_bytes: disk.total_bytes,
        first_lba: layout.first_lba,
        last_lba: layout.last_lba,
        disk_guid: layout.disk_guid,
        entry_count: layout.entry_count,
        from_scratch: input.from_scratch || !matches!(disk.label, Label::Gpt(_)),
        partitions,
        dropped: slots.iter().filter(|s| s.dropped).count(),
    };
    Ok((plan, diags))
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
            row.roothash = Some(crate::pure::verity::hex(root));
            if row.is_new() && def.uuid.is_none() {
                match def.verity {
                    VerityMode::Data => row.uuid = data_uuid,
                    VerityMode::Hash => row.uuid = hash_uuid,
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
            .any(|p| p.roothash.as_deref().is_some_and(|r| r != "TBD"))
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
