//! Distributing free space by weight, then placing new partitions (spec §5.11, §5.12).

use crate::pure::plan::Slot;
use crate::pure::plan::alloc::FreeArea;
use crate::pure::plan::sizes::{max_padding, max_size, min_padding, min_size};
use crate::pure::size::{round_down, round_up};

/// `value * weight / weight_sum` without 64-bit overflow, halving both weights while
/// the product would overflow (upstream's rounding, so results match to the byte).
pub fn scale_by_weight(value: u64, mut weight: u64, mut weight_sum: u64) -> u64 {
    loop {
        if weight == 0 {
            return 0;
        }
        if weight == weight_sum {
            return value;
        }
        if let Some(product) = value.checked_mul(weight) {
            return product.checked_div(weight_sum).unwrap_or(0);
        }
        weight /= 2;
        weight_sum = weight_sum.div_ceil(2);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Foreign,
    Overcharge,
    Undercharge,
    Distribute,
}

struct Budget {
    span: u64,
    weight_sum: u64,
}

impl Budget {
    fn charge(&mut self, bytes: u64, grain: u64, weight: u64) {
        self.span = self.span.saturating_sub(round_up(bytes, grain));
        self.weight_sum = self.weight_sum.saturating_sub(weight);
    }
}

fn associated(slot: &Slot, area: usize) -> bool {
    !slot.dropped && (slot.allocated_area == Some(area) || slot.padding_area == Some(area))
}

/// Decides `new_size`/`new_padding` for every slot.
pub fn grow(slots: &mut [Slot], areas: &[FreeArea], grain: u64) {
    for (a, area) in areas.iter().enumerate() {
        grow_area(slots, a, area, grain);
    }
    for slot in slots.iter_mut() {
        if slot.dropped {
            continue;
        }
        if slot.existing.is_some() && slot.padding_area.is_none() {
            slot.new_size = slot.current_size();
            slot.new_padding = slot.current_padding;
        }
    }
}

fn grow_area(slots: &mut [Slot], a: usize, area: &FreeArea, grain: u64) {
    let mut budget = Budget {
        span: area.size,
        weight_sum: 0,
    };
    for slot in slots.iter().filter(|s| associated(s, a)) {
        budget.weight_sum += u64::from(slot.weight()) + u64::from(slot.padding_weight());
    }
    if let Some(p) = area.after {
        let prev = &slots[p];
        let offset = prev.existing.as_ref().map_or(0, |e| e.offset);
        let footprint = round_up(
            offset.saturating_add(prev.current_size().unwrap_or(0)),
            grain,
        ) - offset;
        budget.span = budget.span.saturating_add(footprint);
    }

    for phase in [
        Phase::Foreign,
        Phase::Overcharge,
        Phase::Undercharge,
        Phase::Distribute,
    ] {
        loop {
            let mut again = false;
            for slot in slots.iter_mut().filter(|s| associated(s, a)) {
                again |= decide_size(slot, phase, &mut budget, grain);
                again |= decide_padding(slot, phase, &mut budget, grain);
            }
            if !again {
                break;
            }
        }
    }

    if budget.span > 0 {
        for slot in slots.iter_mut() {
            if budget.span == 0 {
                break;
            }
            if slot.dropped || slot.allocated_area != Some(a) {
                continue;
            }
            let Some(current) = slot.new_size else {
                continue;
            };
            let grown = round_down(current.saturating_add(budget.span), grain)
                .max(current)
                .min(max_size(slot, grain));
            budget.span = budget.span.saturating_sub(grown - current);
            slot.new_size = Some(grown);
        }
    }
    if budget.span > 0
        && let Some(p) = area.after
    {
        let padding = slots[p].new_padding.unwrap_or(0);
        slots[p].new_padding = Some(padding.saturating_add(budget.span));
    }
}

fn decide_size(slot: &mut Slot, phase: Phase, budget: &mut Budget, grain: u64) -> bool {
    if slot.new_size.is_some() {
        return false;
    }
    let weight = u64::from(slot.weight());
    let share = scale_by_weight(budget.span, weight, budget.weight_sum);
    let (min, max) = (min_size(slot, grain), max_size(slot, grain));
    let (value, repeat) = match phase {
        Phase::Foreign if slot.is_foreign() => (slot.current_size().unwrap_or(0), false),
        Phase::Foreign => return false,
        Phase::Overcharge if min > share => (min, true),
        Phase::Undercharge if max < share => (max, true),
        Phase::Overcharge | Phase::Undercharge => return false,
        Phase::Distribute => (round_down(share, grain).clamp(min, max), false),
    };
    slot.new_size = Some(value);
    budget.charge(value, grain, weight);
    repeat
}

fn decide_padding(slot: &mut Slot, phase: Phase, budget: &mut Budget, grain: u64) -> bool {
    if slot.new_padding.is_some() {
        return false;
    }
    let weight = u64::from(slot.padding_weight());
    let share = scale_by_weight(budget.span, weight, budget.weight_sum);
    let (min, max) = (min_padding(slot), max_padding(slot));
    let (value, repeat) = match phase {
        Phase::Foreign => return false,
        Phase::Overcharge if min > share => (min, true),
        Phase::Undercharge if max < share => (max, true),
        Phase::Overcharge | Phase::Undercharge => return false,
        Phase::Distribute => (round_down(share, grain).clamp(min, max), false),
    };
    slot.new_padding = Some(value);
    budget.charge(value, grain, weight);
    repeat
}

/// Assigns offsets and partition numbers to new partitions, area by area in the
/// sorted order, each after the padding of the area's predecessor. Numbers are the
/// lowest free slots, so they follow placement order, not list order.
pub fn place(slots: &mut [Slot], areas: &[FreeArea], start: u64, grain: u64) {
    let mut used: Vec<u32> = slots
        .iter()
        .filter_map(|s| s.existing.as_ref().map(|e| e.partno))
        .collect();
    for (a, area) in areas.iter().enumerate() {
        let mut position = match area.after {
            Some(p) => {
                let prev = &slots[p];
                let offset = prev.existing.as_ref().map_or(0, |e| e.offset);
                offset
                    .saturating_add(prev.new_size.unwrap_or(0))
                    .saturating_add(prev.new_padding.unwrap_or(0))
            }
            None => start,
        };
        position = round_up(position, grain);
        for slot in slots.iter_mut() {
            if slot.dropped || slot.allocated_area != Some(a) {
                continue;
            }
            slot.offset = Some(position);
            let mut partno = 0u32;
            while used.contains(&partno) {
                partno += 1;
            }
            used.push(partno);
            slot.partno = Some(partno);
            position = position
                .saturating_add(slot.new_size.unwrap_or(0))
                .saturating_add(slot.new_padding.unwrap_or(0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_handles_overflow_by_halving() {
        assert_eq!(scale_by_weight(100, 0, 10), 0);
        assert_eq!(scale_by_weight(100, 10, 10), 100);
        assert_eq!(scale_by_weight(100, 1, 3), 33);
        let big = u64::MAX / 2;
        // big * 3 overflows: weights become 1 and 2.
        assert_eq!(scale_by_weight(big, 3, 4), big / 2);
    }
}
