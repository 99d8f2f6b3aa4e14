//! What a partition is called, fixed once per run before any content is made, and the
//! root hash a verity partition shows.

use uuid::Uuid;

/// UUID and label of a partition, shared by the planner's [`Slot`](super::Slot) and the
/// plan's [`PlannedPartition`](super::PlannedPartition).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// Partition UUID (final, once the root hash of a verity set is known).
    pub uuid: Uuid,
    /// Partition label (new, else current).
    pub label: String,
    /// Whether the UUID replaces an existing all-zero UUID.
    pub init_uuid: bool,
    /// Whether the label is set on an existing unlabelled partition.
    pub init_label: bool,
    /// The UUID file system (and LUKS) UUIDs derive from when it differs from `uuid`:
    /// the seed-derived UUID of a verity data/hash partition whose partition UUID comes
    /// from the root hash.
    pub fs_uuid_key: Option<Uuid>,
}

impl Identity {
    /// The UUID file system and LUKS UUIDs are derived from.
    pub fn fs_key(&self) -> Uuid {
        self.fs_uuid_key.unwrap_or(self.uuid)
    }
}

/// The ROOTHASH of a verity partition: known once its hash tree was built (by
/// `Minimize=` before planning, else while writing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootHash {
    /// Not computed yet (upstream shows `TBD`).
    Pending,
    /// The root hash of the set's tree.
    Known([u8; 32]),
}

impl RootHash {
    /// The hash, once computed.
    pub fn known(&self) -> Option<&[u8; 32]> {
        match self {
            RootHash::Pending => None,
            RootHash::Known(hash) => Some(hash),
        }
    }
}

impl std::fmt::Display for RootHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RootHash::Pending => f.write_str("TBD"),
            RootHash::Known(hash) => hash.iter().try_for_each(|b| write!(f, "{b:02x}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_hash_cells() {
        assert_eq!(RootHash::Pending.to_string(), "TBD");
        let mut hash = [0u8; 32];
        hash[0] = 0xab;
        hash[31] = 0x01;
        let text = RootHash::Known(hash).to_string();
        assert_eq!(text.len(), 64);
        assert!(text.starts_with("ab00") && text.ends_with("0001"));
        assert_eq!(text, crate::pure::verity::hex(&hash));
    }
}
