//! File-system label mangling: each mkfs tool has its own limits (spec §9.2).

use crate::pure::fstype::FileSystem;

/// The label passed to the mkfs tool of `fstype` for the GPT label `label`.
///
/// ext2/3/4 keep at most 16 bytes, xfs 12, swap 15 (cut at a UTF-8 character boundary);
/// vfat labels are transliterated to ASCII (`_` per non-ASCII character), cut to 11
/// characters, upper-cased, and characters FAT rejects are replaced by `_`. Other file
/// systems get the label unchanged.
pub fn mangle(fstype: &FileSystem, label: &str) -> String {
    match fstype {
        FileSystem::Ext2 | FileSystem::Ext3 | FileSystem::Ext4 => {
            truncate_utf8(label, 16).to_owned()
        }
        FileSystem::Xfs => truncate_utf8(label, 12).to_owned(),
        FileSystem::Swap => truncate_utf8(label, 15).to_owned(),
        FileSystem::Vfat => fat_label(label),
        _ => label.to_owned(),
    }
}

/// The vfat volume ID: the first four bytes of the file-system UUID as eight lowercase hex
/// digits (`mkfs.vfat -i`).
pub fn fat_volume_id(uuid: &uuid::Uuid) -> String {
    let b = uuid.as_bytes();
    format!("{:02x}{:02x}{:02x}{:02x}", b[0], b[1], b[2], b[3])
}

fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn fat_label(label: &str) -> String {
    label
        .chars()
        .map(|c| if c.is_ascii() { c } else { '_' })
        .take(11)
        .map(|c| {
            if "*?.,;:/\\|+=<>[]\"".contains(c) || c.is_ascii_control() {
                '_'
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mangle(fstype: &str, label: &str) -> String {
        super::mangle(&FileSystem::from_name(fstype), label)
    }

    #[test]
    fn vfat_labels() {
        assert_eq!(mangle("vfat", "boot"), "BOOT");
        assert_eq!(mangle("vfat", "esp"), "ESP");
        assert_eq!(mangle("vfat", "a.b:c*d"), "A_B_C_D");
        assert_eq!(mangle("vfat", "héllo wörld!"), "H_LLO W_RLD");
        assert_eq!(mangle("vfat", "tab\there"), "TAB_HERE");
    }

    #[test]
    fn length_limits() {
        assert_eq!(mangle("ext4", "0123456789abcdefXYZ"), "0123456789abcdef");
        assert_eq!(mangle("xfs", "0123456789abcdef"), "0123456789ab");
        assert_eq!(mangle("swap", "0123456789abcdef"), "0123456789abcde");
        // 15 ASCII bytes + a 2-byte character: cut before the character.
        assert_eq!(mangle("ext4", "0123456789abcdeé"), "0123456789abcde");
        assert_eq!(
            mangle("btrfs", "a-very-long-label-for-btrfs"),
            "a-very-long-label-for-btrfs"
        );
    }

    #[test]
    fn volume_id() {
        let u = uuid::Uuid::parse_str("34038058-1234-4567-89ab-cdef01234567").unwrap();
        assert_eq!(fat_volume_id(&u), "34038058");
    }
}
