//! The staging tree: a temporary directory laid out exactly like the new file system,
//! built from hard links to the sources (copies only across file systems or where a link
//! would change the result), then handed to the mkfs tool.
//!
//! Directories are always our own (created 0700 while filling, final modes and timestamps
//! applied at the end, deepest first), so no source inode is ever modified. Entries are
//! created in sorted order so tools that read the tree in directory order see the same
//! order on every run.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::tree::{self, Deny, DenyMap};
use super::{FormatJob, FsError, sys};

/// A staging directory under the temporary directory, removed (with everything in it) when
/// dropped.
#[derive(Debug)]
pub struct StagingDir {
    dir: Option<tempfile::TempDir>,
    _tracked: crate::cleanup::Tracked,
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
            _tracked: crate::cleanup::track(dir.path()),
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

/// Final metadata of a directory we created or merged into.
#[derive(Debug, Default, Clone, Copy)]
struct DirMeta {
    mode: Option<u32>,
    times: Option<(sys::Time, sys::Time)>,
}

struct Stager<'a> {
    root: PathBuf,
    job: &'a FormatJob<'a>,
    euid: u32,
    egid: u32,
    /// Directories whose mode/times are applied at the end.
    dirs: BTreeMap<PathBuf, DirMeta>,
    /// Source inodes with several links: the pair that staged them and where.
    links: HashMap<(u64, u64), (usize, PathBuf)>,
    pair: usize,
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
    };
    let def = job.definition;
    let sde = job.env.source_date_epoch.map(|t| (t as i64, 0));
    let mut root_meta = DirMeta {
        mode: Some(0o755 & !sys::umask()),
        times: sde.map(|t| (t, t)),
    };
    // The first directory copied to "/" provides the root's mode, xattrs and times.
    for (src, tgt) in &def.copy_files {
        if !tgt.trim_end_matches('/').is_empty() {
            continue;
        }
        let path = tree::chase(job.copy_source, src);
        match fs::metadata(&path) {
            Ok(md) if md.is_dir() => {
                sys::copy_xattrs(&path, &s.root);
                root_meta = DirMeta {
                    mode: Some(md.mode() & 0o7777),
                    times: Some(times_of(&md)),
                };
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
        let path = tree::chase(Some(&s.root), link);
        std::os::unix::fs::symlink(target, &path).map_err(|e| {
            FsError::io(format!("Failed to create symlink at {link} to {target}"), e)
        })?;
        if let Some((t, _)) = sde.map(|t| (t, t)) {
            let _ = sys::set_times(&path, t, t);
        }
    }
    // Apply modes and times deepest first, so restrictive parent modes cannot get in the way
    // and creating children cannot change a timestamp already set.
    for (path, meta) in s.dirs.iter().rev() {
        if let Some(mode) = meta.mode {
            let _ = fs::set_permissions(path, fs::Permissions::from_mode(mode));
        }
        if let Some((a, m)) = meta.times {
            let _ = sys::set_times(path, a, m);
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
        let path = tree::chase(job.copy_source, src);
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
            let target = tree::chase(Some(&self.root), tgt);
            if !target.is_dir() {
                let parent = Path::new(tgt)
                    .parent()
                    .and_then(Path::to_str)
                    .unwrap_or("/");
                self.mkdir_p(parent)?;
            }
            self.copy_dir(&path, &md, &target, &deny).map_err(copy_err)
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
            let target = tree::chase(Some(&self.root), parent).join(file_name.unwrap_or_default());
            if fs::symlink_metadata(&target).is_ok() {
                let e = io::Error::from(io::ErrorKind::AlreadyExists);
                return Err(FsError::io(
                    format!("Failed to create target file '{tgt}'"),
                    e,
                ));
            }
            // Upstream creates the file itself (owned by us) and copies mode, times and
            // xattrs: a hard link is equivalent only if the owner is already ours.
            let ours = (md.uid(), md.gid()) == (self.euid, self.egid);
            if !(ours && fs::hard_link(&path, &target).is_ok()) {
                copy_file(&path, &md, &target).map_err(copy_err)?;
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
    /// `$SOURCE_DATE_EPOCH` as their times if set.
    fn mkdir_p(&mut self, dir: &str) -> Result<(), FsError> {
        let mut current = String::new();
        for comp in dir.split('/').filter(|c| !c.is_empty()) {
            current.push('/');
            current.push_str(comp);
            let path = tree::chase(Some(&self.root), &current);
            match fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => {
                    let sde = self
                        .job
                        .env
                        .source_date_epoch
                        .map(|t| ((t as i64, 0), (t as i64, 0)));
                    self.dirs.insert(
                        path,
                        DirMeta {
                            mode: Some(0o755 & !sys::umask()),
                            times: sde,
                        },
                    );
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
        let entry = self.dirs.entry(dst.to_path_buf()).or_default();
        if created {
            entry.mode = Some(md.mode() & 0o7777);
        }
        entry.times = Some(times_of(md));
        Ok(())
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
        let multi = md.nlink() > 1;
        if let Some((pair, staged)) = self.links.get(&key).filter(|_| multi)
            && *pair == self.pair
            && fs::hard_link(staged, dst).is_ok()
        {
            return Ok(());
        }
        // A source inode already staged by an earlier pair must become a separate inode,
        // as upstream copies each pair on its own.
        let claimed = multi && self.links.get(&key).is_some_and(|(p, _)| *p != self.pair);
        if claimed || fs::hard_link(src, dst).is_err() {
            copy_leaf_data(src, md, dst)?;
        }
        if multi {
            self.links.insert(key, (self.pair, dst.to_path_buf()));
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
    use crate::config::Definition;
    use crate::fs::FsEnv;
    use crate::gpt_types::PartitionType;
    use std::os::unix::fs::MetadataExt;

    fn definition() -> Definition {
        let t = PartitionType {
            uuid: uuid::Uuid::nil(),
            name: None,
            designator: None,
            arch: None,
        };
        let mut d = Definition::new(PathBuf::from("/x/10-a.conf"), t);
        d.format = Some("ext4".into());
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
        let env = FsEnv {
            tmp_dir: tmp.path().to_path_buf(),
            source_date_epoch: Some(1_700_000_000),
            ..FsEnv::default()
        };
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
        assert_eq!(
            fs::metadata(&r).unwrap().mtime(),
            fs::metadata(s.join("tree")).unwrap().mtime()
        );
        drop(staging);
        assert!(!r.exists());
        assert!(s.join("tree/sub/file").exists());
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
