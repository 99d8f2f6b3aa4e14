//! Paths below `--root=` / `--copy-source=`: the one place that turns a path named by a
//! definition, the command line or a fixed location (`/etc/machine-id`) into a path on the
//! host. Two ways, because upstream uses both:
//!
//! - [`chase`] resolves symlinks itself and never leaves the root (`..` stops at it,
//!   absolute link targets start again at it): the confinement guarantee for what we
//!   copy (`CopyFiles=`, `ExcludeFiles=`, `MakeSymlinks=` targets, `CopyBlocks=`) and
//!   what is read below `--root=` (the repart.d search directories, machine-id and
//!   os-release for specifiers).
//! - [`join`] is lexical: the root prefixed to the path, nothing looked up, as upstream
//!   does for these: `--seed=`'s machine-id and `--generate-fstab=` (a `..` right after `/` is dropped, as upstream does).

use std::path::{Path, PathBuf};

/// `path` below `root`, lexically: the leading `/` dropped and the rest appended to
/// `root`; without a root, `path` as it is.
///
/// `..` right after the leading `/` is dropped, as upstream's path simplification does
/// (the parent of `/` is `/`), so `/../x` is `ROOT/x`, never next to the root.
pub fn join(root: Option<&Path>, path: impl AsRef<Path>) -> PathBuf {
    let path = path.as_ref();
    match root {
        Some(r) => {
            let mut rest = path.strip_prefix("/").unwrap_or(path);
            if path.is_absolute() {
                while let Ok(shorter) = rest.strip_prefix("..") {
                    rest = shorter;
                }
            }
            r.join(rest)
        }
        None => path.to_path_buf(),
    }
}

/// Resolves `path` below `root` like `chase(CHASE_PREFIX_ROOT)`: symlinks are followed but
/// never leave `root` (absolute link targets are taken relative to it). Components that do
/// not exist are appended as they are.
pub fn chase(root: Option<&Path>, path: &str) -> PathBuf {
    let root = root.unwrap_or(Path::new("/"));
    let mut todo: Vec<String> = path
        .split('/')
        .filter(|c| !c.is_empty())
        .rev()
        .map(str::to_owned)
        .collect();
    let mut done: Vec<String> = Vec::new();
    let mut hops = 0;
    while let Some(comp) = todo.pop() {
        match comp.as_str() {
            "." => continue,
            ".." => {
                done.pop();
                continue;
            }
            _ => {}
        }
        let candidate = done
            .iter()
            .fold(root.to_path_buf(), |p, c| p.join(c))
            .join(&comp);
        match std::fs::read_link(&candidate) {
            Ok(target) if hops < 32 => {
                hops += 1;
                let t = target.to_string_lossy().into_owned();
                if t.starts_with('/') {
                    done.clear();
                }
                todo.extend(
                    t.split('/')
                        .filter(|c| !c.is_empty())
                        .rev()
                        .map(str::to_owned),
                );
            }
            _ => done.push(comp),
        }
    }
    done.iter().fold(root.to_path_buf(), |p, c| p.join(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_prefixes_the_root() {
        let r = Path::new("/srv/image");
        assert_eq!(join(Some(r), "/etc/machine-id"), r.join("etc/machine-id"));
        assert_eq!(
            join(Some(r), "//usr/lib/repart.d"),
            r.join("usr/lib/repart.d")
        );
        // A relative path is taken below the root as well.
        assert_eq!(join(Some(r), "etc/x"), r.join("etc/x"));
        assert_eq!(
            join(None, "/etc/machine-id"),
            PathBuf::from("/etc/machine-id")
        );
        assert_eq!(join(None, "rel"), PathBuf::from("rel"));
    }

    #[test]
    fn join_never_drops_the_root() {
        // Whatever the path, the result starts with the root (a plain `Path::join` with
        // an absolute path would replace it).
        let r = Path::new("/srv/image");
        for p in ["/", "/a", "///a//b", "a", "/etc/../etc", "/../x", "/.."] {
            assert!(join(Some(r), p).starts_with(r), "{p}");
        }
    }

    #[test]
    fn join_drops_dot_dot_after_the_root() {
        // Observed with upstream 257 (golden fstab-root-dotdot-stays-inside):
        // --generate-fstab=/../tmp/fstab with --root=R writes R/tmp/fstab.
        let r = Path::new("/srv/image");
        assert_eq!(join(Some(r), "/../tmp/fstab"), r.join("tmp/fstab"));
        assert_eq!(join(Some(r), "/../../..//x"), r.join("x"));
        assert_eq!(join(Some(r), "/.."), r.join(""));
        assert_eq!(join(Some(Path::new("/")), "/../x"), PathBuf::from("/x"));
        // Only at the start: further `..` are kept as written, like upstream (the
        // kernel then resolves them below the root's own directories).
        assert_eq!(join(Some(r), "/a/../b"), r.join("a/../b"));
        // A relative path keeps its `..`: only an absolute path has `/` as its start.
        assert_eq!(join(Some(r), "../x"), r.join("../x"));
        assert_eq!(join(None, "/../x"), PathBuf::from("/../x"));
    }

    #[test]
    fn join_is_lexical() {
        // Symlinks are not looked at: the same result whether or not they exist.
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::os::unix::fs::symlink("/", root.join("up")).unwrap();
        assert_eq!(join(Some(root), "/up/etc"), root.join("up/etc"));
    }

    #[test]
    fn chase_stays_in_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("real/sub")).unwrap();
        std::os::unix::fs::symlink("/real", root.join("abs")).unwrap();
        std::os::unix::fs::symlink("real/sub", root.join("rel")).unwrap();
        assert_eq!(chase(Some(root), "/abs/sub"), root.join("real/sub"));
        assert_eq!(chase(Some(root), "/rel/new"), root.join("real/sub/new"));
        assert_eq!(chase(Some(root), "/../real"), root.join("real"));
        assert_eq!(chase(None, "/a/b"), PathBuf::from("/a/b"));
    }
}
