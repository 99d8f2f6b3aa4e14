//! Tests for the GPT reader/writer: byte-for-byte comparison with tables the
//! upstream oracle wrote (`testdata/disk/`), round trips on `Cursor<Vec<u8>>` at
//! 512 and 4096-byte sectors, and hostile input.

use std::io::Cursor;

use proptest::prelude::*;

use super::*;
use crate::pure::plan::geometry::{Topology, fresh_geometry_with};
use crate::shell::disk::testutil::{Dump, SfPart, Sfdisk, SparseDisk, gpt_regions};

const ESP_LABEL: &str = "Ünïcødé-☃-😀";

fn entry_from_sf(p: &SfPart) -> NewEntry {
    NewEntry {
        partno: p.slot,
        type_uuid: p.type_uuid,
        uuid: p.uuid,
        label: p.name.clone(),
        first_lba: p.start,
        last_lba: p.start + p.size - 1,
        attrs: p.attrs,
    }
}

fn assert_table_matches_sfdisk(t: &ExistingTable, sf: &Sfdisk, ss: u64) {
    assert_eq!(t.disk_guid, sf.label_id);
    assert_eq!(t.first_lba, sf.first_lba);
    assert_eq!(t.last_lba, sf.last_lba);
    assert_eq!(t.entry_count, 128);
    assert_eq!(t.partitions.len(), sf.parts.len());
    for (p, s) in t.partitions.iter().zip(&sf.parts) {
        assert_eq!(p.partno, s.slot);
        assert_eq!(p.type_uuid, s.type_uuid);
        assert_eq!(p.uuid, s.uuid);
        assert_eq!(p.label, s.name);
        assert_eq!(p.offset, s.start * ss);
        assert_eq!(p.size, s.size * ss);
        assert_eq!(p.attrs, s.attrs);
    }
}

fn gpt_info(probe: GptProbe) -> GptInfo {
    match probe {
        GptProbe::Gpt(i) => i,
        other => panic!("expected a GPT, got {other:?}"),
    }
}

/// Reads each oracle image, checks it against `sfdisk -d`, then writes the same
/// table (built from the sfdisk data, not from our reader) onto a blank disk and
/// compares every non-zero sector of the GPT areas.
#[test]
fn fresh_tables_are_byte_identical_to_oracle() {
    for name in [
        "empty512", "empty4k", "one512", "three512", "three4k", "tiny512", "tiny4k", "huge512",
    ] {
        let dump = Dump::load(name);
        let sf = Sfdisk::load(name);
        let ss = dump.ss;
        let mut disk = dump.to_disk();

        assert_eq!(
            probe_sector_size(&mut disk).expect("probe"),
            Some(ss),
            "{name}"
        );
        let info = gpt_info(read_gpt(&mut disk, dump.total, ss).expect("read"));
        assert_eq!(info.used, HeaderUsed::Primary, "{name}");
        assert_eq!(info.backup_problem, None, "{name}");
        assert!(info.backup_at_end, "{name}");
        assert_eq!(info.mbr, MbrKind::Protective, "{name}");
        assert_table_matches_sfdisk(&info.table, &sf, ss);

        assert_eq!(
            fresh_geometry(dump.total, ss),
            (sf.first_lba, sf.last_lba),
            "{name}"
        );

        let mut table = NewTable::fresh(sf.label_id, dump.total, ss);
        table.entries = sf.parts.iter().map(entry_from_sf).collect();
        if name.starts_with("three") {
            // The definition said Label=Ünïcødé-☃-😀; libfdisk wrote an empty name.
            table.entries[0].label = ESP_LABEL.to_string();
        }
        let mut out = SparseDisk::new(dump.total);
        write_table(&mut out, dump.total, ss, &table).expect("write");
        let got = out.nonzero_sectors(ss, &gpt_regions(ss, &[dump.total]));
        assert_eq!(got.len(), dump.sectors.len(), "{name}: sector count");
        for (g, want) in got.iter().zip(&dump.sectors) {
            assert_eq!(g, want, "{name}: LBA {}", want.0);
        }
    }
}

