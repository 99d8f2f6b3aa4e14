//! A loop device cut out of the target (offset and size limit), as upstream 257 makes
//! one for a new encrypted partition: LUKS2 is formatted on it and the file system made
//! through dm-crypt on top, so only what mkfs writes reaches the disk.
//!
//! `LOOP_CTL_GET_FREE` on `/dev/loop-control` (under its lock, retried when another
//! process takes the same number), then `LOOP_CONFIGURE`, or on kernels without it
//! `LOOP_SET_FD` + `LOOP_SET_BLOCK_SIZE` + `LOOP_SET_STATUS64`. The device is made with
//! `LO_FLAGS_AUTOCLEAR` and detached again (`LOOP_CLR_FD`) when dropped or when the run
//! is killed.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

const LOOP_SET_FD: libc::c_ulong = 0x4C00;
const LOOP_CLR_FD: libc::c_ulong = 0x4C01;
const LOOP_SET_STATUS64: libc::c_ulong = 0x4C04;
const LOOP_GET_STATUS64: libc::c_ulong = 0x4C05;
const LOOP_SET_BLOCK_SIZE: libc::c_ulong = 0x4C09;
const LOOP_CONFIGURE: libc::c_ulong = 0x4C0A;
const LOOP_CTL_GET_FREE: libc::c_ulong = 0x4C82;
const LO_FLAGS_AUTOCLEAR: u32 = 4;
/// Attempts before giving up when other processes keep taking the free device.
const ATTEMPTS: u32 = 64;

/// `struct loop_info64` from `<linux/loop.h>`.
#[repr(C)]
#[derive(Clone, Copy)]
struct LoopInfo64 {
    lo_device: u64,
    lo_inode: u64,
    lo_rdevice: u64,
    lo_offset: u64,
    lo_sizelimit: u64,
    lo_number: u32,
    lo_encrypt_type: u32,
    lo_encrypt_key_size: u32,
    lo_flags: u32,
    lo_file_name: [u8; 64],
    lo_crypt_name: [u8; 64],
    lo_encrypt_key: [u8; 32],
    lo_init: [u64; 2],
}

/// `struct loop_config` from `<linux/loop.h>`.
#[repr(C)]
struct LoopConfig {
    fd: u32,
    block_size: u32,
    info: LoopInfo64,
    reserved: [u64; 8],
}

fn zeroed_info() -> LoopInfo64 {
    // SAFETY: plain integers and byte arrays; all zeroes is a valid value.
    unsafe { std::mem::zeroed() }
}

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// An attached loop device; detached on drop.
#[derive(Debug)]
pub struct LoopDevice {
    file: File,
    node: PathBuf,
    _on_signal: crate::shell::signal_cleanup::Undo,
}

impl LoopDevice {
    /// Attaches `size` bytes of `backing` from `offset` with `block_size`-byte sectors
    /// and locks the new device exclusively (so udev leaves it alone). The error is the
    /// raw OS error: ENOENT without loop support, EACCES/EPERM without privileges.
    pub fn attach(backing: &File, offset: u64, size: u64, block_size: u32) -> io::Result<Self> {
        let control = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK)
            .open("/dev/loop-control")?;
        // The device keeps its backing open file description until it is cleared, and a
        // dm-crypt mapping on it keeps it from being cleared even after this process is
        // killed. Handing it the caller's description would hand it the caller's flock on
        // the target too: a rerun after a crash would then wait for that lock forever. A
        // description of its own, as upstream (loop_device_make reopens the descriptor with
        // O_DIRECT for its default LO_FLAGS_DIRECT_IO).
        let backing = reopen(backing)?;
        let mut info = zeroed_info();
        info.lo_offset = offset;
        info.lo_sizelimit = size;
        info.lo_flags = LO_FLAGS_AUTOCLEAR;
        let config = LoopConfig {
            fd: backing.as_raw_fd() as u32,
            block_size,
            info,
            reserved: [0; 8],
        };
        let mut attempt = 0;
        loop {
            // Serialises allocation with other users of the same lock (udev, systemd).
            // SAFETY: flock on an open descriptor.
            check(unsafe { libc::flock(control.as_raw_fd(), libc::LOCK_EX) })?;
            // SAFETY: LOOP_CTL_GET_FREE takes no argument.
            let nr = check(unsafe { libc::ioctl(control.as_raw_fd(), LOOP_CTL_GET_FREE as _) })?;
            match configure(nr, &config) {
                Ok((file, node)) => {
                    let fd = file.as_raw_fd();
                    let on_signal = crate::shell::signal_cleanup::on_signal(Box::new(move || {
                        clear(fd);
                    }));
                    return Ok(LoopDevice {
                        file,
                        node,
                        _on_signal: on_signal,
                    });
                }
                // Someone else took (or removed) the device between the two calls.
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EBUSY | libc::ENODEV | libc::ENXIO | libc::ENOENT)
                    ) && attempt + 1 < ATTEMPTS =>
                {
                    attempt += 1;
                    // SAFETY: as above.
                    unsafe { libc::flock(control.as_raw_fd(), libc::LOCK_UN) };
                    std::thread::sleep(std::time::Duration::from_millis(10 + u64::from(attempt)));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The device node (`/dev/loopN`).
    pub fn node(&self) -> &Path {
        &self.node
    }

    /// Flushes what was written through the device to the backing file or disk.
    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_all()
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        clear(self.file.as_raw_fd());
    }
}

