//! Finding definition files (spec §1.1–1.3): search directories, `.conf` filtering,
//! hidden/backup names, first-directory-wins overriding, masking, ordering by file
//! name and `NAME.conf.d/*.conf` drop-ins; then [`load_definitions`] parses them all.
//!
//! This module reads directories and files; everything it decides is delegated to the
//! pure helpers below it and to `definition`.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};

use crate::pure::config::definition::{self, SourceFile};
use crate::pure::config::specifier::SystemInfo;
use crate::pure::config::{ConfigError, Definition, Diagnostic, LoadOptions};
use crate::shell::root_paths;

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
    // Duplicates keep their first position; empty values are no-ops (`--definitions=""`
    // does not switch off the default directories).
    let mut dirs: Vec<PathBuf> = Vec::new();
    for d in opts
        .definitions
        .iter()
        .filter(|d| !d.as_os_str().is_empty())
    {
        if !dirs.contains(d) {
            dirs.push(d.clone());
        }
    }
    if !dirs.is_empty() {
        // Upstream resolves symlinks in the directories it lists (a `repart.d` that links
        // to a store directory shows up under its target path, e.g. in JSON `file`).
        return dirs
            .into_iter()
            .map(|d| std::fs::canonicalize(&d).unwrap_or(d))
            .collect();
    }
    DEFAULT_DIRS
        .iter()
        .map(|d| match opts.root.as_deref() {
            // Upstream opens the search directories with chase below the root:
            // symlinks in them resolve inside it, and files show the resolved path.
            Some(root) => root_paths::chase(Some(root), d),
            None => PathBuf::from(d),
        })
        .collect()
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
            // A drop-in that vanished or is a dangling symlink is listed but skipped,
            // like upstream (config files that do not exist are ignored there).
            if std::fs::metadata(d).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) {
                continue;
            }
            files.push(SourceFile {
                content: read(d)?,
                path: d.clone(),
            });
        }
        if let Some(def) = definition::parse_definition(main, &files, dropins, opts, sys, diags)? {
            defs.push(def);
        }
    }
    definition::check_set(&defs)?;
    Ok(defs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pure::config::keys::tests::sys;

    const L: &str = "[Partition]\nType=linux-generic\n";

    fn write(path: &Path, text: &str) {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, text).unwrap();
    }

    fn load(opts: &LoadOptions) -> (Result<Vec<Definition>, ConfigError>, Vec<String>) {
        let mut diags = Vec::new();
        let r = load_definitions(opts, &sys(), &mut diags);
        (r, diags.into_iter().map(|d| d.message).collect())
    }

    fn labels(defs: &[Definition]) -> Vec<(String, String)> {
        defs.iter()
            .map(|d| (d.file_name(), d.label.clone().unwrap_or_default()))
            .collect()
    }

    #[test]
    fn hidden_and_backup_names() {
        for n in [
            ".x.conf",
            "lost+found",
            "aquota.user",
            "x.conf~",
            "x.conf.rpmnew",
            "x.dpkg-old",
            "x.swp",
        ] {
            assert!(hidden_or_backup(n), "{n}");
        }
        for n in ["x.conf", "rpmnew", "a.b.conf"] {
            assert!(!hidden_or_backup(n), "{n}");
        }
    }

    #[test]
    fn normalizes_definition_dirs() {
        let raw = [
            PathBuf::from("d"),
            PathBuf::from(""),
            PathBuf::from("/x/./y/../z/"),
            PathBuf::from("/w/d"),
        ];
        assert_eq!(
            normalize_definition_dirs(&raw, Path::new("/w")),
            vec![PathBuf::from("/w/d"), PathBuf::from("/x/z")]
        );
    }

    #[test]
    fn default_dirs_under_root() {
        let opts = LoadOptions {
            root: Some("/r".into()),
            ..LoadOptions::default()
        };
        assert_eq!(search_dirs(&opts)[0], PathBuf::from("/r/etc/repart.d"));
        assert_eq!(
            search_dirs(&LoadOptions::default())[3],
            PathBuf::from("/usr/lib/repart.d")
        );
        let defs = LoadOptions {
            root: Some("/r".into()),
            definitions: vec!["/d".into()],
            ..LoadOptions::default()
        };
        assert_eq!(search_dirs(&defs), vec![PathBuf::from("/d")]);
        let dup = LoadOptions {
            definitions: vec!["/d".into(), "/e".into(), "/d".into()],
            ..LoadOptions::default()
        };
        assert_eq!(
            search_dirs(&dup),
            vec![PathBuf::from("/d"), PathBuf::from("/e")]
        );
    }

    #[test]
    fn override_mask_order_and_dropins() {
        let t = tempfile::tempdir().unwrap();
        let (a, b) = (t.path().join("a"), t.path().join("b"));
        write(&a.join("20-x.conf"), &format!("{L}Label=a20\n"));
        write(&b.join("20-x.conf"), &format!("{L}Label=b20\n"));
        write(
            &a.join("20-x.conf.d/10-l.conf"),
            "[Partition]\nLabel=a-drop1\n",
        );
        write(
            &b.join("20-x.conf.d/10-l.conf"),
            "[Partition]\nLabel=b-drop1\n",
        );
        write(
            &b.join("20-x.conf.d/20-l.conf"),
            "[Partition]\nLabel=b-drop2\n",
        );
        write(
            &b.join("20-x.conf.d/.30-h.conf"),
            "[Partition]\nLabel=hidden\n",
        );
        write(&a.join("10-m.conf"), "");
        write(&b.join("10-m.conf"), &format!("{L}Label=masked\n"));
        std::os::unix::fs::symlink("/dev/null", a.join("30-n.conf")).unwrap();
        write(&b.join("30-n.conf"), &format!("{L}Label=nullmasked\n"));
        write(&b.join("50-b.conf~"), &format!("{L}Label=bak\n"));
        write(&b.join("50-b.txt"), &format!("{L}Label=txt\n"));
        std::fs::create_dir_all(a.join("55-dir.conf")).unwrap();
        write(&b.join("55-dir.conf"), &format!("{L}Label=under-dir\n"));
        write(&b.join("60-s.conf"), &format!("{L}Label=sixty\n"));
        std::os::unix::fs::symlink("60-s.conf", b.join("05-link.conf")).unwrap();
        write(
            &a.join("70-self.conf.d/70-self.conf"),
            &format!("{L}Label=self\nWeight=5\n"),
        );
        std::os::unix::fs::symlink("70-self.conf.d/70-self.conf", a.join("70-self.conf")).unwrap();
        let opts = LoadOptions {
            definitions: vec![a.clone(), b.clone()],
            ..LoadOptions::default()
        };
        let (r, msgs) = load(&opts);
        assert!(msgs.is_empty(), "{msgs:?}");
        let defs = r.unwrap();
        let got = labels(&defs);
        let want = [
            ("05-link.conf", "sixty"),
            ("20-x.conf", "b-drop2"),
            ("55-dir.conf", "under-dir"),
            ("60-s.conf", "sixty"),
            ("70-self.conf", "self"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(got, want);
        assert_eq!(defs[1].path, a.join("20-x.conf"));
        assert_eq!(
            defs[1].dropins,
            vec![
                a.join("20-x.conf.d/10-l.conf"),
                b.join("20-x.conf.d/20-l.conf")
            ]
        );
        assert_eq!(defs[4].dropins, vec![a.join("70-self.conf.d/70-self.conf")]);
    }

    #[test]
    fn warnings_kept_on_error() {
        let t = tempfile::tempdir().unwrap();
        write(
            &t.path().join("10-a.conf"),
            &format!("{L}Foo=1\nSizeMinBytes=5000\n"),
        );
        write(&t.path().join("20-b.conf"), "[Partition]\nBar=2\n");
        write(&t.path().join("30-c.conf"), &format!("{L}Baz=1\n"));
        let opts = LoadOptions {
            definitions: vec![t.path().to_path_buf()],
            utf8: true,
            ..LoadOptions::default()
        };
        let (r, msgs) = load(&opts);
        let p = t.path().display().to_string();
        assert_eq!(
            r.unwrap_err().message,
            format!("{p}/20-b.conf:1: Type= not defined, refusing.")
        );
        assert_eq!(
            msgs,
            vec![
                format!("{p}/10-a.conf:3: Unknown key 'Foo' in section [Partition], ignoring."),
                format!(
                    "{p}/10-a.conf:4: Rounded SizeMinBytes= size 5000 → 4096, a multiple of 4096."
                ),
                format!("{p}/20-b.conf:2: Unknown key 'Bar' in section [Partition], ignoring."),
            ]
        );
    }

    #[test]
    fn root_and_missing_dirs() {
        let t = tempfile::tempdir().unwrap();
        let lib = t.path().join("usr/lib/repart.d");
        write(&lib.join("10-a.conf"), &format!("{L}Label=a\n"));
        write(&lib.join("10-a.conf.d/x.conf"), "[Partition]\nLabel=b\n");
        write(
            &t.path().join("etc/repart.d/10-a.conf.d/x.conf"),
            "[Partition]\nLabel=etc\n",
        );
        let opts = LoadOptions {
            root: Some(t.path().to_path_buf()),
            ..LoadOptions::default()
        };
        let (r, _) = load(&opts);
        let defs = r.unwrap();
        assert_eq!(
            labels(&defs),
            vec![("10-a.conf".to_string(), "etc".to_string())]
        );
        let none = LoadOptions {
            definitions: vec![t.path().join("nonexistent")],
            ..LoadOptions::default()
        };
        assert_eq!(load(&none).0.unwrap(), Vec::new());
    }
}
