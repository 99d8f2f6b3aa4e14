//! Fuzz target: the planner's stages (`Draft` → `Identified` → `Measured` → `Plan`)
//! over random definitions × random existing tables, decoded by hand from the
//! input bytes (missing bytes read as zero).
//!
//! The existing table obeys what `disk::gpt::read_gpt` guarantees (usable range
//! inside the device, partitions inside it, no overlaps, unique slots below the
//! entry count); definitions obey what `config::definition::finish` guarantees
//! (sizes multiples of 4096 or "infinity", min <= max).
//!
//! Checks: no panics; an accepted plan has aligned, non-overlapping partitions in
//! the usable window, existing partitions keep their offsets and never shrink,
//! slots are unique, and the table it describes is accepted by the GPT writer.

#![no_main]

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use repart::pure::config::{Definition, UuidSetting};
use repart::shell::disk::gpt::{Extent, NewEntry, NewTable, write_table};
use repart::pure::model::{DiskState, ExistingPartition, ExistingTable, Label};
use repart::pure::gpt_types::PartitionType;
use repart::pure::plan::{Content, Draft};
use repart::pure::size::{round_down, round_up};
use uuid::Uuid;

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from(self.u8()) | u16::from(self.u8()) << 8
    }
    fn u32(&mut self) -> u32 {
        u32::from(self.u16()) | u32::from(self.u16()) << 16
    }
    fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | u64::from(self.u32()) << 32
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.u64() % n }
    }
    /// A size with a bias towards interesting magnitudes.
    fn size(&mut self) -> u64 {
        match self.u8() % 8 {
            0 => 0,
            1 => u64::from(self.u16()) * 4096,
            2 => u64::from(self.u16()) << 20,
            3 => u64::from(self.u32()),
            4 => u64::MAX,
            5 => u64::MAX - u64::from(self.u16()),
            6 => u64::from(self.u8()) << 30,
            _ => self.u64(),
        }
    }
}

const TYPES: [u128; 6] = [
    0x933ac7e1_2eb4_4f13_b844_0e14e2aef915, // home
    0x0657fd6d_a4ab_43c4_84e5_0933c84b4f4f, // swap
    0x0fc63daf_8483_4772_8e79_3d69d8477de4, // linux-generic
    0xc12a7328_f81f_11d2_ba4b_00a0c93ec93b, // esp
    0x4f68bce3_e8cd_4db1_96e7_fbcaf984b709, // root-x86-64
    0x01234567_89ab_cdef_0123_456789abcdef, // unknown
];

fn ptype(b: &mut Bytes) -> PartitionType {
    PartitionType::from_uuid(Uuid::from_u128(TYPES[usize::from(b.u8()) % TYPES.len()]))
}

fn uuid(b: &mut Bytes) -> Uuid {
    match b.u8() % 4 {
        0 => Uuid::nil(),
        1 => Uuid::from_u128(u128::from(b.u8())),
        _ => Uuid::from_u128(u128::from(b.u64()) << 64 | u128::from(b.u64())),
    }
}

fn label(b: &mut Bytes) -> String {
    let n = usize::from(b.u8() % 40);
    (0..n)
        .map(|_| match b.u8() % 5 {
            0 => 'é',
            1 => '-',
            _ => char::from(b'a' + b.u8() % 26),
        })
        .collect()
}

fn definition(b: &mut Bytes, i: usize) -> Definition {
    let mut d = Definition::new(PathBuf::from(format!("/defs/{i:02}.conf")), ptype(b));
    let f = b.u8();
    if f & 1 != 0 {
        d.size_min = Some(round_down(b.size(), 4096));
    }
    if f & 2 != 0 {
        d.size_max = Some(round_up(b.size(), 4096));
    }
    if let (Some(a), Some(m)) = (d.size_min, d.size_max)
        && a > m
    {
        d.size_max = Some(a);
    }
    if f & 4 != 0 {
        d.padding_min = Some(round_down(b.size(), 4096));
    }
    if f & 8 != 0 {
        d.padding_max = Some(round_up(b.size(), 4096));
    }
    if let (Some(a), Some(m)) = (d.padding_min, d.padding_max)
        && a > m
    {
        d.padding_max = Some(a);
    }
    if f & 16 != 0 {
        d.weight = b.u32() % 1_000_001;
        d.padding_weight = b.u32() % 1_000_001;
    }
    if f & 32 != 0 {
        d.priority = b.u32() as i32;
    }
    if f & 64 != 0 {
        d.label = Some(label(b));
    }
    if f & 128 != 0 {
        d.uuid = Some(if b.u8() & 1 == 0 {
            UuidSetting::Null
        } else {
            UuidSetting::Explicit(uuid(b))
        });
    }
    d.flags = b.u64();
    d
}

