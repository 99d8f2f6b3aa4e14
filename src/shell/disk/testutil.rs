//! Test helpers: a sparse in-memory disk and loaders for the oracle dumps in
//! `testdata/disk/` (written by `testdata/disk/gen-oracle.sh`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read, Seek, SeekFrom, Write};

use uuid::Uuid;

const CHUNK: u64 = 4096;

/// A fixed-size disk that stores only the chunks that were written.
#[derive(Debug, Clone, Default)]
pub struct SparseDisk {
    chunks: BTreeMap<u64, Vec<u8>>,
    len: u64,
    pos: u64,
}

impl SparseDisk {
    /// An all-zero disk of `len` bytes.
    pub fn new(len: u64) -> SparseDisk {
        SparseDisk {
            chunks: BTreeMap::new(),
            len,
            pos: 0,
        }
    }

    /// Changes the size (growing keeps the content, like `truncate -s`).
    pub fn set_len(&mut self, len: u64) {
        self.len = len;
        self.chunks.retain(|&k, _| k * CHUNK < len);
    }

    /// Reads one sector.
    pub fn sector(&mut self, ss: u64, lba: u64) -> Vec<u8> {
        let mut b = vec![0u8; ss as usize];
        self.seek(SeekFrom::Start(lba * ss)).expect("seek");
        self.read_exact(&mut b).expect("read");
        b
    }

    /// Writes bytes at an offset.
    pub fn put(&mut self, offset: u64, data: &[u8]) {
        self.seek(SeekFrom::Start(offset)).expect("seek");
        self.write_all(data).expect("write");
    }

    /// The non-zero sectors among `lbas`, trailing zeros trimmed.
    pub fn nonzero_sectors(&mut self, ss: u64, lbas: &BTreeSet<u64>) -> Vec<(u64, Vec<u8>)> {
        let mut out = Vec::new();
        for &lba in lbas {
            let mut s = self.sector(ss, lba);
            if let Some(last) = s.iter().rposition(|&b| b != 0) {
                s.truncate(last + 1);
                out.push((lba, s));
            }
        }
        out
    }
}

