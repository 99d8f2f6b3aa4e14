//! The planner's stages, each computed once per run and handed to the next:
//!
//! 1. [`Draft`]: definitions matched to the existing partitions (what a factory reset
//!    removes is known here);
//! 2. [`Identified`]: UUIDs and labels fixed (file systems, `--generate-fstab=` and
//!    `Minimize=` need them before any size is known);
//! 3. [`Measured`]: block content known (`CopyBlocks=` and `Minimize=` sizes, verity root
//!    hashes and the UUIDs they give); `--size=auto` is answered here;
//! 4. [`Plan`]: every partition placed on the disk.

use uuid::Uuid;

use crate::pure::config::{Definition, Diagnostic, Level, UuidSetting, VerityMode};
use crate::pure::model::{DiskState, ExistingPartition, Label};
use crate::pure::size::round_up;

use super::identity::{Identity, RootHash};
use super::slot::Slot;
use super::{Plan, PlanError, alloc, geometry, grow, ids, sizes, supplement};

/// Stage 1: the definitions in order, each matched to an existing partition of its type
/// (in slot order); unmatched existing partitions follow as foreign partitions.
#[derive(Debug, Clone)]
pub struct Draft<'a> {
    definitions: &'a [Definition],
    seed: Uuid,
    from_scratch: bool,
    sector_size: u64,
    slots: Vec<Slot<'a>>,
}

impl<'a> Draft<'a> {
    /// Matches `definitions` against the partitions of `disk` (none when the table is
    /// made from scratch).
    pub fn new(
        definitions: &'a [Definition],
        disk: &DiskState,
        from_scratch: bool,
        seed: Uuid,
    ) -> Draft<'a> {
        let existing = match &disk.label {
            Label::Gpt(table) if !from_scratch => table.partitions.as_slice(),
            _ => &[],
        };
        Draft {
            definitions,
            seed,
            from_scratch,
            sector_size: disk.sector_size,
            slots: build_slots(definitions, existing),
        }
    }

    /// The same definitions matched against `disk` instead (after a factory reset
    /// removed some of the partitions this draft matched).
    pub fn redraft(&self, disk: &DiskState) -> Draft<'a> {
        Draft::new(self.definitions, disk, self.from_scratch, self.seed)
    }

    /// Whether the table is made from scratch (no existing partitions were matched).
    pub fn from_scratch(&self) -> bool {
        self.from_scratch
    }

    /// Slot numbers of existing partitions a factory reset removes: those matched by a
    /// definition with `FactoryReset=yes`.
    pub fn factory_reset_partitions(&self) -> Vec<u32> {
        self.slots
            .iter()
            .filter(|s| s.def.is_some_and(|d| d.factory_reset))
            .filter_map(|s| s.existing.as_ref().map(|e| e.partno))
            .collect()
    }

    /// Fixes every partition's UUID and label. `fallback_uuids` (per definition) are
    /// used when the UUID derived from the seed is already taken: upstream draws one at
    /// random, once per run, so the shell draws them and passes them in. Returns the
    /// messages upstream logs while deciding (before `Minimize=`, so they come here once).
    pub fn identify(mut self, fallback_uuids: &[Uuid]) -> (Identified<'a>, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        assign_uuids(&mut self.slots, self.seed, fallback_uuids, &mut diags);
        assign_labels(&mut self.slots);
        (Identified { draft: self }, diags)
    }
}

/// Stage 2: every partition's UUID and label decided.
#[derive(Debug, Clone)]
pub struct Identified<'a> {
    draft: Draft<'a>,
}

/// What is known of one definition's block content before placing (stage 3 input).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Content {
    /// Bytes copied in on block level (`CopyBlocks=` or a `Minimize=` image).
    pub copy_size: Option<u64>,
    /// The size `Minimize=` found (it becomes the minimum size).
    pub minimized_size: Option<u64>,
    /// The root hash of a `Verity=hash` definition's tree, when `Minimize=` built it.
    pub root_hash: Option<[u8; 32]>,
}

impl<'a> Identified<'a> {
    /// The identity of each definition's partition, indexed by definition; `None` for a
    /// definition whose partition exists already when `new_only` is set.
    fn by_definition(&self, new_only: bool) -> Vec<Option<&Identity>> {
        let mut out = vec![None; self.draft.definitions.len()];
        for slot in &self.draft.slots {
            if let Some(i) = slot.definition
                && (!new_only || slot.existing.is_none())
            {
                out[i] = Some(&slot.identity);
            }
        }
        out
    }

