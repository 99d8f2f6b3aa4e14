//! GPT on-disk format: probing, reading and writing partition tables the way
//! libfdisk 2.41 (as driven by systemd-repart 257) lays them out.
//!
//! Everything here is generic over `Read`/`Write`/`Seek` so tests can run on
//! in-memory buffers. The byte layout was compared against images written by
//! the reference binary (see `testdata/disk/gen-oracle.sh`):
//!
//! * protective MBR: one record `00 | 00 02 00 | EE | FF FF FF | 1 | min(N-1, 2^32-1)`,
//!   everything else zero on a fresh table; when sector 0 already holds a
//!   protective MBR (an existing GPT) the boot code and disk signature (bytes
//!   0..446) are kept and the four records rewritten, and a hybrid MBR (an `EE`
//!   record plus other non-empty records) is left untouched;
//! * primary header at LBA 1, 128 entries of 128 bytes from LBA 2, backup entries
//!   and backup header at the very end of the device;
//! * when the device grew, the old backup header and entries are **not** cleared
//!   (libfdisk leaves them; repart's discard of new partitions and gaps is what
//!   usually removes them);
//! * partition names are UTF-16LE, truncated to 36 code units; a name containing a
//!   character outside the Basic Multilingual Plane is written as an empty name.
//!
//! Hostile input never panics: bad CRCs and absurd header fields make a header
//! "invalid" (libfdisk then falls back to the other copy, and to "not a GPT" if both
//! are bad); inconsistent entries in a table with valid checksums are errors.

use std::io::{self, Read, Seek, SeekFrom, Write};

use uuid::Uuid;

pub use super::DiskError;
use crate::pure::model::{ExistingPartition, ExistingTable, Label};

/// The GPT header signature.
pub const GPT_SIGNATURE: [u8; 8] = *b"EFI PART";
/// GPT revision 1.0 as stored in the header.
pub const GPT_REVISION: u32 = 0x0001_0000;
/// Size of the GPT header structure that is written (and covered by the CRC).
pub const GPT_HEADER_SIZE: u32 = 92;
/// Size of one partition entry (the only size accepted).
pub const GPT_ENTRY_SIZE: u32 = 128;
/// Number of entries in a freshly created table.
pub const DEFAULT_ENTRY_COUNT: u32 = 128;
/// Maximum number of UTF-16 code units in a partition name.
pub const GPT_NAME_UNITS: usize = 36;
/// Upper bound for the size of an entry array we are willing to read (16 MiB,
/// i.e. 131072 entries). Headers asking for more are treated as invalid.
pub const MAX_ENTRY_ARRAY_BYTES: u64 = 16 << 20;

const MBR_SIGNATURE_OFFSET: usize = 510;
const MBR_RECORDS_OFFSET: usize = 446;
const MBR_RECORD_SIZE: usize = 16;
const PMBR_OSTYPE: u8 = 0xEE;
const PRIMARY_HEADER_LBA: u64 = 1;
const PRIMARY_ENTRIES_LBA: u64 = 2;

// ---------------------------------------------------------------------------
// CRC32 (IEEE 802.3, reflected, as used by UEFI)
// ---------------------------------------------------------------------------

const fn crc32_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

static CRC32_TABLE: [u32; 256] = crc32_table();

/// CRC32 as used for GPT headers and entry arrays.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc = CRC32_TABLE[((crc ^ u32::from(b)) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

// ---------------------------------------------------------------------------
// Little helpers
// ---------------------------------------------------------------------------

fn le_u32(b: &[u8], off: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(a)
}

fn le_u64(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

fn guid_at(b: &[u8], off: usize) -> Uuid {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[off..off + 16]);
    Uuid::from_bytes_le(a)
}

/// Reads `buf.len()` bytes at `offset`. Returns `Ok(false)` if the source ends
/// before that (a short device is not an I/O error for probing purposes).
fn read_exact_at<R: Read + Seek + ?Sized>(
    r: &mut R,
    offset: u64,
    buf: &mut [u8],
) -> Result<bool, DiskError> {
    r.seek(SeekFrom::Start(offset))
        .map_err(|e| DiskError::io("seek", offset, e))?;
    match r.read_exact(buf) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(DiskError::io("read", offset, e)),
    }
}

