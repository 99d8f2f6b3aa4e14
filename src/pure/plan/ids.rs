//! UUIDs and labels (spec §5.5, §5.6): HMAC-SHA256 derivations from the seed, the
//! per-type counter, and default labels with `-2`, `-3` suffixes.
//!
//! UUIDs are handled in textual (big-endian) byte order, i.e. `Uuid::as_bytes()`.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// The full 32-byte HMAC-SHA256 of `message` keyed with `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any size"),
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Marks the first 16 bytes of `bytes` as a random (version 4, variant 1) UUID.
pub fn v4_from(bytes: &[u8; 32]) -> Uuid {
    let mut b = [0u8; 16];
    b.copy_from_slice(&bytes[..16]);
    b[6] = (b[6] & 0x0F) | 0x40;
    b[8] = (b[8] & 0x3F) | 0x80;
    Uuid::from_bytes(b)
}

/// `v4(HMAC(key, message))`: the derivation used for every UUID repart makes up.
pub fn derive_uuid(key: Uuid, message: &[u8]) -> Uuid {
    v4_from(&hmac_sha256(key.as_bytes(), message))
}

/// The disk GUID derived from the seed.
pub fn disk_guid(seed: Uuid) -> Uuid {
    derive_uuid(seed, b"disk-uuid")
}

/// A partition UUID: `k` counts earlier list entries of the same type.
pub fn partition_uuid(seed: Uuid, type_uuid: Uuid, k: u64) -> Uuid {
    let mut message = type_uuid.as_bytes().to_vec();
    if k > 0 {
        message.extend_from_slice(&k.to_le_bytes());
    }
    derive_uuid(seed, &message)
}

/// The file system UUID for a partition whose UUID is `partition_uuid`.
pub fn fs_uuid(partition_uuid: Uuid) -> Uuid {
    derive_uuid(partition_uuid, b"file-system-uuid")
}

/// The LUKS UUID for a partition whose UUID is `partition_uuid`.
pub fn luks_uuid(partition_uuid: Uuid) -> Uuid {
    derive_uuid(partition_uuid, b"luks-uuid")
}

/// Default label: `prefix`, or `prefix-2`, `prefix-3`… avoiding `taken` labels.
pub fn default_label<'a>(prefix: &str, taken: impl Iterator<Item = &'a str> + Clone) -> String {
    let mut candidate = prefix.to_string();
    let mut n = 2u64;
    while taken.clone().any(|t| t == candidate) {
        candidate = format!("{prefix}-{n}");
        n += 1;
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Uuid {
        Uuid::parse_str(s).unwrap()
    }

    // Test vectors from upstream's TEST-58-REPART (spec §5.5).
    const SEED: &str = "750b6cd5c4ae4012a15e7be3c29e6a47";

    #[test]
    fn disk_guid_matches_upstream() {
        assert_eq!(
            disk_guid(u(SEED)),
            u("1d2ce291-7cce-4f7d-bc83-fdb49ad74ebd")
        );
    }

    #[test]
    fn partition_uuids_match_upstream() {
        let seed = u(SEED);
        let cases = [
            (
                "933ac7e1-2eb4-4f13-b844-0e14e2aef915",
                0,
                "4980595d-d74a-483a-aa9e-9903879a0ee5",
            ),
            (
                "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f",
                0,
                "78c92db8-3d2b-4823-b0dc-792b78f66f1e",
            ),
            (
                "c12a7328-f81f-11d2-ba4b-00a0c93ec93b",
                0,
                "39107b09-615d-48fb-ba37-c663885fce67",
            ),
            (
                "4f68bce3-e8cd-4db1-96e7-fbcaf984b709",
                0,
                "60f33797-1d71-4dcb-aa6f-20564f036cd0",
            ),
            (
                "4f68bce3-e8cd-4db1-96e7-fbcaf984b709",
                1,
                "73a4ccd2-eaf5-44da-a366-f99188210fdc",
            ),
            (
                "0fc63daf-8483-4772-8e79-3d69d8477de4",
                1,
                "db081670-07ae-48ca-9f5e-813d5e40b976",
            ),
        ];
        for (ty, k, expected) in cases {
            assert_eq!(partition_uuid(seed, u(ty), k), u(expected), "{ty} k={k}");
        }
    }

    #[test]
    fn default_labels_count_up() {
        let taken = ["root", "root-2"];
        assert_eq!(default_label("root", taken.iter().copied()), "root-3");
        assert_eq!(default_label("home", taken.iter().copied()), "home");
    }
}
