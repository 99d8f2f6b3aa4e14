//! mkfs command lines (spec §9.2) and running the tools.
//!
//! [`command_line`] is pure: file system, node, label, UUID, options in; program and
//! arguments out. [`make_filesystem`] finds the binary in `$PATH`, writes the XFS protofile
//! if needed, runs the tool with its stdout sent to our stderr (as upstream does), fills
//! vfat with mcopy, and logs upstream's "successfully formatted" line.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use uuid::Uuid;

use super::tree::Source;
use super::{FormatJob, FsEnv, FsError, label, vfat, xfs};

use crate::pure::fstype::FileSystem;

/// The program upstream runs for `fstype`, as (name for messages, binary, Debian package).
pub fn tool_for(fstype: &FileSystem) -> (&'static str, String, String) {
    match fstype {
        FileSystem::Swap => ("mkswap", "mkswap".into(), "util-linux".into()),
        FileSystem::Squashfs => ("mksquashfs", "mksquashfs".into(), "squashfs-tools".into()),
        FileSystem::Erofs => ("mkfs.erofs", "mkfs.erofs".into(), "erofs-utils".into()),
        _ => {
            let package = match fstype {
                FileSystem::Ext2 | FileSystem::Ext3 | FileSystem::Ext4 => "e2fsprogs".to_owned(),
                FileSystem::Btrfs => "btrfs-progs".into(),
                FileSystem::Xfs => "xfsprogs".into(),
                FileSystem::Vfat => "dosfstools".into(),
                FileSystem::F2fs => "f2fs-tools".into(),
                other => format!("the package providing mkfs.{other}"),
            };
            ("mkfs", format!("mkfs.{fstype}"), package)
        }
    }
}

/// `--subvol` values for mkfs.btrfs: each `Subvolumes=` path, with `ro` and/or
/// `default` (for `DefaultSubvolume=`) as flags.
pub fn subvolume_args(def: &crate::pure::config::Definition) -> Vec<String> {
    def.subvolumes
        .iter()
        .map(|(path, read_only)| {
            let mut flags = Vec::new();
            if *read_only {
                flags.push("ro");
            }
            if def.default_subvolume.as_deref() == Some(path.as_str()) {
                flags.push("default");
            }
            if flags.is_empty() {
                path.clone()
            } else {
                format!("{path}:{}", flags.join(","))
            }
        })
        .collect()
}