fn write_all_at<W: Write + Seek + ?Sized>(
    w: &mut W,
    offset: u64,
    buf: &[u8],
) -> Result<(), DiskError> {
    w.seek(SeekFrom::Start(offset))
        .map_err(|e| DiskError::io("seek", offset, e))?;
    w.write_all(buf)
        .map_err(|e| DiskError::io("write", offset, e))
}

fn check_sector_size(sector_size: u64) -> Result<(), DiskError> {
    if !(512..=65536).contains(&sector_size) || !sector_size.is_power_of_two() {
        return Err(DiskError::InvalidSectorSize { sector_size });
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Sector size probing (repart's own probe, spec §5.1)
// ---------------------------------------------------------------------------

/// Looks for a plausible GPT header at byte offsets 512, 1024, 2048 and 4096
/// (signature, revision 1.0, header size 92..=4096, MyLBA 1 — no CRC check, like
/// upstream). Exactly one hit gives that sector size, none gives `None` (the
/// caller then uses 512), several are an error.
pub fn probe_sector_size<R: Read + Seek + ?Sized>(r: &mut R) -> Result<Option<u64>, DiskError> {
    let mut buf = vec![0u8; 8192];
    r.seek(SeekFrom::Start(0))
        .map_err(|e| DiskError::io("seek", 0, e))?;
    // Read as much as there is; a short file simply has no header at the far offsets.
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(DiskError::io("read", filled as u64, e)),
        }
    }
    let mut found = Vec::new();
    for sz in [512usize, 1024, 2048, 4096] {
        if filled < sz + GPT_HEADER_SIZE as usize {
            continue;
        }
        let h = &buf[sz..sz + GPT_HEADER_SIZE as usize];
        if h[0..8] != GPT_SIGNATURE
            || le_u32(h, 8) != GPT_REVISION
            || le_u32(h, 12) < GPT_HEADER_SIZE
            || le_u32(h, 12) > 4096
            || le_u64(h, 24) != 1
        {
            continue;
        }
        found.push(sz as u64);
    }
    match found.len() {
        0 => Ok(None),
        1 => Ok(Some(found[0])),
        _ => Err(DiskError::AmbiguousSectorSize { candidates: found }),
    }
}

// ---------------------------------------------------------------------------
// Protective MBR
// ---------------------------------------------------------------------------

/// What sector 0 looks like, from libfdisk's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MbrKind {
    /// No `55 AA` boot signature.
    None,
    /// A DOS MBR without any `EE` record.
    Dos,
    /// A protective MBR: an `EE` record and otherwise only empty records.
    Protective,
    /// An `EE` record plus other non-empty records; libfdisk never rewrites it.
    Hybrid,
}

/// Classifies the first sector (at least 512 bytes).
pub fn classify_mbr(sector0: &[u8]) -> MbrKind {
    if sector0.len() < 512 || sector0[MBR_SIGNATURE_OFFSET..512] != [0x55, 0xAA] {
        return MbrKind::None;
    }
    let os_type = |i: usize| sector0[MBR_RECORDS_OFFSET + i * MBR_RECORD_SIZE + 4];
    if !(0..4).any(|i| os_type(i) == PMBR_OSTYPE) {
        return MbrKind::Dos;
    }
    if (0..4).any(|i| os_type(i) != PMBR_OSTYPE && os_type(i) != 0) {
        MbrKind::Hybrid
    } else {
        MbrKind::Protective
    }
}

/// Rewrites the partition records of `sector0` into libfdisk's protective MBR
/// (bytes before 446 are kept).
fn fill_protective_mbr(sector0: &mut [u8], total_sectors: u64) {
    sector0[MBR_RECORDS_OFFSET..MBR_SIGNATURE_OFFSET].fill(0);
    let rec = &mut sector0[MBR_RECORDS_OFFSET..MBR_RECORDS_OFFSET + MBR_RECORD_SIZE];
    rec[0] = 0x00; // not bootable
    rec[1..4].copy_from_slice(&[0x00, 0x02, 0x00]); // CHS of LBA 1
    rec[4] = PMBR_OSTYPE;
    rec[5..8].copy_from_slice(&[0xFF, 0xFF, 0xFF]);
    rec[8..12].copy_from_slice(&1u32.to_le_bytes());
    let size = u32::try_from(total_sectors.saturating_sub(1)).unwrap_or(u32::MAX);
    rec[12..16].copy_from_slice(&size.to_le_bytes());
    sector0[MBR_SIGNATURE_OFFSET] = 0x55;
    sector0[MBR_SIGNATURE_OFFSET + 1] = 0xAA;
}

