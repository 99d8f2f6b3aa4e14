//! Signature wipes with libblkid, loaded on first use with `dlopen()`.
//!
//! Upstream 257 clears the area of a new partition (and, starting from scratch, the
//! whole device) by asking libblkid for every superblock and partition-table magic it
//! finds there and erasing only those bytes; everything else of the old contents
//! stays. Doing the same through the same library gives the same bytes. Upstream links
//! libblkid; here it is loaded only when a wipe is needed, so a missing library is an
//! error of that run, named with the soname, before anything is erased.

use std::ffi::c_int;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::OnceLock;

use crate::shell::dlopen::Library;

/// The soname of util-linux's libblkid (1.x, every version since 2.15).
pub const SONAME: &str = "libblkid.so.1";

/// `BLKID_SUBLKS_MAGIC`: report the superblock's magic and its offset (needed to wipe).
const SUBLKS_MAGIC: c_int = 1 << 9;
/// `BLKID_SUBLKS_BADCSUM`: also report superblocks whose checksum is wrong.
const SUBLKS_BADCSUM: c_int = 1 << 10;
/// `BLKID_PARTS_MAGIC`: report the partition table's magic and its offset.
const PARTS_MAGIC: c_int = 1 << 3;

/// Opaque `struct blkid_struct_probe`.
#[repr(C)]
struct Probe {
    _private: [u8; 0],
}

/// The libblkid functions a wipe needs (signatures of blkid.h, util-linux 2.23+).
struct Lib {
    new_probe: unsafe extern "C" fn() -> *mut Probe,
    free_probe: unsafe extern "C" fn(*mut Probe),
    set_device: unsafe extern "C" fn(*mut Probe, c_int, i64, i64) -> c_int,
    enable_superblocks: unsafe extern "C" fn(*mut Probe, c_int) -> c_int,
    set_superblocks_flags: unsafe extern "C" fn(*mut Probe, c_int) -> c_int,
    enable_partitions: unsafe extern "C" fn(*mut Probe, c_int) -> c_int,
    set_partitions_flags: unsafe extern "C" fn(*mut Probe, c_int) -> c_int,
    do_probe: unsafe extern "C" fn(*mut Probe) -> c_int,
    do_wipe: unsafe extern "C" fn(*mut Probe, c_int) -> c_int,
}

// SAFETY: plain function pointers into a library that is never unloaded; each probe
// is used by one thread only.
unsafe impl Send for Lib {}
unsafe impl Sync for Lib {}

static LIB: OnceLock<Result<Lib, String>> = OnceLock::new();

/// Why a wipe failed (upstream's messages; they do not show the errno).
#[derive(Debug, thiserror::Error)]
pub enum WipeError {
    /// The library could not be loaded (or lacks a function).
    #[error("{0}, cannot wipe file system signatures")]
    Library(String),
    /// Setting up the probe failed.
    #[error("Failed to allocate device probe for wiping.")]
    Probe(io::Error),
    /// Enabling the probing chains failed.
    #[error("Failed to enable superblock and partition probing.")]
    Enable(io::Error),
    /// Probing failed.
    #[error("Failed to probe for file systems.")]
    Scan(io::Error),
    /// Erasing a found signature failed.
    #[error("Failed to wipe file system signature.")]
    Erase(io::Error),
}

fn load() -> Result<Lib, String> {
    let lib = Library::open(SONAME).map_err(|e| format!("{SONAME} could not be loaded: {e}"))?;
    macro_rules! resolve {
        ($name:literal) => {
            // SAFETY: the symbol has the C signature declared in Lib (blkid.h).
            unsafe { lib.function($name) }.map_err(|e| format!("{SONAME} lacks {}: {e}", $name))?
        };
    }
    Ok(Lib {
        new_probe: resolve!("blkid_new_probe"),
        free_probe: resolve!("blkid_free_probe"),
        set_device: resolve!("blkid_probe_set_device"),
        enable_superblocks: resolve!("blkid_probe_enable_superblocks"),
        set_superblocks_flags: resolve!("blkid_probe_set_superblocks_flags"),
        enable_partitions: resolve!("blkid_probe_enable_partitions"),
        set_partitions_flags: resolve!("blkid_probe_set_partitions_flags"),
        do_probe: resolve!("blkid_do_probe"),
        do_wipe: resolve!("blkid_do_wipe"),
    })
}

/// The probe, freed on every path out.
struct ProbeGuard<'a> {
    lib: &'a Lib,
    probe: *mut Probe,
}

impl Drop for ProbeGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: a probe from blkid_new_probe, freed once.
        unsafe { (self.lib.free_probe)(self.probe) }
    }
}

