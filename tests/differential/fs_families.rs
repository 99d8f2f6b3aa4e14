//! Generators of the file-system families (the case gets an `fs` file: the
//! oracle's mkfs tools first on PATH, stderr filtered, `contents` dumped):
//! CopyFiles= trees with odd entries (compared by contents for every file
//! system), --generate-fstab=, and the two-pass verity flow of NixOS/mkosi.

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

fn fs_prelude() -> String {
    format!(
        "{SETUP_LIB}. '{}'\n",
        manifest_dir().join("testdata/golden/fs-lib.sh").display()
    )
}

/// Bash that builds an odd source tree in src/t: every entry with a chance,
/// so a mismatch points at few of them. Fixed mtimes (2024-01-01).
fn odd_tree(rng: &mut Rng, tags: &mut Vec<&'static str>) -> String {
    let mut s = String::from(
        "d=src/t\nmkdir -p \"$d/sub/deeper\"\necho data > \"$d/plain\"\necho nested > \"$d/sub/deeper/file\"\n",
    );
    let items: &[(&str, &str)] = &[
        ("head -c 70000 /dev/zero | tr '\\0' x > \"$d/big\"\n", ""),
        (": > \"$d/empty-file\"\nmkdir -p \"$d/empty-dir\"\n", ""),
        ("echo exec > \"$d/exec\"; chmod 0755 \"$d/exec\"\n", ""),
        (
            "echo suid > \"$d/suid\"; chmod 4755 \"$d/suid\"\necho sgid > \"$d/sgid\"; chmod 2750 \"$d/sgid\"\n",
            "odd-modes",
        ),
        (
            "echo none > \"$d/none\"; chmod 0000 \"$d/none\"\n",
            "odd-modes",
        ),
        (
            "mkdir -p \"$d/sticky\"; chmod 1777 \"$d/sticky\"\nmkdir -p \"$d/private\"; chmod 0700 \"$d/private\"\n",
            "odd-modes",
        ),
        (
            "echo owned > \"$d/owned\"; chown 1234:5678 \"$d/owned\"\nmkdir -p \"$d/nobody\"; chown 65534:65534 \"$d/nobody\"\n",
            "owners",
        ),
        (
            "echo hard > \"$d/hard1\"; ln \"$d/hard1\" \"$d/hard2\"; ln \"$d/hard1\" \"$d/sub/hard3\"\n",
            "hardlinks",
        ),
        (
            "ln -s plain \"$d/rel-link\"; ln -s /etc/hostname \"$d/abs-link\"; ln -s missing \"$d/dangling\"\n",
            "",
        ),
        (
            "mkdir -p \"$d/dir with space\"; echo s > \"$d/dir with space/file with space\"\n",
            "odd-names",
        ),
        ("echo u > \"$d/ünïcødé-näme\"\n", "odd-names"),
        (
            "echo x > \"$d/-dash\"; echo x > \"$d/a=b\"; echo x > \"$d/#hash\"; echo x > \"$d/.hidden\"\n",
            "odd-names",
        ),
        (
            "echo x > \"$d/$(printf 'n%.0s' $(seq 1 200))\"\n",
            "long-names",
        ),
        ("echo x > \"$d/x:y\"\n", "colon-name"),
        (
            "echo A > \"$d/UPPER\"; echo a > \"$d/upper\"\n",
            "case-collision",
        ),
        ("mkfifo \"$d/fifo\"\n", "fifo"),
        (
            "echo xattr > \"$d/xattr\"; (setfattr -n user.test -v 1 \"$d/xattr\" 2>/dev/null || true)\n",
            "",
        ),
    ];
    for (text, tag) in items {
        if rng.chance(45) {
            s.push_str(text);
            if !tag.is_empty() {
                tags.push(tag);
            }
        }
    }
    s.push_str("find \"$d\" -depth -exec touch -h -d \"$MTIME\" {} +\n");
    s
}

/// CopyFiles= trees with duplicate sources, hard links, odd modes, owners
/// and names, for every file system; compared by contents.
/// Mostly real runs (three in four): file-system cases are about the contents.
fn fs_dry_run(rng: &mut Rng) -> String {
    let pick = [
        "--dry-run=no",
        "--dry-run=no",
        "--dry-run=no",
        "--dry-run=yes",
    ];
    rng.pick(&pick).to_string()
}

