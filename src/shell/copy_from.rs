//! `--copy-from=IMAGE` (spec §6.2): every partition of a GPT image becomes a synthetic
//! definition that copies its bytes, keeping type, UUID, label, size, padding and
//! attribute bits. These definitions come before the ones from files, the last image's
//! first.

use std::path::{Path, PathBuf};

use crate::pure::config::{CopyBlocks, Definition, PartitionFilter, UuidSetting};
use crate::pure::gpt_types::PartitionType;
use crate::pure::model::Label;
use crate::pure::plan::geometry::{grain, paddings};
use crate::shell::disk::gpt;

/// Why an image cannot be copied from (upstream's wording).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CopyFromError {
    /// Opening or reading the image failed.
    #[error("Failed to open {path}: {reason}")]
    Open {
        /// The image.
        path: String,
        /// Why.
        reason: String,
    },
    /// It has no GPT.
    #[error("Cannot copy from disk {0} with no GPT disk label.")]
    NoGpt(String),
}

/// The synthetic definitions for all `images`: like upstream, each image's partitions
/// (in their order) go before those of the images named earlier, so the last image's
/// come first.
pub fn definitions(
    images: &[PathBuf],
    filter: Option<&PartitionFilter>,
) -> Result<Vec<Definition>, CopyFromError> {
    let mut out = Vec::new();
    for image in images.iter().rev() {
        out.extend(from_image(image, filter)?);
    }
    Ok(out)
}

fn from_image(
    image: &Path,
    filter: Option<&PartitionFilter>,
) -> Result<Vec<Definition>, CopyFromError> {
    let path = std::path::absolute(image).unwrap_or_else(|_| image.to_path_buf());
    let shown = path.display().to_string();
    let open_err = |reason: String| CopyFromError::Open {
        path: shown.clone(),
        reason,
    };
    let mut file =
        std::fs::File::open(&path).map_err(|e| open_err(crate::shell::disk::strerror(&e)))?;
    let total = file
        .metadata()
        .map_err(|e| open_err(crate::shell::disk::strerror(&e)))?
        .len();
    let sector_size = gpt::probe_sector_size(&mut file)
        .map_err(|e| open_err(e.to_string()))?
        .unwrap_or(512);
    let table = match gpt::read_label(&mut file, total, sector_size) {
        Ok(Label::Gpt(table)) => table,
        Ok(_) | Err(_) => return Err(CopyFromError::NoGpt(shown)),
    };
    // Observed in upstream 257: the source's paddings are measured with libfdisk's
    // 1 MiB alignment grain, not repart's 4 KiB one.
    let g = grain(sector_size).max(1 << 20);
    let end = crate::pure::size::round_down((table.last_lba + 1) * sector_size, g);
    let extents: Vec<(u64, u64)> = table
        .partitions
        .iter()
        .map(|p| (p.offset, p.size))
        .collect();
    let pads = paddings(&extents, end, g);
    let mut defs = Vec::new();
    for (part, padding) in table.partitions.iter().zip(pads) {
        if filter.is_some_and(|f| f.excludes(part.type_uuid)) {
            continue;
        }
        let mut def = Definition::new(path.clone(), PartitionType::from_uuid(part.type_uuid));
        def.uuid = Some(UuidSetting::Explicit(part.uuid));
        def.label = (!part.label.is_empty()).then(|| part.label.clone());
        def.size_min = Some(part.size);
        def.size_max = Some(part.size);
        def.padding_min = Some(padding);
        def.padding_max = Some(padding);
        def.flags = part.attrs;
        def.copy_blocks = Some(CopyBlocks::Region {
            path: path.clone(),
            offset: part.offset,
            size: part.size,
        });
        defs.push(def);
    }
    Ok(defs)
}
