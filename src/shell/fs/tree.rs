//! What goes into a new file system: the CopyFiles=/ExcludeFiles=/MakeDirectories=/
//! MakeSymlinks= rules of spec §9.3, and the choice between handing the user's source
//! directories straight to the mkfs tool and building a staging tree ([`crate::shell::fs::stage`]).
//!
//! The rules (deny-lists, skipped pairs, path prefixes) are pure functions; resolving paths
//! and checking inodes is the only I/O here.

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::pure::config::Definition;
use crate::pure::fstype::FileSystem;
use crate::pure::gpt_types::Designator;

use super::stage::{self, StagingDir};
use super::{FormatJob, FsError, sys};
use crate::shell::root_paths::chase;

/// Where the mkfs tool reads the new file system's contents from.
#[derive(Debug)]
pub enum Source {
    /// A staging tree we built (removed when dropped).
    Staged(StagingDir),
    /// A user directory used as is: its contents become the root directory.
    Dir(PathBuf),
    /// Several user files/directories that become the root's entries under their own
    /// names (squashfs only); the root directory's metadata is given explicitly.
    Entries(Entries),
}

/// The inputs of a [`Source::Entries`] build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entries {
    /// Source paths, in `CopyFiles=` order.
    pub paths: Vec<PathBuf>,
    /// Root directory permission bits.
    pub mode: u32,
    /// Root directory owner.
    pub uid: u32,
    /// Root directory group.
    pub gid: u32,
    /// Root directory modification time (seconds).
    pub mtime: i64,
}

impl Source {
    /// The directory whose contents become the root, if the source is a single directory.
    pub fn root_dir(&self) -> Option<&Path> {
        match self {
            Source::Staged(s) => Some(s.path()),
            Source::Dir(d) => Some(d),
            Source::Entries(_) => None,
        }
    }
}

/// How an excluded inode is treated while copying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deny {
    /// Skip the inode entirely.
    Inode,
    /// Keep the directory but copy nothing below it.
    Contents,
}

/// An exclusion before resolving: a path under the copy source root and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenyRule {
    /// Absolute path, relative to the copy source root.
    pub path: String,
    /// What to exclude.
    pub kind: Deny,
}

/// Excluded inodes, keyed by (device, inode).
pub type DenyMap = HashMap<(u64, u64), Deny>;

/// Component-wise prefix test like systemd's `path_startswith()`: returns the remainder
/// (without leading `/`) if `prefix` is `path` or one of its parent directories.
pub fn path_startswith<'p>(path: &'p str, prefix: &str) -> Option<&'p str> {
    let mut rest = path.trim_start_matches('/');
    for comp in prefix.split('/').filter(|c| !c.is_empty()) {
        let (head, tail) = rest.split_once('/').unwrap_or((rest, ""));
        if head != comp {
            return None;
        }
        rest = tail.trim_start_matches('/');
    }
    Some(rest.trim_end_matches('/'))
}

/// Joins an absolute path below `base` (`join("/a", "b/c")` → `/a/b/c`).
fn join(base: &str, rest: &str) -> String {
    let rest = rest.trim_start_matches('/');
    if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{}/{}", base.trim_end_matches('/'), rest)
    }
}

/// Mount points of partitions with `designator` (their contents are excluded from a root
/// partition populated at `/`).
pub fn mount_points(designator: Designator) -> &'static [&'static str] {
    match designator {
        Designator::Usr => &["usr"],
        Designator::Home => &["home"],
        Designator::Srv => &["srv"],
        Designator::Esp => &["efi", "boot"],
        Designator::Xbootldr => &["boot"],
        Designator::Var => &["var"],
        Designator::Tmp => &["var/tmp"],
        _ => &[],
    }
}

