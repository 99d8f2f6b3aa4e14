//! One partition definition: a main file plus drop-ins turned into a [`Definition`],
//! then the implied values and post-parse validation of spec §2.2 (steps 1–23), and the
//! cross-definition checks (verity siblings, `SupplementFor=`).
//!
//! Pure: file contents come in as bytes, the environment as [`LoadOptions`].

use std::path::PathBuf;

use super::ini::{self, Item, located};
use super::keys::{self, Ctx, Draft, KEYS};
use super::specifier::SystemInfo;
use super::values::filename_part_is_valid;
use super::{
    ConfigError, CopyBlocks, Definition, Diagnostic, EncryptMode, Level, LoadOptions, Minimize,
    VerityMode,
};
use crate::pure::gpt_types::Designator;

/// One file to parse: the path as printed in messages and its raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Path of the file (used in `path:line:` prefixes).
    pub path: PathBuf,
    /// File contents.
    pub content: Vec<u8>,
}

use crate::pure::fstype::FileSystem;

/// Parses the definition `main` from `files` (the main file first unless it is read in
/// its drop-in position, then the drop-ins), recording `dropins` for the table.
///
/// Returns `Ok(None)` when the type is filtered out by `--include/--exclude-partitions=`.
pub fn parse_definition(
    main: PathBuf,
    files: &[SourceFile],
    dropins: Vec<PathBuf>,
    opts: &LoadOptions,
    sys: &SystemInfo,
    diags: &mut Vec<Diagnostic>,
) -> Result<Option<Definition>, ConfigError> {
    let mut draft = Draft::new(main);
    draft.def.dropins = dropins;
    for file in files {
        let shown = file.path.display().to_string();
        let parsed = ini::parse(&shown, &file.content, "Partition", &KEYS);
        let ctx = Ctx {
            path: &shown,
            opts,
            sys,
        };
        for item in parsed.items {
            match item {
                Item::Diagnostic(d) => diags.push(d),
                Item::Assignment(a) => keys::apply(&mut draft, &a, ctx, diags)?,
            }
        }
        if let Some(error) = parsed.error {
            return Err(error);
        }
    }
    finish(draft, opts, diags)
}

/// Validation errors of §2.2 are reported at line 1 of the main file.
fn refuse(def: &Definition, message: &str) -> ConfigError {
    ConfigError {
        message: located(&def.path.display().to_string(), 1, message),
    }
}

fn verity_name(mode: VerityMode) -> &'static str {
    match mode {
        VerityMode::Off => "off",
        VerityMode::Data => "data",
        VerityMode::Hash => "hash",
        VerityMode::Signature => "signature",
    }
}

