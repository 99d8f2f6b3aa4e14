//! GPT attribute bits of new partitions (spec §5.8).

use crate::pure::config::Definition;

/// Bit 59: grow the file system to the partition size on first mount.
pub const GROWFS: u64 = 1 << 59;
/// Bit 60: mount read-only.
pub const READ_ONLY: u64 = 1 << 60;
/// Bit 63: do not auto-mount.
pub const NO_AUTO: u64 = 1 << 63;

/// Attribute bits for a new partition, plus the warnings upstream prints while adding it.
///
/// libfdisk (which upstream hands the bits to as a list of bit numbers) only accepts
/// bits 48–63; a list with any lower bit is dropped entirely, so the entry gets 0.
pub fn new_partition_attrs(def: &Definition) -> (u64, Vec<String>) {
    let ty = &def.partition_type;
    let mut attrs = def.flags;
    let mut warnings = Vec::new();
    let settings = [
        ("NoAuto", def.no_auto, NO_AUTO, ty.supports_no_auto()),
        (
            "ReadOnly",
            def.read_only,
            READ_ONLY,
            ty.supports_read_only(),
        ),
        ("GrowFileSystem", def.growfs, GROWFS, ty.supports_growfs()),
    ];
    for (key, setting, bit, supported) in settings {
        let Some(value) = setting else { continue };
        if supported {
            if value {
                attrs |= bit;
            } else {
                attrs &= !bit;
            }
        } else {
            warnings.push(format!(
                "Configured {key}={} for partition type '{}' that doesn't support it, ignoring.",
                if value { "yes" } else { "no" },
                ty.display_name()
            ));
        }
    }
    if attrs & ((1 << 48) - 1) != 0 {
        attrs = 0;
    }
    (attrs, warnings)
}
