//! The staging tree: a temporary directory laid out exactly like the new file system,
//! built from hard links to the sources (copies only across file systems or where a link
//! would change the result), then handed to the mkfs tool.
//!
//! Directories are always our own (created 0700 while filling, final modes and timestamps
//! applied at the end, deepest first), so no source inode is ever modified. Entries are
//! created in sorted order so tools that read the tree in directory order see the same
//! order on every run.
//!
//! Directory times follow upstream's copy rules: a directory created by copying gets its
//! source's times; one that already existed keeps its times while a tree is merged into
//! it; adding an entry any other way (a file pair, an implicit parent, MakeDirectories=,
//! MakeSymlinks=, a copied directory new at its target) stamps its parent with "now",
//! which is `$SOURCE_DATE_EPOCH` when set (the file system tools clamp times to it, so
//! upstream's images carry it too). Without `$SOURCE_DATE_EPOCH` such a parent keeps its
//! earlier time where upstream's would be the build time (see KNOWN-DIFFERENCES).

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::tree::{self, Deny, DenyMap};
use super::{FormatJob, FsError, sys};
use crate::shell::root_paths::chase;

/// A staging directory under the temporary directory, removed (with everything in it) when
/// dropped.
#[derive(Debug)]
pub struct StagingDir {
    dir: Option<tempfile::TempDir>,
    _tracked: crate::shell::signal_cleanup::Tracked,
}

impl StagingDir {
    /// Creates `<tmp>/.#repartXXXXXXXXXXXXXXXX`.
    pub fn new(tmp: &Path) -> Result<StagingDir, FsError> {
        let dir = tempfile::Builder::new()
            .prefix(".#repart")
            .rand_bytes(16)
            .tempdir_in(tmp)
            .map_err(|e| FsError::io("Failed to create temporary directory", e))?;
        Ok(StagingDir {
            _tracked: crate::shell::signal_cleanup::track(dir.path()),
            dir: Some(dir),
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir
            .as_ref()
            .map(|d| d.path())
            .unwrap_or(Path::new("/nonexistent"))
    }
}

impl Drop for StagingDir {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            // Directories may have read-only modes copied from the sources: make them
            // writable first. Only directories are touched: files may be hard links.
            make_dirs_writable(dir.path());
            let _ = dir.close();
        }
    }
}

fn make_dirs_writable(path: &Path) {
    let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o700));
    if let Ok(rd) = fs::read_dir(path) {
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                make_dirs_writable(&e.path());
            }
        }
    }
}

/// Final metadata of a directory we created or merged into (`None`: leave as it is).
#[derive(Debug, Default, Clone, Copy)]
struct DirMeta {
    mode: Option<u32>,
    atime: Option<sys::Time>,
    mtime: Option<sys::Time>,
}

impl DirMeta {
    fn with_times(mode: u32, atime: Option<sys::Time>, mtime: Option<sys::Time>) -> DirMeta {
        DirMeta {
            mode: Some(mode),
            atime,
            mtime,
        }
    }
}

struct Stager<'a> {
    root: PathBuf,
    job: &'a FormatJob<'a>,
    euid: u32,
    egid: u32,
    /// Directories whose mode/times are applied at the end.
    dirs: BTreeMap<PathBuf, DirMeta>,
    /// Source inodes staged so far: the last pair that staged them and where. A pair
    /// meeting an inode again links to its own copy (upstream keeps hard links inside one copied
    /// tree); another pair gets a separate copy (upstream copies each pair on its own).
    links: HashMap<(u64, u64), (usize, PathBuf)>,
    pair: usize,
    /// `$SOURCE_DATE_EPOCH`, the time of "now" for reproducible builds.
    sde: Option<sys::Time>,
}

fn times_of(md: &fs::Metadata) -> (sys::Time, sys::Time) {
    ((md.atime(), md.atime_nsec()), (md.mtime(), md.mtime_nsec()))
}

