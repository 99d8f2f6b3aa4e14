//! dm-verity (spec §9.6), the pure part: how `Verity=` definitions pair up
//! (`VerityMatchKey=`), what the pairs' sizes and UUIDs derive from, the hash tree
//! format ([`tree`]) and the signature partition's contents ([`signature`]). The
//! shell side (trees over partitions and files, writing hash and signature
//! partitions) is `crate::shell::verity`.

pub mod signature;
pub mod tree;

pub use signature::signature_payload;
pub use tree::{
    Params, Tree, build, hash_size_for_data_max, image_size, salt, superblock, superblock_uuid,
};

use uuid::Uuid;

use crate::pure::config::{Definition, Diagnostic, Level, VerityMode};
use crate::pure::size::format_bytes;

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The partition UUIDs a verity data/hash pair gets from its root hash: the first and
/// the last 16 bytes.
pub fn uuids_from_root_hash(root: &[u8; 32]) -> (Uuid, Uuid) {
    let mut data = [0u8; 16];
    let mut hash = [0u8; 16];
    data.copy_from_slice(&root[..16]);
    hash.copy_from_slice(&root[16..]);
    (Uuid::from_bytes(data), Uuid::from_bytes(hash))
}

/// The definition of the verity set of definition `index` (same `VerityMatchKey=`)
/// that has role `mode` (definitions were checked to have at most one per role).
pub fn sibling(definitions: &[Definition], index: usize, mode: VerityMode) -> Option<usize> {
    let me = definitions.get(index)?;
    if me.verity == VerityMode::Off {
        return None;
    }
    if me.verity == mode {
        return Some(index);
    }
    definitions
        .iter()
        .position(|d| d.verity == mode && d.verity_match_key == me.verity_match_key)
}

/// What a new `Verity=hash` partition gets from its data partition's `SizeMaxBytes=`
/// (upstream 257 reserves room for the hash tree of that much data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashReservation {
    /// The tree's size as the partition's minimum size, when it has no
    /// `SizeMinBytes=` and no smaller `SizeMaxBytes=`.
    pub size_min: Option<u64>,
    /// The debug line saying so, or the warning that the configured size may be
    /// too small.
    pub diagnostic: Diagnostic,
}

/// The reservation for hash partition `hash` of data partition `data`, the unset
/// verity block sizes being `fs_sector_size`; `None` without a data `SizeMaxBytes=` or
/// when the configured `SizeMinBytes=` is big enough. An unset size is no limit.
pub fn hash_reservation(
    hash: &Definition,
    data: &Definition,
    fs_sector_size: u64,
) -> Option<HashReservation> {
    let data_max = data.size_max?;
    let required = hash_size_for_data_max(
        data_max,
        hash.verity_data_block_size.unwrap_or(fs_sector_size),
        hash.verity_hash_block_size.unwrap_or(fs_sector_size),
    );
    let below = |limit: Option<u64>| limit.is_some_and(|l| required > l);
    let (size_min, level, message) = if below(hash.size_min) || below(hash.size_max) {
        let message = format!(
            "The dm-verity hash partition {} may be too small for a data partition with SizeMaxBytes={}. The hash partition would require {} for a data partition of specified max size. Consider increasing the size of the hash partition, or decreasing SizeMaxBytes= of the data partition.",
            hash.path.display(),
            format_bytes(data_max),
            format_bytes(required),
        );
        (None, Level::Warning, message)
    } else if hash.size_min.is_none() {
        let message = format!(
            "Derived size {} of verity hash partition {} from verity data partition {}.",
            format_bytes(required),
            hash.path.display(),
            data.path.display(),
        );
        (Some(required), Level::Debug, message)
    } else {
        return None;
    };
    Some(HashReservation {
        size_min,
        diagnostic: Diagnostic { level, message },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_split_root_hash() {
        let mut r = [0u8; 32];
        r[0] = 0x25;
        r[31] = 0x4b;
        let (d, h) = uuids_from_root_hash(&r);
        assert!(d.hyphenated().to_string().starts_with("25"));
        assert!(h.hyphenated().to_string().ends_with("4b"));
    }

    fn pair(data_max: Option<u64>, min: Option<u64>, max: Option<u64>) -> (Definition, Definition) {
        let any = crate::pure::gpt_types::PartitionType::from_uuid(uuid::Uuid::nil());
        let mut data = Definition::new("/d/a.conf".into(), any);
        data.verity = VerityMode::Data;
        data.size_max = data_max;
        let mut hash = Definition::new("/d/b.conf".into(), any);
        hash.verity = VerityMode::Hash;
        hash.size_min = min;
        hash.size_max = max;
        (data, hash)
    }

    const GIB: u64 = 1 << 30;

    #[test]
    fn unset_min_becomes_tree_size() {
        let (data, hash) = pair(Some(GIB), None, None);
        let r = hash_reservation(&hash, &data, 4096).unwrap();
        assert_eq!(r.size_min, Some(hash_size_for_data_max(GIB, 4096, 4096)));
        assert_eq!(r.diagnostic.level, Level::Debug);
        assert!(r.diagnostic.message.starts_with("Derived size 8M of verity hash partition /d/b.conf from verity data partition /d/a.conf."));
    }

    #[test]
    fn block_sizes_default_to_fs_sector_size() {
        let (data, mut hash) = pair(Some(GIB), None, None);
        let small = hash_reservation(&hash, &data, 512)
            .unwrap()
            .size_min
            .unwrap();
        assert_eq!(small, hash_size_for_data_max(GIB, 512, 512));
        hash.verity_data_block_size = Some(4096);
        hash.verity_hash_block_size = Some(4096);
        let big = hash_reservation(&hash, &data, 512).unwrap().size_min;
        assert_eq!(big, Some(hash_size_for_data_max(GIB, 4096, 4096)));
        assert!(small > big.unwrap());
    }

    #[test]
    fn too_small_min_or_max_warns_and_keeps_sizes() {
        for (min, max) in [
            (Some(1 << 20), None),
            (None, Some(1 << 20)),
            (Some(1 << 20), Some(GIB)),
        ] {
            let (data, hash) = pair(Some(GIB), min, max);
            let r = hash_reservation(&hash, &data, 4096).unwrap();
            assert_eq!(r.size_min, None);
            assert_eq!(r.diagnostic.level, Level::Warning);
            assert!(r.diagnostic.message.starts_with("The dm-verity hash partition /d/b.conf may be too small for a data partition with SizeMaxBytes=1G. The hash partition would require 8M "));
        }
    }

    #[test]
    fn big_enough_or_unbounded_data_is_silent() {
        let (data, hash) = pair(Some(GIB), Some(GIB), None);
        assert_eq!(hash_reservation(&hash, &data, 4096), None);
        let (data, hash) = pair(None, None, None);
        assert_eq!(hash_reservation(&hash, &data, 4096), None);
    }
}