/// Existing 3-partition table on an image grown by 100M, one partition added
/// (`--discard=no`): backup moved to the new end, last usable LBA raised, old
/// backup left in place, protective MBR size updated.
#[test]
fn grown_table_is_byte_identical_to_oracle() {
    let old_total = Dump::load("three512").total;
    let before = Dump::load("grown512-before");
    let after = Dump::load("grown512");
    let sf = Sfdisk::load("grown512");
    let ss = 512;
    assert_eq!(before.total, after.total);
    let mut disk = before.to_disk();
    let info = gpt_info(read_gpt(&mut disk, before.total, ss).expect("read"));
    assert!(!info.backup_at_end);
    assert_eq!(info.backup_problem, None);
    assert_eq!(info.header.alternate_lba, old_total / ss - 1);

    let mut table = NewTable::from_existing(&info.table, ss);
    table.last_lba = last_usable_lba(before.total, ss, table.entry_count);
    assert_eq!(table.last_lba, sf.last_lba);
    // The existing ESP's name is empty on disk: keep it that way.
    assert_eq!(table.entries[0].label, "");
    table.entries.push(entry_from_sf(&sf.parts[3]));
    write_table(&mut disk, before.total, ss, &table).expect("write");

    let regions = gpt_regions(ss, &[old_total, before.total]);
    let got = disk.nonzero_sectors(ss, &regions);
    assert_eq!(got, after.sectors);
    // The old backup header is still there.
    assert!(got.iter().any(|(lba, _)| *lba == old_total / ss - 1));
}

/// A 32-entry table (from the oracle's sfdisk) on a grown image: repart grew
/// partition 0 and added partition 1; the entry count is kept.
#[test]
fn short_entry_array_is_byte_identical_to_oracle() {
    let before = Dump::load("len32-before");
    let after = Dump::load("len32");
    let sf = Sfdisk::load("len32");
    let old_total = 32 << 20;
    let mut disk = before.to_disk();
    let info = gpt_info(read_gpt(&mut disk, before.total, 512).expect("read"));
    assert_eq!(info.table.entry_count, 32);
    assert!(!info.backup_at_end);
    let mut table = NewTable::from_existing(&info.table, 512);
    table.last_lba = last_usable_lba(before.total, 512, 32);
    assert_eq!(table.last_lba, sf.last_lba);
    table.entries = sf.parts.iter().map(entry_from_sf).collect();
    write_table(&mut disk, before.total, 512, &table).expect("write");
    let got = disk.nonzero_sectors(512, &gpt_regions(512, &[old_total, before.total]));
    assert_eq!(got, after.sectors);
}

/// `--size=40M` on the 21M `one512` image (dry-run): "Resized partition table."
#[test]
fn extend_table_is_byte_identical_to_oracle() {
    let old = Dump::load("one512");
    let want = Dump::load("resized512");
    let sf = Sfdisk::load("resized512");
    let mut disk = old.to_disk();
    disk.set_len(want.total);
    extend_table(&mut disk, want.total, 512).expect("extend");
    let got = disk.nonzero_sectors(512, &gpt_regions(512, &[old.total, want.total]));
    assert_eq!(got, want.sectors);
    let Label::Gpt(t) = read_label(&mut disk, want.total, 512).expect("read") else {
        panic!("no gpt");
    };
    assert_table_matches_sfdisk(&t, &sf, 512);
    // No GPT: nothing happens.
    let mut blank = SparseDisk::new(1 << 20);
    extend_table(&mut blank, 1 << 20, 512).expect("extend");
    assert!(
        blank
            .nonzero_sectors(512, &gpt_regions(512, &[1 << 20]))
            .is_empty()
    );
}

