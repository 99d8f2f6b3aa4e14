//! Fuzz target: the GPT reader (and the writer, by round trip).
//!
//! Input layout: byte 0 = flags (bits 0-1 sector size 512/4096/1024/2048,
//! bits 2-3 how the device size relates to the data, bit 4 "fix the CRCs" so
//! the fuzzer gets past the checksums, bit 5 round-trip through the writer),
//! byte 1 = a size delta in sectors, then the disk image.
//!
//! Checks: no panics; a GPT that is accepted has its partitions inside the
//! usable area, in slots below the entry count and without overlaps; writing
//! it back (and growing it) yields the same partitions.

#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use repart::shell::disk::gpt::{
    GptProbe, NewTable, crc32, decode_name, encode_name, extend_table, probe_sector_size, read_gpt,
    read_label, write_table,
};
use repart::pure::model::{ExistingPartition, ExistingTable};

fn le_u32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}
fn le_u64(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}

/// Recomputes the entry-array and header CRCs of a header at `lba` (if one is there).
fn fix_header(img: &mut [u8], lba: u64, ss: u64) -> Option<u64> {
    let start = usize::try_from(lba.checked_mul(ss)?).ok()?;
    let ssz = ss as usize;
    if start.checked_add(ssz)? > img.len() || &img[start..start + 8] != b"EFI PART" {
        return None;
    }
    let hdr_size = (le_u32(img, start + 12) as usize).clamp(92, ssz);
    let entries_lba = le_u64(img, start + 72);
    let count = u64::from(le_u32(img, start + 80));
    let esize = u64::from(le_u32(img, start + 84));
    if let (Some(off), Some(len)) = (entries_lba.checked_mul(ss), count.checked_mul(esize)) {
        if len <= 16 << 20 {
            if let (Ok(off), Ok(len)) = (usize::try_from(off), usize::try_from(len)) {
                if off.checked_add(len).is_some_and(|e| e <= img.len()) {
                    let crc = crc32(&img[off..off + len]);
                    img[start + 88..start + 92].copy_from_slice(&crc.to_le_bytes());
                }
            }
        }
    }
    img[start + 16..start + 20].fill(0);
    let crc = crc32(&img[start..start + hdr_size]);
    img[start + 16..start + 20].copy_from_slice(&crc.to_le_bytes());
    Some(le_u64(img, start + 32))
}

fn fix_crcs(img: &mut [u8], ss: u64, total: u64) {
    let sectors = total / ss;
    if let Some(alt) = fix_header(img, 1, ss) {
        fix_header(img, alt, ss);
    }
    if sectors > 0 {
        fix_header(img, sectors - 1, ss);
    }
}

fn check_table(t: &ExistingTable, ss: u64, total: u64) {
    assert!(t.first_lba <= t.last_lba);
    assert!(t.last_lba < total / ss);
    let mut ext: Vec<&ExistingPartition> = t.partitions.iter().collect();
    for p in &ext {
        assert!(p.partno < t.entry_count);
        assert!(!p.type_uuid.is_nil());
        assert!(p.size > 0 && p.offset % ss == 0 && p.size % ss == 0);
        assert!(p.offset >= t.first_lba * ss);
        assert!(p.offset + p.size <= (t.last_lba + 1) * ss);
    }
    ext.sort_by_key(|p| p.offset);
    for w in ext.windows(2) {
        assert!(w[0].offset + w[0].size <= w[1].offset, "overlap accepted");
    }
}

/// Partitions as they must survive a rewrite (names only if they round-trip).
fn same_partitions(a: &ExistingTable, b: &ExistingTable) {
    assert_eq!(a.partitions.len(), b.partitions.len());
    for (x, y) in a.partitions.iter().zip(&b.partitions) {
        assert_eq!(
            (x.partno, x.type_uuid, x.uuid, x.offset, x.size, x.attrs),
            (y.partno, y.type_uuid, y.uuid, y.offset, y.size, y.attrs)
        );
        if decode_name(&encode_name(&x.label)) == x.label {
            assert_eq!(x.label, y.label);
        }
    }
    assert_eq!(a.disk_guid, b.disk_guid);
    assert_eq!(a.entry_count, b.entry_count);
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (flags, delta) = (data[0], u64::from(data[1]));
    let ss = [512u64, 4096, 1024, 2048][usize::from(flags & 3)];
    let mut img = data[2..].to_vec();
    let len = img.len() as u64;
    let total = match (flags >> 2) & 3 {
        0 | 1 => len,
        2 => len + delta * ss,
        _ => len.saturating_sub(delta * ss / 8),
    };
    if flags & 0x10 != 0 {
        fix_crcs(&mut img, ss, total);
    }
    let mut cur = Cursor::new(img);
    let _ = probe_sector_size(&mut cur);
    let _ = read_label(&mut cur, total, ss);
    let Ok(GptProbe::Gpt(info)) = read_gpt(&mut cur, total, ss) else {
        return;
    };
    check_table(&info.table, ss, total);

    if flags & 0x20 == 0 || total > 8 << 20 {
        return;
    }
    // Write the table back onto a device of exactly `total` bytes.
    let mut dev = cur.into_inner();
    dev.resize(total as usize, 0);
    let mut dev = Cursor::new(dev);
    let table = NewTable::from_existing(&info.table, ss);
    if write_table(&mut dev, total, ss, &table).is_ok() {
        match read_gpt(&mut dev, total, ss) {
            Ok(GptProbe::Gpt(again)) => same_partitions(&info.table, &again.table),
            other => panic!("written table does not read back: {other:?}"),
        }
        // Grow the device and move the backup.
        let grown = total + delta.max(1) * ss;
        if extend_table(&mut dev, grown, ss).is_ok() {
            match read_gpt(&mut dev, grown, ss) {
                Ok(GptProbe::Gpt(again)) => {
                    check_table(&again.table, ss, grown);
                    same_partitions(&info.table, &again.table);
                }
                other => panic!("extended table does not read back: {other:?}"),
            }
        }
    }
});