/// Populates a new staging directory for `job`: CopyFiles=, then MakeDirectories=, then
/// MakeSymlinks= (spec §9.3).
pub fn build(job: &FormatJob) -> Result<StagingDir, FsError> {
    let staging = StagingDir::new(&job.env.tmp_dir)?;
    let (euid, egid) = sys::effective_ids();
    let mut s = Stager {
        root: staging.path().to_path_buf(),
        job,
        euid,
        egid,
        dirs: BTreeMap::new(),
        links: HashMap::new(),
        pair: 0,
        sde: job.env.source_date_epoch.map(|t| (t as i64, 0)),
    };
    let def = job.definition;
    let sde = s.sde;
    let mut root_meta = DirMeta::with_times(0o755 & !sys::umask(), sde, sde);
    // The first directory copied to "/" provides the root's mode, xattrs and times.
    for (src, tgt) in &def.copy_files {
        if !tgt.trim_end_matches('/').is_empty() {
            continue;
        }
        let path = chase(job.copy_source, src);
        match fs::metadata(&path) {
            Ok(md) if md.is_dir() => {
                sys::copy_xattrs(&path, &s.root);
                let (atime, mtime) = times_of(&md);
                root_meta = DirMeta::with_times(md.mode() & 0o7777, Some(atime), Some(mtime));
                break;
            }
            Ok(_) => continue,
            Err(e) => {
                return Err(FsError::io(
                    format!("Failed to open source file '{}'", display_source(job, src)),
                    e,
                ));
            }
        }
    }
    s.dirs.insert(s.root.clone(), root_meta);
    for (i, (src, tgt)) in def.copy_files.iter().enumerate() {
        s.pair = i;
        s.copy_pair(src, tgt)?;
    }
    for dir in &def.make_directories {
        s.mkdir_p(dir)?;
    }
    for (link, target) in &def.make_symlinks {
        let path = chase(Some(&s.root), link);
        std::os::unix::fs::symlink(target, &path).map_err(|e| {
            FsError::io(format!("Failed to create symlink at {link} to {target}"), e)
        })?;
        if let Some(t) = sde {
            let _ = sys::set_times(&path, t, t);
        }
        if let Some(parent) = path.parent() {
            s.touch(parent);
        }
    }
    // Apply modes and times deepest first, so restrictive parent modes cannot get in the way
    // and creating children cannot change a timestamp already set.
    for (path, meta) in s.dirs.iter().rev() {
        if let Some(mode) = meta.mode {
            let _ = fs::set_permissions(path, fs::Permissions::from_mode(mode));
        }
        if meta.atime.is_some() || meta.mtime.is_some() {
            let _ = sys::set_times_opt(path, meta.atime, meta.mtime);
        }
    }
    Ok(staging)
}

fn display_source(job: &FormatJob, src: &str) -> String {
    match job.copy_source {
        Some(root) => format!("{}{}", root.display(), src),
        None => src.to_owned(),
    }
}