/// An existing table satisfying `read_gpt`'s guarantees.
fn table(b: &mut Bytes, total_sectors: u64, ss: u64) -> Option<ExistingTable> {
    if total_sectors == 0 {
        return None;
    }
    let entry_count = match b.u8() % 6 {
        0 | 1 => 128,
        2 => 4,
        3 => 256,
        4 => 1 + u32::from(b.u16()),
        _ => 1 + b.u32() % 131_072,
    };
    let es = (u64::from(entry_count) * 128).div_ceil(ss);
    let (first, last) = match b.u8() % 4 {
        0 => (
            2048.min(total_sectors - 1),
            total_sectors.saturating_sub(2 + es),
        ),
        1 => (2 + es, total_sectors.saturating_sub(2 + es)),
        2 => (b.below(total_sectors), b.below(total_sectors)),
        _ => (2 + es, total_sectors - 1),
    };
    let (first, last) = (first.min(last), first.max(last).min(total_sectors - 1));
    if first < 1 && 1 < last {
        return None;
    }
    let n = b.u8() % 8;
    let mut parts: Vec<ExistingPartition> = Vec::new();
    let mut slots = std::collections::BTreeSet::new();
    for _ in 0..n {
        let partno = match b.u8() % 3 {
            0 => parts.len() as u32,
            _ => (b.u32()) % entry_count,
        };
        let a = first + b.below(last - first + 1);
        let len = match b.u8() % 3 {
            0 => 1 + b.below(16),
            1 => 1 + b.below(4096),
            _ => 1 + b.below(last - a + 1),
        };
        let z = (a + len - 1).min(last);
        let (offset, size) = (a * ss, (z - a + 1) * ss);
        let overlaps = parts
            .iter()
            .any(|p| offset < p.offset + p.size && p.offset < offset + size);
        if overlaps || !slots.insert(partno) {
            continue;
        }
        parts.push(ExistingPartition {
            partno,
            type_uuid: ptype(b).uuid,
            uuid: uuid(b),
            label: label(b),
            offset,
            size,
            attrs: b.u64(),
        });
    }
    parts.sort_by_key(|p| p.partno);
    Some(ExistingTable {
        disk_guid: uuid(b),
        first_lba: first,
        last_lba: last,
        entry_count,
        partitions: parts,
        backup_at_end: b.u8() & 1 == 0,
    })
}

/// A device that reads zeros and swallows writes (the writer only validates here).
struct NullDev(u64);
impl Read for NullDev {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        buf.fill(0);
        Ok(buf.len())
    }
}
impl Write for NullDev {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
impl Seek for NullDev {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        if let SeekFrom::Start(p) = pos {
            self.0 = p;
        }
        Ok(self.0)
    }
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let flags = b.u8();
    let ss = [512u64, 4096, 1024, 2048][usize::from(flags & 3)];
    let total_bytes = match (flags >> 2) & 3 {
        0 => u64::from(b.u16()) * 4096,
        1 => u64::from(b.u32()) * 512,
        2 => b.u64() % (1 << 44),
        _ => b.u64(),
    } / ss
        * ss;
    let total_sectors = total_bytes / ss;
    let label = match (flags >> 4) & 3 {
        0 => Label::None,
        1 => Label::Other,
        _ => match table(&mut b, total_sectors, ss) {
            Some(t) => Label::Gpt(t),
            None => Label::None,
        },
    };
    let from_scratch = !matches!(label, Label::Gpt(_)) || flags & 0x40 != 0;
    let extend_table = flags & 0x80 != 0;
    let ndefs = usize::from(b.u8() % 7);
    let defs: Vec<Definition> = (0..ndefs).map(|i| definition(&mut b, i)).collect();
    let copy_sizes: Vec<Option<u64>> = (0..ndefs)
        .map(|_| (b.u8() & 1 == 1).then(|| b.size()))
        .collect();
    let minimized: Vec<Option<u64>> = (0..ndefs)
        .map(|_| (b.u8() & 1 == 1).then(|| round_up(b.size(), 4096)))
        .collect();
    // What the shell draws once per run for taken seed-derived UUIDs (fixed here).
    let fallback_uuids: Vec<Uuid> = (0..ndefs as u128)
        .map(|i| Uuid::from_u128(0xf00d_0000 + i))
        .collect();
    let disk = DiskState {
        sector_size: ss,
        total_bytes,
        label,
    };
    let seed = Uuid::from_u128(0x750b6cd5_c4ae_4012_a15e_7be3c29e6a47);
    let (identified, _) = Draft::new(&defs, &disk, from_scratch, seed).identify(&fallback_uuids);
    let _ = identified.identities();
    let contents: Vec<Content> = copy_sizes
        .iter()
        .zip(&minimized)
        .map(|(&copy_size, &minimized_size)| Content {
            copy_size,
            minimized_size,
            root_hash: None,
        })
        .collect();
    let measured = identified.measure(&contents);
    let _ = measured.minimal_disk_size();
    let Ok((plan, _)) = measured.place(&disk, extend_table) else {
        return;
    };
    if std::env::var_os("FUZZ_DEBUG").is_some() {
        eprintln!(
            "{disk:#?}\nfrom_scratch={from_scratch} extend={extend_table}\ncopy={copy_sizes:?} min={minimized:?}\n{defs:#?}\n{plan:#?}"
        );
    }

