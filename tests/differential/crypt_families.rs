//! The Encrypt= family (image mode, a regular file as target): 1-3
//! partitions with Encrypt=key-file (or off), every Format= (none too),
//! CopyFiles= of the standard tree, Minimize=, sizes, EncryptedVolume=;
//! --key-file= (missing, empty, world-readable, or none at all),
//! --generate-crypttab=, dry runs, a fixed --size=, and existing images made
//! by a first run (sometimes the same definitions again: "No changes." for an
//! already encrypted partition). Error cases: Encrypt= with Verity=, bad
//! Encrypt= values, EncryptedVolume= without Encrypt=.
//!
//! Compared: status, stdout, stderr (fs-filtered), sfdisk -d, the written
//! files and `contents`, i.e. tools/golden-fs-contents.sh's LUKS2 view (the
//! luksDump shape with salts, digests and benchmarked PBKDF costs masked,
//! whether `key` opens a keyslot, the decrypted file system). The PBKDF is
//! upstream's default (argon2id, benchmarked): every keyslot costs about 2 s
//! to make and 2 s to open, so cases are few and small.
//!
//! Mostly `--offline=yes`; one case in ten leaves --offline= unset with every
//! formatted partition encrypted: in the container both binaries then try
//! loop + dm-crypt and fail at activation (no device-mapper), as upstream.
//! (Unencrypted file systems with --offline= unset would go through a mounted
//! loop device upstream, which this container cannot do.)

use super::checks::{Checks, SETUP_LIB};
use super::{Case, Rng};
use crate::common::manifest_dir;
use std::fmt::Write as _;
use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(p, text).unwrap();
}

/// The key file the command gets (`key` in the temp dir: the contents dump
/// opens the keyslots with it).
#[derive(Clone, Copy, PartialEq)]
enum Key {
    Good,
    TrailingNewline,
    Empty,
    WorldReadable,
    Missing,
    NoOption,
}

fn pick_key(rng: &mut Rng) -> Key {
    match rng.below(100) {
        0..=59 => Key::Good,
        60..=67 => Key::TrailingNewline,
        68..=75 => Key::Empty,
        76..=83 => Key::WorldReadable,
        84..=91 => Key::Missing,
        _ => Key::NoOption,
    }
}

/// Setup lines that make the key file.
fn key_setup(k: Key) -> &'static str {
    match k {
        Key::Good => "printf 'correct horse battery staple' > key\nchmod 0600 key\n",
        Key::TrailingNewline => "printf 'with newline\\n' > key\nchmod 0600 key\n",
        Key::Empty => ": > key\nchmod 0600 key\n",
        Key::WorldReadable => "printf 'readable' > key\nchmod 0644 key\n",
        Key::Missing | Key::NoOption => "",
    }
}

