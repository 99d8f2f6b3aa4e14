//! Geometry (spec §5.1–5.3): grain, the usable window of the table, libfdisk's layout
//! for a table made from scratch, and the padding of existing partitions.

use crate::pure::size::{round_down, round_up};

/// Bytes of GPT metadata accounted for by `--size=auto` (1044 KiB).
pub const GPT_METADATA_SIZE: u64 = 1044 * 1024;

/// Number of entries libfdisk creates in a new partition entry array.
pub const DEFAULT_ENTRY_COUNT: u32 = 128;

/// Alignment of partition starts and sizes: max(4096, sector size).
pub fn grain(sector_size: u64) -> u64 {
    sector_size.max(4096)
}

/// libfdisk's default alignment grain for new tables.
const DEFAULT_ALIGNMENT: u64 = 1 << 20;

/// Number of sectors occupied by an entry array of `entry_count` 128-byte entries.
pub fn entry_array_sectors(entry_count: u32, sector_size: u64) -> u64 {
    (u64::from(entry_count) * 128).div_ceil(sector_size.max(1))
}

/// I/O topology of a block device (all in bytes; 0 = unknown).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Topology {
    /// Physical sector size (BLKPBSZGET).
    pub physical_sector_size: u64,
    /// Minimum I/O size (BLKIOMIN).
    pub minimum_io_size: u64,
    /// Optimal I/O size (BLKIOOPT).
    pub optimal_io_size: u64,
    /// Alignment offset (BLKALIGNOFF). Not applied by [`fresh_geometry_with`].
    pub alignment_offset: u64,
}

/// First and last usable LBA of a new 128-entry table, as libfdisk chooses them
/// for an image file: first = `2 + entry sectors` raised to 1 MiB (34→2048 at
/// 512 B, 6→256 at 4096 B) unless the device has ≤ 4 MiB (then 34 / 6);
/// last = `total sectors - 2 - entry sectors`.
pub fn fresh_geometry(total_bytes: u64, sector_size: u64) -> (u64, u64) {
    fresh_geometry_with(total_bytes, sector_size, &Topology::default())
}

/// [`fresh_geometry`] with a block device's topology: the grain is the optimal
/// I/O size if that is larger than 1 MiB; on devices of at most 4 × grain bytes
/// it is the physical sector size instead.
pub fn fresh_geometry_with(total_bytes: u64, sector_size: u64, topo: &Topology) -> (u64, u64) {
    let ss = sector_size.max(1);
    let total_sectors = total_bytes / ss;
    let es = entry_array_sectors(DEFAULT_ENTRY_COUNT, ss);
    let phys = topo.physical_sector_size.max(ss);
    let mut grain = DEFAULT_ALIGNMENT.max(topo.optimal_io_size);
    if !grain.is_multiple_of(phys) {
        grain = DEFAULT_ALIGNMENT;
    }
    if total_bytes <= grain.saturating_mul(4) {
        grain = phys;
    }
    let grain_sectors = (grain / ss).max(1);
    let first = (2 + es).div_ceil(grain_sectors) * grain_sectors;
    let last = total_sectors.saturating_sub(2 + es);
    (first, last)
}

/// Last usable LBA for a table with `entry_count` entries whose backup sits at
/// the end of a device of `total_bytes` (what an existing table is moved to when
/// the device grew).
pub fn last_usable_lba(total_bytes: u64, sector_size: u64, entry_count: u32) -> u64 {
    let ss = sector_size.max(1);
    (total_bytes / ss).saturating_sub(2 + entry_array_sectors(entry_count, ss))
}

/// First and last usable LBA libfdisk picks for a new GPT on an image file.
pub fn fresh_usable_lbas(total_bytes: u64, sector_size: u64) -> (u64, u64) {
    fresh_geometry(total_bytes, sector_size)
}

/// The padding behind each of `extents` (offset, size): the space up to the next
/// partition that starts at or after its end, or up to `end`, with the end rounded up
/// and the next start rounded down to the grain (spec §5.3).
pub fn paddings(extents: &[(u64, u64)], end: u64, grain: u64) -> Vec<u64> {
    extents
        .iter()
        .enumerate()
        .map(|(i, &(offset, size))| {
            let part_end = offset.saturating_add(size);
            let next = extents
                .iter()
                .enumerate()
                .filter(|&(j, &(o, _))| j != i && o >= part_end)
                .map(|(_, &(o, _))| o)
                .min();
            let boundary = next.map_or(end, |n| round_down(n, grain));
            boundary.saturating_sub(round_up(part_end, grain))
        })
        .collect()
}

/// The byte window `[start, end)` new partitions may use, aligned inward to the grain.
pub fn usable_window(first_lba: u64, last_lba: u64, sector_size: u64, grain: u64) -> (u64, u64) {
    let start = round_up(first_lba.saturating_mul(sector_size), grain);
    let end = round_down(
        last_lba.saturating_add(1).saturating_mul(sector_size),
        grain,
    );
    (start, end.max(start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libfdisk_layout_matches_upstream_examples() {
        // Spec §5.2: 1 GiB → 2048/2097118, 2 GiB → last 4194270.
        assert_eq!(fresh_usable_lbas(1 << 30, 512), (2048, 2097118));
        assert_eq!(fresh_usable_lbas(2 << 30, 512), (2048, 4194270));
        // Capture 01: 204.4M image (214384640 bytes) → last-lba 418686.
        assert_eq!(fresh_usable_lbas(214384640, 512), (2048, 418686));
        // Tiny image (A.8): 1 MiB → first usable 34.
        assert_eq!(fresh_usable_lbas(1 << 20, 512).0, 34);
        assert_eq!(fresh_usable_lbas(1 << 30, 4096).0, 256);
    }

    #[test]
    fn window_rounds_inward() {
        assert_eq!(usable_window(34, 2014, 512, 4096), (20480, 1028096));
        assert_eq!(
            usable_window(2048, 2097118, 512, 4096),
            (1 << 20, 1073721344)
        );
    }
}