/// Looks `binary` up in the `$PATH` of `env`.
pub fn find_executable(env: &FsEnv, binary: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = env.path.clone().unwrap_or_else(|| {
        OsString::from("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    });
    std::env::split_paths(&path)
        .map(|d| d.join(binary))
        .find(|p| {
            std::fs::metadata(p)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// How the populate source appears on the command line.
#[derive(Debug, Clone, Copy)]
pub enum RootArg<'a> {
    /// Nothing to populate.
    None,
    /// A directory whose contents become the root.
    Dir(&'a Path),
    /// Several entries plus root metadata (squashfs).
    Entries(&'a super::tree::Entries),
    /// An XFS protofile (and whether names were space-escaped).
    Protofile(&'a Path, bool),
}

/// A fully built command: program name, arguments, extra environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MkfsCommand {
    /// Binary name (looked up in `$PATH`).
    pub program: String,
    /// Arguments after the program name.
    pub args: Vec<OsString>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
}

/// Parameters of [`command_line`].
#[derive(Debug, Clone, Copy)]
pub struct MkfsParams<'a> {
    /// `Format=`.
    pub fstype: &'a FileSystem,
    /// The file to format.
    pub node: &'a Path,
    /// Already mangled label.
    pub label: &'a str,
    /// File system UUID.
    pub uuid: Uuid,
    /// Populate source.
    pub root: RootArg<'a>,
    /// `--discard=`.
    pub discard: bool,
    /// File system sector size.
    pub sector_size: u64,
    /// `Compression=`.
    pub compression: Option<&'a str>,
    /// `CompressionLevel=`.
    pub compression_level: Option<&'a str>,
    /// `$SYSTEMD_REPART_MKFS_OPTIONS_<FS>`.
    pub extra: &'a [String],
    /// btrfs `--subvol` values (`PATH[:ro,default]`), from `Subvolumes=` and
    /// `DefaultSubvolume=`.
    pub subvolumes: &'a [String],
    /// ext2/3/4 directory hash seed. Only set for reproducible builds
    /// (`SOURCE_DATE_EPOCH`): mke2fs otherwise picks a random one.
    pub hash_seed: Option<Uuid>,
}

/// The UUID as the tool takes it (vfat: the 8-digit volume id).
pub fn volume_id(fstype: &FileSystem, uuid: &Uuid) -> String {
    if *fstype == FileSystem::Vfat {
        label::fat_volume_id(uuid)
    } else {
        uuid.hyphenated().to_string()
    }
}

/// Builds upstream's mkfs command line (spec §9.2).
pub fn command_line(p: &MkfsParams) -> MkfsCommand {
    let (_, program, _) = tool_for(p.fstype);
    let vol = volume_id(p.fstype, &p.uuid);
    let node = p.node.as_os_str().to_owned();
    let mut args: Vec<OsString> = Vec::new();
    let mut env = Vec::new();
    let push = |a: &mut Vec<OsString>, items: &[&str]| a.extend(items.iter().map(OsString::from));
    let dir = match p.root {
        RootArg::Dir(d) => Some(d.as_os_str().to_owned()),
        _ => None,
    };
    match p.fstype {
        FileSystem::Ext2 | FileSystem::Ext3 | FileSystem::Ext4 => {
            let mut e = if p.discard {
                "discard,lazy_itable_init=1".to_string()
            } else {
                "nodiscard,lazy_itable_init=1".to_string()
            };
            if let Some(seed) = p.hash_seed {
                e.push_str(&format!(",hash_seed={}", seed.hyphenated()));
            }
            let e = e.as_str();
            push(
                &mut args,
                &[
                    "-L", p.label, "-U", &vol, "-I", "256", "-m", "0", "-E", e, "-b", "4096", "-T",
                    "default",
                ],
            );
            if let Some(d) = dir {
                args.extend([OsString::from("-d"), d]);
            }
            args.push(node);
            if p.sector_size > 0 {
                env.push((
                    "MKE2FS_DEVICE_SECTSIZE".to_owned(),
                    p.sector_size.to_string(),
                ));
            }
        }
        FileSystem::Btrfs => {
            push(&mut args, &["-L", p.label, "-U", &vol]);
            if !p.discard {
                push(&mut args, &["--nodiscard"]);
            }
            let populated = dir.is_some();
            if let Some(d) = dir {
                args.extend([OsString::from("-r"), d]);
            }
            if p.sector_size > 0 {
                args.push(format!("--sectorsize={}", p.sector_size.max(4096)).into());
            }
            args.push(node);
            // Subvolumes are made from directories of the source tree: without one
            // (nothing to populate) upstream passes none, and mkfs.btrfs would refuse them.
            if populated {
                for subvolume in p.subvolumes {
                    args.extend([OsString::from("--subvol"), OsString::from(subvolume)]);
                }
            }
        }
        FileSystem::F2fs => {
            push(
                &mut args,
                &[
                    "-g",
                    "-f",
                    "-l",
                    p.label,
                    "-U",
                    &vol,
                    "-t",
                    if p.discard { "1" } else { "0" },
                ],
            );
            args.push(node);
            if p.sector_size > 0 {
                push(&mut args, &["-w", &p.sector_size.to_string()]);
            }
        }
        FileSystem::Xfs => {
            push(
                &mut args,
                &[
                    "-L",
                    p.label,
                    "-m",
                    &format!("uuid={vol}"),
                    "-m",
                    "reflink=1",
                ],
            );
            args.push(node);
            if !p.discard {
                push(&mut args, &["-K"]);
            }
            if let RootArg::Protofile(path, spaces) = p.root {
                let mut v = OsString::from(if spaces { "slashes_are_spaces=1," } else { "" });
                v.push(path.as_os_str());
                args.extend([OsString::from("-p"), v]);
            }
            if p.sector_size > 0 {
                push(&mut args, &["-s", &format!("size={}", p.sector_size)]);
            }
        }
        FileSystem::Vfat => {
            push(&mut args, &["-i", &vol, "-n", p.label, "-F", "32"]);
            args.push(node);
            if p.sector_size > 0 {
                push(&mut args, &["-S", &p.sector_size.to_string()]);
            }
        }
        FileSystem::Swap => {
            push(&mut args, &["-L", p.label, "-U", &vol]);
            args.push(node);
        }
        FileSystem::Squashfs => {
            match p.root {
                RootArg::Entries(e) => {
                    args.extend(e.paths.iter().map(|p| p.as_os_str().to_owned()));
                    args.push(node);
                    push(&mut args, &["-noappend"]);
                    // A single source directory would otherwise become the root itself.
                    if e.paths.len() == 1 {
                        push(&mut args, &["-keep-as-directory"]);
                    }
                    let (mode, uid, gid, time) = (
                        format!("{:o}", e.mode),
                        e.uid.to_string(),
                        e.gid.to_string(),
                        e.mtime.to_string(),
                    );
                    push(
                        &mut args,
                        &[
                            "-root-mode",
                            &mode,
                            "-root-uid",
                            &uid,
                            "-root-gid",
                            &gid,
                            "-root-time",
                            &time,
                        ],
                    );
                }
                _ => {
                    args.extend(dir);
                    args.push(node);
                    push(&mut args, &["-noappend"]);
                }
            }
            if let Some(c) = p.compression {
                push(&mut args, &["-comp", c]);
                if let Some(l) = p.compression_level {
                    push(&mut args, &["-Xcompression-level", l]);
                }
            }
        }
        FileSystem::Erofs => {
            push(&mut args, &["-U", &vol]);
            if let Some(c) = p.compression {
                let z = match p.compression_level {
                    Some(l) => format!("-z{c},level={l}"),
                    None => format!("-z{c}"),
                };
                args.push(z.into());
            }
            args.push(node);
            args.extend(dir);
        }
        _ => args.push(node),
    }
    args.extend(p.extra.iter().map(OsString::from));
    MkfsCommand { program, args, env }
}

/// Runs `cmd` with stdin from /dev/null and stdout sent to our stderr; `name` is used in
/// the failure message (`(mkfs) failed with exit status 1.`).
pub(crate) fn run(mut cmd: Command, name: &str) -> Result<(), FsError> {
    cmd.stdin(Stdio::null()).stdout(std::io::stderr());
    let status = cmd
        .status()
        .map_err(|e| FsError::io(format!("Failed to execute {name}"), e))?;
    if status.success() {
        Ok(())
    } else {
        Err(FsError::ToolFailed {
            tool: name.to_owned(),
            status: status.code().unwrap_or(-1),
        })
    }
}

/// Creates the file system of `job` on `node` with `uuid`, populated from `source`, and
/// logs `NODE successfully formatted as FS (…)`.
pub fn make_filesystem(
    job: &FormatJob,
    node: &Path,
    source: Option<&Source>,
    uuid: Uuid,
) -> Result<(), FsError> {
    let fstype = job.fstype();
    if fstype.is_read_only() && source.is_none() {
        return Err(FsError::ReadOnlyWithoutSource(fstype.to_string()));
    }
    if fstype.is_read_only() && !matches!(fstype, FileSystem::Squashfs | FileSystem::Erofs) {
        return Err(FsError::UnknownReadOnly(fstype.to_string()));
    }
    if *fstype == FileSystem::Swap && source.is_some() {
        return Err(FsError::SwapPopulate);
    }
    if source.is_some() && !fstype.supports_root_option() {
        return Err(FsError::CannotPopulateOffline(fstype.to_string()));
    }
    let (what, binary, package) = tool_for(fstype);
    let missing = || FsError::ToolMissing {
        fstype: fstype.to_string(),
        binary: what.to_owned(),
        package: package.clone(),
    };
    let program = find_executable(job.env, &binary).ok_or_else(missing)?;

    let label = label::mangle(fstype, job.label);
    let protofile = match (fstype, source.and_then(Source::root_dir)) {
        (FileSystem::Xfs, Some(dir)) => Some(xfs::Protofile::write(dir, &job.env.tmp_dir)?),
        _ => None,
    };
    let root = match (source, &protofile) {
        (_, Some(p)) => RootArg::Protofile(p.path(), p.has_spaces()),
        (Some(Source::Entries(e)), _) => RootArg::Entries(e),
        (Some(s), _) if *fstype != FileSystem::Vfat => {
            s.root_dir().map(RootArg::Dir).unwrap_or(RootArg::None)
        }
        _ => RootArg::None,
    };
    let def = job.definition;
    let subvolumes = subvolume_args(def);
    let cmd = command_line(&MkfsParams {
        fstype,
        node,
        label: &label,
        uuid,
        root,
        discard: job.discard,
        sector_size: job.fs_sector_size,
        compression: def.compression.as_deref(),
        compression_level: def.compression_level.as_deref(),
        extra: job.env.extra_options(fstype.name()),
        subvolumes: &subvolumes,
        hash_seed: job
            .env
            .source_date_epoch
            .map(|_| crate::pure::plan::ids::derive_uuid(uuid, b"ext4-hash-seed")),
    });
    let mut command = Command::new(&program);
    {
        use std::os::unix::process::CommandExt;
        command.arg0(&cmd.program);
    }
    command
        .args(&cmd.args)
        .envs(cmd.env.iter().map(|(k, v)| (k, v)));
    // Tools reject a set but empty (or unparsable) SOURCE_DATE_EPOCH; pass it only as
    // the value we understood.
    match job.env.source_date_epoch {
        Some(epoch) => {
            // e2fsprogs before 1.47.1 ignores SOURCE_DATE_EPOCH but has its own knob.
            command.env("E2FSPROGS_FAKE_TIME", epoch.to_string());
            command.env("SOURCE_DATE_EPOCH", epoch.to_string())
        }
        None => command.env_remove("SOURCE_DATE_EPOCH"),
    };
    run(command, "(mkfs)")?;
    if let Some(dir) = source
        .and_then(Source::root_dir)
        .filter(|_| *fstype == FileSystem::Vfat)
    {
        vfat::mcopy(job.env, node, dir)?;
    }
    let node = node.display();
    let vol = volume_id(fstype, &uuid);
    match fstype {
        FileSystem::Ext2
        | FileSystem::Ext3
        | FileSystem::Ext4
        | FileSystem::Btrfs
        | FileSystem::F2fs
        | FileSystem::Xfs
        | FileSystem::Vfat
        | FileSystem::Swap => {
            tracing::info!(
                "{node} successfully formatted as {fstype} (label \"{label}\", uuid {vol})"
            )
        }
        FileSystem::Erofs => {
            tracing::info!("{node} successfully formatted as {fstype} (uuid {vol}, no label)")
        }
        _ => {
            tracing::info!("{node} successfully formatted as {fstype} (no label or uuid specified)")
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params<'a>(fstype: &str, root: RootArg<'a>) -> MkfsParams<'a> {
        MkfsParams {
            // Leaked: test helpers only, and the params borrow the name.
            fstype: Box::leak(Box::new(FileSystem::from_name(fstype))),
            node: Path::new("/var/tmp/node"),
            label: "L",
            uuid: Uuid::parse_str("34038058-aaaa-4bbb-8ccc-dddddddddddd").unwrap(),
            root,
            discard: true,
            sector_size: 4096,
            compression: None,
            compression_level: None,
            extra: &[],
            subvolumes: &[],
            hash_seed: None,
        }
    }

    fn line(c: &MkfsCommand) -> String {
        let mut s = c.program.clone();
        for a in &c.args {
            s.push(' ');
            s.push_str(&a.to_string_lossy());
        }
        s
    }

    #[test]
    fn btrfs_subvolumes_only_with_a_source_tree() {
        let subvolumes = ["/x".to_owned()];
        let mut p = params("btrfs", RootArg::Dir(Path::new("/r")));
        p.subvolumes = &subvolumes;
        assert!(
            line(&command_line(&p)).ends_with("-r /r --sectorsize=4096 /var/tmp/node --subvol /x")
        );
        p.root = RootArg::None;
        assert!(line(&command_line(&p)).ends_with("--sectorsize=4096 /var/tmp/node"));
    }

    #[test]
    fn ext4() {
        let c = command_line(&params("ext4", RootArg::Dir(Path::new("/r"))));
        assert_eq!(
            line(&c),
            "mkfs.ext4 -L L -U 34038058-aaaa-4bbb-8ccc-dddddddddddd -I 256 -m 0 -E discard,lazy_itable_init=1 -b 4096 -T default -d /r /var/tmp/node"
        );
        assert_eq!(
            c.env,
            vec![("MKE2FS_DEVICE_SECTSIZE".to_owned(), "4096".to_owned())]
        );
        let mut p = params("ext4", RootArg::None);
        p.discard = false;
        p.extra = &[];
        assert!(
            line(&command_line(&p))
                .contains("-E nodiscard,lazy_itable_init=1 -b 4096 -T default /var/tmp/node")
        );
    }

    #[test]
    fn vfat_and_swap() {
        let c = command_line(&params("vfat", RootArg::None));
        assert_eq!(
            line(&c),
            "mkfs.vfat -i 34038058 -n L -F 32 /var/tmp/node -S 4096"
        );
        let c = command_line(&params("swap", RootArg::None));
        assert_eq!(
            line(&c),
            "mkswap -L L -U 34038058-aaaa-4bbb-8ccc-dddddddddddd /var/tmp/node"
        );
    }

    #[test]
    fn btrfs_xfs_f2fs() {
        let mut p = params("btrfs", RootArg::Dir(Path::new("/r")));
        p.discard = false;
        p.sector_size = 512;
        assert_eq!(
            line(&command_line(&p)),
            // The order upstream 257 uses (observed with strace).
            "mkfs.btrfs -L L -U 34038058-aaaa-4bbb-8ccc-dddddddddddd --nodiscard -r /r --sectorsize=4096 /var/tmp/node"
        );
        let p = params("xfs", RootArg::Protofile(Path::new("/var/tmp/proto"), true));
        assert_eq!(
            line(&command_line(&p)),
            "mkfs.xfs -L L -m uuid=34038058-aaaa-4bbb-8ccc-dddddddddddd -m reflink=1 /var/tmp/node -p slashes_are_spaces=1,/var/tmp/proto -s size=4096"
        );
        let p = params("f2fs", RootArg::None);
        assert_eq!(
            line(&command_line(&p)),
            "mkfs.f2fs -g -f -l L -U 34038058-aaaa-4bbb-8ccc-dddddddddddd -t 1 /var/tmp/node -w 4096"
        );
    }

    #[test]
    fn read_only() {
        let mut p = params("squashfs", RootArg::Dir(Path::new("/r")));
        p.compression = Some("zstd");
        p.compression_level = Some("3");
        let extra = ["-processors".to_owned(), "4".to_owned()];
        p.extra = &extra;
        assert_eq!(
            line(&command_line(&p)),
            "mksquashfs /r /var/tmp/node -noappend -comp zstd -Xcompression-level 3 -processors 4"
        );
        let e = super::super::tree::Entries {
            paths: vec![PathBuf::from("/s/a"), PathBuf::from("/s/b")],
            mode: 0o755,
            uid: 0,
            gid: 0,
            mtime: 1,
        };
        assert_eq!(
            line(&command_line(&params("squashfs", RootArg::Entries(&e)))),
            "mksquashfs /s/a /s/b /var/tmp/node -noappend -root-mode 755 -root-uid 0 -root-gid 0 -root-time 1"
        );
        let mut p = params("erofs", RootArg::Dir(Path::new("/r")));
        p.compression = Some("lz4hc");
        p.compression_level = Some("9");
        assert_eq!(
            line(&command_line(&p)),
            "mkfs.erofs -U 34038058-aaaa-4bbb-8ccc-dddddddddddd -zlz4hc,level=9 /var/tmp/node /r"
        );
        assert_eq!(
            line(&command_line(&params("bcachefs", RootArg::None))),
            "mkfs.bcachefs /var/tmp/node"
        );
    }

    #[test]
    fn missing_tool_message() {
        let e = FsError::ToolMissing {
            fstype: "vfat".into(),
            binary: "mkfs".into(),
            package: "dosfstools".into(),
        };
        assert_eq!(
            e.to_string(),
            "mkfs binary for vfat is not available (install dosfstools)"
        );
    }

    #[test]
    fn subvolume_flags_like_upstream() {
        // Upstream 257.13 ran: mkfs.btrfs ... NODE --subvol /a:ro,default --subvol /b
        let ty = crate::pure::gpt_types::PartitionType::parse("root").unwrap();
        let mut def = crate::pure::config::Definition::new("/d/10-root.conf".into(), ty);
        def.subvolumes = vec![("/a".into(), true), ("/b".into(), false)];
        def.default_subvolume = Some("/a".into());
        assert_eq!(subvolume_args(&def), vec!["/a:ro,default", "/b"]);
    }
}
