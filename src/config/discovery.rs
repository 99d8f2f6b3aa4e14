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

/// `stat()` following symlinks; absolute link targets stay inside `root`.
fn stat_in_root(root: Option<&Path>, path: &Path) -> Option<std::fs::Metadata> {
    let Some(root) = root else {
        return std::fs::metadata(path).ok();
    };
    let mut current = path.to_path_buf();
    for _ in 0..32 {
        let meta = std::fs::symlink_metadata(&current).ok()?;
        if !meta.file_type().is_symlink() {
            return Some(meta);
        }
        let target = std::fs::read_link(&current).ok()?;
        current = if target.is_absolute() {
            under_root(Some(root), &target)
        } else {
            current.parent()?.join(target)
        };
    }
    None
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
pub fn definition_files(dirs: &[PathBuf], root: Option<&Path>) -> Vec<PathBuf> {
    let mut found: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut masked: BTreeSet<String> = BTreeSet::new();
    for dir in dirs {
        for name in list_dir(dir, ".conf") {
            if found.contains_key(&name) || masked.contains(&name) {
                continue;
            }
            let path = dir.join(&name);
            let Some(meta) = stat_in_root(root, &path) else {
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

fn read(path: &Path, root: Option<&Path>) -> Result<Vec<u8>, ConfigError> {
    let real = match root {
        Some(_) if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink()) => {
            let meta = stat_in_root(root, path);
            // Fall back to the plain path when the in-root resolution fails.
            if meta.is_some() {
                resolve_in_root(root, path)
            } else {
                path.to_path_buf()
            }
        }
        _ => path.to_path_buf(),
    };
    std::fs::read(&real).map_err(|e| ConfigError {
        message: format!(
            "Failed to open configuration file '{}': {}",
            path.display(),
            io_text(&e)
        ),
    })
}

fn resolve_in_root(root: Option<&Path>, path: &Path) -> PathBuf {
    let mut current = path.to_path_buf();
    for _ in 0..32 {
        let Ok(target) = std::fs::read_link(&current) else {
            break;
        };
        current = if target.is_absolute() {
            under_root(root, &target)
        } else {
            current.parent().map(|p| p.join(&target)).unwrap_or(target)
        };
    }
    current
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
    let root = if opts.definitions.is_empty() {
        opts.root.as_deref()
    } else {
        None
    };
    let dirs = search_dirs(opts);
    let mut defs = Vec::new();
    for main in definition_files(&dirs, root) {
        let name = main
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dropins = dropin_files(&dirs, &name);
        let mut files = Vec::new();
        if !dropins.iter().any(|d| same_inode(&main, d)) {
            files.push(SourceFile {
                content: read(&main, root)?,
                path: main.clone(),
            });
        }
        for d in &dropins {
            files.push(SourceFile {
                content: read(d, root)?,
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
