//! Free areas and first-fit allocation with priority-based dropping (spec §5.3, §5.10).

use crate::pure::plan::Slot;
use crate::pure::plan::sizes::min_size_with_padding;
use crate::pure::plan::supplement;
use crate::pure::size::{round_down, round_up};

/// A stretch of free space: after an existing partition, or at the front of the disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreeArea {
    /// Index of the slot this area follows (`None` = front of the disk).
    pub after: Option<usize>,
    /// Bytes in the area.
    pub size: u64,
    /// Bytes handed out in the current allocation attempt.
    pub allocated: u64,
}

/// Computes existing partitions' paddings (stored in the slots) and the free areas.
///
/// Areas after partitions come in slot order, the front area last.
pub fn free_areas(slots: &mut [Slot], start: u64, end: u64, grain: u64) -> Vec<FreeArea> {
    let mut areas = Vec::new();
    let extents: Vec<(usize, u64, u64)> = slots
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.existing.as_ref().map(|e| (i, e.offset, e.size)))
        .collect();
    let spans: Vec<(u64, u64)> = extents.iter().map(|&(_, o, s)| (o, s)).collect();
    let paddings = crate::pure::plan::geometry::paddings(&spans, end, grain);
    let mut lowest: Option<u64> = None;
    for (&(i, offset, _), &padding) in extents.iter().zip(&paddings) {
        slots[i].current_padding = Some(padding);
        if padding > 0 {
            slots[i].padding_area = Some(areas.len());
            areas.push(FreeArea {
                after: Some(i),
                size: padding,
                allocated: 0,
            });
        }
        lowest = Some(lowest.map_or(offset, |l: u64| l.min(offset)));
    }
    let front_end = lowest.map_or(end, |l| round_down(l, grain));
    if front_end > start {
        areas.push(FreeArea {
            after: None,
            size: front_end - start,
            allocated: 0,
        });
    }
    areas
}

/// Space still available in `area` for new partitions.
pub fn available(area: &FreeArea, slots: &[Slot], grain: u64) -> u64 {
    match area.after {
        Some(p) => {
            let (current_end, min_end) = area_ends(area, &slots[p], grain);
            current_end.saturating_sub(min_end)
        }
        None => area.size.saturating_sub(area.allocated),
    }
}

fn area_ends(area: &FreeArea, prev: &Slot, grain: u64) -> (u64, u64) {
    let offset = prev.existing.as_ref().map_or(0, |e| e.offset);
    let current = prev.current_size().unwrap_or(0);
    let current_end = round_up(offset.saturating_add(current), grain)
        .saturating_add(area.size.saturating_sub(area.allocated));
    let min_end = round_up(
        offset.saturating_add(min_size_with_padding(prev, grain)),
        grain,
    );
    (current_end, min_end)
}

fn area_start(prev: &Slot) -> u64 {
    prev.existing.as_ref().map_or(0, |e| e.offset)
}

/// Outcome of one allocation attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocation {
    /// Every partition has a place.
    Fits,
    /// Something did not fit; the largest area had this much available.
    DoesNotFit {
        /// Available bytes of the largest free area.
        largest: u64,
        /// The first partition that did not fit (slot index), the bytes it needs
        /// (with padding) and the bytes it could get, when one partition is to blame.
        blocker: Option<(usize, u64, u64)>,
    },
}

/// One first-fit attempt. Sorts `areas` (smallest available first, stable) and assigns
/// new partitions to areas in list order.
pub fn allocate(slots: &mut [Slot], areas: &mut [FreeArea], grain: u64) -> Allocation {
    for area in areas.iter_mut() {
        area.allocated = 0;
    }
    for slot in slots.iter_mut() {
        slot.allocated_area = None;
    }
    // Sorting moves areas, so the slots' padding_area indexes are rebuilt afterwards.
    let mut keyed: Vec<(u64, FreeArea)> = areas
        .iter()
        .map(|a| (available(a, slots, grain), a.clone()))
        .collect();
    keyed.sort_by_key(|(avail, _)| *avail);
    for (i, (_, area)) in keyed.into_iter().enumerate() {
        areas[i] = area;
    }
    for slot in slots.iter_mut() {
        slot.padding_area = None;
    }
    for (i, area) in areas.iter().enumerate() {
        if let Some(p) = area.after {
            slots[p].padding_area = Some(i);
        }
    }
    let largest = areas.last().map_or(0, |a| available(a, slots, grain));

    for area in areas.iter() {
        if let Some(p) = area.after {
            let (current_end, min_end) = area_ends(area, &slots[p], grain);
            if current_end < min_end {
                return Allocation::DoesNotFit {
                    largest,
                    blocker: Some((
                        p,
                        min_end.saturating_sub(area_start(&slots[p])),
                        current_end.saturating_sub(area_start(&slots[p])),
                    )),
                };
            }
        }
    }
    for i in 0..slots.len() {
        // A merged supplement takes its space through its target.
        if slots[i].dropped || slots[i].is_foreign() || supplement::is_suppressed(slots, i) {
            continue;
        }
        let required = min_size_with_padding(&slots[i], grain);
        if slots[i].existing.is_some() {
            let have = slots[i]
                .current_size()
                .unwrap_or(0)
                .saturating_add(slots[i].current_padding.unwrap_or(0));
            if have < required {
                return Allocation::DoesNotFit {
                    largest,
                    blocker: Some((i, required, have)),
                };
            }
            continue;
        }
        let chosen = (0..areas.len()).find(|&a| available(&areas[a], slots, grain) >= required);
        match chosen {
            Some(a) => {
                areas[a].allocated = areas[a].allocated.saturating_add(required);
                slots[i].allocated_area = Some(a);
            }
            None => {
                // What is left now, after the partitions placed before this one.
                let left = areas
                    .iter()
                    .map(|a| available(a, slots, grain))
                    .max()
                    .unwrap_or(0);
                return Allocation::DoesNotFit {
                    largest,
                    blocker: Some((i, required, left)),
                };
            }
        }
    }
    Allocation::Fits
}
