//! Copying a prepared partition image (a sparse temp file) into the target at the
//! partition's offset: only data extents are copied (SEEK_DATA/SEEK_HOLE), with
//! `copy_file_range` so the kernel can reflink or copy without a user-space buffer.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// Copies `len` bytes of `src` starting at `from` into `dst` at `offset`, skipping
/// holes. Returns bytes copied.
pub fn copy_sparse(src: &File, from: u64, len: u64, dst: &File, offset: u64) -> io::Result<u64> {
    let end = from.saturating_add(len);
    let mut copied = 0u64;
    let mut pos = from;
    while pos < end {
        let Some(data) = seek(src, pos, libc::SEEK_DATA)? else {
            break;
        };
        if data >= end {
            break;
        }
        let hole = seek(src, data, libc::SEEK_HOLE)?.unwrap_or(end).min(end);
        copy_range(src, data, dst, offset + (data - from), hole - data)?;
        copied += hole - data;
        pos = hole;
    }
    Ok(copied)
}

/// Copies from a character device (`/dev/urandom`, `/dev/zero`, ...) into `dst` at
/// `offset` until `len` bytes are written or the device reports end of file (`/dev/null`).
/// Every byte read is written: a stream has no holes to skip. Returns bytes copied.
pub fn copy_stream(src: &File, len: u64, dst: &File, offset: u64) -> io::Result<u64> {
    use std::io::Read;
    use std::os::unix::fs::FileExt;
    let mut src = src;
    let mut buf = vec![0u8; 1 << 20];
    let mut copied = 0u64;
    while copied < len {
        let want = usize::try_from((len - copied).min(1 << 20)).unwrap_or(1 << 20);
        let n = match src.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        dst.write_all_at(&buf[..n], offset + copied)?;
        copied += n as u64;
    }
    Ok(copied)
}

/// `lseek` with SEEK_DATA/SEEK_HOLE; `None` when there is no more data (ENXIO).
fn seek(file: &File, from: u64, whence: libc::c_int) -> io::Result<Option<u64>> {
    let from =
        libc::off_t::try_from(from).map_err(|_| io::Error::from_raw_os_error(libc::EFBIG))?;
    // SAFETY: lseek on a valid descriptor; no memory is passed.
    let r = unsafe { libc::lseek(file.as_raw_fd(), from, whence) };
    if r < 0 {
        let err = io::Error::last_os_error();
        return match err.raw_os_error() {
            Some(libc::ENXIO) => Ok(None),
            _ => Err(err),
        };
    }
    Ok(Some(r as u64))
}

fn copy_range(src: &File, from: u64, dst: &File, to: u64, mut len: u64) -> io::Result<()> {
    let (mut off_in, mut off_out) = (to_off(from)?, to_off(to)?);
    while len > 0 {
        let chunk = usize::try_from(len.min(1 << 30)).unwrap_or(1 << 30);
        // SAFETY: both descriptors are valid; the offsets are owned locals the kernel
        // updates.
        let n = unsafe {
            libc::copy_file_range(
                src.as_raw_fd(),
                &mut off_in,
                dst.as_raw_fd(),
                &mut off_out,
                chunk,
                0,
            )
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            // Block devices and some file systems refuse copy_file_range.
            return match err.raw_os_error() {
                Some(libc::EINVAL | libc::EXDEV | libc::ENOSYS | libc::EOPNOTSUPP) => {
                    copy_with_buffer(src, off_in as u64, dst, off_out as u64, len)
                }
                _ => Err(err),
            };
        }
        if n == 0 {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
        }
        len -= n as u64;
    }
    Ok(())
}

/// The portable fallback: positioned reads and writes through a 1 MiB buffer.
fn copy_with_buffer(
    src: &File,
    mut from: u64,
    dst: &File,
    mut to: u64,
    mut len: u64,
) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; 1 << 20];
    while len > 0 {
        let chunk = usize::try_from(len.min(1 << 20)).unwrap_or(1 << 20);
        src.read_exact_at(&mut buf[..chunk], from)?;
        dst.write_all_at(&buf[..chunk], to)?;
        from += chunk as u64;
        to += chunk as u64;
        len -= chunk as u64;
    }
    Ok(())
}

fn to_off(v: u64) -> io::Result<libc::off64_t> {
    libc::off64_t::try_from(v).map_err(|_| io::Error::from_raw_os_error(libc::EFBIG))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek, SeekFrom, Write};

    #[test]
    fn streams_stop_at_the_length_or_at_eof() {
        let zero = File::open("/dev/zero").unwrap();
        let dst = tempfile::tempfile().unwrap();
        dst.set_len(8192).unwrap();
        use std::os::unix::fs::FileExt;
        dst.write_all_at(&[0xaa; 8192], 0).unwrap();
        assert_eq!(copy_stream(&zero, 4096, &dst, 1024).unwrap(), 4096);
        let mut buf = vec![0u8; 8192];
        dst.read_exact_at(&mut buf, 0).unwrap();
        assert!(buf[..1024].iter().all(|&b| b == 0xaa));
        assert!(buf[1024..5120].iter().all(|&b| b == 0));
        assert!(buf[5120..].iter().all(|&b| b == 0xaa));
        let null = File::open("/dev/null").unwrap();
        assert_eq!(copy_stream(&null, 4096, &dst, 0).unwrap(), 0);
    }

    #[test]
    fn copies_data_and_skips_holes() {
        let mut src = tempfile::tempfile().unwrap();
        src.set_len(1 << 20).unwrap();
        src.seek(SeekFrom::Start(4096)).unwrap();
        src.write_all(b"hello").unwrap();
        src.seek(SeekFrom::Start((1 << 20) - 3)).unwrap();
        src.write_all(b"end").unwrap();
        let mut dst = tempfile::tempfile().unwrap();
        dst.set_len(4 << 20).unwrap();
        copy_sparse(&src, 0, 1 << 20, &dst, 1 << 20).unwrap();
        let mut buf = vec![0u8; 4 << 20];
        dst.seek(SeekFrom::Start(0)).unwrap();
        dst.read_exact(&mut buf).unwrap();
        assert_eq!(&buf[(1 << 20) + 4096..(1 << 20) + 4101], b"hello");
        assert_eq!(&buf[(2 << 20) - 3..2 << 20], b"end");
        assert!(buf[..1 << 20].iter().all(|&b| b == 0));
    }
}
