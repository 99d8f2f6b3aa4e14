//! Writing a GPT the way libfdisk 2.41 lays it out: protective MBR, primary header
//! and entries, backup entries and header at the end (see the parent module's notes).

use std::io::{Read, Seek, SeekFrom, Write};

use uuid::Uuid;

use super::*;

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

/// One used entry of a table to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    /// 0-based slot in the entry array.
    pub partno: u32,
    /// Partition type (must not be nil).
    pub type_uuid: Uuid,
    /// Partition UUID.
    pub uuid: Uuid,
    /// Name (encoded by [`encode_name`]).
    pub label: String,
    /// First LBA.
    pub first_lba: u64,
    /// Last LBA (inclusive).
    pub last_lba: u64,
    /// Attribute bits.
    pub attrs: u64,
}

/// Where a partition is, in bytes (the planner's unit), for [`NewEntry::from_extent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    /// Byte offset of the first sector.
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
}

impl NewEntry {
    /// An entry for a partition given in bytes: the sector range is derived once,
    /// here, for every writer of a table.
    pub fn from_extent(
        partno: u32,
        type_uuid: Uuid,
        uuid: Uuid,
        label: String,
        extent: Extent,
        attrs: u64,
        sector_size: u64,
    ) -> NewEntry {
        let ss = sector_size.max(1);
        NewEntry {
            partno,
            type_uuid,
            uuid,
            label,
            first_lba: extent.offset / ss,
            last_lba: (extent.offset + extent.size) / ss - 1,
            attrs,
        }
    }
}

/// A complete table to be written by [`write_table`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTable {
    /// Disk GUID.
    pub disk_guid: Uuid,
    /// First usable LBA.
    pub first_lba: u64,
    /// Last usable LBA.
    pub last_lba: u64,
    /// Number of entries in the array (128 for new tables).
    pub entry_count: u32,
    /// Used entries, in any order.
    pub entries: Vec<NewEntry>,
}

impl NewTable {
    /// A fresh, empty 128-entry table with libfdisk's geometry for the device.
    pub fn fresh(disk_guid: Uuid, total_bytes: u64, sector_size: u64) -> NewTable {
        let (first_lba, last_lba) = fresh_geometry(total_bytes, sector_size);
        NewTable {
            disk_guid,
            first_lba,
            last_lba,
            entry_count: DEFAULT_ENTRY_COUNT,
            entries: Vec::new(),
        }
    }

    /// The existing table unchanged (to be modified by the caller), with its
    /// partitions converted back to LBAs. Set `last_lba` (e.g. with
    /// [`last_usable_lba`]) if the device grew.
    pub fn from_existing(table: &ExistingTable, sector_size: u64) -> NewTable {
        NewTable {
            disk_guid: table.disk_guid,
            first_lba: table.first_lba,
            last_lba: table.last_lba,
            entry_count: table.entry_count,
            entries: table
                .partitions
                .iter()
                .map(|p| {
                    let extent = Extent {
                        offset: p.offset,
                        size: p.size,
                    };
                    NewEntry::from_extent(
                        p.partno,
                        p.type_uuid,
                        p.uuid,
                        p.label.clone(),
                        extent,
                        p.attrs,
                        sector_size,
                    )
                })
                .collect(),
        }
    }
}

fn validate_table(table: &NewTable, total_sectors: u64, es: u64) -> Result<(), DiskError> {
    if table.entry_count == 0
        || u64::from(table.entry_count) * u64::from(GPT_ENTRY_SIZE) > MAX_ENTRY_ARRAY_BYTES
    {
        return Err(DiskError::BadEntryCount {
            entry_count: table.entry_count,
        });
    }
    let min_first = 2 + es;
    let max_last = total_sectors.saturating_sub(2 + es);
    if total_sectors < 2 * (1 + es) + 2
        || table.first_lba < min_first
        || table.last_lba > max_last
        || table.first_lba > table.last_lba
    {
        return Err(DiskError::BadUsableRange {
            first_lba: table.first_lba,
            last_lba: table.last_lba,
            total_sectors,
        });
    }
    let mut seen = std::collections::BTreeSet::new();
    for e in &table.entries {
        if e.partno >= table.entry_count {
            return Err(DiskError::SlotOutOfRange {
                partno: e.partno,
                entry_count: table.entry_count,
            });
        }
        if !seen.insert(e.partno) {
            return Err(DiskError::DuplicateSlot { partno: e.partno });
        }
        if e.type_uuid.is_nil() {
            return Err(DiskError::NilPartitionType { partno: e.partno });
        }
        if e.first_lba > e.last_lba || e.first_lba < table.first_lba || e.last_lba > table.last_lba
        {
            return Err(DiskError::PartitionOutOfRange {
                partno: e.partno,
                first_lba: e.first_lba,
                last_lba: e.last_lba,
                first_usable: table.first_lba,
                last_usable: table.last_lba,
            });
        }
    }
    let mut by_start: Vec<&NewEntry> = table.entries.iter().collect();
    by_start.sort_by_key(|e| e.first_lba);
    for pair in by_start.windows(2) {
        if pair[0].last_lba >= pair[1].first_lba {
            return Err(DiskError::PartitionsOverlap {
                a: pair[0].partno,
                b: pair[1].partno,
            });
        }
    }
    Ok(())
}