impl Stager<'_> {
    fn copy_pair(&mut self, src: &str, tgt: &str) -> Result<(), FsError> {
        let job = self.job;
        let Some(rules) = tree::deny_rules(job.definition, job.other_designators, src, tgt) else {
            return Ok(());
        };
        let deny = tree::resolve_denylist(&rules, job.copy_source);
        let path = chase(job.copy_source, src);
        let md = match fs::metadata(&path) {
            Ok(md) => md,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                tracing::info!(
                    "Failed to open source file '{}', skipping: No such file or directory",
                    display_source(job, src)
                );
                return Ok(());
            }
            Err(e) => {
                return Err(FsError::io(
                    format!("Failed to open source file '{}'", display_source(job, src)),
                    e,
                ));
            }
        };
        let copy_err = |e: io::Error| {
            FsError::io(
                format!("Failed to copy '{}' to '{}'", display_source(job, src), tgt),
                e,
            )
        };
        if md.is_dir() {
            let target = chase(Some(&self.root), tgt);
            let new_at_target = !target.is_dir();
            if new_at_target {
                let parent = Path::new(tgt)
                    .parent()
                    .and_then(Path::to_str)
                    .unwrap_or("/");
                self.mkdir_p(parent)?;
            }
            self.copy_dir(&path, &md, &target, &deny)
                .map_err(copy_err)?;
            if new_at_target && let Some(parent) = target.parent() {
                self.touch(parent);
            }
            Ok(())
        } else if md.is_file() {
            let file_name = Path::new(tgt).file_name();
            if tgt.ends_with('/') || file_name.is_none() {
                return Err(FsError::TargetIsDirectory {
                    target: tgt.to_owned(),
                    source_path: src.to_owned(),
                });
            }
            let parent = Path::new(tgt)
                .parent()
                .and_then(Path::to_str)
                .unwrap_or("/");
            self.mkdir_p(parent)?;
            let target = chase(Some(&self.root), parent).join(file_name.unwrap_or_default());
            if fs::symlink_metadata(&target).is_ok() {
                let e = io::Error::from(io::ErrorKind::AlreadyExists);
                return Err(FsError::io(
                    format!("Failed to create target file '{tgt}'"),
                    e,
                ));
            }
            // Upstream creates the file itself (owned by us) and copies mode, times and
            // xattrs: a hard link is equivalent only if the owner is already ours, and only
            // for the first use of the source inode (a second one must be another file).
            let ours = (md.uid(), md.gid()) == (self.euid, self.egid);
            let key = (md.dev(), md.ino());
            let first_use = !self.links.contains_key(&key);
            if ours && first_use && fs::hard_link(&path, &target).is_ok() {
                self.links.insert(key, (self.pair, target.clone()));
            } else {
                copy_file(&path, &md, &target).map_err(copy_err)?;
            }
            if let Some(parent) = target.parent() {
                self.touch(parent);
            }
            Ok(())
        } else {
            let e = io::Error::other("not a regular file or directory");
            Err(FsError::io(
                format!("Failed to check type of source file '{src}'"),
                e,
            ))
        }
    }

    /// `mkdir -p` inside the staging root: new directories get 0755 (minus umask), and
    /// `$SOURCE_DATE_EPOCH` as their times (and their parent's mtime) if set.
    fn mkdir_p(&mut self, dir: &str) -> Result<(), FsError> {
        let mut current = String::new();
        for comp in dir.split('/').filter(|c| !c.is_empty()) {
            current.push('/');
            current.push_str(comp);
            let path = chase(Some(&self.root), &current);
            match fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => {
                    if let Some(parent) = path.parent() {
                        self.touch(parent);
                    }
                    let meta = DirMeta::with_times(0o755 & !sys::umask(), self.sde, self.sde);
                    self.dirs.insert(path, meta);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => {}
                Err(e) => {
                    return Err(FsError::io(
                        format!("Failed to create directory '{current}'"),
                        e,
                    ));
                }
            }
        }
        Ok(())
    }

    fn copy_dir(
        &mut self,
        src: &Path,
        md: &fs::Metadata,
        dst: &Path,
        deny: &DenyMap,
    ) -> io::Result<()> {
        let created = match fs::DirBuilder::new().mode(0o700).create(dst) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dst.is_dir() => false,
            Err(e) => return Err(e),
        };
        if created {
            let _ = std::os::unix::fs::lchown(dst, Some(md.uid()), Some(md.gid()));
            sys::copy_xattrs(src, dst);
        }
        if deny.get(&(md.dev(), md.ino())) != Some(&Deny::Contents) {
            let mut names: Vec<_> = fs::read_dir(src)?
                .map(|e| e.map(|e| e.file_name()))
                .collect::<Result<_, _>>()?;
            names.sort();
            for name in names {
                let child = src.join(&name);
                let cmd = fs::symlink_metadata(&child)?;
                if deny.get(&(cmd.dev(), cmd.ino())) == Some(&Deny::Inode) {
                    continue;
                }
                let target = dst.join(&name);
                if cmd.is_dir() {
                    self.copy_dir(&child, &cmd, &target, deny)?;
                } else {
                    self.copy_leaf(&child, &cmd, &target)?;
                }
            }
        }
        // A directory that existed keeps its times (upstream restores them after merging).
        if created {
            let (atime, mtime) = times_of(md);
            let meta = DirMeta::with_times(md.mode() & 0o7777, Some(atime), Some(mtime));
            self.dirs.insert(dst.to_path_buf(), meta);
        }
        Ok(())
    }

    /// An entry was added to `dir` outside a tree copy: its mtime becomes "now", i.e.
    /// `$SOURCE_DATE_EPOCH` if set (else it keeps its time, see the module docs).
    fn touch(&mut self, dir: &Path) {
        if let Some(t) = self.sde {
            self.dirs.entry(dir.to_path_buf()).or_default().mtime = Some(t);
        }
    }

    /// Stages a non-directory, replacing what a previous pair put there.
    fn copy_leaf(&mut self, src: &Path, md: &fs::Metadata, dst: &Path) -> io::Result<()> {
        if let Ok(existing) = fs::symlink_metadata(dst) {
            if existing.is_dir() {
                return Err(io::Error::from_raw_os_error(libc::EISDIR));
            }
            fs::remove_file(dst)?;
        }
        let key = (md.dev(), md.ino());
        match self.links.get(&key) {
            // Upstream recreates hard links inside one copied tree, but not for symlinks.
            Some((pair, staged)) if *pair == self.pair && !md.file_type().is_symlink() => {
                if fs::hard_link(staged, dst).is_err() {
                    copy_leaf_data(src, md, dst)?;
                }
            }
            Some(_) => {
                copy_leaf_data(src, md, dst)?;
                self.links.insert(key, (self.pair, dst.to_path_buf()));
            }
            None => {
                if fs::hard_link(src, dst).is_err() {
                    copy_leaf_data(src, md, dst)?;
                }
                self.links.insert(key, (self.pair, dst.to_path_buf()));
            }
        }
        Ok(())
    }
}