fn sample_table(total: u64, ss: u64) -> NewTable {
    let mut t = NewTable::fresh(Uuid::from_u128(0x1234_5678), total, ss);
    let (first, _) = (t.first_lba, t.last_lba);
    let per_mib = (1 << 20) / ss;
    t.entries = vec![
        NewEntry {
            partno: 0,
            type_uuid: Uuid::from_u128(0xC12A_7328_F81F_11D2_BA4B_00A0_C93E_C93B),
            uuid: Uuid::from_u128(1),
            label: "plain".into(),
            first_lba: first,
            last_lba: first + per_mib - 1,
            attrs: 1 << 59,
        },
        NewEntry {
            partno: 2,
            type_uuid: Uuid::from_u128(0x0FC6_3DAF_8483_4772_8E79_3D69_D847_7DE4),
            uuid: Uuid::from_u128(3),
            label: "Grüße ☃ 日本".into(),
            first_lba: first + 2 * per_mib,
            last_lba: first + 3 * per_mib - 1,
            attrs: (1 << 59) | (1 << 60) | (1 << 63),
        },
        NewEntry {
            partno: 5,
            type_uuid: Uuid::from_u128(0x0FC6_3DAF_8483_4772_8E79_3D69_D847_7DE4),
            uuid: Uuid::from_u128(6),
            label: "x".repeat(40),
            first_lba: first + per_mib,
            last_lba: first + 2 * per_mib - 1,
            attrs: 0,
        },
    ];
    t
}

fn cursor(total: u64) -> Cursor<Vec<u8>> {
    Cursor::new(vec![0u8; total as usize])
}

fn write_sample(ss: u64) -> (Cursor<Vec<u8>>, NewTable, u64) {
    let total = 8 << 20;
    let mut c = cursor(total);
    let t = sample_table(total, ss);
    write_table(&mut c, total, ss, &t).expect("write");
    (c, t, total)
}

#[test]
fn roundtrip_on_cursor_512_and_4096() {
    for ss in [512u64, 4096] {
        let (mut c, t, total) = write_sample(ss);
        assert_eq!(probe_sector_size(&mut c).expect("probe"), Some(ss));
        let Label::Gpt(got) = read_label(&mut c, total, ss).expect("read") else {
            panic!("no gpt");
        };
        assert_eq!(got.disk_guid, t.disk_guid);
        assert_eq!((got.first_lba, got.last_lba), fresh_geometry(total, ss));
        let slots: Vec<u32> = got.partitions.iter().map(|p| p.partno).collect();
        assert_eq!(slots, [0, 2, 5]);
        assert_eq!(got.partitions[1].label, "Grüße ☃ 日本");
        assert_eq!(got.partitions[2].label, "x".repeat(36));
        assert_eq!(got.partitions[1].attrs, t.entries[1].attrs);
        assert_eq!(got.partitions[1].offset, t.entries[1].first_lba * ss);
        assert_eq!(got.partitions[1].size, 1 << 20);
        // Writing back what we read reproduces the same bytes.
        let again = NewTable::from_existing(&got, ss);
        let mut c2 = cursor(total);
        write_table(&mut c2, total, ss, &again).expect("write2");
        assert!(c.get_ref() == c2.get_ref());
    }
}

/// A disk that keeps a copy of itself after every `write()`: the states a SIGKILL
/// between two writes can leave.
struct EveryWrite {
    disk: Cursor<Vec<u8>>,
    states: Vec<Vec<u8>>,
}

impl Read for EveryWrite {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.disk.read(buf)
    }
}

impl Seek for EveryWrite {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.disk.seek(pos)
    }
}

impl Write for EveryWrite {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.disk.write(buf)?;
        self.states.push(self.disk.get_ref().clone());
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.disk.flush()
    }
}

