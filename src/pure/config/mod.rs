//! Definition files: the repart.d dialect parsed into [`Definition`] values.
//!
//! `ini` splits the unit-file dialect into assignments, `definition` turns one file
//! (plus drop-ins) into a `Definition`, and `specifier` expands `%x` specifiers from an
//! injected [`specifier::SystemInfo`]. All of it is pure: finding and reading the files
//! is `shell::definition_files`, gathering the host's facts is `shell::system_info`.

pub mod definition;
pub mod ini;
pub mod keys;
pub mod specifier;
pub mod values;

use std::collections::BTreeMap;
use std::path::PathBuf;

use uuid::Uuid;

use crate::pure::fstype::FileSystem;
use crate::pure::gpt_types::PartitionType;

/// `--include-partitions=` / `--exclude-partitions=`: which definitions are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartitionFilter {
    /// Keep only definitions whose type UUID is listed.
    Include(Vec<Uuid>),
    /// Drop definitions whose type UUID is listed.
    Exclude(Vec<Uuid>),
}

impl PartitionFilter {
    /// Whether a definition of type `uuid` is silently discarded (spec §2.2 step 1).
    pub fn excludes(&self, uuid: Uuid) -> bool {
        match self {
            PartitionFilter::Include(list) => !list.contains(&uuid),
            PartitionFilter::Exclude(list) => list.contains(&uuid),
        }
    }
}

/// Everything outside the definition files that affects how they are read.
///
/// The shell fills this from the command line and the environment; the parsing code
/// never looks at either itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// `--definitions=` directories (absolute), in order; empty = the default search path.
    pub definitions: Vec<PathBuf>,
    /// `--root=` (or the image mount point); prefixes the default search directories.
    pub root: Option<PathBuf>,
    /// `--architecture=` as a systemd architecture name.
    pub architecture: Option<&'static str>,
    /// `--include-partitions=` / `--exclude-partitions=`.
    pub partition_filter: Option<PartitionFilter>,
    /// `--offline=` (`None` = auto).
    pub offline: Option<bool>,
    /// Whether the effective UID is 0 (populating some file systems needs root).
    pub running_as_root: bool,
    /// Whether `--private-key=` was given.
    pub have_private_key: bool,
    /// Whether `--certificate=` was given.
    pub have_certificate: bool,
    /// Whether the locale is UTF-8 (`→` vs `->` in the rounding NOTICE).
    pub utf8: bool,
    /// `$SYSTEMD_REPART_OVERRIDE_FSTYPE`.
    pub fstype_override: Option<String>,
    /// `$SYSTEMD_REPART_OVERRIDE_FSTYPE_<SUFFIX>` by suffix (`ROOT`, `ESP`, `USR`, ...).
    pub fstype_override_by_designator: BTreeMap<String, String>,
}

/// Severity of a message produced while reading definitions (printed by the shell).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Printed at debug level only.
    Debug,
    /// Informational.
    Info,
    /// NOTICE (e.g. size rounding).
    Notice,
    /// WARNING (ignored assignment).
    Warning,
    /// Logged as error but not fatal (e.g. invalid `Format=`).
    Error,
}

/// One message for stderr, already formatted the way upstream prints it
/// (`/path/file.conf:3: Unknown key 'Foo' in section [Partition], ignoring.`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Severity.
    pub level: Level,
    /// Full message text without trailing newline.
    pub message: String,
}

/// A fatal problem in the definitions: the run stops with exit status 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConfigError {
    /// Full message text, with `path:line: ` prefix where upstream has one.
    pub message: String,
}

/// `UUID=` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UuidSetting {
    /// An explicit UUID.
    Explicit(Uuid),
    /// `UUID=null`: explicitly all-zero.
    Null,
}

/// `CopyBlocks=` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyBlocks {
    /// An absolute path (after specifier expansion).
    Path(String),
    /// `auto`: discover the backing partition.
    Auto,
    /// A byte range of an image (`--copy-from=`).
    Region {
        /// The image file.
        path: PathBuf,
        /// Byte offset of the partition in the image.
        offset: u64,
        /// Size of the partition.
        size: u64,
    },
}

/// `Encrypt=` mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EncryptMode {
    /// No encryption.
    #[default]
    Off,
    /// LUKS2 with the `--key-file=` key.
    KeyFile,
    /// LUKS2 sealed to a TPM2.
    Tpm2,
    /// Both.
    KeyFileTpm2,
}

/// `Verity=` role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VerityMode {
    /// Not part of a verity set.
    #[default]
    Off,
    /// The data partition.
    Data,
    /// The hash partition.
    Hash,
    /// The signature partition.
    Signature,
}

/// `Minimize=` mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Minimize {
    /// Do not minimize.
    #[default]
    Off,
    /// Minimal size (read-only file systems).
    Best,
    /// Estimate from a first populated build.
    Guess,
}

