//! Opening the device or image file repart operates on (spec §6.3): regular
//! files and block devices, `flock` (shared in dry-run, exclusive otherwise),
//! creating new images for `--empty=create`, growing files, discarding ranges.
//!
//! Messages such as `File 'X' grown from A to B by truncation.` are printed by
//! the caller; the functions here only return the facts.

use std::fs::{self, File};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::gpt::{self, NewTable};
use super::{DiskError, blockdev};
use crate::pure::model::{DiskState, Label};
use crate::pure::plan::geometry::Topology;

/// What the target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// A regular (image) file.
    RegularFile,
    /// A block device.
    BlockDevice,
}

/// How to `flock` the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// No lock.
    None,
    /// `LOCK_SH` (dry-run).
    Shared,
    /// `LOCK_EX` (real run).
    Exclusive,
}

/// How to open the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOptions {
    /// Open read-write (needed for writing and for growing files).
    pub writable: bool,
    /// Create a new file with `O_CREAT|O_EXCL`, mode 0666 & ~umask (`--empty=create`).
    pub create: bool,
    /// Lock to take.
    pub lock: LockMode,
}

impl OpenOptions {
    /// Like upstream: shared lock and read-only in dry-run, exclusive and
    /// read-write otherwise.
    pub fn for_run(dry_run: bool, create: bool) -> OpenOptions {
        OpenOptions {
            writable: !dry_run || create,
            create,
            lock: if dry_run {
                LockMode::Shared
            } else {
                LockMode::Exclusive
            },
        }
    }
}

/// The result of growing a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrowOutcome {
    /// Size before, in bytes.
    pub from: u64,
    /// Size after, in bytes.
    pub to: u64,
}

/// What a discard request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscardOutcome {
    /// The range was discarded (hole punched / BLKDISCARD).
    Discarded,
    /// The storage does not support it (EOPNOTSUPP/ENOTTY/...).
    Unsupported,
    /// The block device is busy (EBUSY; e.g. a mounted partition).
    Busy,
}

/// An opened target.
#[derive(Debug)]
pub struct Target {
    /// The open file or device (locked as requested while this lives).
    pub file: File,
    /// The path as given on the command line.
    pub path: PathBuf,
    /// The node name used in messages: the argument verbatim for a created
    /// file, the canonical absolute path for an existing file, the path as given
    /// for a block device.
    pub node: PathBuf,
    /// File or block device.
    pub kind: TargetKind,
    /// Size in bytes.
    pub total_bytes: u64,
    /// Logical sector size reported by the kernel (block devices only).
    pub kernel_sector_size: Option<u64>,
    /// Topology (block devices only; default otherwise).
    pub topology: Topology,
    /// Whether the file was created by [`open_target`].
    pub created: bool,
    /// Whether it was opened read-write.
    pub writable: bool,
}

fn os_err(what: &'static str, path: &Path, source: io::Error) -> DiskError {
    DiskError::Os {
        what,
        path: path.to_path_buf(),
        source,
    }
}

fn set_nocow(file: &File) {
    const FS_NOCOW_FL: libc::c_long = 0x0080_0000;
    let mut flags: libc::c_long = 0;
    // SAFETY: FS_IOC_GETFLAGS writes an int (we provide a larger, zeroed long)
    // through the pointer, which is valid for the call.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) };
    if rc < 0 {
        return;
    }
    flags |= FS_NOCOW_FL;
    // SAFETY: FS_IOC_SETFLAGS reads an int from the pointer, valid for the call.
    // Failure is ignored: NOCOW is best effort, as upstream.
    let _ = unsafe { libc::ioctl(file.as_raw_fd(), libc::FS_IOC_SETFLAGS, &flags) };
}

fn flock(file: &File, mode: LockMode, path: &Path) -> Result<(), DiskError> {
    let op = match mode {
        LockMode::None => return Ok(()),
        LockMode::Shared => libc::LOCK_SH,
        LockMode::Exclusive => libc::LOCK_EX,
    };
    loop {
        // SAFETY: flock on a valid, open descriptor.
        let rc = unsafe { libc::flock(file.as_raw_fd(), op) };
        if rc == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(os_err("lock", path, e));
        }
    }
}