/// One partition's definition lines; `encrypt_formatted`: every partition
/// with a Format= gets Encrypt=key-file (--offline= unset).
fn gen_partition(
    rng: &mut Rng,
    encrypt_formatted: bool,
    tags: &mut Vec<&'static str>,
) -> Vec<String> {
    let fmt = rng.pick(&[
        "ext4", "ext4", "vfat", "xfs", "btrfs", "squashfs", "erofs", "", "", "swap",
    ]);
    let ty = match fmt {
        "vfat" => rng.pick(&["esp", "xbootldr", "linux-generic"]),
        "swap" => rng.pick(&["swap", "linux-generic"]),
        _ => rng.pick(&["linux-generic", "root", "usr", "home", "srv", "var"]),
    };
    let mut l = vec![format!("Type={ty}")];
    if !fmt.is_empty() {
        l.push(format!("Format={fmt}"));
    }
    let encrypt = if encrypt_formatted && !fmt.is_empty() {
        "key-file"
    } else {
        rng.pick(&[
            "key-file", "key-file", "key-file", "key-file", "yes", "off", "no", "", "bogus",
        ])
    };
    if !encrypt.is_empty() {
        l.push(format!("Encrypt={encrypt}"));
    }
    let encrypted = matches!(encrypt, "key-file" | "yes");
    if encrypted {
        tags.push("encrypted");
    }
    if rng.chance(40) {
        let label = rng.pick(&[
            "data",
            "secret",
            "with space",
            "a-label-that-is-longer-than-36-bytes",
        ]);
        l.push(format!("Label={label}"));
    }
    let ro = matches!(fmt, "squashfs" | "erofs");
    let writable = matches!(fmt, "ext4" | "vfat" | "xfs" | "btrfs");
    if ro && rng.chance(85) || writable && rng.chance(55) {
        let src = rng.pick(&[
            "@TMP@/src/rootfs/usr:/usr",
            "@TMP@/src/rootfs/etc:/etc",
            "@TMP@/src/esp:/EFI/BOOT",
            "@TMP@/src/nix:/",
            "@TMP@/src/rootfs:/",
        ]);
        l.push(format!("CopyFiles={src}"));
        if rng.chance(15) {
            l.push("MakeDirectories=/var/lib/x".into());
        }
    }
    let minimize = if ro && rng.chance(60) || writable && rng.chance(25) {
        let m = rng.pick(&["guess", "best"]);
        l.push(format!("Minimize={m}"));
        tags.push("minimize");
        true
    } else {
        false
    };
    match fmt {
        "xfs" => l.push("SizeMinBytes=300M".into()),
        "btrfs" if !minimize => l.push("SizeMinBytes=256M".into()),
        "ext4" | "vfat" | "" | "swap" if rng.chance(60) => l.push(format!(
            "SizeMinBytes={}",
            rng.pick(&["1M", "16M", "20M", "48M", "64M"])
        )),
        _ => {}
    }
    if rng.chance(12) {
        l.push(format!(
            "SizeMaxBytes={}",
            rng.pick(&["10M", "32M", "64M", "100M", "1G"])
        ));
    }
    if rng.chance(15) {
        l.push(format!("Weight={}", rng.pick(&["0", "100", "5000"])));
    }
    if rng.chance(10) {
        l.push(format!(
            "PaddingMinBytes={}",
            rng.pick(&["1M", "5000", "10M"])
        ));
    }
    if (encrypted || rng.chance(10)) && rng.chance(35) {
        let v = rng.pick(&[
            "data",
            "data:/etc/data.key",
            "data:/etc/data.key:discard,x-initrd.attach",
            "vol::",
            ":none:discard",
            "data:-:nofail",
        ]);
        l.push(format!("EncryptedVolume={v}"));
    }
    if rng.chance(25) {
        let mp = rng.pick(&["/srv/data", "/home", "/var:rw", "/efi"]);
        l.push(format!("MountPoint={mp}"));
    }
    l
}

