//! Populating a file system by mounting it: what upstream 257 does on a loop device
//! (first boot, live mode) for file systems whose mkfs cannot take everything a tree
//! holds from a directory. The staging tree is built as for mkfs, the new file system is
//! mounted (`noatime,nodev,noexec,nosuid`, as upstream), the tree copied in with
//! holes, hard links, owners, modes, xattrs and times, the file system synced and
//! unmounted.
//!
//! The mount lives in our mount namespace (upstream forks a child with its own; our
//! signal thread rules out `unshare` here): it is on a private temporary directory and
//! is detached on a terminating signal.

use std::collections::HashMap;
use std::ffi::CString;
use std::fs;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::{FormatJob, FsError, stage, sys};

fn cpath(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))
}

/// A file system mounted on a temporary directory; unmounted and the directory removed
/// when dropped.
struct Mount {
    dir: Option<tempfile::TempDir>,
    _undo: crate::shell::signal_cleanup::Undo,
    _tracked: crate::shell::signal_cleanup::Tracked,
}

impl Mount {
    fn new(node: &Path, fstype: &str, tmp: &Path) -> Result<Mount, FsError> {
        let dir = tempfile::Builder::new()
            .prefix(".#repart-mount")
            .rand_bytes(16)
            .tempdir_in(tmp)
            .map_err(|e| FsError::io("Failed to create mount point", e))?;
        let tracked = crate::shell::signal_cleanup::track(dir.path());
        let (src, tgt) = (cpath(node), cpath(dir.path()));
        let (src, tgt) = (
            src.map_err(|e| FsError::io("Failed to mount", e))?,
            tgt.map_err(|e| FsError::io("Failed to mount", e))?,
        );
        let kind = CString::new(fstype).unwrap_or_default();
        let flags = libc::MS_NOATIME | libc::MS_NODEV | libc::MS_NOEXEC | libc::MS_NOSUID;
        // SAFETY: valid NUL-terminated strings; no mount data.
        let r = unsafe {
            libc::mount(
                src.as_ptr(),
                tgt.as_ptr(),
                kind.as_ptr(),
                flags,
                std::ptr::null(),
            )
        };
        if r < 0 {
            return Err(FsError::io(
                format!(
                    "Failed to mount {} (type {fstype}) on {}",
                    node.display(),
                    dir.path().display()
                ),
                io::Error::last_os_error(),
            ));
        }
        let path = tgt.clone();
        let undo = crate::shell::signal_cleanup::on_signal(Box::new(move || {
            // SAFETY: valid NUL-terminated string.
            unsafe { libc::umount2(path.as_ptr(), libc::MNT_DETACH) };
        }));
        Ok(Mount {
            dir: Some(dir),
            _undo: undo,
            _tracked: tracked,
        })
    }

    fn path(&self) -> &Path {
        self.dir
            .as_ref()
            .map(|d| d.path())
            .unwrap_or(Path::new("/nonexistent"))
    }

    /// Flushes the file system (upstream's syncfs) and unmounts it.
    fn finish(mut self) -> Result<(), FsError> {
        let root = fs::File::open(self.path())
            .map_err(|e| FsError::io("Failed to synchronize written files", e))?;
        // SAFETY: a descriptor we own.
        if unsafe { libc::syncfs(root.as_raw_fd()) } < 0 {
            return Err(FsError::io(
                "Failed to synchronize written files",
                io::Error::last_os_error(),
            ));
        }
        drop(root);
        let dir = self.dir.take();
        if let Some(dir) = dir {
            let c = cpath(dir.path()).map_err(|e| FsError::io("Failed to unmount", e))?;
            // SAFETY: valid NUL-terminated string.
            if unsafe { libc::umount2(c.as_ptr(), 0) } < 0 {
                let e = io::Error::last_os_error();
                // SAFETY: as above.
                unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
                return Err(FsError::io(
                    format!("Failed to unmount {}", dir.path().display()),
                    e,
                ));
            }
            let _ = dir.close();
        }
        Ok(())
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            if let Ok(c) = cpath(dir.path()) {
                // SAFETY: valid NUL-terminated string.
                unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
            }
            let _ = dir.close();
        }
    }
}