pub fn gen_trees(seed: u64, dir: &Path) -> Case {
    let mut rng = Rng::new(seed);
    let s = rng.uuid();
    let mut tags = vec!["tree"];
    let mut setup = fs_prelude();
    setup.push_str(&odd_tree(&mut rng, &mut tags));
    let std_tree = rng.chance(30);
    if std_tree {
        setup.push_str("fs_make_tree src\n");
    }
    setup.push_str("fs_subst repart.d\n");
    let n = 1 + rng.below(2) as usize;
    let mut descr = String::new();
    for i in 0..n {
        let fmt = rng.pick(&["vfat", "ext4", "btrfs", "xfs", "squashfs", "erofs"]);
        let ty = match fmt {
            "vfat" => rng.pick(&["esp", "xbootldr", "linux-generic"]),
            _ => rng.pick(&["linux-generic", "root", "usr", "home", "srv"]),
        };
        let mut l = vec![format!("Type={ty}"), format!("Format={fmt}")];
        tags.push(match fmt {
            "vfat" => "fs:vfat",
            "ext4" => "fs:ext4",
            "btrfs" => "fs:btrfs",
            "xfs" => "fs:xfs",
            "squashfs" => "fs:squashfs",
            _ => "fs:erofs",
        });
        let mut copies = vec!["@TMP@/src/t:/".to_string()];
        match rng.below(6) {
            0 => {
                copies.push("@TMP@/src/t:/".into());
                tags.push("dup-source");
            }
            1 => {
                copies = vec!["@TMP@/src/t:/a".into(), "@TMP@/src/t:/b".into()];
                tags.push("dup-source");
            }
            2 => {
                copies.push("@TMP@/src/t/plain:/plain-again".into());
                copies.push("@TMP@/src/t/plain:/sub/plain-thrice".into());
                tags.push("dup-source");
            }
            3 => copies.push("@TMP@/src/t/sub:/sub".into()),
            _ => {}
        }
        if std_tree && rng.chance(50) {
            copies.push(
                rng.pick(&["@TMP@/src/rootfs:/", "@TMP@/src/nix:/nix"])
                    .into(),
            );
        }
        for c in copies {
            l.push(format!("CopyFiles={c}"));
        }
        if rng.chance(15) {
            l.push(format!(
                "ExcludeFiles={}",
                rng.pick(&["@TMP@/src/t/sub/", "@TMP@/src/t/plain"])
            ));
        }
        if rng.chance(15) {
            l.push("MakeDirectories=/made/dir".into());
        }
        let ro = matches!(fmt, "squashfs" | "erofs");
        if ro && rng.chance(50) || !ro && fmt != "vfat" && rng.chance(25) {
            l.push(format!("Minimize={}", rng.pick(&["guess", "best"])));
            if fmt == "xfs" {
                l.push("SizeMinBytes=300M".into());
            }
        } else {
            match fmt {
                "xfs" => l.push("SizeMinBytes=300M".into()),
                "btrfs" => l.push("SizeMinBytes=256M".into()),
                "vfat" | "ext4" => l.push(format!("SizeMinBytes={}", rng.pick(&["16M", "64M"]))),
                _ => {}
            }
        }
        write!(descr, "[{}] ", l.join(" ")).unwrap();
        write(
            dir,
            &format!("repart.d/{:02}-p{i}.conf", 10 * (i + 1)),
            &format!("[Partition]\n{}\n", l.join("\n")),
        );
    }
    if tags.contains(&"fs:vfat") && tags.contains(&"fifo") {
        // upstream's mcopy blocks forever reading a fifo (not reproducible)
        setup = setup.replace("mkfifo \"$d/fifo\"\n", "");
        tags.retain(|t| *t != "fifo");
    }
    setup.push_str("snapshot\n");
    write(dir, "setup", &setup);
    write(
        dir,
        "fs",
        "generated file-system case (differential: odd CopyFiles trees)\n",
    );
    if rng.chance(50) {
        write(dir, "env", "SOURCE_DATE_EPOCH=1700000000\n");
        descr.push_str("SOURCE_DATE_EPOCH ");
    } else {
        // upstream stamps some directories with the build time: not reproducible
        tags.push("no-sde");
    }
    let cmd = [
        "--definitions={defs}".to_string(),
        "--empty=create".into(),
        "--size=auto".into(),
        format!("--seed={s}"),
        "--dry-run=no".into(),
        "--offline=yes".into(),
        "{img}".into(),
    ];
    write(dir, "cmd", &(cmd.join("\n") + "\n"));
    Case {
        descr,
        tags,
        contents: true,
        checks: Checks {
            fs: true,
            ..Default::default()
        },
    }
}

