//! Facts about file system types that several layers need (definition validation,
//! sizing, mkfs, fstab): the [`FileSystem`] a `Format=` value names, parsed once while
//! reading the definition, and what each one can do — one list each, so they cannot
//! drift apart.

use std::fmt;

/// A `Format=` value. The file systems upstream treats specially have a variant each;
/// any other valid name is kept as written (upstream then runs `mkfs.NAME`, so
/// `Format=foo` fails only when that tool is missing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileSystem {
    /// `ext2`.
    Ext2,
    /// `ext3`.
    Ext3,
    /// `ext4`.
    Ext4,
    /// `btrfs`.
    Btrfs,
    /// `xfs`.
    Xfs,
    /// `f2fs`.
    F2fs,
    /// `vfat`.
    Vfat,
    /// `swap` (mkswap).
    Swap,
    /// `squashfs` (read-only, built by mksquashfs).
    Squashfs,
    /// `erofs` (read-only, built by mkfs.erofs).
    Erofs,
    /// `cramfs` (read-only; upstream cannot build it).
    Cramfs,
    /// `iso9660` (read-only; upstream cannot build it).
    Iso9660,
    /// `DM_verity_hash` (read-only; upstream cannot build it).
    VerityHash,
    /// Any other name, exactly as written.
    Other(String),
}

impl FileSystem {
    /// The file system `name` names (case-sensitive, like upstream's string compares).
    pub fn from_name(name: &str) -> FileSystem {
        match name {
            "ext2" => FileSystem::Ext2,
            "ext3" => FileSystem::Ext3,
            "ext4" => FileSystem::Ext4,
            "btrfs" => FileSystem::Btrfs,
            "xfs" => FileSystem::Xfs,
            "f2fs" => FileSystem::F2fs,
            "vfat" => FileSystem::Vfat,
            "swap" => FileSystem::Swap,
            "squashfs" => FileSystem::Squashfs,
            "erofs" => FileSystem::Erofs,
            "cramfs" => FileSystem::Cramfs,
            "iso9660" => FileSystem::Iso9660,
            "DM_verity_hash" => FileSystem::VerityHash,
            other => FileSystem::Other(other.to_owned()),
        }
    }

    /// The name as upstream prints it (and as `Format=` spells it).
    pub fn name(&self) -> &str {
        match self {
            FileSystem::Ext2 => "ext2",
            FileSystem::Ext3 => "ext3",
            FileSystem::Ext4 => "ext4",
            FileSystem::Btrfs => "btrfs",
            FileSystem::Xfs => "xfs",
            FileSystem::F2fs => "f2fs",
            FileSystem::Vfat => "vfat",
            FileSystem::Swap => "swap",
            FileSystem::Squashfs => "squashfs",
            FileSystem::Erofs => "erofs",
            FileSystem::Cramfs => "cramfs",
            FileSystem::Iso9660 => "iso9660",
            FileSystem::VerityHash => "DM_verity_hash",
            FileSystem::Other(name) => name,
        }
    }

    /// ext2, ext3 or ext4 (one mkfs, one label limit).
    pub fn is_ext(&self) -> bool {
        matches!(self, FileSystem::Ext2 | FileSystem::Ext3 | FileSystem::Ext4)
    }

    /// File systems that are built read-only from a source tree.
    pub fn is_read_only(&self) -> bool {
        matches!(
            self,
            FileSystem::VerityHash
                | FileSystem::Cramfs
                | FileSystem::Erofs
                | FileSystem::Iso9660
                | FileSystem::Squashfs
        )
    }

    /// Whether mkfs can populate the file system from a directory without mounting it.
    pub fn supports_root_option(&self) -> bool {
        self.is_ext()
            || matches!(self, FileSystem::Btrfs | FileSystem::Vfat | FileSystem::Xfs)
            || self.is_read_only()
    }

    /// The smallest size of a file system, where upstream knows one.
    pub fn minimal_size(&self) -> Option<u64> {
        match self {
            FileSystem::Ext4 => Some(32 << 20),
            FileSystem::Btrfs => Some(256 << 20),
            FileSystem::Xfs => Some(300 << 20),
            _ => None,
        }
    }
}

impl fmt::Display for FileSystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fs(name: &str) -> FileSystem {
        FileSystem::from_name(name)
    }

    #[test]
    fn known_facts() {
        assert!(fs("squashfs").is_read_only() && fs("erofs").is_read_only());
        assert!(!fs("ext4").is_read_only());
        assert!(fs("vfat").supports_root_option() && !fs("f2fs").supports_root_option());
        assert_eq!(fs("xfs").minimal_size(), Some(300 << 20));
        assert_eq!(fs("vfat").minimal_size(), None);
    }

    #[test]
    fn names_round_trip() {
        for name in [
            "ext2",
            "ext3",
            "ext4",
            "btrfs",
            "xfs",
            "f2fs",
            "vfat",
            "swap",
            "squashfs",
            "erofs",
            "cramfs",
            "iso9660",
            "DM_verity_hash",
            "foo",
            "",
        ] {
            assert_eq!(fs(name).name(), name);
            assert_eq!(fs(name).to_string(), name);
        }
        assert_eq!(fs("foo"), FileSystem::Other("foo".into()));
        // Upstream compares case-sensitively: `EXT4` is some other tool's name.
        assert_eq!(fs("EXT4"), FileSystem::Other("EXT4".into()));
        assert!(!fs("SquashFS").is_read_only());
    }
}
