//! Filling a freshly made FAT file system with mtools' `mcopy` (spec §9.2): no mounting.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{FsEnv, FsError, mkfs};

/// The top-level entries of `root` that mcopy copies: regular files and directories only
/// (symlinks and special files are skipped), sorted by name.
pub fn top_level_entries(root: &Path) -> Result<Vec<PathBuf>, FsError> {
    let rd = std::fs::read_dir(root)
        .map_err(|e| FsError::io(format!("Failed to read directory '{}'", root.display()), e))?;
    let mut entries = Vec::new();
    for e in rd {
        let e = e.map_err(|e| {
            FsError::io(format!("Failed to read directory '{}'", root.display()), e)
        })?;
        let ft = e
            .file_type()
            .map_err(|err| FsError::io(format!("Failed to stat '{}'", e.path().display()), err))?;
        if ft.is_file() || ft.is_dir() {
            entries.push(e.path());
        }
    }
    entries.sort();
    Ok(entries)
}

/// mcopy's arguments: recursive, preserve attributes and times, quit on error,
/// image `node`, then the sources and `::`.
pub fn mcopy_args(node: &Path, entries: &[PathBuf]) -> Vec<OsString> {
    let mut args: Vec<OsString> = ["-s", "-p", "-Q", "-m", "-i"]
        .iter()
        .map(OsString::from)
        .collect();
    args.push(node.as_os_str().to_owned());
    args.extend(entries.iter().map(|p| p.as_os_str().to_owned()));
    args.push("::".into());
    args
}

/// The complete environment mcopy runs with (nothing else is inherited, like upstream).
pub fn mcopy_env(env: &FsEnv) -> Vec<(String, String)> {
    let mut vars = vec![
        ("MTOOLS_SKIP_CHECK".to_owned(), "1".to_owned()),
        ("TZ".to_owned(), "UTC".to_owned()),
    ];
    if let Some(t) = env.source_date_epoch {
        vars.push(("SOURCE_DATE_EPOCH".to_owned(), t.to_string()));
    }
    vars
}

/// Copies the contents of `root` into the FAT file system in `node`. Nothing is run if
/// `root` is empty.
pub fn mcopy(env: &FsEnv, node: &Path, root: &Path) -> Result<(), FsError> {
    let entries = top_level_entries(root)?;
    if std::fs::read_dir(root)
        .map(|mut d| d.next().is_none())
        .unwrap_or(true)
    {
        return Ok(());
    }
    let program = mkfs::find_executable(env, "mcopy").ok_or_else(|| FsError::ToolMissing {
        fstype: "vfat".into(),
        binary: "mcopy".into(),
        package: "mtools".into(),
    })?;
    let mut cmd = Command::new(program);
    {
        use std::os::unix::process::CommandExt;
        cmd.arg0("mcopy");
    }
    cmd.args(mcopy_args(node, &entries))
        .env_clear()
        .envs(mcopy_env(env));
    mkfs::run(cmd, "(mcopy)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_and_environment() {
        let args = mcopy_args(
            Path::new("/n"),
            &[PathBuf::from("/r/A"), PathBuf::from("/r/b")],
        );
        let s: Vec<_> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            s,
            ["-s", "-p", "-Q", "-m", "-i", "/n", "/r/A", "/r/b", "::"]
        );
        let env = FsEnv {
            source_date_epoch: Some(1704067200),
            ..FsEnv::default()
        };
        assert_eq!(
            mcopy_env(&env)[2],
            ("SOURCE_DATE_EPOCH".to_owned(), "1704067200".to_owned())
        );
        assert_eq!(mcopy_env(&FsEnv::default()).len(), 2);
    }

    #[test]
    fn entries_sorted_without_symlinks() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("b")).unwrap();
        std::fs::write(d.path().join("a"), b"").unwrap();
        std::fs::write(d.path().join("C"), b"").unwrap();
        std::os::unix::fs::symlink("a", d.path().join("l")).unwrap();
        let e = top_level_entries(d.path()).unwrap();
        let names: Vec<_> = e
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["C", "a", "b"]);
    }
}