/// --generate-fstab= (and --generate-crypttab=) from MountPoint=.
pub fn gen_fstab(seed: u64, dir: &Path) -> Case {
    let mut rng = Rng::new(seed);
    let s = rng.uuid();
    let mut tags = vec!["fstab"];
    let n = 1 + rng.below(4) as usize;
    let mut descr = String::new();
    for i in 0..n {
        let fmt = rng.pick(&[
            "ext4", "vfat", "swap", "xfs", "btrfs", "squashfs", "erofs", "",
        ]);
        let ty = match fmt {
            "vfat" => rng.pick(&["esp", "xbootldr"]),
            "swap" => "swap",
            _ => rng.pick(&["root", "home", "srv", "var", "linux-generic", "usr"]),
        };
        let mut l = vec![format!("Type={ty}")];
        if !fmt.is_empty() {
            l.push(format!("Format={fmt}"));
        }
        match fmt {
            "xfs" => l.push("SizeMinBytes=300M".into()),
            "btrfs" => l.push("SizeMinBytes=256M".into()),
            "squashfs" | "erofs" => {
                l.push("CopyFiles=@TMP@/src/esp:/".into());
                l.push("Minimize=best".into());
            }
            _ => {}
        }
        let k = if rng.chance(20) { 2 } else { 1 };
        for _ in 0..k {
            if rng.chance(90) {
                let mp = rng.pick(&[
                    "/",
                    "/home",
                    "/efi",
                    "/boot:umask=0077",
                    "/srv:nosuid,nodev",
                    "/var:rw,discard",
                    "/data:noauto,x-systemd.automount",
                    "/usr:ro",
                    "none",
                    "/mnt/a b",
                    "relative",
                    "/x:",
                ]);
                l.push(format!("MountPoint={mp}"));
            }
        }
        if rng.chance(15) {
            l.push(format!("Label={}", rng.pick(&["data", "with space", "x"])));
        }
        if rng.chance(10) {
            l.push("ReadOnly=yes".into());
        }
        if rng.chance(10) {
            l.push("GrowFileSystem=yes".into());
        }
        write!(descr, "[{}] ", l.join(" ")).unwrap();
        write(
            dir,
            &format!("repart.d/{:02}-p{i}.conf", 10 * (i + 1)),
            &format!("[Partition]\n{}\n", l.join("\n")),
        );
    }
    let mut setup = fs_prelude();
    setup.push_str("fs_make_tree src\nfs_subst repart.d\nsnapshot\n");
    write(dir, "setup", &setup);
    write(
        dir,
        "fs",
        "generated file-system case (differential: --generate-fstab)\n",
    );
    let mut cmd = vec![
        "--definitions={defs}".to_string(),
        "--empty=create".into(),
        "--size=auto".into(),
        format!("--seed={s}"),
        fs_dry_run(&mut rng),
        "--offline=yes".into(),
        "--generate-fstab={tmp}/fstab".into(),
    ];
    let mut files = vec!["fstab".to_string()];
    if rng.chance(30) {
        cmd.push("--generate-crypttab={tmp}/crypttab".into());
        files.push("crypttab".into());
    }
    if rng.chance(15) {
        cmd.push("--json=short".into());
    }
    cmd.push("{img}".into());
    write(dir, "cmd", &(cmd.join("\n") + "\n"));
    let dry = cmd.iter().any(|a| a == "--dry-run=yes");
    if dry {
        tags.push("dry-create");
    }
    descr.push_str(&cmd.join(" "));
    Case {
        descr,
        tags,
        contents: false,
        checks: Checks {
            files,
            dry,
            fs: true,
            ..Default::default()
        },
    }
}