/// Serializes the entry array (exactly `entry_count * 128` bytes).
/// Serializes the entry array. `old` is the entry array currently on disk (if
/// any): an entry whose name reads back as the same label keeps its name bytes, so
/// names our codec cannot reproduce (characters outside the BMP, unpaired
/// surrogates) survive a rewrite, as they do with libfdisk.
fn build_entries(table: &NewTable, old: Option<&[u8]>) -> Vec<u8> {
    let size = GPT_ENTRY_SIZE as usize;
    let mut buf = vec![0u8; table.entry_count as usize * size];
    for e in &table.entries {
        let off = e.partno as usize * size;
        let ent = &mut buf[off..off + size];
        ent[0..16].copy_from_slice(&e.type_uuid.to_bytes_le());
        ent[16..32].copy_from_slice(&e.uuid.to_bytes_le());
        ent[32..40].copy_from_slice(&e.first_lba.to_le_bytes());
        ent[40..48].copy_from_slice(&e.last_lba.to_le_bytes());
        ent[48..56].copy_from_slice(&e.attrs.to_le_bytes());
        let kept = old
            .and_then(|o| o.get(off + 56..off + size))
            .filter(|raw| decode_name(raw) == e.label);
        match kept {
            Some(raw) => ent[56..128].copy_from_slice(raw),
            None => ent[56..128].copy_from_slice(&encode_name(&e.label)),
        }
    }
    buf
}

/// Serializes one header into a sector-sized buffer.
fn build_header(
    table: &NewTable,
    sector_size: u64,
    my_lba: u64,
    alternate_lba: u64,
    entries_lba: u64,
    entries_crc: u32,
) -> Vec<u8> {
    let mut sec = vec![0u8; sector_size as usize];
    sec[0..8].copy_from_slice(&GPT_SIGNATURE);
    sec[8..12].copy_from_slice(&GPT_REVISION.to_le_bytes());
    sec[12..16].copy_from_slice(&GPT_HEADER_SIZE.to_le_bytes());
    sec[24..32].copy_from_slice(&my_lba.to_le_bytes());
    sec[32..40].copy_from_slice(&alternate_lba.to_le_bytes());
    sec[40..48].copy_from_slice(&table.first_lba.to_le_bytes());
    sec[48..56].copy_from_slice(&table.last_lba.to_le_bytes());
    sec[56..72].copy_from_slice(&table.disk_guid.to_bytes_le());
    sec[72..80].copy_from_slice(&entries_lba.to_le_bytes());
    sec[80..84].copy_from_slice(&table.entry_count.to_le_bytes());
    sec[84..88].copy_from_slice(&GPT_ENTRY_SIZE.to_le_bytes());
    sec[88..92].copy_from_slice(&entries_crc.to_le_bytes());
    let crc = crc32(&sec[..GPT_HEADER_SIZE as usize]);
    sec[16..20].copy_from_slice(&crc.to_le_bytes());
    sec
}

/// Writes `table` to a device of `total_bytes`: backup entries and header at the
/// end, then the primary header (LBA 1) and entries (LBA 2 on) in ONE write, then
/// the protective MBR, then flushes. libfdisk writes the primary entries and header
/// separately; stopped between the two, the primary fails its CRC check: the kernel
/// (which reads the backup only with `gpt` on its command line) then sees no table,
/// while the rerun reads the new backup and, like upstream 257 (golden
/// `rerun-primary-corrupt`), finds "No changes." and never repairs the primary. An old backup elsewhere (the device grew) is left as it is, like
/// libfdisk does.
///
/// Sector 0: if it already holds a protective MBR (i.e. an existing GPT is being
/// rewritten), bytes 0..446 (boot code, disk signature) are kept and the records
/// rewritten; a hybrid MBR is not touched; anything else (a table created from
/// scratch: new file, wiped device, unlabelled disk) gets an all-zero sector
/// with the protective record, like libfdisk's new label. A disk with a DOS label
/// is never rewritten by repart, and `--empty=force` wipes the signature first.
pub fn write_table<W: Read + Write + Seek + ?Sized>(
    w: &mut W,
    total_bytes: u64,
    sector_size: u64,
    table: &NewTable,
) -> Result<(), DiskError> {
    write_table_staged(w, total_bytes, sector_size, table, &mut |_, _| Ok(()))
}