/// Sun and SGI labels that libfdisk would also report as "some other label".
fn has_other_label_magic(sector0: &[u8]) -> bool {
    if sector0.len() < 512 {
        return false;
    }
    let sgi = sector0[0..4] == [0x0B, 0xE5, 0xA9, 0x41];
    let sun = sector0[508..510] == [0xDA, 0xBE];
    sgi || sun
}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

/// Why a GPT header (with its entry array) was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderProblem {
    /// The header sector lies beyond the end of the device.
    BeyondDevice,
    /// No `EFI PART` signature.
    BadSignature,
    /// Header size smaller than 92 or larger than the sector.
    BadHeaderSize(u32),
    /// Header CRC mismatch.
    BadHeaderCrc,
    /// MyLBA does not match where the header was read.
    WrongMyLba(u64),
    /// First/last usable LBA are inverted, beyond the device or around LBA 1.
    BadUsableRange,
    /// Entry size other than 128.
    BadEntrySize(u32),
    /// Entry array larger than [`MAX_ENTRY_ARRAY_BYTES`] (or zero entries).
    BadEntryCount(u32),
    /// Entry array (partly) outside the device.
    EntryArrayOutOfRange,
    /// Entry array CRC mismatch.
    BadEntriesCrc,
}

/// A validated header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GptHeader {
    /// LBA this header lives at.
    pub my_lba: u64,
    /// LBA of the other copy.
    pub alternate_lba: u64,
    /// First usable LBA.
    pub first_usable_lba: u64,
    /// Last usable LBA.
    pub last_usable_lba: u64,
    /// Disk GUID.
    pub disk_guid: Uuid,
    /// Start of this copy's entry array.
    pub entries_lba: u64,
    /// Number of entries.
    pub entry_count: u32,
    /// Header size field.
    pub header_size: u32,
    /// Revision field.
    pub revision: u32,
}

/// Which copy of the table [`read_gpt`] used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderUsed {
    /// The primary header at LBA 1 was valid.
    Primary,
    /// The primary was corrupt; the backup at the last LBA was used
    /// (libfdisk: "The primary GPT table is corrupt, but the backup appears OK").
    Backup,
}

/// Everything known about a GPT that was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GptInfo {
    /// The table as the planner sees it.
    pub table: ExistingTable,
    /// The header that was used.
    pub header: GptHeader,
    /// Which copy that was.
    pub used: HeaderUsed,
    /// Why the primary was rejected (if it was).
    pub primary_problem: Option<HeaderProblem>,
    /// Why the backup was rejected (`None` if it was valid or not looked at).
    pub backup_problem: Option<HeaderProblem>,
    /// Whether the backup header sits on the last LBA of the device
    /// (false after the device grew: "The backup GPT table is not on the end of the device.").
    pub backup_at_end: bool,
    /// Kind of sector 0 (protective or hybrid).
    pub mbr: MbrKind,
}

/// Result of [`read_gpt`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)]
pub enum GptProbe {
    /// No partition table at all.
    None,
    /// A non-GPT label (DOS MBR, or a protective MBR whose GPT copies are both corrupt).
    Other {
        /// Why the primary header was rejected, if a protective MBR was there.
        primary_problem: Option<HeaderProblem>,
        /// Why the backup header was rejected, if a protective MBR was there.
        backup_problem: Option<HeaderProblem>,
    },
    /// A GPT.
    Gpt(GptInfo),
}