/// Mounts the empty file system on `node` and copies the job's CopyFiles=,
/// MakeDirectories= and MakeSymlinks= in, with upstream's messages around it.
pub fn populate(job: &FormatJob, node: &Path) -> Result<(), FsError> {
    let fstype = job.fstype();
    tracing::info!("Populating {fstype} filesystem.");
    let staging = stage::build(job)?;
    let mount = Mount::new(node, fstype.name(), &job.env.tmp_dir)?;
    let mut links = HashMap::new();
    copy_children(staging.path(), mount.path(), &mut links)?;
    // The root keeps the owner mkfs gave it (upstream copies mode, xattrs and times).
    let md = fs::symlink_metadata(staging.path())
        .map_err(|e| FsError::io("Failed to stat the staging directory", e))?;
    apply_meta(staging.path(), mount.path(), &md, false)
        .map_err(|e| FsError::io("Failed to copy the root directory's attributes", e))?;
    mount.finish()?;
    tracing::info!("Successfully populated {fstype} filesystem.");
    Ok(())
}

/// Copies the entries of `src` into the existing directory `dst`, in sorted order; a
/// directory's own attributes are applied after its entries (its times stay).
fn copy_children(
    src: &Path,
    dst: &Path,
    links: &mut HashMap<(u64, u64), PathBuf>,
) -> Result<(), FsError> {
    let read = |e| FsError::io(format!("Failed to read directory {}", src.display()), e);
    let mut names: Vec<_> = fs::read_dir(src)
        .map_err(read)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()
        .map_err(read)?;
    names.sort();
    for name in names {
        let (from, to) = (src.join(&name), dst.join(&name));
        let failed = |e| {
            FsError::io(
                format!("Failed to copy '{}' to '{}'", from.display(), to.display()),
                e,
            )
        };
        let md = fs::symlink_metadata(&from).map_err(failed)?;
        if md.is_dir() {
            match fs::create_dir(&to) {
                Ok(()) => {}
                // lost+found from mkfs: merged into.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(failed(e)),
            }
            copy_children(&from, &to, links)?;
            apply_meta(&from, &to, &md, true).map_err(failed)?;
            continue;
        }
        let key = (md.dev(), md.ino());
        if md.nlink() > 1
            && let Some(first) = links.get(&key)
        {
            fs::hard_link(first, &to).map_err(failed)?;
            continue;
        }
        copy_leaf(&from, &md, &to).map_err(failed)?;
        if md.nlink() > 1 {
            links.insert(key, to);
        }
    }
    Ok(())
}

/// Creates the non-directory `to` like `from`: data (holes kept), link target or node.
fn copy_leaf(from: &Path, md: &fs::Metadata, to: &Path) -> io::Result<()> {
    let ft = md.file_type();
    if ft.is_file() {
        copy_data(from, to)?;
    } else if ft.is_symlink() {
        std::os::unix::fs::symlink(fs::read_link(from)?, to)?;
    } else if (ft.is_fifo() || ft.is_char_device() || ft.is_block_device() || ft.is_socket())
        && let Err(e) = sys::mknod(to, md.mode(), md.rdev())
    {
        tracing::warn!("Failed to copy '{}', skipping: {e}", from.display());
        return Ok(());
    }
    apply_meta(from, to, md, true)
}

/// Owner (if `owner`), then mode (a chown clears set-id bits), xattrs, times.
fn apply_meta(from: &Path, to: &Path, md: &fs::Metadata, owner: bool) -> io::Result<()> {
    if owner && let Err(e) = std::os::unix::fs::lchown(to, Some(md.uid()), Some(md.gid())) {
        tracing::warn!(
            "Failed to change ownership of '{}', ignoring: {e}",
            to.display()
        );
    }
    if !md.file_type().is_symlink()
        && let Err(e) = fs::set_permissions(to, fs::Permissions::from_mode(md.mode() & 0o7777))
    {
        tracing::warn!("Failed to change mode of '{}', ignoring: {e}", to.display());
    }
    sys::copy_xattrs(from, to);
    sys::set_times(
        to,
        (md.atime(), md.atime_nsec()),
        (md.mtime(), md.mtime_nsec()),
    )
}

