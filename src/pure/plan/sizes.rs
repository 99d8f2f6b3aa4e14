//! Minimum and maximum sizes and paddings of one partition (spec §5.7).

use crate::pure::config::EncryptMode;
use crate::pure::gpt_types::Designator;
use crate::pure::plan::Slot;
use crate::pure::size::{round_down, round_up};

/// Floor for partitions without `SizeMinBytes=`.
pub const DEFAULT_MIN_SIZE: u64 = 10 << 20;
/// Smallest partition repart will create.
pub const HARD_MIN_SIZE: u64 = 4096;
/// Fixed size of verity signature partitions.
pub const VERITY_SIG_SIZE: u64 = 16384;
/// Room LUKS2 needs for its header and reencryption.
pub const LUKS2_METADATA_KEEP_FREE: u64 = 32 << 20;

fn is_verity_sig(slot: &Slot) -> bool {
    matches!(
        slot.partition_type.designator,
        Some(Designator::RootVeritySig | Designator::UsrVeritySig)
    )
}

/// `min_size(p)`.
pub fn min_size(slot: &Slot, grain: u64) -> u64 {
    let Some(def) = slot.active_definition() else {
        return slot.current_size().unwrap_or(0);
    };
    if is_verity_sig(slot) {
        return VERITY_SIG_SIZE;
    }
    let mut base = slot.current_size().unwrap_or(HARD_MIN_SIZE);
    if slot.existing.is_none() {
        let encrypted = def.encrypt != EncryptMode::Off;
        let mut d: u64 = 0;
        if encrypted {
            d = d.saturating_add(round_up(LUKS2_METADATA_KEEP_FREE, grain));
        }
        if let Some(copy) = slot.copy_size {
            d = d.saturating_add(round_up(copy, grain));
        } else if def.format.is_some() || encrypted {
            let fs_min = def
                .format
                .as_ref()
                .and_then(crate::pure::fstype::FileSystem::minimal_size);
            d = d.saturating_add(fs_min.map_or(grain, |m| round_up(m, grain)));
        }
        base = base.max(d);
    }
    // Observed in upstream 257: a read-only file system (built to its exact size at
    // apply time) and any member of a verity set get no 10 MiB floor, only the hard
    // minimum: they could never take possession of the extra space. This holds for
    // existing partitions too, so a minimized hash partition is not grown on re-runs.
    let read_only = def
        .format
        .as_ref()
        .is_some_and(crate::pure::fstype::FileSystem::is_read_only);
    let floor = if read_only || def.verity != crate::pure::config::VerityMode::Off {
        HARD_MIN_SIZE
    } else {
        DEFAULT_MIN_SIZE
    };
    let smin = merged_size_min(slot).unwrap_or(floor);
    round_up(smin, grain).max(base)
}

/// `SizeMinBytes=` merged with a suppressed supplement's. Upstream compares with
/// "unset" as the largest value, so a supplement without `SizeMinBytes=` unsets the
/// partition's own (observed with 257.13: the floor applies then).
fn merged_size_min(slot: &Slot) -> Option<u64> {
    match slot.merged() {
        Some(supplement) => supplement
            .size_min
            .map(|theirs| slot.size_min().map_or(theirs, |own| own.max(theirs))),
        None => slot.size_min(),
    }
}

/// The smaller of two optional upper bounds (unset = unbounded).
fn min_bound(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// `max_size(p)`.
pub fn max_size(slot: &Slot, grain: u64) -> u64 {
    let Some(def) = slot.active_definition() else {
        return slot.current_size().unwrap_or(0);
    };
    if def.verity == crate::pure::config::VerityMode::Signature {
        return VERITY_SIG_SIZE;
    }
    let size_max = min_bound(def.size_max, slot.merged().and_then(|d| d.size_max));
    let mut sm = round_down(size_max.unwrap_or(u64::MAX), grain);
    if let Some(current) = slot.current_size() {
        sm = sm.max(current);
    }
    min_size(slot, grain).max(sm)
}

/// `PaddingMinBytes=` or 0. Merged with a suppressed supplement's, "unset" again counts
/// as the largest value: unless both set it, the merged minimum is 0 (257.13).
pub fn min_padding(slot: &Slot) -> u64 {
    let own = slot.active_definition().and_then(|d| d.padding_min);
    let merged = match slot.merged() {
        Some(supplement) => own.zip(supplement.padding_min).map(|(a, b)| a.max(b)),
        None => own,
    };
    merged.unwrap_or(0)
}

/// `PaddingMaxBytes=` or infinity (the smaller one with a suppressed supplement).
pub fn max_padding(slot: &Slot) -> u64 {
    let own = slot.active_definition().and_then(|d| d.padding_max);
    min_bound(own, slot.merged().and_then(|d| d.padding_max)).unwrap_or(u64::MAX)
}

/// Minimum size plus minimum padding, aligned so the partition end stays on the grain.
pub fn min_size_with_padding(slot: &Slot, grain: u64) -> u64 {
    let sum = min_size(slot, grain).saturating_add(min_padding(slot));
    match &slot.existing {
        Some(existing) => {
            round_up(existing.offset.saturating_add(sum), grain).saturating_sub(existing.offset)
        }
        None => round_up(sum, grain),
    }
}