/// A first boot on a grown disk, stopped after any write of the table: the primary
/// (the only copy the kernel reads) is valid and holds the old or the new table.
/// libfdisk's separate primary entries and header writes leave, in between, a primary
/// that fails its CRC check (the kernel sees no partitions, the rerun reads the new
/// backup and says "No changes.", as upstream 257's: golden `rerun-primary-corrupt`).
#[test]
fn every_write_leaves_a_valid_primary_with_the_old_or_new_table() {
    for ss in [512u64, 4096] {
        let (old_disk, _, old_total) = write_sample(ss);
        let total = old_total + (4 << 20);
        let mut disk = old_disk.into_inner();
        disk.resize(total as usize, 0);
        let mut disk = Cursor::new(disk);
        let old = read_label(&mut disk, total, ss).expect("read old");
        let Label::Gpt(existing) = &old else {
            panic!("no gpt")
        };
        let mut table = NewTable::from_existing(existing, ss);
        table.last_lba = last_usable_lba(total, ss, table.entry_count);
        let per_mib = (1 << 20) / ss;
        table.entries.push(NewEntry {
            partno: 6,
            type_uuid: Uuid::from_u128(0x933A_C7E1_2EB4_4F13_B844_0E14_E2AE_F915),
            uuid: Uuid::from_u128(7),
            label: "home".into(),
            first_lba: old_total / ss + per_mib,
            last_lba: old_total / ss + 2 * per_mib - 1,
            attrs: 0,
        });
        let mut spy = EveryWrite {
            disk,
            states: Vec::new(),
        };
        write_table(&mut spy, total, ss, &table).expect("write");
        let new = read_label(&mut spy.disk, total, ss).expect("read new");
        assert_ne!(old, new);
        assert!(spy.states.len() >= 3, "{} writes", spy.states.len());
        for (i, state) in spy.states.into_iter().enumerate() {
            let info = gpt_info(read_gpt(&mut Cursor::new(state), total, ss).expect("read"));
            assert_eq!(info.used, HeaderUsed::Primary, "{ss}: after write {i}");
            let got = Label::Gpt(info.table);
            assert!(got == old || got == new, "{ss}: after write {i}: {got:?}");
        }
    }
}

#[test]
fn names_follow_libfdisk() {
    assert_eq!(encode_name(ESP_LABEL), [0u8; 72]);
    let e = encode_name("Ünï☃");
    assert_eq!(&e[..8], &[0xDC, 0, 0x6E, 0, 0xEF, 0, 0x03, 0x26]);
    assert_eq!(decode_name(&encode_name(&"é".repeat(40))), "é".repeat(36));
    // A surrogate pair written by another tool is decoded.
    let mut raw = [0u8; 72];
    raw[..4].copy_from_slice(&[0x3D, 0xD8, 0x00, 0xDE]);
    assert_eq!(decode_name(&raw), "😀");
}

// --- corruption and hostile input -------------------------------------------------

fn patch_header(c: &mut Cursor<Vec<u8>>, ss: u64, lba: u64, f: impl FnOnce(&mut [u8])) {
    let off = (lba * ss) as usize;
    let buf = c.get_mut();
    f(&mut buf[off..off + 92]);
    buf[off + 16..off + 20].fill(0);
    let crc = crc32(&buf[off..off + 92]);
    buf[off + 16..off + 20].copy_from_slice(&crc.to_le_bytes());
}

/// Patches entry `slot` in both arrays and fixes all CRCs.
fn patch_entry(c: &mut Cursor<Vec<u8>>, ss: u64, total: u64, slot: usize, f: impl Fn(&mut [u8])) {
    let last = total / ss - 1;
    for (hdr, arr) in [(1, 2), (last, last - 32 * 512 / ss)] {
        let buf = c.get_mut();
        let a = (arr * ss) as usize;
        f(&mut buf[a + slot * 128..a + slot * 128 + 128]);
        let crc = crc32(&buf[a..a + 128 * 128]);
        patch_header(c, ss, hdr, |h| {
            h[88..92].copy_from_slice(&crc.to_le_bytes())
        });
    }
}

