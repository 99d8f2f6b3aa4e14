//! Geometry (spec §5.1–5.3): grain, the usable window of the table, libfdisk's layout
//! for a table made from scratch, and the padding of existing partitions.

use crate::size::{round_down, round_up};

/// Bytes of GPT metadata accounted for by `--size=auto` (1044 KiB).
pub const GPT_METADATA_SIZE: u64 = 1044 * 1024;

/// Number of entries libfdisk creates in a new partition entry array.
pub const DEFAULT_ENTRY_COUNT: u64 = 128;

/// Alignment of partition starts and sizes: max(4096, sector size).
pub fn grain(sector_size: u64) -> u64 {
    sector_size.max(4096)
}

/// Sectors taken by an entry array of `entries` 128-byte entries.
pub fn entry_array_sectors(entries: u64, sector_size: u64) -> u64 {
    (entries * 128).div_ceil(sector_size)
}

/// First and last usable LBA libfdisk picks for a new GPT on a device of `total_bytes`.
///
/// The first usable LBA is aligned to 1 MiB unless the device is at most 4 MiB large,
/// where libfdisk falls back to the first sector after the entry array.
pub fn fresh_usable_lbas(total_bytes: u64, sector_size: u64) -> (u64, u64) {
    let total_sectors = total_bytes / sector_size;
    let array = entry_array_sectors(DEFAULT_ENTRY_COUNT, sector_size);
    let minimal_first = 2 + array;
    let mib_sectors = (1u64 << 20) / sector_size;
    let first = if total_sectors <= 4 * mib_sectors {
        minimal_first
    } else {
        round_up(minimal_first, mib_sectors)
    };
    let last = total_sectors.saturating_sub(2 + array);
    (first, last)
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
