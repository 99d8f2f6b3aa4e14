//! File systems: formatting and populating partition contents offline (spec §9.2, §9.3, §10).
//!
//! The apply code hands us a [`FormatJob`] per new partition with a `Format=`. We either
//! format a regular file that already has the partition's size ([`format_file`]), or, for
//! `Minimize=`, build the smallest file system that holds the contents in a temporary file
//! ([`minimize()`]) which then becomes the partition's CopyBlocks source.
//!
//! Everything is done with the mkfs tools' "populate from a directory" options, except on
//! first boot through dm-crypt, where upstream mounts the new file system and copies the
//! files in ([`mounted`]). Where upstream stages a full copy of the
//! `CopyFiles=` sources, we hand the source directories straight to the tool when that
//! gives the same file system, and otherwise build the staging tree from hard links.
//!
//! Module map: [`label`] (label mangling), [`mkfs`] (command lines and running tools),
//! [`tree`] (CopyFiles/ExcludeFiles rules, direct sources), [`stage`] (staging trees),
//! [`vfat`] (mcopy), [`xfs`] (protofile), [`mod@minimize`] (Minimize=), [`mounted`] (mount
//! and copy).

pub mod label;
pub mod minimize;
pub mod mkfs;
pub mod mounted;
mod oracle_harness;
pub mod stage;
mod sys;
pub mod tree;
pub mod vfat;
pub mod xfs;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use uuid::Uuid;

use crate::pure::config::Definition;
use crate::pure::fstype::FileSystem;
use crate::pure::gpt_types::Designator;

pub use minimize::{MinimizedImage, minimize};

/// Errors from formatting and populating file systems.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FsError {
    /// The mkfs tool (or mcopy) for a file system type is not installed.
    #[error("{binary} binary for {fstype} is not available (install {package})")]
    ToolMissing {
        /// File system type (`Format=` value).
        fstype: String,
        /// Binary that was looked for in `$PATH`.
        binary: String,
        /// Debian package that ships it.
        package: String,
    },
    /// A tool ran but failed.
    #[error("{tool} failed with exit status {status}.")]
    ToolFailed {
        /// Tool name as upstream prints it (e.g. `(mkfs)`, `(mcopy)`).
        tool: String,
        /// Exit status, or -1 when killed by a signal.
        status: i32,
    },
    /// A read-only file system was requested without anything to put in it.
    #[error("Cannot generate read-only filesystem {0} without a source tree.")]
    ReadOnlyWithoutSource(String),
    /// A read-only file system type we cannot create.
    #[error("Don't know how to create read-only file system '{0}', refusing.")]
    UnknownReadOnly(String),
    /// The file system has no option to populate it from a directory.
    #[error("Loop device access is required to populate {0} filesystems.")]
    CannotPopulateOffline(String),
    /// Swap with contents.
    #[error("A swap filesystem can't be populated, refusing")]
    SwapPopulate,
    /// `CopyFiles=FILE:/dir/`.
    #[error(
        "Target path '{target}' refers to a directory, but source path '{source_path}' refers to regular file, can't copy."
    )]
    TargetIsDirectory {
        /// The CopyFiles target.
        target: String,
        /// The CopyFiles source.
        source_path: String,
    },
    /// A MakeSymlinks= path already exists, a CopyFiles file target already exists, etc.
    // Upstream's "%m": the errno's text alone, never Rust's " (os error N)".
    #[error("{context}: {}", crate::shell::disk::strerror(source))]
    Io {
        /// What we were doing, upstream-worded.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file name that the XFS protofile format cannot express.
    #[error("{0}")]
    Protofile(String),
}

impl FsError {
    /// Wraps an I/O error with an upstream-style context message.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> FsError {
        FsError::Io {
            context: context.into(),
            source,
        }
    }
}

/// The parts of the process environment this module depends on, read once by the caller.
#[derive(Debug, Clone, Default)]
pub struct FsEnv {
    /// `$SOURCE_DATE_EPOCH` (seconds), if set and valid.
    pub source_date_epoch: Option<u64>,
    /// `$SYSTEMD_REPART_MKFS_OPTIONS_<FS>` split on whitespace, keyed by the upper-cased
    /// file system name (`EXT4`, `VFAT`, ...).
    pub mkfs_options: BTreeMap<String, Vec<String>>,
    /// Directory for large temporary files (upstream's "var tmp": `$TMPDIR`, `$TEMP`,
    /// `$TMP`, else `/var/tmp`).
    pub tmp_dir: PathBuf,
    /// `$PATH`, used to find the mkfs tools.
    pub path: Option<OsString>,
}