#[test]
fn corrupt_primary_uses_backup() {
    for ss in [512u64, 4096] {
        let (c0, _, total) = write_sample(ss);
        let want = read_label(&mut c0.clone(), total, ss).expect("read");
        // Header CRC, then entries CRC.
        for off in [ss + 20, 2 * ss + 100] {
            let mut c = c0.clone();
            c.get_mut()[off as usize] ^= 0xFF;
            let info = gpt_info(read_gpt(&mut c, total, ss).expect("read"));
            assert_eq!(info.used, HeaderUsed::Backup);
            assert!(info.primary_problem.is_some());
            assert_eq!(Label::Gpt(info.table), want);
        }
        // Backup corrupt: primary used, problem reported.
        let mut c = c0.clone();
        c.get_mut()[(total - ss + 20) as usize] ^= 0xFF;
        let info = gpt_info(read_gpt(&mut c, total, ss).expect("read"));
        assert_eq!(info.used, HeaderUsed::Primary);
        assert_eq!(info.backup_problem, Some(HeaderProblem::BadHeaderCrc));
        // Both corrupt: libfdisk falls back to the DOS label.
        c.get_mut()[(ss + 20) as usize] ^= 0xFF;
        assert_eq!(read_label(&mut c, total, ss).expect("read"), Label::Other);
    }
}

#[test]
fn labels_other_and_none() {
    let ss = 512;
    let (c0, _, total) = write_sample(ss);
    // No 55AA: libfdisk does not look for a GPT at all.
    let mut c = c0.clone();
    c.get_mut()[510] = 0;
    assert_eq!(read_label(&mut c, total, ss).expect("read"), Label::None);
    // A DOS MBR (no EE record) wins over GPT headers.
    let mut c = c0.clone();
    c.get_mut()[446 + 4] = 0x83;
    assert_eq!(read_label(&mut c, total, ss).expect("read"), Label::Other);
    // Just 55AA.
    let mut c = cursor(1 << 20);
    c.get_mut()[510..512].copy_from_slice(&[0x55, 0xAA]);
    assert_eq!(read_label(&mut c, 1 << 20, ss).expect("read"), Label::Other);
    // Sun label magic.
    let mut c = cursor(1 << 20);
    c.get_mut()[508..510].copy_from_slice(&[0xDA, 0xBE]);
    assert_eq!(read_label(&mut c, 1 << 20, ss).expect("read"), Label::Other);
    // Blank, empty and shorter-than-a-sector devices.
    assert_eq!(
        read_label(&mut cursor(1 << 20), 1 << 20, ss).expect("r"),
        Label::None
    );
    assert_eq!(read_label(&mut cursor(0), 0, ss).expect("r"), Label::None);
    assert_eq!(
        read_label(&mut cursor(100), 100, ss).expect("r"),
        Label::None
    );
    // A hybrid MBR still carries the GPT.
    let mut c = c0.clone();
    c.get_mut()[462 + 4] = 0x83;
    let info = gpt_info(read_gpt(&mut c, total, ss).expect("read"));
    assert_eq!(info.mbr, MbrKind::Hybrid);
}

