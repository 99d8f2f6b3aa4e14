//! File-system content that must exist before planning: `Minimize=` images, whose sizes
//! become the partitions' minimum sizes (upstream does this after deciding UUIDs and
//! labels, before `--size=auto`).

use std::path::Path;

use uuid::Uuid;

use crate::config::{Definition, Minimize};
use crate::fs::minimize::MinimizedImage;
use crate::fs::{FormatJob, FsEnv, FsError};
use crate::gpt_types::Designator;

/// Settings shared by every file system job of a run.
#[derive(Debug, Clone, Copy)]
pub struct JobSettings<'a> {
    /// Environment (SOURCE_DATE_EPOCH, mkfs options, TMPDIR).
    pub env: &'a FsEnv,
    /// `--copy-source=` or `--root=`.
    pub copy_source: Option<&'a Path>,
    /// File-system sector size (`--sector-size=` or 4096).
    pub fs_sector_size: u64,
    /// `--discard=`.
    pub discard: bool,
    /// Partition alignment.
    pub grain: u64,
}

/// Designators of all definitions (a root partition leaves their mount points empty).
pub fn designators(definitions: &[Definition]) -> Vec<Designator> {
    definitions
        .iter()
        .filter_map(|d| d.partition_type.designator)
        .collect()
}

/// The job description for definition `def` with its final UUID and label.
pub fn job<'a>(
    def: &'a Definition,
    uuid: Uuid,
    label: &'a str,
    hint: &'a str,
    settings: &JobSettings<'a>,
    designators: &'a [Designator],
) -> FormatJob<'a> {
    FormatJob {
        fs_sector_size: settings.fs_sector_size,
        discard: settings.discard,
        copy_source: settings.copy_source,
        grain: settings.grain,
        other_designators: designators,
        ..FormatJob::new(def, label, uuid, settings.env, hint)
    }
}

/// Whether upstream pre-builds this partition's file system to size it.
pub fn wants_minimize(def: &Definition) -> bool {
    def.minimize != Minimize::Off
        && def.format.is_some()
        && def.needs_populate()
        && def.copy_blocks.is_none()
}

/// Builds the `Minimize=` images of new partitions, indexed by definition.
pub fn minimize_all(
    definitions: &[Definition],
    identities: &[Option<(Uuid, String)>],
    settings: &JobSettings,
) -> Result<Vec<Option<MinimizedImage>>, FsError> {
    let designators = designators(definitions);
    let mut images = Vec::with_capacity(definitions.len());
    for (def, identity) in definitions.iter().zip(identities) {
        let image = match identity {
            Some((uuid, label)) if wants_minimize(def) => {
                let hint = def.file_name();
                let job = job(def, *uuid, label, &hint, settings, &designators);
                Some(crate::fs::minimize::minimize(&job)?)
            }
            _ => None,
        };
        images.push(image);
    }
    Ok(images)
}