/// The exclusions for one `CopyFiles=SOURCE:TARGET` pair, or `None` if the whole pair is
/// skipped (its source lies in an `ExcludeFiles=` path or its target in an
/// `ExcludeFilesTarget=` path).
pub fn deny_rules(
    def: &Definition,
    others: &[Designator],
    source: &str,
    target: &str,
) -> Option<Vec<DenyRule>> {
    if def
        .exclude_files
        .iter()
        .any(|e| path_startswith(source, e).is_some())
        || def
            .exclude_files_target
            .iter()
            .any(|e| path_startswith(target, e).is_some())
    {
        return None;
    }
    let kind_of = |e: &str| {
        if e.ends_with('/') {
            Deny::Contents
        } else {
            Deny::Inode
        }
    };
    let mut rules: Vec<DenyRule> = ["/proc", "/sys", "/dev", "/tmp", "/run", "/var/tmp"]
        .iter()
        .map(|p| DenyRule {
            path: (*p).to_owned(),
            kind: Deny::Contents,
        })
        .collect();
    for e in &def.exclude_files {
        rules.push(DenyRule {
            path: e.clone(),
            kind: kind_of(e),
        });
    }
    for e in &def.exclude_files_target {
        if let Some(rest) = path_startswith(e, target) {
            rules.push(DenyRule {
                path: join(source, rest),
                kind: kind_of(e),
            });
        }
    }
    if def.partition_type.designator == Some(Designator::Root)
        && target.trim_end_matches('/').is_empty()
    {
        let api = ["proc", "sys", "dev", "tmp", "run", "var/tmp"];
        let mounts = others.iter().flat_map(|d| mount_points(*d).iter());
        for sub in api.iter().chain(mounts) {
            rules.push(DenyRule {
                path: join(source, sub),
                kind: Deny::Contents,
            });
        }
    }
    Some(rules)
}

/// Resolves the rules to inodes; paths that do not exist are ignored. The first rule for
/// an inode wins, as upstream's (`ExcludeFiles=/x /x/` excludes `/x` itself).
pub fn resolve_denylist(rules: &[DenyRule], copy_source: Option<&Path>) -> DenyMap {
    let mut map = DenyMap::new();
    for rule in rules {
        if let Ok(md) = std::fs::metadata(chase(copy_source, &rule.path)) {
            map.entry((md.dev(), md.ino())).or_insert(rule.kind);
        }
    }
    map
}

/// Builds what the mkfs tool will read for `job`, or `None` when there is nothing to
/// populate. Logs upstream's `Preparing to populate …`/`Ready to populate …` lines.
pub fn prepare(job: &FormatJob) -> Result<Option<Source>, FsError> {
    let def = job.definition;
    let fstype = job.fstype();
    if !def.needs_populate() {
        return Ok(None);
    }
    if *fstype == FileSystem::Swap {
        return Err(FsError::SwapPopulate);
    }
    if !fstype.supports_root_option() {
        return Err(FsError::CannotPopulateOffline(fstype.to_string()));
    }
    tracing::info!("Preparing to populate {fstype} filesystem.");
    let source = match direct_source(job) {
        Some(s) => {
            tracing::debug!("Reading the sources directly, no staging copy: {s:?}");
            s
        }
        None => Source::Staged(stage::build(job)?),
    };
    tracing::info!("Ready to populate {fstype} filesystem.");
    Ok(Some(source))
}

/// Decides whether the sources can be given to the mkfs tool directly, producing the same
/// file system as a staging copy would. Conservative: any rule that would change what is
/// copied (excludes, MakeDirectories, MakeSymlinks, denied inodes inside the sources,
/// hard links shared between pairs, a root owner that differs from ours) means staging.
pub fn direct_source(job: &FormatJob) -> Option<Source> {
    let def = job.definition;
    let fstype = job.fstype();
    // vfat is always staged: mcopy -s recurses in directory order, and only a tree we
    // created in sorted order gives the same FAT layout on every run.
    if *fstype == FileSystem::Vfat
        || !def.make_directories.is_empty()
        || !def.make_symlinks.is_empty()
        || !def.exclude_files.is_empty()
        || !def.exclude_files_target.is_empty()
        || def.copy_files.is_empty()
    {
        return None;
    }
    let (euid, egid) = sys::effective_ids();
    let mut resolved = Vec::new();
    for (src, tgt) in &def.copy_files {
        let path = chase(job.copy_source, src);
        let md = std::fs::metadata(&path).ok()?;
        let rules = deny_rules(def, job.other_designators, src, tgt)?;
        resolved.push((
            path,
            md,
            resolve_denylist(&rules, job.copy_source),
            tgt.as_str(),
        ));
    }
    // The tree walk must not meet a denied inode (except empty denied-contents dirs) and no
    // inode may be reachable from two pairs (upstream copies each pair separately).
    let mut seen: HashMap<(u64, u64), usize> = HashMap::new();
    for (i, (path, md, deny, _)) in resolved.iter().enumerate() {
        if !walk_is_clean(path, md, deny, i, &mut seen) {
            return None;
        }
    }
    if let [(path, md, _, tgt)] = resolved.as_slice() {
        let owner_matters = *fstype != FileSystem::Xfs;
        if tgt.trim_end_matches('/').is_empty()
            && md.is_dir()
            && (!owner_matters || (md.uid(), md.gid()) == (euid, egid))
        {
            return Some(Source::Dir(path.clone()));
        }
    }
    // mksquashfs keeps a lone source as an entry only if it is a directory.
    if *fstype != FileSystem::Squashfs || (resolved.len() == 1 && !resolved[0].1.is_dir()) {
        return None;
    }
    let mut names = HashSet::new();
    let mut paths = Vec::new();
    for (path, md, _, tgt) in &resolved {
        let name = tgt.trim_start_matches('/').trim_end_matches('/');
        let canonical = std::fs::canonicalize(path).ok()?;
        let ok_kind = md.is_dir() || (md.is_file() && (md.uid(), md.gid()) == (euid, egid));
        if name.is_empty()
            || name.contains('/')
            || !ok_kind
            || canonical.file_name()?.to_str()? != name
            || !names.insert(name.to_owned())
        {
            return None;
        }
        paths.push(canonical);
    }
    Some(Source::Entries(Entries {
        paths,
        mode: 0o755 & !sys::umask(),
        uid: euid,
        gid: egid,
        mtime: job
            .env
            .source_date_epoch
            .map(|s| s as i64)
            .unwrap_or_else(sys::now_secs),
    }))
}