/// The errno of the failed call, EIO if it set none (libblkid does not always).
fn last_error() -> io::Error {
    match io::Error::last_os_error().raw_os_error() {
        Some(0) | None => io::Error::from_raw_os_error(libc::EIO),
        Some(_) => io::Error::last_os_error(),
    }
}

fn clear_errno() {
    // SAFETY: writing the thread's errno.
    unsafe { *libc::__errno_location() = 0 }
}

/// Loads the library (once), so that a missing one fails the run before the first
/// byte of a wipe (or of the discard that may replace it) is written.
pub fn require() -> Result<(), WipeError> {
    library().map(|_| ())
}

fn library() -> Result<&'static Lib, WipeError> {
    LIB.get_or_init(load)
        .as_ref()
        .map_err(|e| WipeError::Library(e.clone()))
}

/// Erases every file system, RAID, swap and partition-table signature libblkid finds
/// in `len` bytes of `file` at `offset`, one at a time until none is left. Only the
/// magic bytes are written.
pub fn wipe_signatures(file: &File, offset: u64, len: u64) -> Result<(), WipeError> {
    let lib = library()?;
    let (Ok(off), Ok(size)) = (i64::try_from(offset), i64::try_from(len)) else {
        return Err(WipeError::Probe(io::Error::from_raw_os_error(libc::EINVAL)));
    };
    // SAFETY: no arguments; NULL on allocation failure.
    let probe = unsafe { (lib.new_probe)() };
    if probe.is_null() {
        return Err(WipeError::Probe(io::Error::from_raw_os_error(libc::ENOMEM)));
    }
    let guard = ProbeGuard { lib, probe };
    let p = guard.probe;
    clear_errno();
    // SAFETY: a live probe and an open descriptor that outlives it (libblkid does not
    // close a descriptor it was given).
    if unsafe { (lib.set_device)(p, file.as_raw_fd(), off, size) } < 0 {
        return Err(WipeError::Probe(last_error()));
    }
    clear_errno();
    // SAFETY: a live probe; flags from blkid.h.
    let enabled = unsafe {
        (lib.enable_superblocks)(p, 1) >= 0
            && (lib.set_superblocks_flags)(p, SUBLKS_MAGIC | SUBLKS_BADCSUM) >= 0
            && (lib.enable_partitions)(p, 1) >= 0
            && (lib.set_partitions_flags)(p, PARTS_MAGIC) >= 0
    };
    if !enabled {
        return Err(WipeError::Enable(last_error()));
    }
    loop {
        clear_errno();
        // SAFETY: a live probe.
        let r = unsafe { (lib.do_probe)(p) };
        if r < 0 {
            return Err(WipeError::Scan(last_error()));
        }
        if r > 0 {
            return Ok(());
        }
        clear_errno();
        // SAFETY: a live probe positioned on the signature just found; not a dry run.
        if unsafe { (lib.do_wipe)(p, 0) } < 0 {
            return Err(WipeError::Erase(last_error()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Seek, SeekFrom, Write};
    use std::os::unix::fs::FileExt;

    fn image(fill: u8, len: usize) -> File {
        let mut f = tempfile_in_tmp();
        f.write_all(&vec![fill; len]).unwrap();
        f.seek(SeekFrom::Start(0)).unwrap();
        f
    }

    fn tempfile_in_tmp() -> File {
        let path = std::env::temp_dir().join(format!(
            "repart-blkid-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        f
    }

    /// A swap signature ("SWAPSPACE2" at the end of the first 4 KiB page) inside the
    /// range is erased, the bytes around it and a signature outside the range stay.
    #[test]
    fn wipes_only_magic_inside_range() {
        if LIB.get_or_init(load).is_err() {
            eprintln!("skipping: {SONAME} not available");
            return;
        }
        let mib = 1 << 20;
        let f = image(0xaa, 3 * mib);
        for base in [mib as u64, 2 * mib as u64] {
            f.write_all_at(&[0u8; 1024], base).unwrap();
            // version 1, last page 255
            f.write_all_at(b"\x01\0\0\0\xff\0\0\0", base + 1024)
                .unwrap();
            f.write_all_at(b"SWAPSPACE2", base + 4096 - 10).unwrap();
        }
        wipe_signatures(&f, mib as u64, mib as u64).unwrap();
        // libblkid moved the descriptor's offset: read from the start.
        let mut all = vec![0u8; 3 * mib];
        f.read_exact_at(&mut all, 0).unwrap();
        let first = &all[mib + 4096 - 10..mib + 4096];
        assert!(first.iter().all(|&b| b == 0), "magic erased: {first:?}");
        assert_eq!(&all[mib + 4096..mib + 4100], &[0xaa; 4], "data after stays");
        assert_eq!(&all[2 * mib + 4096 - 10..2 * mib + 4096], b"SWAPSPACE2");
        assert_eq!(all[0], 0xaa);
    }
}