/// Applies the implied values and validation of spec §2.2, in upstream's order.
pub fn finish(
    draft: Draft,
    opts: &LoadOptions,
    diags: &mut Vec<Diagnostic>,
) -> Result<Option<Definition>, ConfigError> {
    let Draft {
        mut def,
        has_type,
        split_name,
    } = draft;
    // 1. Filtered types are dropped without any further checks.
    if let Some(filter) = &opts.partition_filter
        && filter.excludes(def.partition_type.uuid)
    {
        return Ok(None);
    }
    // 2./3. Min above max.
    if let (Some(min), Some(max)) = (def.size_min, def.size_max)
        && min > max
    {
        let message = "SizeMinBytes= larger than SizeMaxBytes=, refusing.";
        return Err(refuse(&def, message));
    }
    if let (Some(min), Some(max)) = (def.padding_min, def.padding_max)
        && min > max
    {
        let message = "PaddingMinBytes= larger than PaddingMaxBytes=, refusing.";
        return Err(refuse(&def, message));
    }
    // 4. Type is required.
    if !has_type {
        return Err(refuse(&def, "Type= not defined, refusing."));
    }
    // 5./6. CopyBlocks excludes populating; swap cannot be populated.
    if def.copy_blocks.is_some() && (def.format.is_some() || def.needs_populate()) {
        let message = "Format=/CopyFiles=/MakeDirectories=/MakeSymlinks= and CopyBlocks= cannot be combined, refusing.";
        return Err(refuse(&def, message));
    }
    if def.needs_populate() && def.format == Some(FileSystem::Swap) {
        let message = "Format=swap and CopyFiles=/MakeDirectories=/MakeSymlinks= cannot be combined, refusing.";
        return Err(refuse(&def, message));
    }
    // 7. Implied Format=.
    let designator = def.partition_type.designator;
    if def.format.is_none() {
        if designator == Some(Designator::Swap) {
            def.format = Some(FileSystem::Swap);
        } else if def.needs_populate()
            || (def.encrypt != EncryptMode::Off && def.copy_blocks.is_none())
        {
            let vfat = matches!(designator, Some(Designator::Esp | Designator::Xbootldr));
            def.format = Some(if vfat {
                FileSystem::Vfat
            } else {
                FileSystem::Ext4
            });
        }
    }
    // 8./9. Minimize= needs something to minimize.
    if def.minimize != Minimize::Off && def.format.is_none() && def.verity != VerityMode::Hash {
        let message = "Minimize= can only be enabled if Format= or Verity=hash are set.";
        return Err(refuse(&def, message));
    }
    if def.minimize == Minimize::Best
        && def.format.as_ref().is_some_and(|f| !f.is_read_only())
        && def.verity != VerityMode::Hash
    {
        let message = "Minimize=best can only be used with read-only filesystems or Verity=hash.";
        return Err(refuse(&def, message));
    }
    // 10./11. Populating constraints.
    if let Some(format) = &def.format {
        if def.needs_populate() && !format.supports_root_option() && !opts.running_as_root {
            let message = format!(
                "Need to be root to populate {format} filesystems with CopyFiles=/MakeDirectories=/MakeSymlinks=."
            );
            return Err(refuse(&def, &message));
        }
        if format.is_read_only() && !def.needs_populate() {
            let message =
                format!("Cannot format {format} filesystem without source files, refusing.");
            return Err(refuse(&def, &message));
        }
    }
    // 12.–16. Verity and encryption.
    let verity = verity_name(def.verity);
    if def.verity != VerityMode::Off && def.verity_match_key.is_none() {
        return Err(refuse(
            &def,
            &format!("VerityMatchKey= must be set if Verity={verity}."),
        ));
    }
    if def.verity == VerityMode::Off && def.verity_match_key.is_some() {
        let message = "VerityMatchKey= can only be set if Verity= is not \"off\".";
        return Err(refuse(&def, message));
    }
    if matches!(def.verity, VerityMode::Hash | VerityMode::Signature)
        && (def.copy_blocks.is_some() || def.format.is_some() || def.needs_populate())
    {
        let message = format!(
            "CopyBlocks=/CopyFiles=/Format=/MakeDirectories=/MakeSymlinks= cannot be used with Verity={verity}."
        );
        return Err(refuse(&def, &message));
    }
    if def.verity != VerityMode::Off && def.encrypt != EncryptMode::Off {
        let message = "Encrypting verity hash/data partitions is not supported.";
        return Err(refuse(&def, message));
    }
    if def.verity == VerityMode::Signature {
        if !opts.have_private_key {
            let message = "Verity signature partition requested but no private key provided (--private-key=).";
            return Err(refuse(&def, message));
        }
        if !opts.have_certificate {
            let message = "Verity signature partition requested but no PEM certificate provided (--certificate=).";
            return Err(refuse(&def, message));
        }
        if def.size_min.is_some() || def.size_max.is_some() {
            let message =
                format!("SizeMinBytes=/SizeMaxBytes= cannot be used with Verity={verity}.");
            return Err(refuse(&def, &message));
        }
    }
    // 17. (Subvolumes= with --offline=yes) is not refused by 257.13, the oracle.
    // 18. DefaultSubvolume= must name a subvolume.
    if let Some(default) = &def.default_subvolume
        && !def.subvolumes.iter().any(|(p, _)| p == default)
    {
        let message = "DefaultSubvolume= must be one of the paths in Subvolumes=.";
        return Err(refuse(&def, message));
    }
    // 19. SupplementFor= syntax and compatibility.
    if let Some(target) = &def.supplement_for {
        if !filename_part_is_valid(target) {
            let message = format!("SupplementFor= is an invalid filename: {target}");
            return Err(refuse(&def, &message));
        }
        if def.copy_blocks.is_some()
            || def.encrypt != EncryptMode::Off
            || def.verity != VerityMode::Off
        {
            let message = "SupplementFor= cannot be combined with CopyBlocks=/Encrypt=/Verity=";
            return Err(refuse(&def, message));
        }
    }
    // 20. Verity partitions are read-only unless configured otherwise.
    let verity_type = matches!(
        designator,
        Some(Designator::RootVerity | Designator::UsrVerity)
    );
    if def.read_only.is_none() && (verity_type || def.verity == VerityMode::Data) {
        def.read_only = Some(true);
    }
    // 21. growfs defaults on (overriding an explicit "no") unless read-only.
    if def.partition_type.supports_growfs() && def.read_only != Some(true) {
        def.growfs = Some(true);
    }
    // 22. SplitName=.
    def.split_name = match split_name.as_deref() {
        None => Some("%t".to_string()),
        Some("-") => None,
        Some(s) => Some(s.to_string()),
    };
    // 23. Per-designator file system override.
    if let Some(d) = designator.filter(|_| def.partition_type.has_filesystem())
        && let Some(o) = opts.fstype_override_by_designator.get(&d.env_suffix())
        && def.format.as_ref().map(FileSystem::name) != Some(o.as_str())
    {
        let current = def.format.as_ref().map_or("(null)", FileSystem::name);
        let message = format!(
            "Overriding defined file system type '{current}' for '{}' partition with '{o}'.",
            d.name()
        );
        diags.push(Diagnostic {
            level: Level::Notice,
            message: located(&def.path.display().to_string(), 1, &message),
        });
        def.format = Some(FileSystem::from_name(o));
    }
    Ok(Some(def))
}

/// The checks a complete set of parsed definitions gets, wherever it came from (a
/// definitions directory or a built-in DDI set).
pub fn check_set(defs: &[Definition]) -> Result<(), ConfigError> {
    cross_check(defs)
}