impl FsEnv {
    /// Reads the environment of the current process.
    pub fn from_process_env() -> FsEnv {
        let vars: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let mut env = FsEnv::from_vars(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        env.path = std::env::var_os("PATH");
        env
    }

    /// Builds the environment from `(name, value)` pairs (testable core of
    /// [`FsEnv::from_process_env`]; `path` is taken from `PATH`).
    pub fn from_vars<'a>(vars: impl IntoIterator<Item = (&'a str, &'a str)>) -> FsEnv {
        let mut env = FsEnv {
            tmp_dir: PathBuf::from("/var/tmp"),
            ..FsEnv::default()
        };
        let mut tmp: [Option<&str>; 3] = [None; 3];
        for (key, value) in vars {
            match key {
                "SOURCE_DATE_EPOCH" => env.source_date_epoch = value.trim().parse().ok(),
                "TMPDIR" => tmp[0] = Some(value),
                "TEMP" => tmp[1] = Some(value),
                "TMP" => tmp[2] = Some(value),
                "PATH" => env.path = Some(OsString::from(value)),
                _ => {
                    if let Some(fs) = key.strip_prefix("SYSTEMD_REPART_MKFS_OPTIONS_") {
                        let words = value.split_whitespace().map(str::to_owned).collect();
                        env.mkfs_options.insert(fs.to_owned(), words);
                    }
                }
            }
        }
        env.tmp_dir = crate::pure::policy::scratch_dir(tmp[0], tmp[1], tmp[2]);
        env
    }

    /// Extra mkfs options for `fstype` from `$SYSTEMD_REPART_MKFS_OPTIONS_<FSTYPE>`.
    pub fn extra_options(&self, fstype: &str) -> &[String] {
        self.mkfs_options
            .get(&fstype.to_ascii_uppercase())
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

/// Everything needed to build one partition's file system.
#[derive(Debug, Clone)]
pub struct FormatJob<'a> {
    /// The partition's definition (Format, CopyFiles, ExcludeFiles, MakeDirectories, ...).
    pub definition: &'a Definition,
    /// The final GPT label (mangled per file system before use).
    pub label: &'a str,
    /// The partition UUID; the file system UUID is derived from it (spec §5.5).
    pub partition_uuid: Uuid,
    /// File system sector size (4096 unless `--sector-size=`).
    pub fs_sector_size: u64,
    /// `--discard=`.
    pub discard: bool,
    /// `--copy-source=` or `--root=`: CopyFiles sources are resolved under it.
    pub copy_source: Option<&'a Path>,
    /// Process environment.
    pub env: &'a FsEnv,
    /// Definition basename, for messages (`20-nix-store.conf`).
    pub hint: &'a str,
    /// Allocation grain for Minimize=guess rounding (4096 for images).
    pub grain: u64,
    /// Designators of all *other* partitions in the list: for root partitions populated at
    /// `/`, the contents of their mount points are excluded (spec §9.3).
    pub other_designators: &'a [Designator],
}

impl<'a> FormatJob<'a> {
    /// A job with the defaults: 4096-byte sectors, discard on, no copy source, grain 4096,
    /// no other partitions, hint = the definition's file name.
    pub fn new(
        definition: &'a Definition,
        label: &'a str,
        partition_uuid: Uuid,
        env: &'a FsEnv,
        hint: &'a str,
    ) -> FormatJob<'a> {
        FormatJob {
            definition,
            label,
            partition_uuid,
            fs_sector_size: 4096,
            discard: true,
            copy_source: None,
            env,
            hint,
            grain: 4096,
            other_designators: &[],
        }
    }

    /// The `Format=` value (an empty name when none; callers only pass formatted
    /// partitions).
    pub fn fstype(&self) -> &'a FileSystem {
        static NONE: FileSystem = FileSystem::Other(String::new());
        self.definition.format.as_ref().unwrap_or(&NONE)
    }

    /// The file system UUID (spec §5.5).
    pub fn fs_uuid(&self) -> Uuid {
        crate::pure::plan::ids::fs_uuid(self.partition_uuid)
    }
}

/// Formats `target` (a regular file already truncated to the partition size) with the
/// job's file system and populates it from CopyFiles/MakeDirectories/MakeSymlinks.
pub fn format_file(job: &FormatJob, target: &Path) -> Result<(), FsError> {
    let source = tree::prepare(job)?;
    mkfs::make_filesystem(job, target, source.as_ref(), job.fs_uuid())
}

/// Formats `target` with the job's file system, empty (its files are copied in later).
pub fn format_empty(job: &FormatJob, target: &Path) -> Result<(), FsError> {
    mkfs::make_filesystem(job, target, None, job.fs_uuid())
}
