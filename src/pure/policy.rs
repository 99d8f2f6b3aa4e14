//! Decisions the main sequence takes before planning, from facts the shell gathered:
//! the sector size to read the target with, whether to start from an empty table
//! (`--empty=`), what a damaged table counts as, and where scratch files go.

use std::path::PathBuf;

use crate::pure::cli::EmptyMode;
use crate::pure::fstype::FileSystem;
use crate::pure::model::Label;

/// The sector size to read the target with: `--sector-size=`; else 512 for an image
/// file the run starts over on (`--empty=require|force|create`: nothing on it matters);
/// `None` when the target has to be probed for it.
pub fn sector_size(requested: Option<u64>, empty: EmptyMode, block_device: bool) -> Option<u64> {
    match requested {
        Some(size) => Some(size),
        None if matches!(
            empty,
            EmptyMode::Require | EmptyMode::Force | EmptyMode::Create
        ) && !block_device =>
        {
            Some(512)
        }
        None => None,
    }
}

/// The sector size file systems and LUKS2 are made with, as upstream 257: `--sector-size=`,
/// else a block device's own (probed) sector size, else 4096.
pub fn fs_sector_size(requested: Option<u64>, block_device_sector_size: Option<u64>) -> u64 {
    requested.or(block_device_sector_size).unwrap_or(4096)
}

/// What a table that cannot be read counts as, `None` when that is an error: starting
/// over is how a damaged table is recovered (its contents don't matter), and with
/// `--empty=require` a damaged table is still a disk label.
pub fn unreadable_label(empty: EmptyMode) -> Option<Label> {
    match empty {
        EmptyMode::Force | EmptyMode::Create => Some(Label::None),
        EmptyMode::Require => Some(Label::Other),
        EmptyMode::Refuse | EmptyMode::Allow => None,
    }
}

/// Why `--empty=` forbids repartitioning this disk (upstream exits with 77).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LabelRefusal {
    /// `--empty=refuse` and no GPT.
    #[error("has no GPT disk label, not repartitioning.")]
    NoGpt,
    /// `--empty=allow` and another kind of label.
    #[error("has non-GPT disk label, not repartitioning.")]
    NotGpt,
    /// `--empty=require` and some label.
    #[error("already has a disk label, refusing.")]
    HasLabel,
}

/// Whether the table is made from scratch (`--empty=` against the label found).
pub fn from_scratch(empty: EmptyMode, label: &Label) -> Result<bool, LabelRefusal> {
    match (empty, label) {
        (EmptyMode::Force | EmptyMode::Create, _) => Ok(true),
        (EmptyMode::Refuse | EmptyMode::Allow, Label::Gpt(_)) => Ok(false),
        (EmptyMode::Refuse, _) => Err(LabelRefusal::NoGpt),
        (EmptyMode::Allow, Label::None) => Ok(true),
        (EmptyMode::Allow, Label::Other) => Err(LabelRefusal::NotGpt),
        (EmptyMode::Require, Label::None) => Ok(true),
        (EmptyMode::Require, _) => Err(LabelRefusal::HasLabel),
    }
}

/// Where large scratch files go (upstream's "var tmp"): the first of `$TMPDIR`,
/// `$TEMP`, `$TMP` that is an absolute path without `..`, else `/var/tmp`.
pub fn scratch_dir(tmpdir: Option<&str>, temp: Option<&str>, tmp: Option<&str>) -> PathBuf {
    [tmpdir, temp, tmp]
        .into_iter()
        .flatten()
        .find(|d| d.starts_with('/') && !d.split('/').any(|c| c == ".."))
        .map_or_else(|| PathBuf::from("/var/tmp"), PathBuf::from)
}

/// Whether a new encrypted partition is prepared on a loop device cut out of the
/// target (formatted through dm-crypt) or in a regular file (encrypted offline), from
/// `--offline=`: upstream 257's choice in `partition_target_prepare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopUse {
    /// `--offline=yes`: always a regular file.
    Never,
    /// `--offline=` unset: a loop device when one can be had, else a regular file.
    Try,
    /// `--offline=no`: a loop device or an error.
    Require,
}

/// The loop-device choice for `--offline=`.
pub fn loop_use(offline: Option<bool>) -> LoopUse {
    match offline {
        Some(true) => LoopUse::Never,
        None => LoopUse::Try,
        Some(false) => LoopUse::Require,
    }
}

/// Whether failing to make a loop device (with `errno`) ends the run. Without
/// `--offline=no`, only a missing loop driver (ENOENT) or missing privileges
/// (EPERM, EACCES) fall back to a regular file; anything else is an error, as upstream.
pub fn loop_error_is_fatal(mode: LoopUse, errno: i32) -> bool {
    const EPERM: i32 = 1;
    const ENOENT: i32 = 2;
    const EACCES: i32 = 13;
    mode == LoopUse::Require || !matches!(errno, ENOENT | EPERM | EACCES)
}