/// The Encrypt= family (see the module comment).
pub fn gen_crypt(seed: u64, dir: &Path) -> Case {
    let mut rng = Rng::new(seed);
    let s = rng.uuid();
    let mut tags: Vec<&'static str> = vec!["crypt"];
    let key = pick_key(&mut rng);
    let offline_unset = rng.chance(10);
    // Few partitions: every encrypted one costs two argon2 runs per binary.
    let n = if rng.chance(15) {
        3
    } else {
        1 + rng.below(2) as usize
    };
    let mut parts: Vec<Vec<String>> = (0..n)
        .map(|_| gen_partition(&mut rng, offline_unset, &mut tags))
        .collect();
    if rng.chance(6) {
        // Encrypt= on a verity partition is refused
        let ty = rng.pick(&["root", "usr"]);
        parts[0] = vec![
            format!("Type={ty}"),
            "Format=erofs".into(),
            "CopyFiles=@TMP@/src/nix:/".into(),
            format!("Verity={}", rng.pick(&["data", "data", "signature"])),
            "VerityMatchKey=store".into(),
            "Encrypt=key-file".into(),
        ];
        tags.push("verity");
    }
    let mut descr = String::new();
    for (i, l) in parts.iter().enumerate() {
        write!(descr, "[{}] ", l.join(" ")).unwrap();
        write(
            dir,
            &format!("repart.d/{:02}-p{i}.conf", 10 * (i + 1)),
            &format!("[Partition]\n{}\n", l.join("\n")),
        );
    }
    // The first run needs SOURCE_DATE_EPOCH too (the case's env reaches only
    // the final command): squashfs/erofs would carry the time of the run.
    let mut setup = format!(
        "{SETUP_LIB}. '{}'\nexport SOURCE_DATE_EPOCH=1700000000\nfs_make_tree src\n",
        manifest_dir().join("testdata/golden/fs-lib.sh").display()
    );
    setup.push_str(key_setup(key));
    let key_arg = match key {
        Key::NoOption => None,
        Key::Missing => Some("--key-file={tmp}/nokey"),
        _ => Some("--key-file={tmp}/key"),
    };
    let existing = rng.chance(30);
    let mut cmd = vec!["--definitions={defs}".to_string()];
    if existing {
        // A first run makes the image (with the first k definitions, or all
        // of them: then the final run finds everything in place).
        // (none at all, rarely: an image with an empty table)
        let k = if rng.chance(50) {
            n
        } else if rng.chance(80) {
            1 + rng.below(n as u64) as usize
        } else {
            0
        };
        for (i, l) in parts.iter().take(k).enumerate() {
            write(
                dir,
                &format!("first.d/{:02}-p{i}.conf", 10 * (i + 1)),
                &format!("[Partition]\n{}\n", l.join("\n")),
            );
        }
        std::fs::create_dir_all(dir.join("first.d")).unwrap();
        let first_key = if matches!(key, Key::Missing | Key::NoOption) {
            ""
        } else {
            " --key-file=key"
        };
        setup.push_str("fs_subst repart.d first.d\n");
        writeln!(
            setup,
            "step 1 --definitions=first.d --empty=create --size=auto --seed={s} --dry-run=no --offline=yes{first_key} img.raw"
        )
        .unwrap();
        // Partitions added need room (but sometimes there is none).
        let grow = if k == n {
            rng.pick(&["0", "0", "64M", "600M"])
        } else {
            rng.pick(&["0", "64M", "600M", "600M"])
        };
        if grow != "0" {
            writeln!(setup, "truncate -s +{grow} img.raw").unwrap();
        }
        if k == n && grow == "0" {
            tags.push("rerun");
        }
        if rng.chance(20) {
            cmd.push("--empty=allow".into());
        }
        write!(
            descr,
            "existing image ({k} of {n} made first, grown by {grow}), "
        )
        .unwrap();
    } else {
        setup.push_str("fs_subst repart.d\n");
        cmd.push("--empty=create".into());
        cmd.push(format!(
            "--size={}",
            if rng.chance(85) {
                "auto"
            } else {
                rng.pick(&["200M", "1G"])
            }
        ));
    }
    setup.push_str("snapshot\n");
    write(dir, "setup", &setup);
    write(
        dir,
        "fs",
        "generated file-system case (differential: Encrypt=)\n",
    );
    write(dir, "env", "SOURCE_DATE_EPOCH=1700000000\n");
    cmd.push(format!("--seed={s}"));
    let dry = rng.chance(20);
    cmd.push(if dry { "--dry-run=yes" } else { "--dry-run=no" }.into());
    if offline_unset {
        tags.push("offline-unset");
    } else {
        cmd.push("--offline=yes".into());
    }
    if let Some(k) = key_arg {
        cmd.push(k.into());
    }
    let mut files = vec![];
    if rng.chance(40) {
        cmd.push("--generate-crypttab={tmp}/crypttab".into());
        files.push("crypttab".to_string());
    }
    if rng.chance(15) {
        cmd.push("--generate-fstab={tmp}/fstab".into());
        files.push("fstab".to_string());
    }
    if rng.chance(10) {
        cmd.push("--json=short".into());
    }
    cmd.push("{img}".into());
    write(dir, "cmd", &(cmd.join("\n") + "\n"));
    if dry {
        tags.push(if existing {
            "dry-existing"
        } else {
            "dry-create"
        });
    }
    descr.push_str(&cmd.join(" "));
    Case {
        descr,
        tags,
        contents: true,
        checks: Checks {
            files,
            dry,
            fs: true,
            stderr: true,
            ..Default::default()
        },
    }
}