    /// The identity of every definition's partition, indexed by definition.
    pub fn identities(&self) -> Vec<Option<&Identity>> {
        self.by_definition(false)
    }

    /// The identity of each new partition, indexed by definition (`None` for
    /// definitions that matched an existing partition).
    pub fn new_identities(&self) -> Vec<Option<&Identity>> {
        self.by_definition(true)
    }

    /// Sizes new verity hash partitions for their data partitions' `SizeMaxBytes=`,
    /// the unset verity block sizes being the run's `fs_sector_size`; returns the
    /// messages. Upstream 257 does this after `--generate-fstab=`/`--generate-crypttab=`
    /// and before `Minimize=`; partitions that exist already keep their sizes.
    pub fn reserve_verity_hash_sizes(&mut self, fs_sector_size: u64) -> Vec<Diagnostic> {
        let definitions = self.draft.definitions;
        let mut diags = Vec::new();
        for slot in &mut self.draft.slots {
            let (Some(index), Some(hash)) = (slot.definition, slot.def) else {
                continue;
            };
            if hash.verity != VerityMode::Hash || slot.existing.is_some() || slot.dropped {
                continue;
            }
            let Some(data) = crate::pure::verity::sibling(definitions, index, VerityMode::Data)
            else {
                continue;
            };
            let reservation =
                crate::pure::verity::hash_reservation(hash, &definitions[data], fs_sector_size);
            if let Some(r) = reservation {
                slot.reserved_size_min = r.size_min;
                diags.push(r.diagnostic);
            }
        }
        diags
    }

    /// Records the block content of each definition (indexed by definition) and the
    /// verity UUIDs its root hashes give.
    pub fn measure(self, content: &[Content]) -> Measured<'a> {
        let mut draft = self.draft;
        for slot in &mut draft.slots {
            if let Some(c) = slot.definition.and_then(|i| content.get(i)) {
                slot.copy_size = c.copy_size;
                slot.minimized = c.minimized_size;
            }
        }
        let root_hashes: Vec<Option<[u8; 32]>> = (0..draft.definitions.len())
            .map(|i| content.get(i).and_then(|c| c.root_hash))
            .collect();
        assign_verity_uuids(&mut draft.slots, draft.definitions, &root_hashes);
        Measured { draft }
    }
}

/// Stage 3: sizes of the content known; ready to be placed.
#[derive(Debug, Clone)]
pub struct Measured<'a> {
    draft: Draft<'a>,
}

impl Measured<'_> {
    /// The image size `--size=auto` picks: GPT metadata plus every partition's minimum
    /// with padding (merged supplements count through their target).
    pub fn minimal_disk_size(&self) -> u64 {
        minimal_size(&self.draft.slots, geometry::grain(self.draft.sector_size))
    }

    /// Places the partitions on `disk` (the disk this run started from, or the same disk
    /// grown by `--size=`; its partitions are the ones drafted). `extend_table` moves the
    /// end of an existing table to the end of the device. Returns the plan with the
    /// messages upstream logs while placing.
    pub fn place(
        &self,
        disk: &DiskState,
        extend_table: bool,
    ) -> Result<(Plan, Vec<Diagnostic>), (PlanError, Vec<Diagnostic>)> {
        place(&self.draft, disk, extend_table)
    }
}

/// Where the table's usable area lies, and its GUID and size.
struct Layout {
    first_lba: u64,
    last_lba: u64,
    disk_guid: Uuid,
    entry_count: u32,
}

fn layout(disk: &DiskState, from_scratch: bool, extend_table: bool, seed: Uuid) -> Layout {
    match &disk.label {
        Label::Gpt(table) if !from_scratch => {
            // Like libfdisk, only a table whose backup header is not on the last LBA
            // (the device grew) is moved to the end; one that ends early on purpose
            // keeps its end. Moving the end only ever grows the usable area (the
            // table is never made to cover less than it did; found by fuzzing with
            // inconsistent entry counts).
            let last_lba = if extend_table && !table.backup_at_end {
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
            }
        }
        _ => {
            let (first_lba, last_lba) =
                geometry::fresh_usable_lbas(disk.total_bytes, disk.sector_size);
            Layout {
                first_lba,
                last_lba,
                disk_guid: ids::disk_guid(seed),
                entry_count: geometry::DEFAULT_ENTRY_COUNT,
            }
        }
    }
}

