//! dm-verity, the shell side: hash trees over files and partitions, the
//! `Minimize=` hash images built before planning, and (in [`mod@write`]) the hash and
//! signature partitions written while applying. The format itself is pure:
//! `crate::pure::verity`.

pub mod write;

use std::path::Path;

use uuid::Uuid;

use crate::pure::config::{Definition, Minimize, VerityMode};
use crate::pure::plan::Identity;
use crate::shell::block_sources::{BlockSource, JobSettings};
use crate::shell::fs::FsError;

/// The hash trees of `Verity=hash` partitions with `Minimize=`, built from their data
/// partition's prepared image (`sources`, indexed by definition) into temporary files
/// that become their block sources. Returns the root hashes, indexed by (hash)
/// definition.
pub fn prebuild_hash_images(
    definitions: &[Definition],
    identities: &[Option<&Identity>],
    settings: &JobSettings,
    seed: Uuid,
    sources: &mut [Option<BlockSource>],
) -> Result<Vec<Option<[u8; 32]>>, FsError> {
    let mut roots = vec![None; definitions.len()];
    for (i, def) in definitions.iter().enumerate() {
        if def.verity != VerityMode::Hash
            || def.minimize == Minimize::Off
            || identities.get(i).is_none_or(Option::is_none)
        {
            continue;
        }
        let Some(data) = crate::pure::verity::sibling(definitions, i, VerityMode::Data) else {
            continue;
        };
        let Some(Some(image)) = sources.get(data) else {
            continue;
        };
        let hint = def.file_name();
        tracing::info!(
            "Pre-populating verity hash data of partition {hint} to calculate minimal partition size"
        );
        let params = params(def, settings, seed);
        let io_err = |e| FsError::io(format!("Failed to format verity hash for {hint}"), e);
        let tree =
            tree_from_file(&image.path, image.offset, image.size, &params).map_err(io_err)?;
        let temp = tempfile::Builder::new()
            .prefix(".#repart")
            .rand_bytes(16)
            .tempfile_in(&settings.env.tmp_dir)
            .map_err(|e| FsError::io("Failed to generate temporary file path", e))?
            .into_temp_path();
        std::fs::write(&temp, &tree.image).map_err(io_err)?;
        let size = tree.image.len() as u64;
        tracing::info!(
            "Minimal partition size of verity hash partition {hint} is {}",
            crate::pure::size::format_bytes(size)
        );
        sources[i] = Some(BlockSource::minimized_temp(temp, size));
        roots[i] = Some(tree.root_hash);
    }
    Ok(roots)
}

/// The tree parameters of `Verity=hash` definition `def` (block sizes default to the
/// file-system sector size).
pub fn params(def: &Definition, settings: &JobSettings, seed: Uuid) -> crate::pure::verity::Params {
    crate::pure::verity::Params::from_seed(
        seed,
        def.verity_data_block_size
            .unwrap_or(settings.fs_sector_size),
        def.verity_hash_block_size
            .unwrap_or(settings.fs_sector_size),
    )
}

/// Builds the hash tree over `size` bytes of `path` starting at `offset`.
pub fn tree_from_file(
    path: &Path,
    offset: u64,
    size: u64,
    params: &crate::pure::verity::Params,
) -> std::io::Result<crate::pure::verity::Tree> {
    tree_from(&std::fs::File::open(path)?, offset, size, params)
}

/// Builds the hash tree over `size` bytes of `file` starting at `offset`.
pub fn tree_from(
    file: &std::fs::File,
    offset: u64,
    size: u64,
    params: &crate::pure::verity::Params,
) -> std::io::Result<crate::pure::verity::Tree> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = file.try_clone()?;
    file.seek(SeekFrom::Start(offset))?;
    let reader = std::io::BufReader::with_capacity(1 << 20, file.take(size));
    crate::pure::verity::build(params, reader, size / params.data_block_size)
}
