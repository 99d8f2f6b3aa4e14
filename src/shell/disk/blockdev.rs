//! Block-device ioctls: size, sector size and topology queries, BLKPG partition
//! add/resize/delete, BLKRRPART and BLKDISCARD, plus the sysfs check for kernel
//! partition scanning.
//!
//! Every function takes an open file descriptor and returns the raw
//! `io::Error`; callers attach the device path (see [`super::target::Target`]).

use std::fs;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use crate::pure::plan::geometry::Topology;

/// `_IO`/`_IOR`/`_IOW` encoding of the "generic" Linux ioctl layout (x86, arm, riscv).
const fn ioc(dir: u32, ty: u32, nr: u32, size: u32) -> u32 {
    (dir << 30) | (size << 16) | (ty << 8) | nr
}

const IOC_READ: u32 = 2;
/// `BLKGETSIZE64`: `_IOR(0x12, 114, size_t)`.
const BLKGETSIZE64: u32 = ioc(IOC_READ, 0x12, 114, std::mem::size_of::<usize>() as u32);
/// `BLKRRPART`: `_IO(0x12, 95)`.
const BLKRRPART: u32 = ioc(0, 0x12, 95, 0);
/// `BLKSSZGET`: `_IO(0x12, 104)`.
const BLKSSZGET: u32 = ioc(0, 0x12, 104, 0);
/// `BLKPG`: `_IO(0x12, 105)`.
const BLKPG: u32 = ioc(0, 0x12, 105, 0);
/// `BLKDISCARD`: `_IO(0x12, 119)`.
const BLKDISCARD: u32 = ioc(0, 0x12, 119, 0);
/// `BLKIOMIN`: `_IO(0x12, 120)`.
const BLKIOMIN: u32 = ioc(0, 0x12, 120, 0);
/// `BLKIOOPT`: `_IO(0x12, 121)`.
const BLKIOOPT: u32 = ioc(0, 0x12, 121, 0);
/// `BLKALIGNOFF`: `_IO(0x12, 122)`.
const BLKALIGNOFF: u32 = ioc(0, 0x12, 122, 0);
/// `BLKPBSZGET`: `_IO(0x12, 123)`.
const BLKPBSZGET: u32 = ioc(0, 0x12, 123, 0);

const BLKPG_ADD_PARTITION: libc::c_int = 1;
const BLKPG_DEL_PARTITION: libc::c_int = 2;
const BLKPG_RESIZE_PARTITION: libc::c_int = 3;

/// `struct blkpg_ioctl_arg` from `<linux/blkpg.h>`.
#[repr(C)]
struct BlkpgIoctlArg {
    op: libc::c_int,
    flags: libc::c_int,
    datalen: libc::c_int,
    data: *mut libc::c_void,
}

/// `struct blkpg_partition` from `<linux/blkpg.h>`.
#[repr(C)]
struct BlkpgPartition {
    start: libc::c_longlong,
    length: libc::c_longlong,
    pno: libc::c_int,
    devname: [libc::c_char; 64],
    volname: [libc::c_char; 64],
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Size of the block device in bytes (`BLKGETSIZE64`).
pub fn size_bytes(fd: &impl AsRawFd) -> io::Result<u64> {
    let mut size: u64 = 0;
    // SAFETY: BLKGETSIZE64 writes one u64 through the pointer, which points to a
    // live, properly aligned u64 for the duration of the call.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), BLKGETSIZE64 as _, &mut size as *mut u64) })?;
    Ok(size)
}

fn int_ioctl(fd: &impl AsRawFd, req: u32) -> io::Result<u64> {
    let mut v: libc::c_int = 0;
    // SAFETY: these BLK* queries write one int through the pointer, which points to
    // a live c_int for the duration of the call.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), req as _, &mut v as *mut libc::c_int) })?;
    u64::try_from(v).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))
}

fn uint_ioctl(fd: &impl AsRawFd, req: u32) -> io::Result<u64> {
    let mut v: libc::c_uint = 0;
    // SAFETY: BLKIOMIN/BLKIOOPT/BLKPBSZGET write one unsigned int through the
    // pointer, which points to a live c_uint for the duration of the call.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), req as _, &mut v as *mut libc::c_uint) })?;
    Ok(u64::from(v))
}

/// Logical sector size (`BLKSSZGET`).
pub fn logical_sector_size(fd: &impl AsRawFd) -> io::Result<u64> {
    int_ioctl(fd, BLKSSZGET)
}

