//! Block content that must be known before planning: `CopyBlocks=` sources and
//! `Minimize=` images, whose sizes become the partitions' minimum sizes (upstream opens
//! the sources before deciding UUIDs and labels, and minimizes after, before
//! `--size=auto`).

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use tempfile::TempPath;

use uuid::Uuid;

use crate::pure::config::{CopyBlocks, Definition, Minimize};
use crate::pure::gpt_types::Designator;
use crate::pure::plan::Identity;
use crate::shell::fs::minimize::MinimizedImage;
use crate::shell::fs::{FormatJob, FsEnv, FsError};

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

/// What a [`BlockSource`] is, which decides how it sizes its partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A `CopyBlocks=` image file, block device or `--copy-from=` region: its size is
    /// the least the partition must hold.
    Fixed,
    /// A `Minimize=` image: its size also replaces the default minimum size.
    Minimized,
    /// A `CopyBlocks=` character device (`/dev/urandom`, `/dev/zero`): no size of its
    /// own; as upstream, it is read until the partition is full (or it ends).
    Stream,
}

/// Bytes to copy into a new partition on block level.
#[derive(Debug)]
pub struct BlockSource {
    /// Where the bytes come from.
    pub path: PathBuf,
    /// How many bytes (not used for a [`SourceKind::Stream`], which has no size).
    pub size: u64,
    /// Where in `path` the bytes start.
    pub offset: u64,
    /// Fixed, minimized or stream.
    pub kind: SourceKind,
    /// Keeps a temporary image alive until it was copied.
    _temp: Option<(TempPath, crate::shell::signal_cleanup::Tracked)>,
}

impl BlockSource {
    /// The bytes the partition must hold at least (`None` for a stream).
    pub fn planned_size(&self) -> Option<u64> {
        (self.kind != SourceKind::Stream).then_some(self.size)
    }

    /// The size of a `Minimize=` image, if this is one.
    pub fn minimized_size(&self) -> Option<u64> {
        (self.kind == SourceKind::Minimized).then_some(self.size)
    }
}

impl BlockSource {
    /// A `Minimize=` image made in temporary file `file` (removed when dropped, or
    /// on SIGTERM/SIGINT).
    pub fn minimized_temp(file: TempPath, size: u64) -> BlockSource {
        let tracked = crate::shell::signal_cleanup::track(&file);
        BlockSource {
            path: file.to_path_buf(),
            size,
            offset: 0,
            kind: SourceKind::Minimized,
            _temp: Some((file, tracked)),
        }
    }
}

impl From<MinimizedImage> for BlockSource {
    fn from(image: MinimizedImage) -> BlockSource {
        BlockSource {
            path: image.file.to_path_buf(),
            size: image.size,
            offset: 0,
            kind: SourceKind::Minimized,
            _temp: Some((image.file, image.tracked)),
        }
    }
}

/// Why a `CopyBlocks=` source cannot be used (upstream's messages).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// Opening or inspecting it failed.
    #[error("Failed to open '{path}': {reason}")]
    Open {
        /// The source path.
        path: String,
        /// Why.
        reason: String,
    },
    /// Its size is not a whole number of 512-byte sectors.
    #[error("File to copy bytes from '{0}' has size that is not multiple of 512, refusing.")]
    Unaligned(String),
    /// A kind of source this build cannot copy from yet.
    #[error("{0}")]
    Unsupported(String),
    /// A fifo or socket (upstream's refusal).
    #[error(
        "Specified path to copy blocks from '{0}' is not a regular file, block device or directory, refusing."
    )]
    WrongKind(String),
}

/// Opens the `CopyBlocks=` sources of new partitions (paths resolve under `root`).
pub fn open_copy_blocks(
    definitions: &[Definition],
    identities: &[Option<&Identity>],
    root: Option<&Path>,
) -> Result<Vec<Option<BlockSource>>, SourceError> {
    let mut out = Vec::with_capacity(definitions.len());
    for (def, identity) in definitions.iter().zip(identities) {
        let source = match (&def.copy_blocks, identity) {
            (Some(CopyBlocks::Path(path)), Some(_)) => Some(open_source(path, root)?),
            (Some(CopyBlocks::Region { path, offset, size }), Some(_)) => Some(BlockSource {
                path: path.clone(),
                size: *size,
                offset: *offset,
                kind: SourceKind::Fixed,
                _temp: None,
            }),
            (Some(CopyBlocks::Auto), Some(_)) => {
                return Err(SourceError::Unsupported(format!(
                    "{}: CopyBlocks=auto is not supported by this build yet.",
                    def.path.display()
                )));
            }
            _ => None,
        };
        out.push(source);
    }
    Ok(out)
}

fn open_source(path: &str, root: Option<&Path>) -> Result<BlockSource, SourceError> {
    // Symlinks are resolved inside the root (and the resolved path is the one logged),
    // as upstream's chase does.
    let full = crate::shell::root_paths::chase(root, path);
    let open_err = |e: std::io::Error| SourceError::Open {
        path: path.to_string(),
        reason: crate::shell::disk::strerror(&e),
    };
    // Look before opening: opening a fifo would wait for a writer.
    let kind = std::fs::metadata(&full).map_err(open_err)?.file_type();
    if kind.is_fifo() || kind.is_socket() {
        return Err(SourceError::WrongKind(path.to_string()));
    }
    if kind.is_dir() {
        return Err(SourceError::Unsupported(format!(
            "CopyBlocks= source '{path}' is a directory; copying the block device backing it is not supported by this build yet."
        )));
    }
    let file = std::fs::File::open(&full).map_err(open_err)?;
    let meta = file.metadata().map_err(open_err)?;
    if meta.file_type().is_char_device() {
        return Ok(BlockSource {
            path: full,
            size: 0,
            offset: 0,
            kind: SourceKind::Stream,
            _temp: None,
        });
    }
    let size = if meta.file_type().is_block_device() {
        crate::shell::disk::blockdev::size_bytes(&file).map_err(open_err)?
    } else {
        meta.len()
    };
    if size == 0 || size % 512 != 0 {
        return Err(SourceError::Unaligned(path.to_string()));
    }
    Ok(BlockSource {
        path: full,
        size,
        offset: 0,
        kind: SourceKind::Fixed,
        _temp: None,
    })
}

/// Builds the `Minimize=` images of new partitions into `sources` (indexed by
/// definition; partitions with a `CopyBlocks=` source are never minimized), then the
/// hash trees of `Verity=hash` partitions with `Minimize=` from their data partition's
/// image. Returns the root hashes found, indexed by (hash) definition. `loop_use` and
/// `sector_size` (the target's): for upstream's loop device (`--offline=no`).
pub fn minimize_all(
    definitions: &[Definition],
    identities: &[Option<&Identity>],
    settings: &JobSettings,
    seed: Uuid,
    loop_use: crate::pure::policy::LoopUse,
    sector_size: u64,
    sources: &mut [Option<BlockSource>],
) -> Result<Vec<Option<[u8; 32]>>, FsError> {
    let designators = designators(definitions);
    for ((def, identity), source) in definitions.iter().zip(identities).zip(sources.iter_mut()) {
        if let Some(identity) = identity
            && wants_minimize(def)
        {
            let hint = def.file_name();
            let job = job(
                def,
                identity.uuid,
                &identity.label,
                &hint,
                settings,
                &designators,
            );
            *source = Some(
                crate::shell::fs::minimize::minimize(&job, loop_use, sector_size as u32)?.into(),
            );
        }
    }
    crate::shell::verity::prebuild_hash_images(definitions, identities, settings, seed, sources)
}