/// A new open file description of what `file` refers to, read-write (no locks on it).
fn reopen(file: &File) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK)
        .open(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

/// Detaches the device behind `fd` (with AUTOCLEAR the kernel finishes it once the
/// last user, e.g. a dm-crypt mapping, lets go).
fn clear(fd: RawFd) {
    // SAFETY: LOOP_CLR_FD takes no argument; a stale descriptor only yields an error.
    unsafe { libc::ioctl(fd, LOOP_CLR_FD as _) };
}

/// Binds `config` to `/dev/loopNR`, returning the open, locked device.
fn configure(nr: libc::c_int, config: &LoopConfig) -> io::Result<(File, PathBuf)> {
    let node = PathBuf::from(format!("/dev/loop{nr}"));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK)
        .open(&node)?;
    let fd = file.as_raw_fd();
    // SAFETY: LOOP_CONFIGURE reads a struct loop_config that outlives the call.
    let rc = unsafe { libc::ioctl(fd, LOOP_CONFIGURE as _, config as *const LoopConfig) };
    if rc < 0 {
        let err = io::Error::last_os_error();
        // Kernels before 5.8 know no LOOP_CONFIGURE: the three older calls instead.
        if !matches!(err.raw_os_error(), Some(libc::EINVAL | libc::ENOTTY)) {
            return Err(err);
        }
        configure_fallback(fd, config)?;
    } else if !applied(fd, &config.info) {
        // Some kernels ignored the offset/size of LOOP_CONFIGURE: set them again.
        set_status(fd, &config.info)?;
    }
    // SAFETY: flock on an open descriptor.
    check(unsafe { libc::flock(fd, libc::LOCK_EX) })?;
    Ok((file, node))
}

fn configure_fallback(fd: RawFd, config: &LoopConfig) -> io::Result<()> {
    // SAFETY: LOOP_SET_FD takes the backing descriptor as its argument.
    check(unsafe { libc::ioctl(fd, LOOP_SET_FD as _, config.fd as libc::c_ulong) })?;
    let result = (|| {
        retry_eagain(|| {
            // SAFETY: LOOP_SET_BLOCK_SIZE takes the size as its argument.
            unsafe {
                libc::ioctl(
                    fd,
                    LOOP_SET_BLOCK_SIZE as _,
                    libc::c_ulong::from(config.block_size),
                )
            }
        })?;
        set_status(fd, &config.info)
    })();
    if result.is_err() {
        clear(fd);
    }
    result
}

fn set_status(fd: RawFd, info: &LoopInfo64) -> io::Result<()> {
    // SAFETY: LOOP_SET_STATUS64 reads a struct loop_info64 that outlives the call.
    retry_eagain(|| unsafe { libc::ioctl(fd, LOOP_SET_STATUS64 as _, info as *const LoopInfo64) })
}

/// The loop driver answers EAGAIN while it still flushes the page cache.
fn retry_eagain(mut call: impl FnMut() -> libc::c_int) -> io::Result<()> {
    for _ in 0..64 {
        match check(call()) {
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => return other.map(|_| ()),
        }
    }
    check(call()).map(|_| ())
}

/// Whether the device reports the offset and size limit asked for.
fn applied(fd: RawFd, wanted: &LoopInfo64) -> bool {
    let mut got = zeroed_info();
    // SAFETY: LOOP_GET_STATUS64 writes a struct loop_info64 we own.
    let rc = unsafe { libc::ioctl(fd, LOOP_GET_STATUS64 as _, &mut got as *mut LoopInfo64) };
    rc >= 0 && got.lo_offset == wanted.lo_offset && got.lo_sizelimit == wanted.lo_sizelimit
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek, SeekFrom, Write};

    #[test]
    fn kernel_structs_have_the_kernel_layout() {
        assert_eq!(size_of::<LoopInfo64>(), 232);
        assert_eq!(size_of::<LoopConfig>(), 304);
    }

    #[test]
    fn a_slice_of_a_file_becomes_a_device_and_goes_again() {
        let mut backing = tempfile::tempfile().unwrap();
        backing.set_len(8 << 20).unwrap();
        let lo = match LoopDevice::attach(&backing, 2 << 20, 4 << 20, 512) {
            Ok(lo) => lo,
            Err(e) => {
                eprintln!("skipping: no loop devices here ({e})");
                return;
            }
        };
        let node = lo.node().to_path_buf();
        let mut dev = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&node)
            .unwrap();
        assert_eq!(
            crate::shell::disk::blockdev::size_bytes(&dev).unwrap(),
            4 << 20
        );
        dev.write_all(b"through the loop").unwrap();
        dev.sync_all().unwrap();
        drop(dev);
        lo.sync().unwrap();
        let mut seen = [0u8; 16];
        backing.seek(SeekFrom::Start(2 << 20)).unwrap();
        backing.read_exact(&mut seen).unwrap();
        assert_eq!(&seen, b"through the loop");
        drop(lo);
        // Detached: the sysfs backing_file entry is gone.
        let name = node.file_name().unwrap().to_string_lossy().into_owned();
        let backing_file = format!("/sys/block/{name}/loop/backing_file");
        for _ in 0..50 {
            if !Path::new(&backing_file).exists() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("{node:?} still attached");
    }

    #[test]
    fn the_device_does_not_keep_the_callers_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk");
        let backing = File::create_new(&path).unwrap();
        backing.set_len(8 << 20).unwrap();
        // SAFETY: flock on an open descriptor.
        assert_eq!(
            unsafe { libc::flock(backing.as_raw_fd(), libc::LOCK_EX) },
            0
        );
        let lo = match LoopDevice::attach(&backing, 2 << 20, 4 << 20, 512) {
            Ok(lo) => lo,
            Err(e) => {
                eprintln!("skipping: no loop devices here ({e})");
                return;
            }
        };
        // The caller goes (as a killed run's descriptors do) while the device stays.
        drop(backing);
        let again = File::open(&path).unwrap();
        // SAFETY: as above.
        let rc = unsafe { libc::flock(again.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        assert_eq!(rc, 0, "the loop device still holds the lock");
        drop(lo);
    }
}