/// Whether upstream 257 writes a block copy (`CopyBlocks=`, a `Minimize=` image)
/// through a cut-out of the target (a loop device unless `--offline=yes`): when the
/// partition is encrypted or has a `Verity=hash` sibling (whose tree is then read
/// from that device). Otherwise it writes straight into the target and needs none.
pub fn block_copy_uses_partition_device(encrypted: bool, has_verity_hash: bool) -> bool {
    encrypted || has_verity_hash
}

/// Whether a new file system on a loop device (first boot: through dm-crypt) gets its
/// files by being mounted and copied into, as upstream 257's `context_mkfs` does, rather
/// than from its mkfs tool's populate option. Upstream keeps the populate option for
/// read-only file systems (they cannot be written once made) and for btrfs with
/// `Compression=` (only mkfs.btrfs compresses). `btrfs_subvolumes`: `Subvolumes=` or
/// `DefaultSubvolume=` on a btrfs partition, which only the mkfs path makes here.
pub fn populate_by_mount(fstype: &FileSystem, compression: bool, btrfs_subvolumes: bool) -> bool {
    !fstype.is_read_only()
        && *fstype != FileSystem::Swap
        && !(*fstype == FileSystem::Btrfs && (compression || btrfs_subvolumes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn populated_by_mount_unless_read_only_or_compressed_btrfs() {
        assert!(populate_by_mount(&FileSystem::Ext4, false, false));
        assert!(populate_by_mount(&FileSystem::Xfs, true, false));
        assert!(populate_by_mount(&FileSystem::Vfat, false, false));
        assert!(populate_by_mount(&FileSystem::Btrfs, false, false));
        assert!(!populate_by_mount(&FileSystem::Btrfs, true, false));
        assert!(!populate_by_mount(&FileSystem::Btrfs, false, true));
        assert!(!populate_by_mount(&FileSystem::Squashfs, false, false));
        assert!(!populate_by_mount(&FileSystem::Erofs, false, false));
        assert!(!populate_by_mount(&FileSystem::Swap, false, false));
    }

    #[test]
    fn fs_sector_size_is_given_else_the_block_devices_else_4096() {
        assert_eq!(fs_sector_size(Some(2048), Some(512)), 2048);
        assert_eq!(fs_sector_size(None, Some(512)), 512);
        assert_eq!(fs_sector_size(None, None), 4096);
    }

    #[test]
    fn sector_size_is_probed_unless_given_or_starting_over_on_a_file() {
        assert_eq!(sector_size(Some(4096), EmptyMode::Allow, false), Some(4096));
        assert_eq!(sector_size(None, EmptyMode::Force, false), Some(512));
        assert_eq!(sector_size(None, EmptyMode::Force, true), None);
        assert_eq!(sector_size(None, EmptyMode::Allow, false), None);
    }

    #[test]
    fn empty_modes_against_labels() {
        let gpt = Label::Gpt(crate::pure::model::ExistingTable {
            disk_guid: uuid::Uuid::nil(),
            first_lba: 34,
            last_lba: 100,
            entry_count: 128,
            partitions: Vec::new(),
            backup_at_end: true,
        });
        assert_eq!(from_scratch(EmptyMode::Refuse, &gpt), Ok(false));
        assert_eq!(
            from_scratch(EmptyMode::Refuse, &Label::None),
            Err(LabelRefusal::NoGpt)
        );
        assert_eq!(from_scratch(EmptyMode::Allow, &Label::None), Ok(true));
        assert_eq!(
            from_scratch(EmptyMode::Allow, &Label::Other),
            Err(LabelRefusal::NotGpt)
        );
        assert_eq!(
            from_scratch(EmptyMode::Require, &gpt),
            Err(LabelRefusal::HasLabel)
        );
        assert_eq!(from_scratch(EmptyMode::Create, &gpt), Ok(true));
        assert_eq!(unreadable_label(EmptyMode::Allow), None);
    }

    #[test]
    fn scratch_dir_skips_relative_and_dotdot() {
        assert_eq!(scratch_dir(None, None, None), PathBuf::from("/var/tmp"));
        assert_eq!(
            scratch_dir(Some("rel"), Some("/a/../b"), Some("/t")),
            PathBuf::from("/t")
        );
    }

    #[test]
    fn block_copies_use_a_partition_device_when_encrypted_or_with_a_hash_tree() {
        assert!(!block_copy_uses_partition_device(false, false));
        assert!(block_copy_uses_partition_device(true, false));
        assert!(block_copy_uses_partition_device(false, true));
    }

    #[test]
    fn offline_decides_the_loop_device() {
        assert_eq!(loop_use(Some(true)), LoopUse::Never);
        assert_eq!(loop_use(None), LoopUse::Try);
        assert_eq!(loop_use(Some(false)), LoopUse::Require);
    }

    #[test]
    fn only_missing_loop_access_falls_back_unless_required() {
        for errno in [libc::ENOENT, libc::EPERM, libc::EACCES] {
            assert!(!loop_error_is_fatal(LoopUse::Try, errno));
            assert!(loop_error_is_fatal(LoopUse::Require, errno));
        }
        assert!(loop_error_is_fatal(LoopUse::Try, libc::EBUSY));
        assert!(loop_error_is_fatal(LoopUse::Try, libc::EINVAL));
    }
}