impl Read for SparseDisk {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let idx = self.pos / CHUNK;
        let within = (self.pos % CHUNK) as usize;
        let n = buf
            .len()
            .min((self.len - self.pos) as usize)
            .min(CHUNK as usize - within);
        match self.chunks.get(&idx) {
            Some(c) => buf[..n].copy_from_slice(&c[within..within + n]),
            None => buf[..n].fill(0),
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Write for SparseDisk {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let idx = self.pos / CHUNK;
        let within = (self.pos % CHUNK) as usize;
        let n = buf.len().min(CHUNK as usize - within);
        let c = self
            .chunks
            .entry(idx)
            .or_insert_with(|| vec![0u8; CHUNK as usize]);
        c[within..within + n].copy_from_slice(&buf[..n]);
        self.pos += n as u64;
        self.len = self.len.max(self.pos);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for SparseDisk {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let new = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = new.ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        Ok(self.pos)
    }
}

/// LBAs of the GPT areas (sector 0, header and entries at the front, entries and
/// header at the back) for each given device size — same as the generator.
pub fn gpt_regions(ss: u64, totals: &[u64]) -> BTreeSet<u64> {
    let es = 16384 / ss;
    let mut s: BTreeSet<u64> = (0..2 + es).collect();
    for t in totals {
        let n = t / ss;
        s.extend(n - 1 - es..n);
    }
    s
}

fn read_testdata(name: &str) -> String {
    let p = format!("{}/testdata/disk/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// A `.sectors` dump.
#[derive(Debug, Clone)]
pub struct Dump {
    /// Sector size.
    pub ss: u64,
    /// Image size in bytes.
    pub total: u64,
    /// Non-zero sectors (trailing zeros trimmed).
    pub sectors: Vec<(u64, Vec<u8>)>,
}

impl Dump {
    /// Loads `testdata/disk/NAME.sectors`.
    pub fn load(name: &str) -> Dump {
        let text = read_testdata(&format!("{name}.sectors"));
        let mut d = Dump {
            ss: 0,
            total: 0,
            sectors: Vec::new(),
        };
        for line in text.lines() {
            let mut it = line.split(' ');
            match (it.next(), it.next(), it.next()) {
                (Some("ss"), Some(v), None) => d.ss = v.parse().expect("ss"),
                (Some("total"), Some(v), None) => d.total = v.parse().expect("total"),
                (Some("lba"), Some(l), Some(h)) => {
                    d.sectors.push((l.parse().expect("lba"), unhex(h)));
                }
                _ => panic!("bad dump line {line:?}"),
            }
        }
        d
    }

    /// The image, as a sparse disk of `total` bytes.
    pub fn to_disk(&self) -> SparseDisk {
        let mut disk = SparseDisk::new(self.total);
        for (lba, bytes) in &self.sectors {
            disk.put(lba * self.ss, bytes);
        }
        disk
    }
}

/// One partition line of `sfdisk -d`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SfPart {
    /// 0-based slot (from the node suffix).
    pub slot: u32,
    /// Start LBA.
    pub start: u64,
    /// Size in sectors.
    pub size: u64,
    /// Type UUID.
    pub type_uuid: Uuid,
    /// Partition UUID.
    pub uuid: Uuid,
    /// Name ("" if absent).
    pub name: String,
    /// Attribute bits.
    pub attrs: u64,
}

/// A `.sfdisk` dump.
#[derive(Debug, Clone)]
pub struct Sfdisk {
    /// Disk GUID.
    pub label_id: Uuid,
    /// First usable LBA.
    pub first_lba: u64,
    /// Last usable LBA.
    pub last_lba: u64,
    /// Partitions.
    pub parts: Vec<SfPart>,
}

impl Sfdisk {
    /// Loads `testdata/disk/NAME.sfdisk`.
    pub fn load(name: &str) -> Sfdisk {
        let text = read_testdata(&format!("{name}.sfdisk"));
        let mut sf = Sfdisk {
            label_id: Uuid::nil(),
            first_lba: 0,
            last_lba: 0,
            parts: Vec::new(),
        };
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("label-id: ") {
                sf.label_id = v.parse().expect("label-id");
            } else if let Some(v) = line.strip_prefix("first-lba: ") {
                sf.first_lba = v.parse().expect("first-lba");
            } else if let Some(v) = line.strip_prefix("last-lba: ") {
                sf.last_lba = v.parse().expect("last-lba");
            } else if let Some(rest) = line.strip_prefix("IMG") {
                let (num, fields) = rest.split_once(" : ").expect("partition line");
                let mut p = SfPart {
                    slot: num.parse::<u32>().expect("partno") - 1,
                    start: 0,
                    size: 0,
                    type_uuid: Uuid::nil(),
                    uuid: Uuid::nil(),
                    name: String::new(),
                    attrs: 0,
                };
                for f in fields.split(", ") {
                    let (k, v) = f.split_once('=').expect("key=value");
                    let v = v.trim();
                    match k {
                        "start" => p.start = v.parse().expect("start"),
                        "size" => p.size = v.parse().expect("size"),
                        "type" => p.type_uuid = v.parse().expect("type"),
                        "uuid" => p.uuid = v.parse().expect("uuid"),
                        "name" => p.name = v.trim_matches('"').to_string(),
                        "attrs" => {
                            let bits = v.trim_matches('"').strip_prefix("GUID:").expect("GUID:");
                            for b in bits.split(',') {
                                p.attrs |= 1u64 << b.parse::<u32>().expect("bit");
                            }
                        }
                        _ => panic!("unknown sfdisk field {k}"),
                    }
                }
                sf.parts.push(p);
            }
        }
        sf
    }
}
