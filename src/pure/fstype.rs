//! Facts about file system types that several layers need (definition validation,
//! sizing, mkfs): one list each, so they cannot drift apart.

/// File systems that are built read-only from a source tree.
pub fn is_read_only(fstype: &str) -> bool {
    matches!(
        fstype,
        "DM_verity_hash" | "cramfs" | "erofs" | "iso9660" | "squashfs"
    )
}

/// Whether mkfs can populate the file system from a directory without mounting it.
pub fn supports_root_option(fstype: &str) -> bool {
    matches!(fstype, "ext2" | "ext3" | "ext4" | "btrfs" | "vfat" | "xfs") || is_read_only(fstype)
}

/// The smallest size of a file system, where upstream knows one.
pub fn minimal_size(fstype: &str) -> Option<u64> {
    match fstype {
        "ext4" => Some(32 << 20),
        "btrfs" => Some(256 << 20),
        "xfs" => Some(300 << 20),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_facts() {
        assert!(is_read_only("squashfs") && is_read_only("erofs") && !is_read_only("ext4"));
        assert!(supports_root_option("vfat") && !supports_root_option("f2fs"));
        assert_eq!(minimal_size("xfs"), Some(300 << 20));
        assert_eq!(minimal_size("vfat"), None);
    }
}