/// The points between the writes of [`write_table_staged`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteStage {
    /// The backup entries and header are written; the primary is still the old one.
    BackupWritten,
    /// Both copies are written (the protective MBR may follow).
    PrimaryWritten,
}

/// [`write_table`] calling `between` after each stage, so the caller can make the
/// writes durable in order (fsync): at every point the disk holds either the old
/// table or the new one in a copy with valid checksums.
pub fn write_table_staged<W: Read + Write + Seek + ?Sized>(
    w: &mut W,
    total_bytes: u64,
    sector_size: u64,
    table: &NewTable,
    between: &mut dyn FnMut(&mut W, WriteStage) -> Result<(), DiskError>,
) -> Result<(), DiskError> {
    check_sector_size(sector_size)?;
    let total_sectors = total_bytes / sector_size;
    let es = entry_array_sectors(table.entry_count, sector_size);
    validate_table(table, total_sectors, es)?;

    // The current primary entry array, whose names an unchanged entry keeps.
    let mut old = vec![0u8; table.entry_count as usize * GPT_ENTRY_SIZE as usize];
    let old = read_exact_at(w, PRIMARY_ENTRIES_LBA * sector_size, &mut old)
        .ok()
        .filter(|&read| read)
        .map(|_| old);
    let mut entries = build_entries(table, old.as_deref());
    let entries_crc = crc32(&entries);
    entries.resize((es * sector_size) as usize, 0);

    let last = total_sectors - 1;
    let backup_entries_lba = last - es;
    let primary = build_header(
        table,
        sector_size,
        PRIMARY_HEADER_LBA,
        last,
        PRIMARY_ENTRIES_LBA,
        entries_crc,
    );
    let backup = build_header(
        table,
        sector_size,
        last,
        PRIMARY_HEADER_LBA,
        backup_entries_lba,
        entries_crc,
    );

    let mut sector0 = vec![0u8; sector_size as usize];
    let kind = if read_exact_at(w, 0, &mut sector0)? {
        classify_mbr(&sector0)
    } else {
        MbrKind::None
    };
    let write_mbr = kind != MbrKind::Hybrid;
    if kind != MbrKind::Protective {
        sector0.fill(0);
    }
    if write_mbr {
        fill_protective_mbr(&mut sector0, total_sectors);
    }

    write_all_at(w, backup_entries_lba * sector_size, &entries)?;
    write_all_at(w, last * sector_size, &backup)?;
    between(w, WriteStage::BackupWritten)?;
    // Header and entries are adjacent: one write, so that no stop between two
    // writes leaves a primary whose header does not match its entries.
    const _: () = assert!(PRIMARY_ENTRIES_LBA == PRIMARY_HEADER_LBA + 1);
    let mut primary_copy = primary;
    primary_copy.extend_from_slice(&entries);
    write_all_at(w, PRIMARY_HEADER_LBA * sector_size, &primary_copy)?;
    between(w, WriteStage::PrimaryWritten)?;
    if write_mbr {
        write_all_at(w, 0, &sector0)?;
    }
    w.flush().map_err(|e| DiskError::io("flush", 0, e))
}

/// Moves an existing GPT's backup to the end of a grown device and raises the
/// last usable LBA accordingly (upstream: "Resized partition table."), keeping
/// everything else. Does nothing if there is no GPT; the old backup is left in
/// place (verified against the oracle).
pub fn extend_table<F: Read + Write + Seek + ?Sized>(
    f: &mut F,
    total_bytes: u64,
    sector_size: u64,
) -> Result<(), DiskError> {
    let GptProbe::Gpt(info) = read_gpt(f, total_bytes, sector_size)? else {
        return Ok(());
    };
    let mut table = NewTable::from_existing(&info.table, sector_size);
    table.last_lba = last_usable_lba(total_bytes, sector_size, table.entry_count);
    write_table(f, total_bytes, sector_size, &table)
}

/// Overwrites `len` bytes at `offset` with zeros (in 1 MiB chunks).
pub fn zero_range<W: Write + Seek + ?Sized>(
    w: &mut W,
    offset: u64,
    len: u64,
) -> Result<(), DiskError> {
    const CHUNK: u64 = 1 << 20;
    let zeros = vec![0u8; CHUNK.min(len) as usize];
    w.seek(SeekFrom::Start(offset))
        .map_err(|e| DiskError::io("seek", offset, e))?;
    let mut done = 0;
    while done < len {
        let n = CHUNK.min(len - done);
        w.write_all(&zeros[..n as usize])
            .map_err(|e| DiskError::io("write", offset + done, e))?;
        done += n;
    }
    Ok(())
}
