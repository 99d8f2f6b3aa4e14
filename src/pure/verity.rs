//! dm-verity hash trees (spec §9.6): the on-disk format `veritysetup format` writes
//! with hash type 1 and sha256 — a 512-byte superblock padded to one hash block,
//! followed by the tree levels from the top (one block) down to the level that
//! hashes the data blocks. Every hash is `sha256(salt || block)`.
//!
//! Pure: the caller hands in the data as a reader and writes the result.

use std::io::Read;

use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::pure::config::{Definition, VerityMode};
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

/// The contents of a `Verity=signature` partition: upstream's compact JSON object
/// (`rootHash` and `certificateFingerprint` in lowercase hex, the DER signature in
/// base64), padded with NUL bytes to `size`; `None` when it does not fit with its
/// terminating NUL.
pub fn signature_payload(
    root_hash: &[u8; 32],
    fingerprint: &[u8; 32],
    signature: &[u8],
    size: u64,
) -> Option<Vec<u8>> {
    let text = format!(
        "{{\"rootHash\":\"{}\",\"certificateFingerprint\":\"{}\",\"signature\":\"{}\"}}",
        hex(root_hash),
        hex(fingerprint),
        base64(signature)
    );
    let mut bytes = text.into_bytes();
    if bytes.len() as u64 >= size {
        return None;
    }
    bytes.resize(usize::try_from(size).ok()?, 0);
    Some(bytes)
}

/// Standard base64 with padding and without line breaks.
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
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

    #[test]
    fn uuids_split_root_hash() {
        let mut r = [0u8; 32];
        r[0] = 0x25;
        r[31] = 0x4b;
        let (d, h) = uuids_from_root_hash(&r);
        assert!(d.hyphenated().to_string().starts_with("25"));
        assert!(h.hyphenated().to_string().ends_with("4b"));
    }

    #[test]
    fn base64_matches_rfc4648_examples() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn signature_payload_is_padded_json() {
        let payload = signature_payload(&[0xab; 32], &[0x01; 32], b"sig", 512).unwrap();
        assert_eq!(payload.len(), 512);
        let text =
            String::from_utf8(payload.into_iter().take_while(|&b| b != 0).collect()).unwrap();
        let want = format!(
            "{{\"rootHash\":\"{}\",\"certificateFingerprint\":\"{}\",\"signature\":\"c2ln\"}}",
            "ab".repeat(32),
            "01".repeat(32)
        );
        assert_eq!(text, want);
        // The text and its NUL must fit.
        let len = want.len() as u64;
        assert!(signature_payload(&[0xab; 32], &[0x01; 32], b"sig", len).is_none());
        assert!(signature_payload(&[0xab; 32], &[0x01; 32], b"sig", len + 1).is_some());
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
