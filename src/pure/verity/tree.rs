//! The dm-verity hash tree format (spec §9.6): what `veritysetup format` writes
//! with hash type 1 and sha256 — a 512-byte superblock padded to one hash block,
//! followed by the tree levels from the top (one block) down to the level that
//! hashes the data blocks. Every hash is `sha256(salt || block)`.
//!
//! Pure: the caller hands in the data as a reader and writes the result.

use std::io::Read;

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::hex;
use crate::pure::plan::ids::{derive_uuid, hmac_sha256};

/// Bytes of one sha256 digest (already a power of two, so no per-entry padding).
const DIGEST: u64 = 32;
/// Size of the verity superblock.
const SUPERBLOCK: usize = 512;

/// The parameters of one hash tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    /// Data block size (power of two, 512…4096).
    pub data_block_size: u64,
    /// Hash block size (power of two, 512…4096).
    pub hash_block_size: u64,
    /// Salt (32 bytes in repart's trees).
    pub salt: Vec<u8>,
    /// UUID stored in the superblock.
    pub uuid: Uuid,
}

impl Params {
    /// repart's parameters: salt and superblock UUID derived from the seed (spec §5.5).
    pub fn from_seed(seed: Uuid, data_block_size: u64, hash_block_size: u64) -> Params {
        Params {
            data_block_size,
            hash_block_size,
            salt: salt(seed).to_vec(),
            uuid: superblock_uuid(seed),
        }
    }
}

/// `HMAC(seed, "verity-salt")`.
pub fn salt(seed: Uuid) -> [u8; 32] {
    hmac_sha256(seed.as_bytes(), b"verity-salt")
}

/// `v4(HMAC(seed, "verity-uuid"))`.
pub fn superblock_uuid(seed: Uuid) -> Uuid {
    derive_uuid(seed, b"verity-uuid")
}

/// A finished tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    /// The root hash.
    pub root_hash: [u8; 32],
    /// Superblock and hash levels: the bytes of the hash device.
    pub image: Vec<u8>,
}

impl Tree {
    /// The root hash in lowercase hex (ROOTHASH column).
    pub fn root_hex(&self) -> String {
        hex(&self.root_hash)
    }
}

fn hashes_per_block(hash_block_size: u64) -> u64 {
    // The largest power of two that fits (hash blocks are powers of two anyway).
    let n = (hash_block_size / DIGEST).max(2);
    1 << (63 - n.leading_zeros())
}

/// Blocks of each level, from the level hashing the data (index 0) upwards; empty
/// when the data is a single block (its hash is the root hash).
fn level_sizes(data_blocks: u64, per_block: u64) -> Vec<u64> {
    let mut levels = Vec::new();
    let mut remaining = data_blocks;
    while remaining > 1 {
        remaining = remaining.div_ceil(per_block);
        levels.push(remaining);
    }
    levels
}

/// Exact size of the hash device `veritysetup format` fills for `data_blocks` blocks.
pub fn image_size(data_blocks: u64, hash_block_size: u64) -> u64 {
    let levels = level_sizes(data_blocks, hashes_per_block(hash_block_size));
    let sb_blocks = (SUPERBLOCK as u64).div_ceil(hash_block_size);
    (sb_blocks + levels.iter().sum::<u64>()) * hash_block_size
}

/// The hash partition size repart reserves for a data partition of at most
/// `data_max` bytes (upstream 257's estimate, which adds a root block).
pub fn hash_size_for_data_max(data_max: u64, data_block_size: u64, hash_block_size: u64) -> u64 {
    let per_block = hash_block_size / DIGEST;
    let mut remaining = data_max.div_ceil(data_block_size);
    let mut blocks = 0u64;
    while remaining > per_block {
        remaining = remaining.div_ceil(per_block);
        blocks += remaining;
    }
    (blocks + 2) * hash_block_size
}

fn hash_block(salt: &[u8], block: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(block);
    h.finalize().into()
}

/// The 512-byte superblock.
pub fn superblock(params: &Params, data_blocks: u64) -> [u8; SUPERBLOCK] {
    let mut sb = [0u8; SUPERBLOCK];
    sb[..8].copy_from_slice(b"verity\0\0");
    sb[8..12].copy_from_slice(&1u32.to_le_bytes()); // superblock version
    sb[12..16].copy_from_slice(&1u32.to_le_bytes()); // hash type: normal
    sb[16..32].copy_from_slice(params.uuid.as_bytes());
    sb[32..38].copy_from_slice(b"sha256");
    sb[64..68].copy_from_slice(&(params.data_block_size as u32).to_le_bytes());
    sb[68..72].copy_from_slice(&(params.hash_block_size as u32).to_le_bytes());
    sb[72..80].copy_from_slice(&data_blocks.to_le_bytes());
    sb[80..82].copy_from_slice(&(params.salt.len() as u16).to_le_bytes());
    sb[88..88 + params.salt.len()].copy_from_slice(&params.salt);
    sb
}