fn read_header<R: Read + Seek + ?Sized>(
    r: &mut R,
    lba: u64,
    sector_size: u64,
    total_sectors: u64,
) -> Result<Result<(GptHeader, Vec<u8>), HeaderProblem>, DiskError> {
    if lba >= total_sectors {
        return Ok(Err(HeaderProblem::BeyondDevice));
    }
    let ss = sector_size as usize;
    let mut sec = vec![0u8; ss];
    if !read_exact_at(r, lba * sector_size, &mut sec)? {
        return Ok(Err(HeaderProblem::BeyondDevice));
    }
    if sec[0..8] != GPT_SIGNATURE {
        return Ok(Err(HeaderProblem::BadSignature));
    }
    let header_size = le_u32(&sec, 12);
    if header_size < GPT_HEADER_SIZE || header_size as usize > ss {
        return Ok(Err(HeaderProblem::BadHeaderSize(header_size)));
    }
    let stored_crc = le_u32(&sec, 16);
    let mut tmp = sec[..header_size as usize].to_vec();
    tmp[16..20].fill(0);
    if crc32(&tmp) != stored_crc {
        return Ok(Err(HeaderProblem::BadHeaderCrc));
    }
    let my_lba = le_u64(&sec, 24);
    if my_lba != lba {
        return Ok(Err(HeaderProblem::WrongMyLba(my_lba)));
    }
    let first = le_u64(&sec, 40);
    let last = le_u64(&sec, 48);
    let last_lba = total_sectors - 1;
    if last < first || first > last_lba || last > last_lba || (first < 1 && 1 < last) {
        return Ok(Err(HeaderProblem::BadUsableRange));
    }
    let entries_lba = le_u64(&sec, 72);
    let entry_count = le_u32(&sec, 80);
    let entry_size = le_u32(&sec, 84);
    if entry_size != GPT_ENTRY_SIZE {
        return Ok(Err(HeaderProblem::BadEntrySize(entry_size)));
    }
    let array_bytes = u64::from(entry_count) * u64::from(entry_size);
    if entry_count == 0 || array_bytes > MAX_ENTRY_ARRAY_BYTES {
        return Ok(Err(HeaderProblem::BadEntryCount(entry_count)));
    }
    let array_sectors = entry_array_sectors(entry_count, sector_size);
    match entries_lba.checked_add(array_sectors) {
        Some(end) if entries_lba >= 1 && end <= total_sectors => {}
        _ => return Ok(Err(HeaderProblem::EntryArrayOutOfRange)),
    }
    let mut entries = vec![0u8; array_bytes as usize];
    if !read_exact_at(r, entries_lba * sector_size, &mut entries)? {
        return Ok(Err(HeaderProblem::EntryArrayOutOfRange));
    }
    if crc32(&entries) != le_u32(&sec, 88) {
        return Ok(Err(HeaderProblem::BadEntriesCrc));
    }
    let header = GptHeader {
        my_lba,
        alternate_lba: le_u64(&sec, 32),
        first_usable_lba: first,
        last_usable_lba: last,
        disk_guid: guid_at(&sec, 56),
        entries_lba,
        entry_count,
        header_size,
        revision: le_u32(&sec, 8),
    };
    Ok(Ok((header, entries)))
}

/// Decodes a GPT name (UTF-16LE, NUL-terminated or 36 units long).
pub fn decode_name(raw: &[u8]) -> String {
    let units: Vec<u16> = raw
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect();
    String::from_utf16_lossy(&units)
}

/// Encodes a name like libfdisk: UTF-16LE, at most 36 code units (longer names
/// are cut); a name with any character outside the BMP becomes empty.
pub fn encode_name(name: &str) -> [u8; 72] {
    let mut out = [0u8; 72];
    if name.chars().any(|c| u32::from(c) > 0xFFFF) {
        return out;
    }
    for (i, u) in name.encode_utf16().take(GPT_NAME_UNITS).enumerate() {
        out[2 * i..2 * i + 2].copy_from_slice(&u.to_le_bytes());
    }
    out
}

fn parse_entries(
    header: &GptHeader,
    entries: &[u8],
    sector_size: u64,
) -> Result<Vec<ExistingPartition>, DiskError> {
    let mut parts = Vec::new();
    for (slot, e) in entries.chunks_exact(GPT_ENTRY_SIZE as usize).enumerate() {
        let type_uuid = guid_at(e, 0);
        if type_uuid.is_nil() {
            continue;
        }
        let partno = slot as u32;
        let first = le_u64(e, 32);
        let last = le_u64(e, 40);
        if first > last || first < header.first_usable_lba || last > header.last_usable_lba {
            return Err(DiskError::PartitionOutOfRange {
                partno,
                first_lba: first,
                last_lba: last,
                first_usable: header.first_usable_lba,
                last_usable: header.last_usable_lba,
            });
        }
        parts.push(ExistingPartition {
            partno,
            type_uuid,
            uuid: guid_at(e, 16),
            label: decode_name(&e[56..128]),
            // In range of a header validated against the device size: no overflow.
            offset: first * sector_size,
            size: (last - first + 1) * sector_size,
            attrs: le_u64(e, 48),
        });
    }
    let mut by_start: Vec<&ExistingPartition> = parts.iter().collect();
    by_start.sort_by_key(|p| p.offset);
    for pair in by_start.windows(2) {
        if pair[0].offset + pair[0].size > pair[1].offset {
            return Err(DiskError::PartitionsOverlap {
                a: pair[0].partno,
                b: pair[1].partno,
            });
        }
    }
    Ok(parts)
}