/// Opens (or creates) the target and locks it. A partition block device is
/// replaced by its whole disk (node `/dev/NAME`), like upstream.
pub fn open_target(path: &Path, opts: &OpenOptions) -> Result<Target, DiskError> {
    let mut t = open_plain(path, opts)?;
    if t.kind == TargetKind::BlockDevice {
        let whole = blockdev::whole_disk_node(&t.file)
            .map_err(|e| os_err("find the whole disk of", path, e))?;
        if let Some(disk) = whole {
            drop(t);
            t = open_plain(&disk, opts)?;
        }
    }
    Ok(t)
}

fn open_plain(path: &Path, opts: &OpenOptions) -> Result<Target, DiskError> {
    let mut oo = fs::OpenOptions::new();
    oo.read(true).write(opts.writable || opts.create);
    if opts.create {
        oo.create_new(true).mode(0o666);
    }
    oo.custom_flags(libc::O_CLOEXEC | libc::O_NOCTTY);
    let file = oo.open(path).map_err(|source| {
        if opts.create {
            DiskError::Create {
                path: path.to_path_buf(),
                source,
            }
        } else {
            DiskError::Open {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    if opts.create {
        set_nocow(&file);
    }
    let md = file.metadata().map_err(|e| os_err("stat", path, e))?;
    let ft = md.file_type();
    let (kind, total_bytes, kernel_sector_size, topology) = if ft.is_file() {
        (TargetKind::RegularFile, md.len(), None, Topology::default())
    } else if ft.is_block_device() {
        let size = blockdev::size_bytes(&file).map_err(|e| os_err("query size of", path, e))?;
        let ssz = blockdev::logical_sector_size(&file)
            .map_err(|e| os_err("query sector size of", path, e))?;
        (
            TargetKind::BlockDevice,
            size,
            Some(ssz),
            blockdev::topology(&file),
        )
    } else {
        return Err(DiskError::NotFileOrBlockDevice {
            path: path.to_path_buf(),
        });
    };
    flock(&file, opts.lock, path)?;
    let node = if opts.create || kind == TargetKind::BlockDevice {
        path.to_path_buf()
    } else {
        fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
    };
    Ok(Target {
        file,
        path: path.to_path_buf(),
        node,
        kind,
        total_bytes,
        kernel_sector_size,
        topology,
        created: opts.create,
        writable: opts.writable || opts.create,
    })
}

impl Target {
    /// Sector size without `--sector-size=`: the kernel's for block devices,
    /// otherwise the GPT probe (spec §5.1) or 512.
    pub fn default_sector_size(&mut self) -> Result<u64, DiskError> {
        if let Some(ss) = self.kernel_sector_size {
            return Ok(ss);
        }
        let found = gpt::probe_sector_size(&mut self.file).map_err(|e| e.at(&self.node))?;
        Ok(found.unwrap_or(512))
    }

    /// Reads the current label.
    pub fn read_label(&mut self, sector_size: u64) -> Result<Label, DiskError> {
        gpt::read_label(&mut self.file, self.total_bytes, sector_size).map_err(|e| e.at(&self.node))
    }

    /// Reads the label with all details (which header was used, whether the
    /// backup sits at the end, MBR kind).
    pub fn read_gpt(&mut self, sector_size: u64) -> Result<gpt::GptProbe, DiskError> {
        gpt::read_gpt(&mut self.file, self.total_bytes, sector_size).map_err(|e| e.at(&self.node))
    }

    /// The state the planner works on.
    pub fn disk_state(&mut self, sector_size: u64) -> Result<DiskState, DiskError> {
        let label = self.read_label(sector_size)?;
        Ok(DiskState {
            sector_size,
            total_bytes: self.total_bytes,
            label,
        })
    }

    /// Writes `table` (see [`gpt::write_table`]) and fsyncs.
    pub fn write_table(&mut self, sector_size: u64, table: &NewTable) -> Result<(), DiskError> {
        let node = self.node.clone();
        // On a disk, each copy is on stable storage before the next one is touched,
        // so a crash leaves a valid primary (what the kernel reads) with the old or
        // the new table; only a power cut tearing the one primary write can leave
        // just the new backup. An image file being built has no old data to protect:
        // one sync at the end, like upstream.
        let ordered = self.kind == TargetKind::BlockDevice;
        let mut barrier = |f: &mut fs::File, stage: gpt::WriteStage| {
            if ordered {
                f.sync_data().map_err(|e| os_err("sync", &node, e))?;
            }
            crate::shell::fault::point(match stage {
                gpt::WriteStage::BackupWritten => "gpt-backup",
                gpt::WriteStage::PrimaryWritten => "gpt-primary",
            });
            Ok(())
        };
        gpt::write_table_staged(
            &mut self.file,
            self.total_bytes,
            sector_size,
            table,
            &mut barrier,
        )
        .map_err(|e| e.at(&self.node))?;
        self.file
            .sync_all()
            .map_err(|e| os_err("sync", &self.node, e))
    }

    /// Overwrites a byte range with zeros.
    pub fn zero_range(&mut self, offset: u64, len: u64) -> Result<(), DiskError> {
        gpt::zero_range(&mut self.file, offset, len).map_err(|e| e.at(&self.node))
    }

    fn check_grow(&self, new_size: u64) -> Result<(), DiskError> {
        if self.kind != TargetKind::RegularFile {
            return Err(DiskError::NotFileOrBlockDevice {
                path: self.node.clone(),
            });
        }
        if new_size < self.total_bytes {
            return Err(DiskError::Shrink {
                path: self.node.clone(),
                from: self.total_bytes,
                to: new_size,
            });
        }
        Ok(())
    }

    /// Grows a regular file to `new_size` with `ftruncate` (sparse).
    pub fn grow_by_truncation(&mut self, new_size: u64) -> Result<GrowOutcome, DiskError> {
        self.check_grow(new_size)?;
        let from = self.total_bytes;
        self.file
            .set_len(new_size)
            .map_err(|e| os_err("truncate", &self.node, e))?;
        self.total_bytes = new_size;
        Ok(GrowOutcome { from, to: new_size })
    }

    /// Grows a regular file to `new_size` with `fallocate` (allocated blocks;
    /// `--discard=no`).
    pub fn grow_by_allocation(&mut self, new_size: u64) -> Result<GrowOutcome, DiskError> {
        self.check_grow(new_size)?;
        let from = self.total_bytes;
        let len = libc::off_t::try_from(new_size).map_err(|_| {
            os_err(
                "allocate",
                &self.node,
                io::Error::from(io::ErrorKind::InvalidInput),
            )
        })?;
        // SAFETY: fallocate on a valid descriptor with mode 0 (allocate and extend).
        let rc = unsafe { libc::fallocate(self.file.as_raw_fd(), 0, 0, len) };
        if rc < 0 {
            return Err(os_err("allocate", &self.node, io::Error::last_os_error()));
        }
        self.total_bytes = new_size;
        Ok(GrowOutcome { from, to: new_size })
    }

    /// Discards a byte range: punches a hole in a regular file (reads back as
    /// zeros), `BLKDISCARD` on a block device.
    pub fn discard(&mut self, offset: u64, len: u64) -> Result<DiscardOutcome, DiskError> {
        let res = match self.kind {
            TargetKind::RegularFile => {
                let (Ok(o), Ok(l)) = (libc::off_t::try_from(offset), libc::off_t::try_from(len))
                else {
                    return Err(os_err(
                        "discard",
                        &self.node,
                        io::Error::from(io::ErrorKind::InvalidInput),
                    ));
                };
                // SAFETY: fallocate on a valid descriptor; PUNCH_HOLE|KEEP_SIZE
                // does not change the file size.
                let rc = unsafe {
                    libc::fallocate(
                        self.file.as_raw_fd(),
                        libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                        o,
                        l,
                    )
                };
                if rc < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(())
                }
            }
            TargetKind::BlockDevice => {
                // Our own writes to this range (the wipe just before) sit dirty in
                // the disk's page cache. While another holder has the disk claimed
                // (a mounted partition: the normal case in an initrd) BLKDISCARD
                // can only invalidate clean pages and fails with EBUSY otherwise,
                // so write them back first. Upstream's blkid wipe writes nothing
                // where there is no signature, so it never hits this.
                self.write_back(offset, len)
                    .and_then(|()| blockdev::discard(&self.file, offset, len))
            }
        };
        match res {
            Ok(()) => Ok(DiscardOutcome::Discarded),
            Err(e) => match e.raw_os_error() {
                Some(libc::EOPNOTSUPP | libc::ENOTTY | libc::ENOSYS) => {
                    Ok(DiscardOutcome::Unsupported)
                }
                Some(libc::EBUSY) => Ok(DiscardOutcome::Busy),
                _ => Err(os_err("discard", &self.node, e)),
            },
        }
    }

    /// Writes back (and waits for) dirty cached pages of a byte range.
    fn write_back(&self, offset: u64, len: u64) -> io::Result<()> {
        let invalid = || io::Error::from(io::ErrorKind::InvalidInput);
        let o = libc::off64_t::try_from(offset).map_err(|_| invalid())?;
        let l = libc::off64_t::try_from(len).map_err(|_| invalid())?;
        let flags = libc::SYNC_FILE_RANGE_WAIT_BEFORE
            | libc::SYNC_FILE_RANGE_WRITE
            | libc::SYNC_FILE_RANGE_WAIT_AFTER;
        // SAFETY: sync_file_range on a valid descriptor; no memory is passed.
        let rc = unsafe { libc::sync_file_range(self.file.as_raw_fd(), o, l, flags) };
        if rc < 0 {
            return self.file.sync_data();
        }
        Ok(())
    }

    /// Whether the kernel creates partition devices for this target (false for
    /// regular files and loop devices without partition scanning).
    pub fn partition_scanning_enabled(&self) -> bool {
        self.kind == TargetKind::BlockDevice
            && blockdev::partition_scanning_enabled(&self.file).unwrap_or(false)
    }

    /// `BLKPG_ADD_PARTITION` for 0-based slot `partno` (kernel number `partno + 1`).
    pub fn kernel_add_partition(
        &self,
        partno: u32,
        offset: u64,
        size: u64,
    ) -> Result<(), DiskError> {
        blockdev::add_partition(&self.file, partno.saturating_add(1), offset, size)
            .map_err(|e| os_err("add kernel partition to", &self.node, e))
    }

    /// `BLKPG_RESIZE_PARTITION` for 0-based slot `partno`.
    pub fn kernel_resize_partition(
        &self,
        partno: u32,
        offset: u64,
        size: u64,
    ) -> Result<(), DiskError> {
        blockdev::resize_partition(&self.file, partno.saturating_add(1), offset, size)
            .map_err(|e| os_err("resize kernel partition of", &self.node, e))
    }

    /// `BLKRRPART`.
    pub fn reread_partition_table(&self) -> Result<(), DiskError> {
        blockdev::reread_partition_table(&self.file)
            .map_err(|e| os_err("reread partition table of", &self.node, e))
    }

    /// Removes a file this run created (cleanup after a failed `--empty=create`).
    pub fn remove_created(&self) -> Result<(), DiskError> {
        if self.created {
            fs::remove_file(&self.path).map_err(|e| os_err("remove", &self.path, e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn create_refuses_existing_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("img.raw");
        let t = open_target(&p, &OpenOptions::for_run(false, true)).expect("create");
        assert!(t.created);
        assert_eq!(t.total_bytes, 0);
        assert_eq!(t.node, p);
        drop(t);
        let err = open_target(&p, &OpenOptions::for_run(false, true)).expect_err("exists");
        assert_eq!(
            err.to_string(),
            format!("Failed to create '{}': File exists", p.display())
        );
    }

    #[test]
    fn open_missing_file_names_it() {
        let err = open_target(
            Path::new("/nonexistent/x.raw"),
            &OpenOptions::for_run(true, false),
        )
        .expect_err("missing");
        assert_eq!(
            err.to_string(),
            "Failed to open file or determine backing device of /nonexistent/x.raw: No such file or directory"
        );
    }

    #[test]
    fn directory_is_rejected() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = open_target(dir.path(), &OpenOptions::for_run(true, false)).expect_err("dir");
        assert!(matches!(err, DiskError::NotFileOrBlockDevice { .. }));
    }

    #[test]
    fn grow_write_read_discard_on_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("img.raw");
        let mut t = open_target(&p, &OpenOptions::for_run(false, true)).expect("create");
        let g = t.grow_by_truncation(8 << 20).expect("grow");
        assert_eq!(
            g,
            GrowOutcome {
                from: 0,
                to: 8 << 20
            }
        );
        assert!(matches!(
            t.grow_by_truncation(1 << 20),
            Err(DiskError::Shrink { .. })
        ));
        assert_eq!(t.default_sector_size().expect("probe"), 512);
        assert_eq!(t.read_label(512).expect("label"), Label::None);
        let table = NewTable::fresh(Uuid::from_u128(7), t.total_bytes, 512);
        t.write_table(512, &table).expect("write");
        assert!(matches!(t.read_label(512).expect("label"), Label::Gpt(_)));
        assert_eq!(t.default_sector_size().expect("probe"), 512);
        // Punching a hole over the primary header makes the reader use the backup.
        assert_eq!(
            t.discard(512, 512).expect("discard"),
            DiscardOutcome::Discarded
        );
        assert!(matches!(t.read_label(512).expect("label"), Label::Gpt(_)));
        let g = t.grow_by_allocation(9 << 20).expect("alloc");
        assert_eq!(g.to, 9 << 20);
        assert!(!t.partition_scanning_enabled());
        t.remove_created().expect("remove");
        assert!(!p.exists());
    }

    /// Needs root and loop devices (returns early without them). The wipe before a
    /// discard leaves dirty pages; with a partition of the disk claimed (as when it
    /// is mounted in an initrd) BLKDISCARD used to fail with EBUSY because of them.
    #[test]
    fn discard_after_write_while_a_partition_is_claimed() {
        use std::process::Command;
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipping: not root");
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let img = dir.path().join("img");
        File::create(&img)
            .expect("create")
            .set_len(64 << 20)
            .expect("len");
        let Ok(out) = Command::new("losetup")
            .args(["--find", "--show"])
            .arg(&img)
            .output()
        else {
            eprintln!("skipping: no losetup");
            return;
        };
        if !out.status.success() {
            eprintln!("skipping: no loop devices");
            return;
        }
        let dev = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().to_string());
        struct Detach(PathBuf);
        impl Drop for Detach {
            fn drop(&mut self) {
                let _ = Command::new("losetup").arg("-d").arg(&self.0).status();
            }
        }
        let _detach = Detach(dev.clone());

        let mut t = open_target(&dev, &OpenOptions::for_run(false, false)).expect("open");
        assert_eq!(t.kind, TargetKind::BlockDevice);
        blockdev::add_partition(&t.file, 1, 1 << 20, 8 << 20).expect("BLKPG add");
        let part = PathBuf::from(format!("{}p1", dev.display()));
        let mut waited = 0;
        while !part.exists() && waited < 50 {
            std::thread::sleep(std::time::Duration::from_millis(20));
            waited += 1;
        }
        if !part.exists() {
            let _ = blockdev::delete_partition(&t.file, 1);
            eprintln!("skipping: no partition node appeared");
            return;
        }
        // O_EXCL on a block device claims it, like a mount does.
        let claim = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_EXCL)
            .open(&part)
            .expect("claim partition");
        t.zero_range(32 << 20, 1 << 20).expect("zero");
        assert_eq!(
            t.discard(32 << 20, 1 << 20).expect("discard"),
            DiscardOutcome::Discarded
        );
        drop(claim);
        blockdev::delete_partition(&t.file, 1).expect("BLKPG delete");
    }

    #[test]
    fn shared_locks_coexist_exclusive_blocks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("img.raw");
        File::create(&p)
            .expect("create")
            .set_len(1 << 20)
            .expect("len");
        let a = open_target(&p, &OpenOptions::for_run(true, false)).expect("a");
        let b = open_target(&p, &OpenOptions::for_run(true, false)).expect("b");
        assert_eq!(a.node, fs::canonicalize(&p).expect("canon"));
        // A non-blocking exclusive attempt on a third descriptor must fail.
        let c = File::open(&p).expect("c");
        // SAFETY: flock on a valid descriptor.
        let rc = unsafe { libc::flock(c.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        assert_eq!(rc, -1);
        drop((a, b));
        // SAFETY: as above.
        let rc = unsafe { libc::flock(c.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        assert_eq!(rc, 0);
    }
}