/// Builds the slot list: definitions in order, existing partitions matched by type in
/// slot order, unmatched ones appended as foreign partitions.
fn build_slots<'a>(definitions: &'a [Definition], existing: &[ExistingPartition]) -> Vec<Slot<'a>> {
    let mut slots: Vec<Slot<'a>> = definitions
        .iter()
        .enumerate()
        .map(|(i, def)| Slot::for_definition(i, def))
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
    let targets = crate::pure::config::definition::supplement_targets(definitions);
    supplement::link(&mut slots, &targets);
    slots
}

fn assign_uuids(slots: &mut [Slot], seed: Uuid, fallback: &[Uuid], diags: &mut Vec<Diagnostic>) {
    for i in 0..slots.len() {
        let current = slots[i].existing.as_ref().map(|e| e.uuid);
        if let Some(uuid) = current.filter(|u| !u.is_nil()) {
            slots[i].identity.uuid = uuid;
            continue;
        }
        let (Some(def), Some(index)) = (slots[i].def, slots[i].definition) else {
            slots[i].identity.uuid = current.unwrap_or_default();
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
        slots[i].identity.init_uuid = current.is_some() && !uuid.is_nil();
        slots[i].identity.uuid = uuid;
    }
}

/// New verity data/hash partitions (and existing ones with an all-zero UUID) without
/// `UUID=` take their UUIDs from the root
/// hash: all-zero until it is known (spec §5.5). The derived UUID stays the key of
/// the file system UUID.
fn assign_verity_uuids(
    slots: &mut [Slot],
    definitions: &[Definition],
    root_hashes: &[Option<[u8; 32]>],
) {
    for slot in slots.iter_mut() {
        let (Some(def), Some(index)) = (slot.def, slot.definition) else {
            continue;
        };
        if def.verity == VerityMode::Off {
            continue;
        }
        let root = crate::pure::verity::sibling(definitions, index, VerityMode::Hash)
            .and_then(|h| root_hashes.get(h).copied().flatten());
        slot.roothash = Some(root.map_or(RootHash::Pending, RootHash::Known));
        // An existing partition's all-zero UUID is treated as a new one's: upstream
        // only ever sets it from a root hash, never from the seed (golden
        // verity-hash-existing-rerun).
        let current = slot.existing.as_ref().map(|e| e.uuid);
        if current.is_some_and(|u| !u.is_nil())
            || def.uuid.is_some()
            || !matches!(def.verity, VerityMode::Data | VerityMode::Hash)
        {
            continue;
        }
        slot.identity.fs_uuid_key = Some(slot.identity.uuid);
        slot.identity.uuid = match root.map(|r| crate::pure::verity::uuids_from_root_hash(&r)) {
            Some((data, _)) if def.verity == VerityMode::Data => data,
            Some((_, hash)) => hash,
            None => Uuid::nil(),
        };
        slot.identity.init_uuid = current.is_some() && !slot.identity.uuid.is_nil();
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
            slots[i].identity.label = current;
            continue;
        }
        let label = match slots[i].def.and_then(|d| d.label.clone()) {
            Some(label) => label,
            None => {
                let prefix = slots[i].partition_type.name.unwrap_or("linux").to_string();
                let taken: Vec<&str> = slots[..i]
                    .iter()
                    .map(|s| s.identity.label.as_str())
                    .collect();
                ids::default_label(&prefix, taken.iter().copied())
            }
        };
        slots[i].identity.init_label = slots[i].existing.is_some() && !label.is_empty();
        slots[i].identity.label = label;
    }
}

/// GPT metadata plus every partition's minimum with padding (merged supplements count
/// through their target).
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
                    slot.identity.label, def.priority
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

/// Allocates, drops by priority until everything fits, grows and places.
fn place(
    draft: &Draft,
    disk: &DiskState,
    extend_table: bool,
) -> Result<(Plan, Vec<Diagnostic>), (PlanError, Vec<Diagnostic>)> {
    let mut diags = Vec::new();
    let grain = geometry::grain(disk.sector_size);
    let layout = layout(disk, draft.from_scratch, extend_table, draft.seed);
    let mut slots = draft.slots.clone();
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
                                slot.identity.label,
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
        from_scratch: draft.from_scratch || !matches!(disk.label, Label::Gpt(_)),
        partitions,
        dropped: slots.iter().filter(|s| s.dropped).count(),
    };
    Ok((plan, diags))
}