/// One `[Partition]` definition after parsing, drop-ins and implied values (spec §2.2).
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    /// Full path of the main file (JSON `file`; its basename is the FILE column).
    pub path: PathBuf,
    /// Drop-in files that were parsed, in order.
    pub dropins: Vec<PathBuf>,
    /// `Type=` (after `--architecture=` rewriting).
    pub partition_type: PartitionType,
    /// `Label=` (after specifiers), `None` = derive.
    pub label: Option<String>,
    /// `UUID=`, `None` = derive.
    pub uuid: Option<UuidSetting>,
    /// `Priority=`.
    pub priority: i32,
    /// `Weight=` (default 1000).
    pub weight: u32,
    /// `PaddingWeight=` (default 0).
    pub padding_weight: u32,
    /// `SizeMinBytes=`, already rounded down to 4096.
    pub size_min: Option<u64>,
    /// `SizeMaxBytes=`, already rounded up to 4096.
    pub size_max: Option<u64>,
    /// `PaddingMinBytes=`, rounded down.
    pub padding_min: Option<u64>,
    /// `PaddingMaxBytes=`, rounded up.
    pub padding_max: Option<u64>,
    /// `FactoryReset=`.
    pub factory_reset: bool,
    /// `CopyBlocks=`.
    pub copy_blocks: Option<CopyBlocks>,
    /// `Format=` (explicit or implied), e.g. `ext4`, `vfat`, `swap`.
    pub format: Option<FileSystem>,
    /// `CopyFiles=` (source, target) pairs in order.
    pub copy_files: Vec<(String, String)>,
    /// `ExcludeFiles=`.
    pub exclude_files: Vec<String>,
    /// `ExcludeFilesTarget=`.
    pub exclude_files_target: Vec<String>,
    /// `MakeDirectories=`.
    pub make_directories: Vec<String>,
    /// `MakeSymlinks=` (link path, target).
    pub make_symlinks: Vec<(String, String)>,
    /// `Subvolumes=` (path, read-only flag).
    pub subvolumes: Vec<(String, bool)>,
    /// `DefaultSubvolume=`.
    pub default_subvolume: Option<String>,
    /// `Encrypt=`.
    pub encrypt: EncryptMode,
    /// `Verity=`.
    pub verity: VerityMode,
    /// `VerityMatchKey=`.
    pub verity_match_key: Option<String>,
    /// `VerityDataBlockSizeBytes=`.
    pub verity_data_block_size: Option<u64>,
    /// `VerityHashBlockSizeBytes=`.
    pub verity_hash_block_size: Option<u64>,
    /// `Flags=`.
    pub flags: u64,
    /// `ReadOnly=` after implications (`None` = leave the bit alone).
    pub read_only: Option<bool>,
    /// `NoAuto=`.
    pub no_auto: Option<bool>,
    /// `GrowFileSystem=` after implications.
    pub growfs: Option<bool>,
    /// `SplitName=` (unexpanded; default `%t`), `None` for `-`.
    pub split_name: Option<String>,
    /// `Minimize=`.
    pub minimize: Minimize,
    /// `MountPoint=` (where, options).
    pub mount_points: Vec<(String, Option<String>)>,
    /// `EncryptedVolume=` (name, key file, options).
    pub encrypted_volume: Option<(String, Option<String>, Option<String>)>,
    /// `Compression=`.
    pub compression: Option<String>,
    /// `CompressionLevel=`.
    pub compression_level: Option<String>,
    /// `SupplementFor=`.
    pub supplement_for: Option<String>,
}

impl Definition {
    /// A definition with upstream's defaults for everything but the type.
    pub fn new(path: PathBuf, partition_type: PartitionType) -> Definition {
        Definition {
            path,
            dropins: Vec::new(),
            partition_type,
            label: None,
            uuid: None,
            priority: 0,
            weight: 1000,
            padding_weight: 0,
            size_min: None,
            size_max: None,
            padding_min: None,
            padding_max: None,
            factory_reset: false,
            copy_blocks: None,
            format: None,
            copy_files: Vec::new(),
            exclude_files: Vec::new(),
            exclude_files_target: Vec::new(),
            make_directories: Vec::new(),
            make_symlinks: Vec::new(),
            subvolumes: Vec::new(),
            default_subvolume: None,
            encrypt: EncryptMode::Off,
            verity: VerityMode::Off,
            verity_match_key: None,
            verity_data_block_size: None,
            verity_hash_block_size: None,
            flags: 0,
            read_only: None,
            no_auto: None,
            growfs: None,
            split_name: Some("%t".to_string()),
            minimize: Minimize::Off,
            mount_points: Vec::new(),
            encrypted_volume: None,
            compression: None,
            compression_level: None,
            supplement_for: None,
        }
    }

    /// Whether the partition gets files (CopyFiles/MakeDirectories/MakeSymlinks).
    pub fn needs_populate(&self) -> bool {
        !self.copy_files.is_empty()
            || !self.make_directories.is_empty()
            || !self.make_symlinks.is_empty()
    }

    /// The file name of the definition (FILE column).
    pub fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}