/// Physical sector size, minimum/optimal I/O size and alignment offset.
/// Queries that fail are reported as 0 (unknown).
pub fn topology(fd: &impl AsRawFd) -> Topology {
    Topology {
        physical_sector_size: uint_ioctl(fd, BLKPBSZGET).unwrap_or(0),
        minimum_io_size: uint_ioctl(fd, BLKIOMIN).unwrap_or(0),
        optimal_io_size: uint_ioctl(fd, BLKIOOPT).unwrap_or(0),
        alignment_offset: int_ioctl(fd, BLKALIGNOFF).unwrap_or(0),
    }
}

fn blkpg(fd: &impl AsRawFd, op: libc::c_int, pno: u32, start: u64, length: u64) -> io::Result<()> {
    let invalid = || io::Error::from(io::ErrorKind::InvalidInput);
    let mut part = BlkpgPartition {
        start: i64::try_from(start).map_err(|_| invalid())?,
        length: i64::try_from(length).map_err(|_| invalid())?,
        pno: libc::c_int::try_from(pno).map_err(|_| invalid())?,
        devname: [0; 64],
        volname: [0; 64],
    };
    let mut arg = BlkpgIoctlArg {
        op,
        flags: 0,
        datalen: std::mem::size_of::<BlkpgPartition>() as libc::c_int,
        data: (&mut part as *mut BlkpgPartition).cast(),
    };
    // SAFETY: BLKPG reads a blkpg_ioctl_arg whose `data` points to a
    // blkpg_partition of `datalen` bytes; both are #[repr(C)] mirrors of the kernel
    // structs and outlive the call.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), BLKPG as _, &mut arg as *mut BlkpgIoctlArg) })
}

/// Tells the kernel about a new partition `pno` (1-based, like the node
/// suffix) at byte `start` with `length` bytes (`BLKPG_ADD_PARTITION`).
pub fn add_partition(fd: &impl AsRawFd, pno: u32, start: u64, length: u64) -> io::Result<()> {
    blkpg(fd, BLKPG_ADD_PARTITION, pno, start, length)
}

/// Changes the size of kernel partition `pno` (1-based); `start` must match
/// the kernel's idea of its start (`BLKPG_RESIZE_PARTITION`).
pub fn resize_partition(fd: &impl AsRawFd, pno: u32, start: u64, length: u64) -> io::Result<()> {
    blkpg(fd, BLKPG_RESIZE_PARTITION, pno, start, length)
}

/// Removes kernel partition `pno` (1-based) (`BLKPG_DEL_PARTITION`).
pub fn delete_partition(fd: &impl AsRawFd, pno: u32) -> io::Result<()> {
    blkpg(fd, BLKPG_DEL_PARTITION, pno, 0, 0)
}

/// Asks the kernel to re-read the partition table (`BLKRRPART`).
pub fn reread_partition_table(fd: &impl AsRawFd) -> io::Result<()> {
    // SAFETY: BLKRRPART takes no argument.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), BLKRRPART as _, 0) })
}

/// Discards `length` bytes at `offset` (`BLKDISCARD`).
pub fn discard(fd: &impl AsRawFd, offset: u64, length: u64) -> io::Result<()> {
    let mut range: [u64; 2] = [offset, length];
    // SAFETY: BLKDISCARD reads two u64 (start, length) from the pointer, which
    // points to a live [u64; 2] for the duration of the call.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), BLKDISCARD as _, range.as_mut_ptr()) })
}

/// Whether the kernel creates partition devices for this disk: the `partscan`
/// sysfs attribute where the kernel has it (6.x); otherwise the disk must allow
/// more than one minor (`ext_range` > 1) and not have `GENHD_FL_NO_PART` (0x200)
/// in its `capability` flags (loop devices attached without `-P`).
pub fn partition_scanning_enabled(file: &fs::File) -> io::Result<bool> {
    let md = file.metadata()?;
    if !md.file_type().is_block_device() {
        return Ok(false);
    }
    let rdev = md.rdev();
    let dir = format!("/sys/dev/block/{}:{}", libc::major(rdev), libc::minor(rdev));
    let read = |name: &str| fs::read_to_string(format!("{dir}/{name}"));
    if let Ok(v) = read("partscan") {
        return Ok(v.trim() == "1");
    }
    let ext_range: u64 = read("ext_range")?.trim().parse().unwrap_or(0);
    if ext_range <= 1 {
        return Ok(false);
    }
    let cap = read("capability")
        .ok()
        .and_then(|s| u64::from_str_radix(s.trim(), 16).ok())
        .unwrap_or(0);
    Ok(cap & 0x200 == 0)
}