/// Copies the bytes of `from` into the new file `to`, leaving holes where `from` has them.
fn copy_data(from: &Path, to: &Path) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    let src = fs::File::open(from)?;
    let dst = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)?;
    let size = src.metadata()?.len();
    let fd = src.as_raw_fd();
    let mut buf = vec![0u8; 1 << 20];
    let mut offset = 0u64;
    while offset < size {
        // SAFETY: plain lseek on a descriptor we own.
        let start = unsafe { libc::lseek(fd, offset as libc::off_t, libc::SEEK_DATA) };
        if start < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::ENXIO) {
                break;
            }
            return Err(e);
        }
        // SAFETY: as above.
        let end = unsafe { libc::lseek(fd, start, libc::SEEK_HOLE) };
        if end < 0 {
            return Err(io::Error::last_os_error());
        }
        let (mut pos, end) = (start as u64, end as u64);
        while pos < end {
            let want = ((end - pos) as usize).min(buf.len());
            let n = src.read_at(&mut buf[..want], pos)?;
            if n == 0 {
                break;
            }
            dst.write_all_at(&buf[..n], pos)?;
            pos += n as u64;
        }
        offset = end;
    }
    dst.set_len(size)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Seek, SeekFrom, Write};

    #[test]
    fn copies_holes_hard_links_symlinks_modes_and_times() {
        let src = tempfile::tempdir().unwrap();
        let s = src.path();
        fs::create_dir(s.join("dir")).unwrap();
        fs::write(s.join("dir/file"), b"data").unwrap();
        fs::hard_link(s.join("dir/file"), s.join("link")).unwrap();
        std::os::unix::fs::symlink("dir/file", s.join("sym")).unwrap();
        let mut sparse = fs::File::create(s.join("sparse")).unwrap();
        sparse.seek(SeekFrom::Start(4 << 20)).unwrap();
        sparse.write_all(b"tail").unwrap();
        drop(sparse);
        fs::set_permissions(s.join("dir/file"), fs::Permissions::from_mode(0o640)).unwrap();
        sys::set_times(&s.join("dir/file"), (1_000_000_000, 0), (1_000_000_002, 0)).unwrap();
        fs::set_permissions(s.join("dir"), fs::Permissions::from_mode(0o700)).unwrap();
        sys::set_times(&s.join("dir"), (1_000_000_004, 0), (1_000_000_006, 0)).unwrap();

        let dst = tempfile::tempdir().unwrap();
        let d = dst.path();
        copy_children(s, d, &mut HashMap::new()).unwrap();

        let file = fs::metadata(d.join("dir/file")).unwrap();
        assert_eq!(fs::read(d.join("dir/file")).unwrap(), b"data");
        assert_eq!(file.mode() & 0o7777, 0o640);
        assert_eq!((file.atime(), file.mtime()), (1_000_000_000, 1_000_000_002));
        assert_eq!(file.nlink(), 2, "the hard link is kept");
        assert_eq!(fs::metadata(d.join("link")).unwrap().ino(), file.ino());
        assert_eq!(
            fs::read_link(d.join("sym")).unwrap(),
            PathBuf::from("dir/file")
        );
        let dir = fs::metadata(d.join("dir")).unwrap();
        assert_eq!(dir.mode() & 0o7777, 0o700);
        assert_eq!(dir.mtime(), 1_000_000_006, "set after its entries");
        let sparse = fs::metadata(d.join("sparse")).unwrap();
        assert_eq!(sparse.len(), (4 << 20) + 4);
        assert!(
            sparse.blocks() * 512 < sparse.len(),
            "the hole is kept: {} blocks",
            sparse.blocks()
        );
        assert_eq!(&fs::read(d.join("sparse")).unwrap()[4 << 20..], b"tail");
    }
}