    // Soundness of an accepted plan.
    let start = plan.first_lba * ss;
    let end = (plan.last_lba + 1) * ss;
    let mut ext: Vec<(u64, u64)> = Vec::new();
    let mut slots = std::collections::BTreeSet::new();
    for p in &plan.partitions {
        assert!(slots.insert(p.partno), "slot {} used twice", p.partno);
        assert!(p.new_size > 0, "empty partition");
        assert_eq!(p.offset % ss, 0);
        assert_eq!(p.new_size % ss, 0);
        let stop = p.offset.checked_add(p.new_size).expect("end overflows");
        if let Some(old) = p.old_size {
            assert!(p.new_size >= old, "existing partition shrinks");
        }
        if p.is_new() {
            assert_eq!(p.offset % plan.grain, 0);
            assert!(
                p.offset >= start && stop <= end,
                "{}..{stop} outside {start}..{end}",
                p.offset
            );
        }
        ext.push((p.offset, stop));
    }
    if let Label::Gpt(t) = &disk.label
        && !from_scratch
    {
        for e in &t.partitions {
            let row = plan
                .partitions
                .iter()
                .find(|p| !p.is_new() && p.partno == e.partno)
                .expect("existing partition lost");
            assert_eq!(row.offset, e.offset, "existing partition moved");
            assert_eq!(row.old_size, Some(e.size));
        }
    }
    ext.sort();
    for w in ext.windows(2) {
        assert!(w[0].1 <= w[1].0, "overlap {:?} {:?}", w[0], w[1]);
    }

    // What apply.rs hands to the GPT writer: always a 128-entry array (so tables
    // with another entry count are "odd": upstream fails on them too when a new
    // partition needs a slot beyond the array; see docs/hardening.md).
    let entry_count = 128;
    let table = NewTable {
        disk_guid: plan.disk_guid,
        first_lba: plan.first_lba,
        last_lba: plan.last_lba,
        entry_count,
        entries: plan
            .partitions
            .iter()
            .map(|p| {
                let extent = Extent {
                    offset: p.offset,
                    size: p.new_size,
                };
                NewEntry::from_extent(
                    p.partno,
                    p.partition_type.uuid,
                    p.identity.uuid,
                    p.identity.label.clone(),
                    extent,
                    p.attrs,
                    ss,
                )
            })
            .collect(),
    };
    if plan
        .partitions
        .iter()
        .any(|p| p.is_new() || p.old_size != Some(p.new_size))
    {
        let r = write_table(&mut NullDev(0), total_bytes, ss, &table);
        if let Err(e) = r {
            // Only a table that was odd to begin with may be refused.
            let odd = match &disk.label {
                Label::Gpt(t) if !from_scratch => {
                    t.entry_count != 128
                        || t.first_lba < 2 + (u64::from(t.entry_count) * 128).div_ceil(ss)
                        || t.last_lba + 2 + (u64::from(t.entry_count) * 128).div_ceil(ss)
                            > total_sectors
                }
                _ => false,
            };
            assert!(odd, "writer refuses the plan: {e}");
        }
    }
});
