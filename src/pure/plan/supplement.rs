//! `SupplementFor=` (spec §5.4, §5.7, §5.10): a supplement definition is merged into
//! its target (the target takes the larger minimum and smaller maximum sizes and
//! paddings and the supplement's weights) and is not created itself — unless the
//! partitions only fit with it as a partition of its own, or it already exists.
//!
//! While merged, the target "suppresses" the supplement: `Slot::suppressing` of the
//! target names it. Un-suppressing clears that link; the supplement then is an ordinary
//! partition. A supplement still suppressed after allocation is dropped.

use std::collections::HashSet;

use crate::pure::config::{Diagnostic, Level};
use crate::pure::plan::Slot;
use crate::pure::plan::alloc::{self, Allocation, FreeArea};

/// Links every supplement slot to its target and merges it (`targets[i]` = the
/// definition index supplement `i` names; definition slots come first, in order).
/// A supplement that already exists on disk is used verbatim, not merged.
pub fn link(slots: &mut [Slot], targets: &[Option<usize>]) {
    for (supplement, target) in targets.iter().enumerate() {
        let Some(target) = *target else { continue };
        let Some(def) = slots.get(supplement).and_then(|s| s.def) else {
            continue;
        };
        if target >= slots.len() {
            continue;
        }
        slots[supplement].supplement_for = Some(target);
        if slots[supplement].existing.is_none() {
            slots[target].suppressing = Some((supplement, def));
        }
    }
}

/// Whether slot `i` is a supplement currently merged into its target.
pub fn is_suppressed(slots: &[Slot], i: usize) -> bool {
    slots[i]
        .supplement_for
        .is_some_and(|t| slots[t].suppressing.is_some_and(|(s, _)| s == i))
}

/// Breaks the link of slot `i` in both directions (it became foreign): its
/// supplement, or the supplement it was, becomes an ordinary partition.
pub fn unlink(slots: &mut [Slot], i: usize) {
    if let Some((supplement, _)) = slots[i].suppressing.take() {
        slots[supplement].supplement_for = None;
    }
    for slot in slots.iter_mut() {
        if slot.supplement_for == Some(i) {
            slot.supplement_for = None;
        }
    }
    if let Some(target) = slots[i].supplement_for.take() {
        slots[target].suppressing = None;
    }
}

/// A dropped supplement is no longer merged (its settings must not count); it stays
/// linked, which is why upstream still reports it as "used verbatim".
pub fn release(slots: &mut [Slot], i: usize) {
    if is_suppressed(slots, i)
        && let Some(target) = slots[i].supplement_for
    {
        slots[target].suppressing = None;
    }
}

/// The merged state: which targets currently suppress their supplement.
fn state(slots: &[Slot]) -> Vec<bool> {
    slots.iter().map(|s| s.suppressing.is_some()).collect()
}

/// After a failed allocation: tries un-suppressing one supplement at a time (list
/// order), then combinations of several, depth-first — upstream's search order, which
/// creates as few supplements as possible. On success the slots keep the successful
/// allocation; on failure every supplement is merged again as before.
pub fn unmerge_and_allocate(slots: &mut [Slot], areas: &mut [FreeArea], grain: u64) -> bool {
    unmerge(
        slots,
        areas,
        grain,
        &mut HashSet::new(),
        &mut HashSet::new(),
    )
}

/// `tried`: states whose allocation failed; `searched`: states whose whole subtree
/// failed. Allocation only depends on the state (ties between equally large areas
/// do not change whether everything fits), so skipping repeats keeps the first
/// success upstream would find, in 2^n instead of n! attempts.
fn unmerge(
    slots: &mut [Slot],
    areas: &mut [FreeArea],
    grain: u64,
    tried: &mut HashSet<Vec<bool>>,
    searched: &mut HashSet<Vec<bool>>,
) -> bool {
    let targets: Vec<usize> = (0..slots.len())
        .filter(|&i| slots[i].suppressing.is_some())
        .collect();
    for &t in &targets {
        let saved = slots[t].suppressing.take();
        let key = state(slots);
        if tried.insert(key) && alloc::allocate(slots, areas, grain) == Allocation::Fits {
            return true;
        }
        slots[t].suppressing = saved;
    }
    for &t in &targets {
        let saved = slots[t].suppressing.take();
        let key = state(slots);
        if searched.insert(key) && unmerge(slots, areas, grain, tried, searched) {
            return true;
        }
        slots[t].suppressing = saved;
    }
    false
}

/// After allocation succeeded: drops the supplements that stayed merged and says
/// which ones are created after all.
pub fn finish(slots: &mut [Slot], diags: &mut Vec<Diagnostic>) {
    for i in 0..slots.len() {
        let Some(target) = slots[i].supplement_for else {
            continue;
        };
        let path = |s: &Slot| {
            s.def
                .map(|d| d.path.display().to_string())
                .unwrap_or_default()
        };
        let (mine, theirs) = (path(&slots[i]), path(&slots[target]));
        let (level, message) = if is_suppressed(slots, i) {
            slots[i].dropped = true;
            slots[i].allocated_area = None;
            (
                Level::Debug,
                format!("Partition {mine} can be merged into {theirs}, suppressing supplement."),
            )
        } else if slots[i].existing.is_some() {
            (
                Level::Info,
                format!("Partition {mine} already exists on disk, using supplement verbatim."),
            )
        } else {
            (
                Level::Info,
                format!(
                    "Couldn't allocate partitions with {mine} merged into {theirs}, using supplement verbatim."
                ),
            )
        };
        diags.push(Diagnostic { level, message });
    }
}

#[cfg(test)]
mod tests;
