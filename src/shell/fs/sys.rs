//! Thin wrappers over the few syscalls std does not cover: timestamps without following
//! symlinks, extended attributes, device nodes, effective ids and the umask.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn cpath(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))
}

/// A timestamp as (seconds, nanoseconds).
pub type Time = (i64, i64);

/// Sets atime and mtime of `path` without following a final symlink.
pub fn set_times(path: &Path, atime: Time, mtime: Time) -> io::Result<()> {
    set_times_opt(path, Some(atime), Some(mtime))
}

/// Like [`set_times`], leaving a `None` timestamp as it is (`UTIME_OMIT`).
pub fn set_times_opt(path: &Path, atime: Option<Time>, mtime: Option<Time>) -> io::Result<()> {
    let c = cpath(path)?;
    let spec = |t: Option<Time>| match t {
        Some((sec, nsec)) => libc::timespec {
            tv_sec: sec as libc::time_t,
            tv_nsec: nsec as libc::c_long,
        },
        None => libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
    };
    let ts = [spec(atime), spec(mtime)];
    // SAFETY: `c` is a valid NUL-terminated string and `ts` points to two timespecs.
    let r = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            ts.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Copies all extended attributes of `from` to `to` (neither followed if a symlink).
/// Best effort: attributes the target refuses are skipped.
pub fn copy_xattrs(from: &Path, to: &Path) {
    let (Ok(f), Ok(t)) = (cpath(from), cpath(to)) else {
        return;
    };
    let mut names = vec![0u8; 4096];
    // SAFETY: buffer pointer and length describe `names`.
    let n = unsafe { libc::llistxattr(f.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
    if n <= 0 {
        return;
    }
    names.truncate(n as usize);
    for name in names.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let Ok(cname) = CString::new(name) else {
            continue;
        };
        let mut value = vec![0u8; 65536];
        // SAFETY: valid C strings and a buffer of the given length.
        let len = unsafe {
            libc::lgetxattr(
                f.as_ptr(),
                cname.as_ptr(),
                value.as_mut_ptr().cast(),
                value.len(),
            )
        };
        if len < 0 {
            continue;
        }
        // SAFETY: valid C strings and a buffer of at least `len` bytes.
        unsafe {
            libc::lsetxattr(
                t.as_ptr(),
                cname.as_ptr(),
                value.as_ptr().cast(),
                len as usize,
                0,
            );
        }
    }
}

/// Creates a FIFO, socket or device node like `mknod(2)`.
pub fn mknod(path: &Path, mode: u32, rdev: u64) -> io::Result<()> {
    let c = cpath(path)?;
    // SAFETY: valid C string.
    let r = unsafe { libc::mknod(c.as_ptr(), mode as libc::mode_t, rdev as libc::dev_t) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The effective user and group ids of this process.
pub fn effective_ids() -> (u32, u32) {
    // SAFETY: these calls cannot fail.
    unsafe { (libc::geteuid(), libc::getegid()) }
}

/// The process umask, read from `/proc/self/status` (0o022 if unavailable).
pub fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

/// Now, in seconds since the epoch.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Bytes of `file` that hold data, walking `SEEK_DATA`/`SEEK_HOLE` (unwritten extents, such
/// as mke2fs' zeroed journal, count as holes on the usual host file systems).
pub fn data_bytes(file: &std::fs::File) -> io::Result<u64> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    let size = file.metadata()?.len() as libc::off_t;
    let (mut offset, mut total) = (0 as libc::off_t, 0u64);
    while offset < size {
        // SAFETY: plain lseek on a descriptor we own.
        let start = unsafe { libc::lseek(fd, offset, libc::SEEK_DATA) };
        if start < 0 {
            let e = io::Error::last_os_error();
            return if e.raw_os_error() == Some(libc::ENXIO) {
                Ok(total)
            } else {
                Err(e)
            };
        }
        // SAFETY: as above.
        let end = unsafe { libc::lseek(fd, start, libc::SEEK_HOLE) };
        if end < 0 {
            return Err(io::Error::last_os_error());
        }
        total += (end - start) as u64;
        offset = end;
    }
    Ok(total)
}