/// Reads the partition table the way libfdisk probes it: a protective (or hybrid)
/// MBR is required for GPT; the primary header is used if valid, otherwise the
/// backup on the last LBA; if neither is valid but sector 0 carries `55 AA`, the
/// disk has a DOS label ([`GptProbe::Other`]).
pub fn read_gpt<R: Read + Seek + ?Sized>(
    r: &mut R,
    total_bytes: u64,
    sector_size: u64,
) -> Result<GptProbe, DiskError> {
    check_sector_size(sector_size)?;
    let total_sectors = total_bytes / sector_size;
    if total_sectors == 0 {
        return Ok(GptProbe::None);
    }
    let mut sector0 = vec![0u8; sector_size as usize];
    if !read_exact_at(r, 0, &mut sector0)? {
        return Ok(GptProbe::None);
    }
    let mbr = classify_mbr(&sector0);
    match mbr {
        MbrKind::None => {
            return Ok(if has_other_label_magic(&sector0) {
                GptProbe::Other {
                    primary_problem: None,
                    backup_problem: None,
                }
            } else {
                GptProbe::None
            });
        }
        MbrKind::Dos => {
            return Ok(GptProbe::Other {
                primary_problem: None,
                backup_problem: None,
            });
        }
        MbrKind::Protective | MbrKind::Hybrid => {}
    }

    let primary = read_header(r, PRIMARY_HEADER_LBA, sector_size, total_sectors)?;
    let (header, entries, used, primary_problem, backup_problem) = match primary {
        Ok((h, e)) => {
            // libfdisk looks for the backup where the primary says it is.
            let backup = read_header(r, h.alternate_lba, sector_size, total_sectors)?;
            (h, e, HeaderUsed::Primary, None, backup.err())
        }
        Err(pp) => match read_header(r, total_sectors - 1, sector_size, total_sectors)? {
            Ok((h, e)) => (h, e, HeaderUsed::Backup, Some(pp), None),
            Err(bp) => {
                return Ok(GptProbe::Other {
                    primary_problem: Some(pp),
                    backup_problem: Some(bp),
                });
            }
        },
    };
    let partitions = parse_entries(&header, &entries, sector_size)?;
    let backup_at_end = match used {
        HeaderUsed::Primary => header.alternate_lba == total_sectors - 1,
        HeaderUsed::Backup => true,
    };
    let table = ExistingTable {
        disk_guid: header.disk_guid,
        first_lba: header.first_usable_lba,
        last_lba: header.last_usable_lba,
        entry_count: header.entry_count,
        partitions,
        backup_at_end,
    };
    Ok(GptProbe::Gpt(GptInfo {
        table,
        header,
        used,
        primary_problem,
        backup_problem,
        backup_at_end,
        mbr,
    }))
}

/// Reads the label: [`Label::Gpt`], [`Label::Other`] (DOS MBR, Sun/SGI, or a
/// protective MBR whose two GPT copies are both corrupt) or [`Label::None`].
pub fn read_label<R: Read + Seek + ?Sized>(
    r: &mut R,
    total_bytes: u64,
    sector_size: u64,
) -> Result<Label, DiskError> {
    Ok(match read_gpt(r, total_bytes, sector_size)? {
        GptProbe::None => Label::None,
        GptProbe::Other { .. } => Label::Other,
        GptProbe::Gpt(info) => Label::Gpt(info.table),
    })
}

use crate::pure::plan::geometry::{entry_array_sectors, fresh_geometry, last_usable_lba};

mod write;
pub use write::{
    Extent, NewEntry, NewTable, WriteStage, extend_table, write_table, write_table_staged,
    zero_range,
};

#[cfg(test)]
mod tests;