/// The name `SupplementFor=` refers to: the file name without `.conf`.
fn definition_name(def: &Definition) -> String {
    let name = def.file_name();
    name.strip_suffix(".conf")
        .map(str::to_string)
        .unwrap_or(name)
}

/// For every definition, the index of the definition its `SupplementFor=` names (the
/// first other definition with that name; `cross_check` has refused a missing one).
pub fn supplement_targets(defs: &[Definition]) -> Vec<Option<usize>> {
    defs.iter()
        .enumerate()
        .map(|(i, def)| {
            let name = def.supplement_for.as_deref()?;
            (0..defs.len()).find(|&j| j != i && definition_name(&defs[j]) == name)
        })
        .collect()
}

/// Checks verity siblings and `SupplementFor=` across all definitions (in order).
pub fn cross_check(defs: &[Definition]) -> Result<(), ConfigError> {
    for def in defs.iter().filter(|d| d.verity != VerityMode::Off) {
        let key = def.verity_match_key.as_deref().unwrap_or_default();
        for mode in [VerityMode::Data, VerityMode::Hash, VerityMode::Signature] {
            if mode == def.verity {
                continue;
            }
            let siblings: Vec<&Definition> = defs
                .iter()
                .filter(|q| q.verity == mode && q.verity_match_key.as_deref() == Some(key))
                .collect();
            let (mine, theirs) = (verity_name(def.verity), verity_name(mode));
            match siblings.as_slice() {
                [] if mode == VerityMode::Signature => {}
                [] => {
                    let message = format!(
                        "Missing verity {theirs} partition for verity {mine} partition with VerityMatchKey={key}."
                    );
                    return Err(refuse(def, &message));
                }
                [q] => {
                    if q.priority != def.priority {
                        let message = format!(
                            "Priority mismatch ({} != {}) for verity sibling partitions with VerityMatchKey={key}.",
                            def.priority, q.priority
                        );
                        return Err(refuse(def, &message));
                    }
                    if def.verity == VerityMode::Hash
                        && mode == VerityMode::Data
                        && def.minimize != Minimize::Off
                        && q.minimize == Minimize::Off
                        && q.copy_blocks.is_none()
                    {
                        let message = "Minimize= set for verity hash partition but data partition does not set CopyBlocks= or Minimize=.";
                        return Err(refuse(def, message));
                    }
                }
                _ => {
                    let message = format!(
                        "Multiple verity {theirs} partitions found for verity {mine} partition with VerityMatchKey={key}."
                    );
                    return Err(refuse(def, &message));
                }
            }
        }
    }
    let mut has_supplement = vec![false; defs.len()];
    for def in defs {
        let Some(name) = def.supplement_for.as_deref() else {
            continue;
        };
        let target = defs
            .iter()
            .position(|q| !std::ptr::eq(q, def) && definition_name(q) == name);
        let Some(index) = target else {
            let message = format!("Couldn't find target partition for SupplementFor={name}");
            return Err(refuse(def, &message));
        };
        let target = &defs[index];
        if target.supplement_for.is_some() {
            let message = "SupplementFor= target is itself configured as a supplement.";
            return Err(refuse(def, message));
        }
        if has_supplement[index] {
            let holder = defs
                .iter()
                .find(|q| q.supplement_for.as_deref() == Some(name))
                .map(|q| q.path.display().to_string())
                .unwrap_or_default();
            let message =
                format!("SupplementFor= target already has a supplement defined: {holder}");
            return Err(refuse(def, &message));
        }
        if matches!(
            target.copy_blocks,
            Some(CopyBlocks::Auto | CopyBlocks::Path(_) | CopyBlocks::Region { .. })
        ) || target.encrypt != EncryptMode::Off
            || target.verity != VerityMode::Off
        {
            let message = "SupplementFor= target uses CopyBlocks=/Encrypt=/Verity=";
            return Err(refuse(def, message));
        }
        if !ranges_compatible(def.size_min, def.size_max, target.size_min, target.size_max) {
            let message =
                "SizeMinBytes= larger than SizeMaxBytes= when merged with SupplementFor= target.";
            return Err(refuse(def, message));
        }
        let (pmin, pmax) = (def.padding_min, def.padding_max);
        if !ranges_compatible(pmin, pmax, target.padding_min, target.padding_max) {
            let message = "PaddingMinBytes= larger than PaddingMaxBytes= when merged with SupplementFor= target.";
            return Err(refuse(def, message));
        }
        has_supplement[index] = true;
    }
    Ok(())
}

/// Merged ranges are consistent: max of the mins ≤ min of the maxes (unset = open).
fn ranges_compatible(
    min_a: Option<u64>,
    max_a: Option<u64>,
    min_b: Option<u64>,
    max_b: Option<u64>,
) -> bool {
    let min = min_a.max(min_b);
    let max = match (max_a, max_b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    match (min, max) {
        (Some(min), Some(max)) => min <= max,
        _ => true,
    }
}

#[cfg(test)]
mod tests;
