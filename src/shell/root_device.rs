//! Finding the disk to operate on when no device is given (spec §6.3): the block
//! device backing `/` (or `/usr`) below the root directory; in the initrd the root is
//! `/sysusr` when `/sysusr/usr` is mounted, else `/sysroot`.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The root directory to look at: `--root=`, or the initrd's future root, or `/`.
pub fn default_root(explicit: Option<&Path>, in_initrd: bool) -> PathBuf {
    if let Some(root) = explicit {
        return root.to_path_buf();
    }
    if in_initrd {
        if is_mount_point(Path::new("/sysusr/usr")) {
            return PathBuf::from("/sysusr");
        }
        return PathBuf::from("/sysroot");
    }
    PathBuf::from("/")
}

/// Whether we run in an initrd (`/etc/initrd-release` exists).
pub fn in_initrd() -> bool {
    Path::new("/etc/initrd-release").exists()
}

fn is_mount_point(path: &Path) -> bool {
    let (Ok(here), Ok(parent)) = (std::fs::metadata(path), std::fs::metadata(path.join("..")))
    else {
        return false;
    };
    here.dev() != parent.dev() || here.ino() == parent.ino()
}

/// The whole-disk node backing `root` (or its `/usr`), if any.
pub fn root_block_device(root: &Path) -> Option<PathBuf> {
    if let Ok(target) = std::fs::read_link("/run/systemd/volatile-root") {
        return Some(target);
    }
    for dir in [root.to_path_buf(), root.join("usr")] {
        let Ok(meta) = std::fs::metadata(&dir) else {
            continue;
        };
        if let Some(node) = whole_disk_of(meta.dev()) {
            return Some(node);
        }
    }
    None
}

/// Maps a device number to its whole disk via sysfs, following device-mapper
/// slaves (dm-crypt, dm-verity) down to a partition of a real disk.
fn whole_disk_of(dev: u64) -> Option<PathBuf> {
    let mut sys = std::fs::canonicalize(format!(
        "/sys/dev/block/{}:{}",
        libc::major(dev),
        libc::minor(dev)
    ))
    .ok()?;
    for _ in 0..8 {
        let slaves: Vec<PathBuf> = std::fs::read_dir(sys.join("slaves"))
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        match slaves.as_slice() {
            [] => break,
            [one] => sys = std::fs::canonicalize(one).ok()?,
            _ => return None,
        }
    }
    if sys.join("partition").exists() {
        sys = sys.parent()?.to_path_buf();
    }
    let uevent = std::fs::read_to_string(sys.join("uevent")).ok()?;
    let name = uevent.lines().find_map(|l| l.strip_prefix("DEVNAME="))?;
    Some(Path::new("/dev").join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_root_wins() {
        assert_eq!(
            default_root(Some(Path::new("/x")), true),
            PathBuf::from("/x")
        );
        assert_eq!(default_root(None, false), PathBuf::from("/"));
    }

    #[test]
    fn a_tmpfs_root_has_no_disk() {
        // /proc is never backed by a block device.
        assert_eq!(
            whole_disk_of(std::fs::metadata("/proc").unwrap().dev()),
            None
        );
    }
}