/// Copies a regular file with its mode, owner (best effort), xattrs and times.
fn copy_file(src: &Path, md: &fs::Metadata, dst: &Path) -> io::Result<()> {
    fs::copy(src, dst)?;
    let _ = std::os::unix::fs::lchown(dst, Some(md.uid()), Some(md.gid()));
    fs::set_permissions(dst, fs::Permissions::from_mode(md.mode() & 0o7777))?;
    sys::copy_xattrs(src, dst);
    let (a, m) = times_of(md);
    sys::set_times(dst, a, m)
}

/// Copies any non-directory inode (the fallback when hard-linking is not possible).
fn copy_leaf_data(src: &Path, md: &fs::Metadata, dst: &Path) -> io::Result<()> {
    let ft = md.file_type();
    if ft.is_file() {
        return copy_file(src, md, dst);
    }
    if ft.is_symlink() {
        std::os::unix::fs::symlink(fs::read_link(src)?, dst)?;
    } else if (ft.is_fifo() || ft.is_char_device() || ft.is_block_device() || ft.is_socket())
        && let Err(e) = sys::mknod(dst, md.mode(), md.rdev())
    {
        tracing::warn!("Failed to copy '{}', skipping: {e}", src.display());
        return Ok(());
    }
    let _ = std::os::unix::fs::lchown(dst, Some(md.uid()), Some(md.gid()));
    sys::copy_xattrs(src, dst);
    let (a, m) = times_of(md);
    let _ = sys::set_times(dst, a, m);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pure::config::Definition;
    use crate::pure::gpt_types::PartitionType;
    use crate::shell::fs::FsEnv;
    use std::os::unix::fs::MetadataExt;

    /// Staging under `tmp` with SOURCE_DATE_EPOCH=1700000000, so "now" is known.
    fn env_at_epoch(tmp: &Path) -> FsEnv {
        FsEnv {
            tmp_dir: tmp.to_path_buf(),
            source_date_epoch: Some(1_700_000_000),
            ..FsEnv::default()
        }
    }

    fn definition() -> Definition {
        let t = PartitionType {
            uuid: uuid::Uuid::nil(),
            name: None,
            designator: None,
            arch: None,
        };
        let mut d = Definition::new(PathBuf::from("/x/10-a.conf"), t);
        d.format = Some(crate::pure::fstype::FileSystem::Ext4);
        d
    }

    #[test]
    fn staging_links_excludes_and_times() {
        let src = tempfile::tempdir().unwrap();
        let s = src.path();
        fs::create_dir_all(s.join("tree/sub/cache")).unwrap();
        fs::write(s.join("tree/sub/file"), b"data").unwrap();
        fs::write(s.join("tree/sub/cache/junk"), b"x").unwrap();
        fs::write(s.join("tree/secret"), b"x").unwrap();
        fs::write(s.join("single"), b"one").unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let env = env_at_epoch(tmp.path());
        let mut d = definition();
        d.copy_files = vec![
            ("/tree".into(), "/".into()),
            ("/single".into(), "/etc/deep/single".into()),
            ("/missing".into(), "/m".into()),
        ];
        d.exclude_files = vec!["/tree/sub/cache/".into(), "/tree/secret".into()];
        d.make_directories = vec!["/var/lib/x".into()];
        d.make_symlinks = vec![("/link".into(), "sub/file".into())];
        let mut job = FormatJob::new(&d, "l", uuid::Uuid::nil(), &env, "10-a.conf");
        job.copy_source = Some(s);
        let staging = build(&job).unwrap();
        let r = staging.path().to_path_buf();
        let staged = fs::metadata(r.join("sub/file")).unwrap();
        let orig = fs::metadata(s.join("tree/sub/file")).unwrap();
        assert_eq!(staged.ino(), orig.ino(), "file is hard-linked, not copied");
        assert!(r.join("sub/cache").is_dir());
        assert!(!r.join("sub/cache/junk").exists());
        assert!(!r.join("secret").exists());
        assert_eq!(fs::read(r.join("etc/deep/single")).unwrap(), b"one");
        assert_eq!(
            fs::read_link(r.join("link")).unwrap(),
            PathBuf::from("sub/file")
        );
        assert!(r.join("var/lib/x").is_dir());
        let etc = fs::metadata(r.join("etc")).unwrap();
        assert_eq!(etc.mtime(), 1_700_000_000);
        assert_eq!(etc.mode() & 0o777, 0o755 & !sys::umask());
        // The root took the tree's times, then got new entries outside the tree copy
        // (/etc, /var, /link): "now", i.e. SOURCE_DATE_EPOCH.
        assert_eq!(fs::metadata(&r).unwrap().mtime(), 1_700_000_000);
        drop(staging);
        assert!(!r.exists());
        assert!(s.join("tree/sub/file").exists());
    }

    #[test]
    fn merged_dirs_keep_times_and_pairs_get_own_inodes() {
        let src = tempfile::tempdir().unwrap();
        let s = src.path();
        for dir in ["a/sub", "b/sub"] {
            fs::create_dir_all(s.join(dir)).unwrap();
        }
        fs::write(s.join("a/sub/x"), b"x").unwrap();
        fs::write(s.join("b/sub/y"), b"y").unwrap();
        fs::write(s.join("f"), b"f").unwrap();
        fs::hard_link(s.join("a/sub/x"), s.join("a/x2")).unwrap();
        sys::set_times(&s.join("a/sub"), (1_000, 0), (1_000, 0)).unwrap();
        sys::set_times(&s.join("b/sub"), (2_000, 0), (2_000, 0)).unwrap();
        sys::set_times(&s.join("a"), (3_000, 0), (3_000, 0)).unwrap();
        sys::set_times(&s.join("b"), (4_000, 0), (4_000, 0)).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let env = env_at_epoch(tmp.path());
        let mut d = definition();
        d.copy_files = vec![
            ("/a".into(), "/".into()),
            ("/b".into(), "/".into()),
            ("/a".into(), "/again".into()),
            ("/f".into(), "/f1".into()),
            ("/f".into(), "/f2".into()),
        ];
        let mut job = FormatJob::new(&d, "l", uuid::Uuid::nil(), &env, "10-a.conf");
        job.copy_source = Some(s);
        let staging = build(&job).unwrap();
        let r = staging.path();
        let md = |p: &str| fs::symlink_metadata(r.join(p)).unwrap();
        // /sub was created by the first pair and merged by the second: first pair's times.
        assert_eq!(md("sub").mtime(), 1_000);
        assert!(r.join("sub/y").exists());
        // The root got /again (a new directory at its target) and the files: "now".
        assert_eq!(md(".").mtime(), 1_700_000_000);
        assert_eq!(md("again").mtime(), 3_000);
        // Hard links within a pair are kept, across pairs and file pairs they are not.
        assert_eq!(md("x2").ino(), md("sub/x").ino());
        assert_ne!(md("again/sub/x").ino(), md("sub/x").ino());
        assert_eq!(md("again/x2").ino(), md("again/sub/x").ino());
        assert_ne!(md("f1").ino(), md("f2").ino());
    }

    #[test]
    fn file_source_to_directory_target_fails() {
        let src = tempfile::tempdir().unwrap();
        fs::write(src.path().join("f"), b"x").unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let env = FsEnv {
            tmp_dir: tmp.path().to_path_buf(),
            ..FsEnv::default()
        };
        let mut d = definition();
        d.copy_files = vec![("/f".into(), "/dir/".into())];
        let mut job = FormatJob::new(&d, "l", uuid::Uuid::nil(), &env, "10-a.conf");
        job.copy_source = Some(src.path());
        let err = build(&job).unwrap_err();
        assert!(matches!(err, FsError::TargetIsDirectory { .. }), "{err}");
    }
}
