//! The `mkfs.xfs -p` protofile describing a directory tree (spec §9.2).
//!
//! Layout: `/`, `0 0`, `d--755 0 0`, then a sorted walk where each entry is
//! `NAME TYPEMODE UID GID` plus the source path (files), link target (symlinks) or
//! `MAJOR MINOR` (devices); `$` closes every directory. Names with spaces are written with
//! `/` instead (mkfs.xfs option `slashes_are_spaces=1`); source paths with spaces are
//! replaced by symlinks without spaces in a private temporary directory.

use std::fmt::Write as _;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::FsError;

/// A written protofile and the helper directory it may reference; both are removed when
/// dropped.
#[derive(Debug)]
pub struct Protofile {
    file: tempfile::TempPath,
    _links: tempfile::TempDir,
    _tracked: [crate::shell::signal_cleanup::Tracked; 2],
    has_spaces: bool,
}

impl Protofile {
    /// Writes the protofile for `root` into `tmp`.
    pub fn write(root: &Path, tmp: &Path) -> Result<Protofile, FsError> {
        let links = tempfile::Builder::new()
            .prefix("systemd-mkfs-")
            .tempdir_in(tmp)
            .map_err(|e| FsError::io("Failed to create temporary directory", e))?;
        let mut text = String::from("/\n0 0\nd--755 0 0\n");
        let mut has_spaces = false;
        let mut counter = 0usize;
        let mut link_for = |path: &Path| -> Result<PathBuf, FsError> {
            counter += 1;
            let l = links.path().join(format!("mkfs-xfs-{counter}"));
            std::os::unix::fs::symlink(path, &l).map_err(|e| {
                FsError::io(
                    format!("Failed to symlink {} to {}", l.display(), path.display()),
                    e,
                )
            })?;
            Ok(l)
        };
        walk(root, &mut text, &mut has_spaces, &mut link_for)?;
        text.push_str("$\n");
        let file = tempfile::Builder::new()
            .prefix(".#repart-protofile")
            .tempfile_in(tmp)
            .map_err(|e| FsError::io("Failed to open temporary file", e))?;
        std::fs::write(file.path(), text)
            .map_err(|e| FsError::io("Failed to write protofile", e))?;
        Ok(Protofile {
            _tracked: [
                crate::shell::signal_cleanup::track(file.path()),
                crate::shell::signal_cleanup::track(links.path()),
            ],
            file: file.into_temp_path(),
            _links: links,
            has_spaces,
        })
    }

    /// Path of the protofile.
    pub fn path(&self) -> &Path {
        &self.file
    }

    /// Whether file names had spaces (needs `slashes_are_spaces=1`).
    pub fn has_spaces(&self) -> bool {
        self.has_spaces
    }
}

/// One protofile line (without the trailing newline) for an entry with `name` and the
/// given type/permission bits, owner and payload (source path, link target or device).
pub fn entry_line(name: &str, mode: u32, uid: u32, gid: u32, payload: &str) -> Option<String> {
    let kind = match mode & libc::S_IFMT {
        libc::S_IFDIR => 'd',
        libc::S_IFREG => '-',
        libc::S_IFLNK => 'l',
        libc::S_IFIFO => 'p',
        libc::S_IFBLK => 'b',
        libc::S_IFCHR => 'c',
        _ => return None,
    };
    let suid = if mode & libc::S_ISUID != 0 { 'u' } else { '-' };
    let sgid = if mode & libc::S_ISGID != 0 { 'g' } else { '-' };
    let mut line = format!(
        "{} {kind}{suid}{sgid}{:03o} {uid} {gid} ",
        name.replace(' ', "/"),
        mode & 0o777
    );
    line.push_str(payload);
    Some(line)
}

fn walk(
    dir: &Path,
    out: &mut String,
    has_spaces: &mut bool,
    link_for: &mut dyn FnMut(&Path) -> Result<PathBuf, FsError>,
) -> Result<(), FsError> {
    let read_err = |e| FsError::io(format!("Failed to read directory '{}'", dir.display()), e);
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map_err(read_err)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()
        .map_err(read_err)?;
    names.sort();
    for name in names {
        let path = dir.join(&name);
        let md = std::fs::symlink_metadata(&path)
            .map_err(|e| FsError::io(format!("Failed to stat '{}'", path.display()), e))?;
        let name = name.to_string_lossy();
        *has_spaces |= name.contains(' ');
        let ft = md.file_type();
        let payload = if ft.is_file() {
            let p = if path.to_string_lossy().contains(' ') {
                link_for(&path)?
            } else {
                path.clone()
            };
            p.to_string_lossy().into_owned()
        } else if ft.is_symlink() {
            let t = std::fs::read_link(&path).map_err(|e| {
                FsError::io(format!("Failed to read symlink {}", path.display()), e)
            })?;
            let t = t.to_string_lossy().into_owned();
            if t.contains(' ') {
                return Err(FsError::Protofile(
                    "Symlinks to paths containing whitespace are not supported by mkfs.xfs".into(),
                ));
            }
            t
        } else if ft.is_block_device() || ft.is_char_device() {
            let rdev = md.rdev();
            format!("{} {}", libc::major(rdev), libc::minor(rdev))
        } else {
            String::new()
        };
        let Some(line) = entry_line(&name, md.mode(), md.uid(), md.gid(), &payload) else {
            continue;
        };
        let _ = writeln!(out, "{line}");
        if ft.is_dir() {
            walk(&path, out, has_spaces, link_for)?;
            out.push_str("$\n");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        assert_eq!(
            entry_line("etc", libc::S_IFDIR | 0o755, 0, 0, "").unwrap(),
            "etc d--755 0 0 "
        );
        assert_eq!(
            entry_line(
                "su do",
                libc::S_IFREG | libc::S_ISUID | 0o4755 & 0o777,
                0,
                0,
                "/src/su do"
            )
            .unwrap(),
            "su/do -u-755 0 0 /src/su do"
        );
        assert_eq!(
            entry_line("l", libc::S_IFLNK | 0o777, 1, 2, "target").unwrap(),
            "l l--777 1 2 target"
        );
        assert_eq!(
            entry_line("null", libc::S_IFCHR | 0o666, 0, 0, "1 3").unwrap(),
            "null c--666 0 0 1 3"
        );
        assert!(entry_line("sock", libc::S_IFSOCK | 0o777, 0, 0, "").is_none());
    }

    #[test]
    fn protofile_text() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("b")).unwrap();
        std::fs::write(d.path().join("b/f"), b"x").unwrap();
        std::fs::write(d.path().join("a"), b"x").unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let p = Protofile::write(d.path(), tmp.path()).unwrap();
        let text = std::fs::read_to_string(p.path()).unwrap();
        let md = std::fs::metadata(d.path().join("a")).unwrap();
        let (u, g) = (md.uid(), md.gid());
        let root = d.path().display();
        let am = md.mode() & 0o777;
        let bm = std::fs::metadata(d.path().join("b")).unwrap().mode() & 0o777;
        let expected = format!(
            "/\n0 0\nd--755 0 0\na ---{am:03o} {u} {g} {root}/a\nb d--{bm:03o} {u} {g} \nf ---{am:03o} {u} {g} {root}/b/f\n$\n$\n"
        );
        assert_eq!(text, expected);
        assert!(!p.has_spaces());
    }
}
