//! Finding definition files (spec §1.1–1.3): search directories, `.conf` filtering,
//! hidden/backup names, first-directory-wins overriding, masking, ordering by file
//! name and `NAME.conf.d/*.conf` drop-ins; then [`load_definitions`] parses them all.
//!
//! This module reads directories and files; everything it decides is delegated to the
//! pure helpers below it and to `definition`.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};

use super::definition::{self, SourceFile};
use super::specifier::SystemInfo;
use super::{ConfigError, Definition, Diagnostic, LoadOptions};

/// The default search directories, highest priority first (resolved under `--root=`).
pub const DEFAULT_DIRS: [&str; 4] = [
    "/etc/repart.d",
    "/run/repart.d",
    "/usr/local/lib/repart.d",
    "/usr/lib/repart.d",
];

const BACKUP_SUFFIXES: [&str; 17] = [
    "rpmnew",
    "rpmsave",
    "rpmorig",
    "dpkg-old",
    "dpkg-new",
    "dpkg-tmp",
    "dpkg-dist",
    "dpkg-bak",
    "dpkg-backup",
    "dpkg-remove",
    "ucf-new",
    "ucf-old",
    "ucf-dist",
    "swp",
    "bak",
    "old",
    "new",
];

/// Upstream's `hidden_or_backup_file()`.
pub fn hidden_or_backup(name: &str) -> bool {
    if name.starts_with('.')
        || matches!(name, "lost+found" | "aquota.user" | "aquota.group")
        || name.ends_with('~')
    {
        return true;
    }
    match name.rsplit_once('.') {
        Some((_, ext)) => BACKUP_SUFFIXES.contains(&ext),
        None => false,
    }
}

/// Makes `--definitions=` values absolute (relative to `cwd`), normalizes them, drops
/// empty values and duplicates (first occurrence wins).
pub fn normalize_definition_dirs(raw: &[PathBuf], cwd: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for dir in raw.iter().filter(|d| !d.as_os_str().is_empty()) {
        let mut norm = PathBuf::from("/");
        for c in cwd.join(dir).components() {
            match c {
                Component::Normal(p) => norm.push(p),
                Component::ParentDir => {
                    norm.pop();
                }
                _ => {}
            }
        }
        if !out.contains(&norm) {
            out.push(norm);
        }
    }
    out
}

/// The directories to search: the `--definitions=` ones as given, else the defaults
/// under `--root=`.
pub fn search_dirs(opts: &LoadOptions) -> Vec<PathBuf> {
    if !opts.definitions.is_empty() {
        return opts.definitions.clone();
    }
    DEFAULT_DIRS
        .iter()
        .map(|d| under_root(opts.root.as_deref(), Path::new(d)))
        .collect()
}

fn under_root(root: Option<&Path>, path: &Path) -> PathBuf {
    match root {
        Some(r) => r.join(path.strip_prefix("/").unwrap_or(path)),
        None => path.to_path_buf(),
    }
}

/// Names ending in `suffix` in `dir`, minus hidden/backup names (unreadable → none).
fn list_dir(dir: &Path, suffix: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(suffix) && !hidden_or_backup(n))
        .collect()
}

/// The main definition files: first directory wins per name, masks and non-regular
/// files dropped, sorted by file name.
///
/// Like upstream, the entries are `stat()`ed through the real `/`: an absolute symlink
/// inside `--root=` is not resolved relative to the root.
pub fn definition_files(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut found: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut masked: BTreeSet<String> = BTreeSet::new();
    for dir in dirs {
        for name in list_dir(dir, ".conf") {
            if found.contains_key(&name) || masked.contains(&name) {
                continue;
            }
            let path = dir.join(&name);
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            let is_char = meta.file_type().is_char_device();
            if is_char || (meta.is_file() && meta.len() == 0) {
                masked.insert(name);
                continue;
            }
            if meta.is_file() {
                found.insert(name, path);
            }
        }
    }
    found.into_values().collect()
}

/// Drop-ins `DIR/NAME.d/*.conf` from every search directory (first directory wins per
/// name, no masking/type filter), sorted by file name.
pub fn dropin_files(dirs: &[PathBuf], main_name: &str) -> Vec<PathBuf> {
    let sub = format!("{main_name}.d");
    let mut found: BTreeMap<String, PathBuf> = BTreeMap::new();
    for dir in dirs {
        let d = dir.join(&sub);
        for name in list_dir(&d, ".conf") {
            found.entry(name.clone()).or_insert_with(|| d.join(name));
        }
    }
    found.into_values().collect()
}

fn read(path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|e| ConfigError {
        message: format!(
            "Failed to open configuration file '{}': {}",
            path.display(),
            io_text(&e)
        ),
    })
}

fn io_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.split_once(" (os error") {
        Some((msg, _)) => msg.to_string(),
        None => text,
    }
}

fn same_inode(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// Finds, parses and validates all definitions, in definition order.
///
/// Warnings and notices go to `diags` as they happen; on `Err` they are still there
/// (the shell prints them, then the error).
pub fn load_definitions(
    opts: &LoadOptions,
    sys: &SystemInfo,
    diags: &mut Vec<Diagnostic>,
) -> Result<Vec<Definition>, ConfigError> {
    let dirs = search_dirs(opts);
    let mut defs = Vec::new();
    for main in definition_files(&dirs) {
        let name = main
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dropins = dropin_files(&dirs, &name);
        let mut files = Vec::new();
        if !dropins.iter().any(|d| same_inode(&main, d)) {
            files.push(SourceFile {
                content: read(&main)?,
                path: main.clone(),
            });
        }
        for d in &dropins {
            files.push(SourceFile {
                content: read(d)?,
                path: d.clone(),
            });
        }
        if let Some(def) = definition::parse_definition(main, &files, dropins, opts, sys, diags)? {
            defs.push(def);
        }
    }
    definition::cross_check(&defs)?;
    Ok(defs)
}
