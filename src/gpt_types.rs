//! The GPT partition type table: names, aliases, designators, architectures and the
//! per-type capabilities (read-only/growfs/no-auto flags, file system, mount points).
//!
//! STUB: owned by the config helper; signatures are the contract used by `plan`/`output`.

use uuid::Uuid;

/// What a partition type is for, per the Discoverable Partitions Specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Designator {
    /// `root-ARCH`
    Root,
    /// `root-ARCH-verity`
    RootVerity,
    /// `root-ARCH-verity-sig`
    RootVeritySig,
    /// `usr-ARCH`
    Usr,
    /// `usr-ARCH-verity`
    UsrVerity,
    /// `usr-ARCH-verity-sig`
    UsrVeritySig,
    /// EFI system partition.
    Esp,
    /// Extended boot loader partition.
    Xbootldr,
    /// Swap.
    Swap,
    /// `/home`.
    Home,
    /// `/srv`.
    Srv,
    /// `/var`.
    Var,
    /// `/var/tmp`.
    Tmp,
}

/// A resolved partition type: its UUID plus what the table knows about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionType {
    /// The GPT type UUID.
    pub uuid: Uuid,
    /// Canonical name (first table entry with this UUID), `None` for unknown UUIDs.
    pub name: Option<&'static str>,
    /// Designator, if the type has one.
    pub designator: Option<Designator>,
    /// Architecture (systemd name) for arch-specific types.
    pub arch: Option<&'static str>,
}

impl PartitionType {
    /// Parses a `Type=` value: a name/alias from the table, or any UUID.
    pub fn parse(_text: &str) -> Option<PartitionType> {
        todo!()
    }
    /// Looks a UUID up in the table (unknown UUIDs get no name).
    pub fn from_uuid(_uuid: Uuid) -> PartitionType {
        todo!()
    }
    /// Rewrites an arch-specific type to the same designator for `arch`, if such a type exists.
    pub fn with_architecture(self, _arch: &str) -> PartitionType {
        todo!()
    }
    /// The canonical name, or the lowercase UUID string for unknown types.
    pub fn display_name(&self) -> String {
        todo!()
    }
}
