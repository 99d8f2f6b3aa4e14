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

use crate::pure::config::{Definition, VerityMode};

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

/// Upstream 257 reserves room for the hash tree of a data partition with
/// `SizeMaxBytes=`: that size becomes the hash partition's `SizeMinBytes=` when it has
/// none; a smaller configured size gets a warning (returned).
pub fn reserve_hash_sizes(definitions: &mut [Definition], fs_sector_size: u64) -> Vec<String> {
    let mut warnings = Vec::new();
    for i in 0..definitions.len() {
        if definitions[i].verity != VerityMode::Hash {
            continue;
        }
        let Some(data) = sibling(definitions, i, VerityMode::Data) else {
            continue;
        };
        let Some(data_max) = definitions[data].size_max else {
            continue;
        };
        let hash = &definitions[i];
        let size = hash_size_for_data_max(
            data_max,
            hash.verity_data_block_size.unwrap_or(fs_sector_size),
            hash.verity_hash_block_size.unwrap_or(fs_sector_size),
        );
        let data_path = definitions[data].path.display().to_string();
        let hash = &mut definitions[i];
        match hash.size_min {
            None => hash.size_min = Some(size),
            Some(min) if min < size || hash.size_max.is_some_and(|m| m < size) => {
                warnings.push(format!(
                    "The dm-verity hash partition {} may be too small for data partition {} with SizeMaxBytes={}. The hash partition would require {} for a data partition of specified max size. Use larger SizeMinBytes= or SizeMaxBytes= on the hash partition, or don't specify them at all.",
                    hash.path.display(),
                    data_path,
                    crate::pure::size::format_bytes(data_max),
                    crate::pure::size::format_bytes(size),
                ));
            }
            Some(_) => {}
        }
    }
    warnings
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
}