/// Builds the tree over `data_blocks` blocks read from `data`.
pub fn build(params: &Params, mut data: impl Read, data_blocks: u64) -> std::io::Result<Tree> {
    if data_blocks == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "no data blocks to protect",
        ));
    }
    let hbs = params.hash_block_size as usize;
    let per_block = hashes_per_block(params.hash_block_size) as usize;
    let mut block = vec![0u8; params.data_block_size as usize];
    // Hash every data block; with a single block its hash is the root.
    let mut level: Vec<u8> = Vec::new();
    let mut root = [0u8; 32];
    for i in 0..data_blocks {
        data.read_exact(&mut block)?;
        let digest = hash_block(&params.salt, &block);
        if data_blocks == 1 {
            root = digest;
        }
        if (i as usize).is_multiple_of(per_block) {
            level.resize(level.len() + hbs, 0);
        }
        let at = (i as usize / per_block) * hbs + (i as usize % per_block) * DIGEST as usize;
        level[at..at + DIGEST as usize].copy_from_slice(&digest);
    }
    let mut levels: Vec<Vec<u8>> = Vec::new();
    if data_blocks > 1 {
        loop {
            let blocks = level.len() / hbs;
            if blocks == 1 {
                root = hash_block(&params.salt, &level);
                levels.push(level);
                break;
            }
            let mut next: Vec<u8> = Vec::new();
            for (i, chunk) in level.chunks(hbs).enumerate() {
                if i.is_multiple_of(per_block) {
                    next.resize(next.len() + hbs, 0);
                }
                let at = (i / per_block) * hbs + (i % per_block) * DIGEST as usize;
                next[at..at + DIGEST as usize].copy_from_slice(&hash_block(&params.salt, chunk));
            }
            levels.push(std::mem::replace(&mut level, next));
        }
    }
    let sb_len = SUPERBLOCK.div_ceil(hbs) * hbs;
    let mut image = vec![0u8; sb_len];
    image[..SUPERBLOCK].copy_from_slice(&superblock(params, data_blocks));
    for l in levels.iter().rev() {
        image.extend_from_slice(l);
    }
    debug_assert_eq!(
        image.len() as u64,
        image_size(data_blocks, params.hash_block_size)
    );
    Ok(Tree {
        root_hash: root,
        image,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(data_bs: u64, hash_bs: u64) -> Params {
        Params::from_seed(
            Uuid::parse_str("e2a40bf9-73f1-4278-9160-49c031e7aedd").unwrap(),
            data_bs,
            hash_bs,
        )
    }

    /// Deterministic test data: byte i of the input is (i * 7 + i / 4096) mod 251.
    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| ((i * 7 + i / 4096) % 251) as u8).collect()
    }

    /// Root hash, sha256 of the hash device image, and its size.
    fn tree(data_bs: u64, hash_bs: u64, len: usize) -> (String, String, usize) {
        let d = data(len);
        let t = build(&params(data_bs, hash_bs), &d[..], len as u64 / data_bs).unwrap();
        (t.root_hex(), hex(&Sha256::digest(&t.image)), t.image.len())
    }

    fn expect(expected: (&str, &str), size: usize) -> (String, String, usize) {
        (expected.0.to_string(), expected.1.to_string(), size)
    }

    // Expected root hashes and sha256 sums of the hash device were produced by
    // `veritysetup format --hash=sha256 --format=1 --salt=<salt> --uuid=<uuid>
    // --data-block-size=D --hash-block-size=H data hash` (cryptsetup 2.6.1) on the
    // same data with the salt and UUID derived from the same seed.
    #[test]
    fn single_block() {
        assert_eq!(tree(4096, 4096, 4096), expect(SINGLE, 4096));
    }

    #[test]
    fn one_level() {
        assert_eq!(tree(4096, 4096, 4096 * 100), expect(ONE_LEVEL, 8192));
    }

    #[test]
    fn two_levels() {
        assert_eq!(tree(4096, 4096, 4096 * 300), expect(TWO_LEVELS, 5 * 4096));
        assert_eq!(image_size(300, 4096), 5 * 4096);
    }

    #[test]
    fn small_blocks() {
        assert_eq!(tree(512, 512, 512 * 300), expect(SMALL, 512 * 23));
    }

    #[test]
    fn seed_derivations() {
        let seed = Uuid::parse_str("e2a40bf9-73f1-4278-9160-49c031e7aedd").unwrap();
        assert_eq!(superblock_uuid(seed).get_version_num(), 4);
        assert_eq!(salt(seed).len(), 32);
    }

    #[test]
    fn hash_size_from_data_max_matches_upstream_example() {
        assert_eq!(hash_size_for_data_max(10 << 30, 4096, 4096), 84_557_824);
    }

    const SINGLE: (&str, &str) = (
        "0eeb385d0914f383b9cf66b5d78bc652bb22aa12dd3a7e8734c5c430129d66e2",
        "6002b9c5744efba1306a062e234ebbeaed6de04ffa6573ea745460d28790a6ac",
    );
    const ONE_LEVEL: (&str, &str) = (
        "929fbe9f5982c55b4ae9642fcbede53e467d7c9e24045c21dd69a4767e8c47a7",
        "f171294c913481ee8e7e3b24b1de62347e818e73a04a919ff1634528948e9452",
    );
    const TWO_LEVELS: (&str, &str) = (
        "a28030992c02fec0951505e5fc49701c0964b5622fcba75202fe65fc559faca5",
        "582bbaf15720149eb6ef71bcabd5ba699e1d05575beed0d99894771ad9c9026f",
    );
    const SMALL: (&str, &str) = (
        "d9ce70028d74aac370b2c9a0c7a7712d01d86ac95db0653aef85be67b25ec83e",
        "fcb4535b375e53d5bc990771a6d7680bc60f8703e578460369bb2bf2e86f0c2c",
    );
}