fn walk_is_clean(
    path: &Path,
    md: &std::fs::Metadata,
    deny: &DenyMap,
    pair: usize,
    seen: &mut HashMap<(u64, u64), usize>,
) -> bool {
    let key = (md.dev(), md.ino());
    match deny.get(&key) {
        Some(Deny::Inode) => return false,
        Some(Deny::Contents) => {
            return md.is_dir()
                && std::fs::read_dir(path)
                    .map(|mut d| d.next().is_none())
                    .unwrap_or(false);
        }
        None => {}
    }
    if !md.is_dir() {
        // Upstream copies a hard-linked symlink once per name; the tools would keep the link.
        if md.nlink() > 1 && md.file_type().is_symlink() {
            return false;
        }
        if md.nlink() > 1 && *seen.entry(key).or_insert(pair) != pair {
            return false;
        }
        return true;
    }
    let Ok(dir) = std::fs::read_dir(path) else {
        return false;
    };
    for entry in dir {
        let Ok(entry) = entry else { return false };
        let child = entry.path();
        let Ok(cmd) = std::fs::symlink_metadata(&child) else {
            return false;
        };
        if !walk_is_clean(&child, &cmd, deny, pair, seen) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pure::gpt_types::PartitionType;

    fn def(designator: Option<Designator>) -> Definition {
        let t = PartitionType {
            uuid: uuid::Uuid::nil(),
            name: None,
            designator,
            arch: None,
        };
        Definition::new(PathBuf::from("/x/10-a.conf"), t)
    }

    #[test]
    fn startswith_is_component_wise() {
        assert_eq!(path_startswith("/foo/bar", "/foo"), Some("bar"));
        assert_eq!(path_startswith("/foo/bar", "/foo/"), Some("bar"));
        assert_eq!(path_startswith("/foo", "/foo/"), Some(""));
        assert_eq!(path_startswith("/foobar", "/foo"), None);
        assert_eq!(path_startswith("/a//b/c/", "/a/b"), Some("c"));
        assert_eq!(path_startswith("/anything", "/"), Some("anything"));
    }

    #[test]
    fn fixed_rules_and_excludes() {
        let mut d = def(None);
        d.exclude_files = vec!["/src/cache/".into(), "/src/secret".into()];
        d.exclude_files_target = vec!["/data/tmp".into(), "/other/x".into()];
        let rules = deny_rules(&d, &[], "/src", "/data").unwrap();
        assert_eq!(rules.len(), 6 + 2 + 1);
        assert_eq!(
            rules[0],
            DenyRule {
                path: "/proc".into(),
                kind: Deny::Contents
            }
        );
        assert_eq!(
            rules[6],
            DenyRule {
                path: "/src/cache/".into(),
                kind: Deny::Contents
            }
        );
        assert_eq!(
            rules[7],
            DenyRule {
                path: "/src/secret".into(),
                kind: Deny::Inode
            }
        );
        assert_eq!(
            rules[8],
            DenyRule {
                path: "/src/tmp".into(),
                kind: Deny::Inode
            }
        );
    }

    #[test]
    fn first_rule_for_an_inode_wins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("x")).unwrap();
        let md = std::fs::metadata(dir.path().join("x")).unwrap();
        let rule = |path: &str, kind| DenyRule {
            path: path.into(),
            kind,
        };
        for (first, second) in [(Deny::Inode, Deny::Contents), (Deny::Contents, Deny::Inode)] {
            let rules = [rule("/x", first), rule("/x/", second)];
            let map = resolve_denylist(&rules, Some(dir.path()));
            assert_eq!(map.get(&(md.dev(), md.ino())), Some(&first));
        }
    }

    #[test]
    fn skipped_pairs() {
        let mut d = def(None);
        d.exclude_files = vec!["/src/".into()];
        assert!(deny_rules(&d, &[], "/src/sub", "/").is_none());
        d.exclude_files = vec![];
        d.exclude_files_target = vec!["/usr".into()];
        assert!(deny_rules(&d, &[], "/a", "/usr/lib").is_none());
        assert!(deny_rules(&d, &[], "/a", "/usrx").is_some());
    }

    #[test]
    fn root_partition_excludes_api_dirs_and_other_mount_points() {
        let d = def(Some(Designator::Root));
        let rules = deny_rules(&d, &[Designator::Esp, Designator::Home], "/tree", "/").unwrap();
        let paths: Vec<_> = rules.iter().skip(6).map(|r| r.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/tree/proc",
                "/tree/sys",
                "/tree/dev",
                "/tree/tmp",
                "/tree/run",
                "/tree/var/tmp",
                "/tree/efi",
                "/tree/boot",
                "/tree/home"
            ]
        );
        assert!(rules.iter().all(|r| r.kind == Deny::Contents));
        // Not at the root: nothing extra.
        assert_eq!(
            deny_rules(&d, &[Designator::Esp], "/tree", "/x")
                .unwrap()
                .len(),
            6
        );
    }

    fn job_for<'a>(
        d: &'a Definition,
        env: &'a crate::shell::fs::FsEnv,
        root: &'a Path,
    ) -> FormatJob<'a> {
        let mut job = FormatJob::new(d, "l", uuid::Uuid::nil(), env, "10-a.conf");
        job.copy_source = Some(root);
        job
    }

    #[test]
    fn direct_source_decisions() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        for p in ["nix/a/bin", "nix/b", "tmp"] {
            std::fs::create_dir_all(r.join(p)).unwrap();
        }
        std::fs::write(r.join("nix/a/bin/x"), b"x").unwrap();
        let env = crate::shell::fs::FsEnv::default();
        let mut d = def(None);
        d.format = Some(FileSystem::Squashfs);
        d.copy_files = vec![("/nix".into(), "/".into())];
        assert!(
            matches!(direct_source(&job_for(&d, &env, r)), Some(Source::Dir(p)) if p == r.join("nix"))
        );
        // The whole source root: its /tmp is denied, fine while empty, not once it has files.
        d.copy_files = vec![("/".into(), "/".into())];
        assert!(matches!(
            direct_source(&job_for(&d, &env, r)),
            Some(Source::Dir(_))
        ));
        std::fs::write(r.join("tmp/junk"), b"x").unwrap();
        assert!(direct_source(&job_for(&d, &env, r)).is_none());
        // One pair per store path: entries for squashfs, staging for the others.
        d.copy_files = vec![
            ("/nix/a".into(), "/a".into()),
            ("/nix/b".into(), "/b".into()),
        ];
        match direct_source(&job_for(&d, &env, r)) {
            Some(Source::Entries(e)) => assert_eq!(e.paths.len(), 2),
            other => panic!("{other:?}"),
        }
        d.format = Some(FileSystem::Ext4);
        assert!(direct_source(&job_for(&d, &env, r)).is_none());
        d.format = Some(FileSystem::Squashfs);
        // Renamed target, excludes, hard links across pairs: staging.
        d.copy_files = vec![("/nix/a".into(), "/renamed".into())];
        assert!(direct_source(&job_for(&d, &env, r)).is_none());
        d.copy_files = vec![
            ("/nix/a".into(), "/a".into()),
            ("/nix/b".into(), "/b".into()),
        ];
        std::fs::hard_link(r.join("nix/a/bin/x"), r.join("nix/b/x")).unwrap();
        assert!(direct_source(&job_for(&d, &env, r)).is_none());
        d.copy_files = vec![("/nix".into(), "/".into())];
        assert!(
            direct_source(&job_for(&d, &env, r)).is_some(),
            "links inside one pair are fine"
        );
        d.exclude_files = vec!["/nix/b".into()];
        assert!(direct_source(&job_for(&d, &env, r)).is_none());
    }
}