/// If `file` is a partition block device, the `/dev` node of its whole disk
/// (from sysfs: the parent of `/sys/dev/block/MAJ:MIN` and its `DEVNAME`).
/// `None` for whole disks and non-block files. Device-mapper stacks are not
/// followed.
pub fn whole_disk_node(file: &fs::File) -> io::Result<Option<std::path::PathBuf>> {
    let md = file.metadata()?;
    if !md.file_type().is_block_device() {
        return Ok(None);
    }
    let rdev = md.rdev();
    let dir = format!("/sys/dev/block/{}:{}", libc::major(rdev), libc::minor(rdev));
    if fs::metadata(format!("{dir}/partition")).is_err() {
        return Ok(None);
    }
    let parent = fs::canonicalize(format!("{dir}/.."))?;
    let uevent = fs::read_to_string(parent.join("uevent"))?;
    let name = uevent
        .lines()
        .find_map(|l| l.strip_prefix("DEVNAME="))
        .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
    Ok(Some(std::path::Path::new("/dev").join(name)))
}

#[cfg(test)]
mod tests {
    //! These need root and `losetup`; they attach a loop device to an image
    //! they create, and always detach exactly that device. Without root or
    //! loop support they return early.
    use super::*;
    use std::path::PathBuf;
    use std::process::Command;

    struct Loop {
        dev: PathBuf,
        _dir: tempfile::TempDir,
    }

    impl Loop {
        fn attach(size: u64, sector_size: u64) -> Option<Loop> {
            // SAFETY: geteuid has no preconditions.
            if unsafe { libc::geteuid() } != 0 {
                return None;
            }
            let dir = tempfile::tempdir().ok()?;
            let img = dir.path().join("img");
            fs::File::create(&img).ok()?.set_len(size).ok()?;
            let out = Command::new("losetup")
                .args([
                    "--find",
                    "--show",
                    "--sector-size",
                    &sector_size.to_string(),
                ])
                .arg(&img)
                .output()
                .ok()?;
            if !out.status.success() {
                return None;
            }
            let dev = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
            Some(Loop { dev, _dir: dir })
        }

        fn sysfs_part(&self, pno: u32, attr: &str) -> Option<u64> {
            let name = self.dev.file_name()?.to_str()?.to_string();
            let p = format!("/sys/class/block/{name}/{name}p{pno}/{attr}");
            fs::read_to_string(p).ok()?.trim().parse().ok()
        }
    }

    impl Drop for Loop {
        fn drop(&mut self) {
            let _ = Command::new("losetup").arg("-d").arg(&self.dev).status();
        }
    }

    fn loop_roundtrip(sector_size: u64) {
        let Some(lo) = Loop::attach(64 << 20, sector_size) else {
            eprintln!("skipping: no root or no loop devices");
            return;
        };
        let f = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&lo.dev)
            .expect("open loop device");
        assert_eq!(size_bytes(&f).expect("size"), 64 << 20);
        assert_eq!(logical_sector_size(&f).expect("ssz"), sector_size);
        let topo = topology(&f);
        assert!(topo.physical_sector_size >= sector_size);
        add_partition(&f, 1, 1 << 20, 4 << 20).expect("add");
        // sysfs always counts 512-byte units.
        assert_eq!(lo.sysfs_part(1, "start"), Some(2048));
        assert_eq!(lo.sysfs_part(1, "size"), Some(8192));
        resize_partition(&f, 1, 1 << 20, 8 << 20).expect("resize");
        assert_eq!(lo.sysfs_part(1, "size"), Some(16384));
        assert!(
            add_partition(&f, 2, 2 << 20, 1 << 20).is_err(),
            "overlap must fail"
        );
        // A partition node resolves to its disk, and open_target follows it.
        let part = PathBuf::from(format!("{}p1", lo.dev.display()));
        if part.exists() {
            let pf = fs::File::open(&part).expect("open partition");
            assert_eq!(whole_disk_node(&pf).expect("whole"), Some(lo.dev.clone()));
            drop(pf);
            let t = crate::shell::disk::open_target(
                &part,
                &crate::shell::disk::OpenOptions {
                    writable: false,
                    create: false,
                    lock: crate::shell::disk::LockMode::None,
                },
            )
            .expect("open_target");
            assert_eq!(t.node, lo.dev);
            assert_eq!(t.total_bytes, 64 << 20);
        }
        assert_eq!(whole_disk_node(&f).expect("whole"), None);
        delete_partition(&f, 1).expect("delete");
        assert_eq!(lo.sysfs_part(1, "size"), None);
        // Without -P the loop device does not scan partitions.
        assert!(!partition_scanning_enabled(&f).expect("partscan"));
        discard(&f, 0, 1 << 20).expect("discard");
    }

    #[test]
    fn loop_device_512() {
        loop_roundtrip(512);
    }

    #[test]
    fn loop_device_4096() {
        loop_roundtrip(4096);
    }

    #[test]
    fn regular_file_is_not_a_block_device() {
        let f = tempfile::tempfile().expect("tempfile");
        assert!(size_bytes(&f).is_err());
        assert!(!partition_scanning_enabled(&f).expect("partscan"));
    }
}