#[test]
fn hostile_headers_are_rejected_not_trusted() {
    let ss = 512;
    let (c0, _, total) = write_sample(ss);
    let last = total / ss - 1;
    type Patch = fn(&mut [u8]);
    let cases: [(Patch, HeaderProblem); 6] = [
        (
            |h| h[80..84].copy_from_slice(&u32::MAX.to_le_bytes()),
            HeaderProblem::BadEntryCount(u32::MAX),
        ),
        (
            |h| h[80..84].copy_from_slice(&0u32.to_le_bytes()),
            HeaderProblem::BadEntryCount(0),
        ),
        (
            |h| h[84..88].copy_from_slice(&0u32.to_le_bytes()),
            HeaderProblem::BadEntrySize(0),
        ),
        (
            |h| h[12..16].copy_from_slice(&600u32.to_le_bytes()),
            HeaderProblem::BadHeaderSize(600),
        ),
        (
            |h| h[48..56].copy_from_slice(&u64::MAX.to_le_bytes()),
            HeaderProblem::BadUsableRange,
        ),
        (
            |h| h[72..80].copy_from_slice(&(u64::MAX - 3).to_le_bytes()),
            HeaderProblem::EntryArrayOutOfRange,
        ),
    ];
    for (patch, problem) in cases {
        let mut c = c0.clone();
        if problem == HeaderProblem::BadHeaderSize(600) {
            // The CRC covers header_size bytes; patch without recomputing.
            patch(&mut c.get_mut()[512..604]);
        } else {
            patch_header(&mut c, ss, 1, patch);
        }
        let info = gpt_info(read_gpt(&mut c, total, ss).expect("read"));
        assert_eq!(info.used, HeaderUsed::Backup);
        assert_eq!(info.primary_problem, Some(problem));
        if problem != HeaderProblem::BadHeaderSize(600) {
            patch_header(&mut c, ss, last, patch);
        } else {
            patch(&mut c.get_mut()[(last * ss) as usize..(last * ss) as usize + 92]);
        }
        match read_gpt(&mut c, total, ss).expect("read") {
            GptProbe::Other {
                primary_problem,
                backup_problem,
            } => {
                assert_eq!(primary_problem, Some(problem));
                assert!(backup_problem.is_some());
            }
            other => panic!("{other:?}"),
        }
    }
    // MyLBA mismatch.
    let mut c = c0.clone();
    patch_header(&mut c, ss, 1, |h| {
        h[24..32].copy_from_slice(&5u64.to_le_bytes())
    });
    let info = gpt_info(read_gpt(&mut c, total, ss).expect("read"));
    assert_eq!(info.primary_problem, Some(HeaderProblem::WrongMyLba(5)));
}

