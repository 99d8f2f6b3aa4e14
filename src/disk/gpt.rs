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
use super::{ExistingPartition, ExistingTable, Label};

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
/// A disk of at most this many bytes gets no 1 MiB alignment (libfdisk's
/// "4 × grain" rule): the first usable LBA stays right after the entry array.
pub const TINY_DEVICE_BYTES: u64 = 4 << 20;
/// libfdisk's default alignment grain.
pub const DEFAULT_GRAIN: u64 = 1 << 20;

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

/// Number of sectors occupied by an entry array of `entry_count` 128-byte entries.
pub fn entry_array_sectors(entry_count: u32, sector_size: u64) -> u64 {
    let bytes = u64::from(entry_count) * u64::from(GPT_ENTRY_SIZE);
    bytes.div_ceil(sector_size.max(1))
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

// ---------------------------------------------------------------------------
// Geometry
// ---------------------------------------------------------------------------

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
    let mut grain = DEFAULT_GRAIN.max(topo.optimal_io_size);
    if !grain.is_multiple_of(phys) {
        grain = DEFAULT_GRAIN;
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
        let ss = sector_size.max(1);
        NewTable {
            disk_guid: table.disk_guid,
            first_lba: table.first_lba,
            last_lba: table.last_lba,
            entry_count: table.entry_count,
            entries: table
                .partitions
                .iter()
                .map(|p| NewEntry {
                    partno: p.partno,
                    type_uuid: p.type_uuid,
                    uuid: p.uuid,
                    label: p.label.clone(),
                    first_lba: p.offset / ss,
                    last_lba: (p.offset + p.size) / ss - 1,
                    attrs: p.attrs,
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
fn build_entries(table: &NewTable) -> Vec<u8> {
    let mut buf = vec![0u8; table.entry_count as usize * GPT_ENTRY_SIZE as usize];
    for e in &table.entries {
        let off = e.partno as usize * GPT_ENTRY_SIZE as usize;
        let ent = &mut buf[off..off + GPT_ENTRY_SIZE as usize];
        ent[0..16].copy_from_slice(&e.type_uuid.to_bytes_le());
        ent[16..32].copy_from_slice(&e.uuid.to_bytes_le());
        ent[32..40].copy_from_slice(&e.first_lba.to_le_bytes());
        ent[40..48].copy_from_slice(&e.last_lba.to_le_bytes());
        ent[48..56].copy_from_slice(&e.attrs.to_le_bytes());
        ent[56..128].copy_from_slice(&encode_name(&e.label));
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
/// end, then primary entries (LBA 2) and header (LBA 1), then the protective MBR,
/// then flushes. An old backup elsewhere (the device grew) is left as it is, like
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
    check_sector_size(sector_size)?;
    let total_sectors = total_bytes / sector_size;
    let es = entry_array_sectors(table.entry_count, sector_size);
    validate_table(table, total_sectors, es)?;

    let mut entries = build_entries(table);
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
    write_all_at(w, PRIMARY_ENTRIES_LBA * sector_size, &entries)?;
    write_all_at(w, PRIMARY_HEADER_LBA * sector_size, &primary)?;
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

#[cfg(test)]
mod tests;