/// The two-pass verity flow: pass 1 `--empty=create --size=auto
/// --defer-partitions=esp` with Verity=data/hash and Minimize=best, pass 2
/// without --empty=create (sometimes with the ESP's CopyFiles= added, or
/// run twice).
pub fn gen_verity(seed: u64, dir: &Path) -> Case {
    let mut rng = Rng::new(seed);
    let s = rng.uuid();
    let mut tags = vec!["verity", "verity-rerun"];
    let fmt = rng.pick(&["erofs", "squashfs"]);
    let (dt, ht) = rng.pick2(&[
        ("usr", "usr-verity"),
        ("root", "root-verity"),
        ("usr-x86-64", "usr-x86-64-verity"),
    ]);
    let data = format!(
        "[Partition]\nType={dt}\nFormat={fmt}\nLabel=store\nMinimize={}\nCopyFiles=@TMP@/src/nix:/\nVerity=data\nVerityMatchKey=store\n",
        rng.pick(&["best", "best", "guess"])
    );
    let hash = format!(
        "[Partition]\nType={ht}\nLabel=store-verity\nVerity=hash\nVerityMatchKey=store\n{}",
        rng.pick(&[
            "Minimize=best\n",
            "Minimize=best\n",
            "",
            "SizeMinBytes=1M\nSizeMaxBytes=1M\n"
        ])
    );
    let esp_base = "[Partition]\nType=esp\nFormat=vfat\nLabel=boot\nSizeMinBytes=64M\n".to_string();
    let esp_full = format!(
        "{esp_base}CopyFiles=@TMP@/src/esp:/EFI/BOOT\nCopyFiles=@TMP@/src/kernel.efi:/EFI/Linux/k.efi\n"
    );
    let add_copy = rng.chance(50);
    let mut files = vec![
        (
            "10-esp.conf",
            if add_copy {
                esp_base.clone()
            } else {
                esp_full.clone()
            },
        ),
        ("20-store.conf", data),
        ("30-store-verity.conf", hash),
    ];
    if rng.chance(25) {
        files.push((
            "40-var.conf",
            "[Partition]\nType=var\nFormat=ext4\nSizeMinBytes=32M\n".into(),
        ));
    }
    for (n, t) in &files {
        write(dir, &format!("s1.d/{n}"), t);
        let t2 = if *n == "10-esp.conf" {
            esp_full.clone()
        } else {
            t.clone()
        };
        write(dir, &format!("repart.d/{n}"), &t2);
    }
    let json = rng.pick(&["--json=pretty", "--json=pretty", "--json=short", ""]);
    let json_arg = if json.is_empty() {
        String::new()
    } else {
        format!(" {json}")
    };
    let mut setup = fs_prelude();
    // The steps need it too (the case's env only reaches the final command):
    // without it, upstream's squashfs/erofs images (hence root hashes and
    // UUIDs) carry the time of the run.
    setup.push_str(
        "export SOURCE_DATE_EPOCH=1700000000\nfs_make_tree src\nfs_subst s1.d repart.d\n",
    );
    writeln!(
        setup,
        "step 1 --definitions=s1.d --empty=create --size=auto --defer-partitions=esp --seed={s} --dry-run=no --offline=yes{json_arg} img.raw"
    )
    .unwrap();
    let three = rng.chance(25);
    if three {
        writeln!(
            setup,
            "step 2 --definitions=repart.d --seed={s} --dry-run=no --offline=yes{json_arg} img.raw"
        )
        .unwrap();
        tags.push("verity-third-pass");
    }
    setup.push_str("snapshot\n");
    write(dir, "setup", &setup);
    write(
        dir,
        "fs",
        "generated file-system case (differential: two-pass verity)\n",
    );
    write(dir, "env", "SOURCE_DATE_EPOCH=1700000000\n");
    let mut cmd = vec!["--definitions={defs}".to_string(), format!("--seed={s}")];
    if rng.chance(40) {
        cmd.push("--size=auto".into());
    }
    cmd.push(fs_dry_run(&mut rng));
    cmd.push("--offline=yes".into());
    if !json.is_empty() {
        cmd.push(json.into());
    }
    cmd.push("{img}".into());
    write(dir, "cmd", &(cmd.join("\n") + "\n"));
    let dry = cmd.iter().any(|a| a == "--dry-run=yes");
    if dry {
        tags.push("dry-existing");
    }
    Case {
        descr: format!(
            "verity two-pass {fmt} {dt}/{ht} esp-copy-added={add_copy} three={three}: {}",
            cmd.join(" ")
        ),
        tags,
        contents: true,
        checks: Checks {
            dry,
            fs: true,
            ..Default::default()
        },
    }
}