#[test]
fn inconsistent_entries_with_valid_crcs_are_errors() {
    for ss in [512u64, 4096] {
        let (c0, t, total) = write_sample(ss);
        // Partition 2 ends beyond the last usable LBA.
        let mut c = c0.clone();
        let beyond = t.last_lba + 1;
        patch_entry(&mut c, ss, total, 2, |e| {
            e[40..48].copy_from_slice(&beyond.to_le_bytes())
        });
        let err = read_label(&mut c, total, ss).expect_err("out of range");
        assert!(
            matches!(err, DiskError::PartitionOutOfRange { partno: 2, .. }),
            "{err}"
        );
        // Start after end.
        let mut c = c0.clone();
        patch_entry(&mut c, ss, total, 0, |e| {
            e[32..40].copy_from_slice(&u64::MAX.to_le_bytes())
        });
        assert!(matches!(
            read_label(&mut c, total, ss),
            Err(DiskError::PartitionOutOfRange { partno: 0, .. })
        ));
        // Slot 5 overlapping slot 0.
        let mut c = c0.clone();
        let start = t.entries[0].last_lba;
        patch_entry(&mut c, ss, total, 5, |e| {
            e[32..40].copy_from_slice(&start.to_le_bytes())
        });
        let err = read_label(&mut c, total, ss).expect_err("overlap");
        assert!(
            matches!(err, DiskError::PartitionsOverlap { a: 0, b: 5 }),
            "{err}"
        );
        assert_eq!(
            err.at("/tmp/x.raw").to_string(),
            "/tmp/x.raw: Partitions 0 and 5 overlap."
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// Random byte damage in the GPT areas never panics.
    #[test]
    fn random_damage_never_panics(
        ss in prop::sample::select(vec![512u64, 4096]),
        hits in prop::collection::vec((0usize..40, 0usize..4096, any::<u8>()), 1..24),
    ) {
        let total: u64 = 8 << 20;
        let mut c = cursor(total);
        write_table(&mut c, total, ss, &sample_table(total, ss)).expect("write");
        let sectors = total / ss;
        for (s, off, val) in hits {
            // First 20 and last 20 sectors.
            let lba = if s < 20 { s as u64 } else { sectors - 40 + s as u64 };
            let pos = (lba * ss) as usize + off % ss as usize;
            c.get_mut()[pos] = val;
        }
        let _ = probe_sector_size(&mut c);
        let _ = read_gpt(&mut c, total, ss);
        let _ = read_gpt(&mut c, total, if ss == 512 { 4096 } else { 512 });
    }
}

// --- protective MBR ----------------------------------------------------------------

/// Observed with the oracle (grown copies of `one512`, rewritten by repart 257):
/// boot code and disk signature survive, records are rewritten canonically, a
/// hybrid MBR is left completely alone; a fresh table zeroes the sector.
#[test]
fn protective_mbr_rewrite_follows_libfdisk() {
    let ss = 512;
    let (c0, t, total) = write_sample(ss);
    let existing = t.clone();
    let canonical = c0.get_ref()[446..512].to_vec();
    assert_eq!(
        &canonical[..16],
        &[
            0, 0, 2, 0, 0xEE, 0xFF, 0xFF, 0xFF, 1, 0, 0, 0, 0xFF, 0x3F, 0, 0
        ]
    );

    let mut with_boot = c0.clone();
    with_boot.get_mut()[..10].copy_from_slice(b"\xeb\x63\x90HELLOBO");
    with_boot.get_mut()[440..446].copy_from_slice(&[0x11, 0x22, 0x33, 0x44, 0x55, 0x66]);
    // EE record in slot 1 with a boot flag: rewritten to slot 0.
    with_boot.get_mut()[446..462].fill(0);
    with_boot.get_mut()[462..478]
        .copy_from_slice(&[0x80, 1, 2, 3, 0xEE, 4, 5, 6, 7, 0, 0, 0, 8, 0, 0, 0]);
    let mut c = with_boot.clone();
    write_table(&mut c, total, ss, &existing).expect("write");
    assert_eq!(&c.get_ref()[..446], &with_boot.get_ref()[..446]);
    assert_eq!(&c.get_ref()[446..512], &canonical[..]);

    // No protective MBR (new label on an unlabelled disk): the whole sector is
    // zeroed, boot code included.
    let mut c = with_boot.clone();
    c.get_mut()[510] = 0;
    write_table(&mut c, total, ss, &t).expect("write");
    assert_eq!(&c.get_ref()[..512], &c0.get_ref()[..512]);

    // Hybrid: untouched.
    let mut hybrid = c0.clone();
    hybrid.get_mut()[462..478].copy_from_slice(&[
        0, 0xAA, 0xBB, 0xCC, 0x83, 0xDD, 0xEE, 0xFF, 1, 2, 3, 4, 5, 6, 7, 8,
    ]);
    hybrid.get_mut()[458..462].copy_from_slice(&8u32.to_le_bytes());
    let mut c = hybrid.clone();
    write_table(&mut c, total, ss, &existing).expect("write");
    assert_eq!(&c.get_ref()[..512], &hybrid.get_ref()[..512]);
}

// --- probing, geometry, validation -------------------------------------------------

#[test]
fn probe_sector_size_cases() {
    assert_eq!(probe_sector_size(&mut cursor(1 << 20)).expect("p"), None);
    assert_eq!(probe_sector_size(&mut cursor(0)).expect("p"), None);
    assert_eq!(probe_sector_size(&mut cursor(700)).expect("p"), None);
    let (mut c, _, _) = write_sample(4096);
    assert_eq!(probe_sector_size(&mut c).expect("p"), Some(4096));
    // Plant a second plausible header at 1024 → ambiguous.
    let hdr = c.get_ref()[4096..4096 + 92].to_vec();
    c.get_mut()[1024..1024 + 92].copy_from_slice(&hdr);
    assert!(matches!(
        probe_sector_size(&mut c),
        Err(DiskError::AmbiguousSectorSize { ref candidates }) if candidates == &[1024, 4096]
    ));
    // Wrong revision is not a hit (no CRC check though).
    c.get_mut()[1024 + 10] = 0;
    assert_eq!(probe_sector_size(&mut c).expect("p"), Some(4096));
}

#[test]
fn geometry_matches_oracle_boundaries() {
    // (bytes, sector size, first, last), all observed with the oracle.
    for (bytes, ss, first, last) in [
        (1048576, 512, 34, 2014),
        (4194304, 512, 34, 8158),
        (4198400, 512, 2048, 8166),
        (8388608, 512, 2048, 16350),
        (8400896, 512, 2048, 16374),
        (1048576, 4096, 6, 250),
        (4194304, 4096, 6, 1018),
        (4198400, 4096, 256, 1019),
        (8388608, 4096, 256, 2042),
        (8400896, 4096, 256, 2045),
        (1073741824, 512, 2048, 2097118),
        (2147483648, 512, 2048, 4194270),
    ] {
        assert_eq!(fresh_geometry(bytes, ss), (first, last), "{bytes} {ss}");
    }
    // 512-byte logical, 4096-byte physical tiny block device: first LBA 40.
    let topo = Topology {
        physical_sector_size: 4096,
        ..Topology::default()
    };
    assert_eq!(fresh_geometry_with(1 << 20, 512, &topo).0, 40);
    let topo = Topology {
        optimal_io_size: 4 << 20,
        ..Topology::default()
    };
    assert_eq!(fresh_geometry_with(1 << 30, 512, &topo).0, 8192);
}

#[test]
fn write_validation() {
    let ss = 512;
    let total = 8 << 20;
    let base = sample_table(total, ss);
    let check = |f: &dyn Fn(&mut NewTable), want: &str| {
        let mut t = base.clone();
        f(&mut t);
        let err = write_table(&mut cursor(total), total, ss, &t).expect_err(want);
        assert!(err.to_string().contains(want), "{err} !~ {want}");
    };
    check(
        &|t| t.entries[1].first_lba = t.entries[0].last_lba,
        "overlap",
    );
    check(
        &|t| t.entries[1].last_lba = t.last_lba + 1,
        "outside the usable area",
    );
    check(&|t| t.entries[1].partno = 0, "used twice");
    check(&|t| t.entries[1].partno = 128, "exceeds");
    check(&|t| t.entries[1].type_uuid = Uuid::nil(), "nil type");
    check(&|t| t.last_lba = total / ss - 33, "does not fit");
    check(&|t| t.first_lba = 33, "does not fit");
    check(&|t| t.entry_count = 0, "Invalid number");
    let err = write_table(&mut cursor(total), total, 768, &base).expect_err("ss");
    assert!(matches!(
        err,
        DiskError::InvalidSectorSize { sector_size: 768 }
    ));
    // A device too small for two copies of the table.
    let tiny = NewTable::fresh(Uuid::nil(), 30 * 512, 512);
    assert!(write_table(&mut cursor(30 * 512), 30 * 512, 512, &tiny).is_err());
}

#[test]
fn zero_range_zeroes_exactly() {
    let mut c = Cursor::new(vec![0xAAu8; 3 << 20]);
    zero_range(&mut c, 100, (2 << 20) + 5).expect("zero");
    let b = c.get_ref();
    assert_eq!(b[99], 0xAA);
    assert!(b[100..100 + (2 << 20) + 5].iter().all(|&x| x == 0));
    assert_eq!(b[100 + (2 << 20) + 5], 0xAA);
}

#[test]
fn crc32_known_value() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}
