//! File-system image tests that are not golden comparisons:
//!
//! * `fs_reproducible`: the scenario image (testdata/golden/fs-scenario: vfat
//!   ESP + squashfs store, Minimize=guess) built twice from the same inputs in
//!   different temp dirs, a second apart, with the same SOURCE_DATE_EPOCH, must
//!   have the same sha256 (whole image and each split file).
//! * `fs_no_loop_devices`: the scenario build in a private mount namespace in
//!   which /dev is a fresh tmpfs holding only null, zero, full, random and
//!   urandom (no /dev/loop-control, no /dev/loopN) must succeed with the
//!   default and give the same image as `--offline=yes` outside the namespace;
//!   `--offline=no` fails there as upstream's does (it insists on loop
//!   devices). Needs root and unshare (skipped
//!   otherwise, unless REPART_REQUIRE_ORACLE=1).
//! * `fs_copy_blocks_streams`: what `CopyBlocks=` from /dev/urandom, /dev/zero and
//!   /dev/null writes (the golden fs-copyblocks-stream cannot compare random bytes).
//! * `fs_split_keeps_existing_files`: our side of the known difference
//!   fs-split-existing (a file at a split path is kept, what the run made is removed).
//!
//! The first two use the oracle's mkfs tools first on PATH (`REPART_FS_TOOLS`, see
//! tests/common.rs) and are skipped when those are missing (unless
//! `REPART_REQUIRE_ORACLE=1`).

use crate::common::*;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

const SEED: &str = "e2a40bf9-73f1-4278-9160-49c031e7aedd";
const SDE: &str = "1700000000";

fn required() -> bool {
    std::env::var("REPART_REQUIRE_ORACLE").as_deref() == Ok("1")
}

fn tools_or_skip(test: &str) -> bool {
    match fs_tools_available() {
        Ok(()) => true,
        Err(why) if required() => panic!("{test}: mkfs tools required: {why}"),
        Err(why) => {
            eprintln!("{test}: SKIPPED: {why}");
            false
        }
    }
}

/// Prepare the scenario inputs in `dir`: repart.d/ from the fs-scenario golden
/// case, the source tree of testdata/golden/fs-lib.sh.
fn prepare_scenario(dir: &Path) {
    prepare_case(dir, "fs-scenario");
}

/// Prepare the inputs of golden case `name` in `dir`: its repart.d/ and the source
/// tree of testdata/golden/fs-lib.sh.
fn prepare_case(dir: &Path, name: &str) {
    let case = manifest_dir().join("testdata/golden").join(name);
    copy_tree(&case.join("repart.d"), &dir.join("repart.d")).unwrap();
    let lib = manifest_dir().join("testdata/golden/fs-lib.sh");
    let script = format!(
        ". '{}'\nfs_make_tree src\nfs_subst repart.d\n",
        lib.display()
    );
    let env = vec![
        ("PATH".to_string(), fs_path()),
        ("TMP".to_string(), dir.as_os_str().to_owned()),
    ];
    let o = run(
        Path::new("/bin/bash"),
        &[
            OsString::from("-euo"),
            OsString::from("pipefail"),
            OsString::from("-c"),
            OsString::from(script),
        ],
        dir,
        &env,
        Duration::from_secs(120),
    );
    assert_eq!(
        o.status,
        0,
        "preparing the scenario inputs failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn scenario_args(offline: Option<&str>, split: bool) -> Vec<OsString> {
    let mut a: Vec<OsString> = [
        "--definitions=repart.d",
        "--empty=create",
        "--size=auto",
        "--dry-run=no",
        "--json=pretty",
        "--architecture=x86-64",
        "--sector-size=512",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    a.push(format!("--seed={SEED}").into());
    a.push(if split { "--split=yes" } else { "--split=no" }.into());
    if let Some(o) = offline {
        a.push(format!("--offline={o}").into());
    }
    a.push("img.raw".into());
    a
}

fn sha256(path: &Path) -> String {
    let o = run(
        Path::new("/usr/bin/sha256sum"),
        &[path.as_os_str().to_owned()],
        Path::new("/"),
        &[("PATH".to_string(), base_path())],
        Duration::from_secs(120),
    );
    assert_eq!(o.status, 0, "sha256sum {} failed", path.display());
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// All *.raw files in `dir` with their sha256, sorted by name.
fn image_hashes(dir: &Path) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "raw"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                sha256(&p),
            )
        })
        .collect();
    v.sort();
    v
}

fn build(dir: &Path, repart: &Path, args: &[OsString]) -> Vec<(String, String)> {
    let env = vec![
        ("PATH".to_string(), fs_path()),
        ("SOURCE_DATE_EPOCH".to_string(), OsString::from(SDE)),
    ];
    let o = run(repart, args, dir, &env, Duration::from_secs(300));
    assert_eq!(
        o.status,
        0,
        "build in {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    image_hashes(dir)
}

#[test]
fn fs_reproducible() {
    if !tools_or_skip("fs_reproducible") {
        return;
    }
    let repart = repart_under_test();
    let mut results = Vec::new();
    for (i, split) in [(0, true), (1, true)] {
        let t = TempDir::new("repart-repro");
        prepare_scenario(&t.path);
        // An ext4 root too: mke2fs needs a fixed hash seed and time to be reproducible.
        std::fs::write(
            t.path.join("repart.d/30-root.conf"),
            format!(
                "[Partition]\nType=root\nFormat=ext4\nCopyFiles={}/src:/\n",
                t.path.display()
            ),
        )
        .unwrap();
        if i == 1 {
            // a different "now" for anything that would use the current time
            std::thread::sleep(Duration::from_millis(1100));
        }
        results.push(build(&t.path, &repart, &scenario_args(Some("yes"), split)));
    }
    eprintln!("fs_reproducible: {:?}", results[0]);
    assert_eq!(
        results[0].len(),
        4,
        "expected img.raw and three split files: {:?}",
        results[0]
    );
    assert_eq!(
        results[0], results[1],
        "two builds of the scenario image with SOURCE_DATE_EPOCH={SDE} differ"
    );
}

/// Run `repart args` in `dir` inside a mount namespace without loop devices.
fn run_without_loop(dir: &Path, repart: &Path, args: &[OsString]) -> Output {
    // /dev: fresh tmpfs with only the basic character devices (bind-mounted
    // from a copy of the old /dev kept under the temp dir).
    let script = r#"set -eu
old=$(mktemp -d)
mount --bind /dev "$old"
mount -t tmpfs -o mode=0755,nosuid none /dev
for n in null zero full random urandom; do
    : > "/dev/$n"; mount --bind "$old/$n" "/dev/$n"
done
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin; ln -s /proc/self/fd/1 /dev/stdout; ln -s /proc/self/fd/2 /dev/stderr
umount -l "$old"; rmdir "$old"
if [ -e /dev/loop-control ] || ls /dev/loop[0-9]* >/dev/null 2>&1; then
    echo "no-loop setup failed: loop devices still visible" >&2; exit 99
fi
exec "$@"
"#;
    let mut a: Vec<OsString> = vec![
        "--mount".into(),
        "--propagation".into(),
        "private".into(),
        "--".into(),
        "/bin/bash".into(),
        "-c".into(),
        script.into(),
        "no-loop".into(),
        repart.as_os_str().to_owned(),
    ];
    a.extend(args.iter().cloned());
    let env = vec![
        ("PATH".to_string(), fs_path()),
        ("SOURCE_DATE_EPOCH".to_string(), OsString::from(SDE)),
    ];
    run(&unshare(), &a, dir, &env, Duration::from_secs(300))
}

fn unshare() -> PathBuf {
    for c in ["/usr/bin/unshare", "/bin/unshare"] {
        if Path::new(c).exists() {
            return PathBuf::from(c);
        }
    }
    PathBuf::from("unshare")
}

#[test]
fn fs_no_loop_devices() {
    if !tools_or_skip("fs_no_loop_devices") {
        return;
    }
    let is_root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    if !is_root || !unshare().exists() {
        if required() {
            panic!("fs_no_loop_devices: needs root and unshare");
        }
        eprintln!("fs_no_loop_devices: SKIPPED (needs root and unshare)");
        return;
    }
    let repart = repart_under_test();
    // Reference: --offline=yes, normal /dev.
    let reference = {
        let t = TempDir::new("repart-noloop");
        prepare_scenario(&t.path);
        build(&t.path, &repart, &scenario_args(Some("yes"), false))
    };
    // --offline=no insists on loop devices, as upstream: without them the first file
    // system fails (upstream's message, verified against the oracle in this setup).
    {
        let t = TempDir::new("repart-noloop");
        prepare_scenario(&t.path);
        let o = run_without_loop(&t.path, &repart, &scenario_args(Some("no"), false));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status, 1, "--offline=no without loop devices:\n{err}");
        assert!(
            err.contains("Failed to make loopback device of future partition ")
                && err.contains(": No such file or directory"),
            "--offline=no without loop devices, not upstream's error:\n{err}"
        );
    }
    // Unset: no loop devices is fine, the image is the same as with --offline=yes.
    let t = TempDir::new("repart-noloop");
    prepare_scenario(&t.path);
    let o = run_without_loop(&t.path, &repart, &scenario_args(None, false));
    assert_eq!(
        o.status,
        0,
        "build without loop devices (--offline=<default>) failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("/dev/loop"), "mentions loop devices:\n{err}");
    let got = image_hashes(&t.path);
    assert_eq!(
        got, reference,
        "--offline=<default> without loop devices gives another image than --offline=yes"
    );
    eprintln!("fs_no_loop_devices: --offline=<default> ok ({got:?})");
}

/// Whether the no-loop namespace can be made (root and unshare); skips (or fails with
/// REPART_REQUIRE_ORACLE=1) otherwise.
fn no_loop_namespace_or_skip(test: &str) -> bool {
    let is_root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    if is_root && unshare().exists() {
        return true;
    }
    if required() {
        panic!("{test}: needs root and unshare");
    }
    eprintln!("{test}: SKIPPED (needs root and unshare)");
    false
}

/// A `CopyBlocks=` data partition with a `Verity=hash` sibling, no loop devices: upstream
/// 257.13 writes such a copy (and the hash tree) through a device cut out of the target,
/// so `--offline=no` fails at the data partition ("Failed to make loopback device of
/// future partition 0"), and without `--offline=` both fall back to the file. Ours and the
/// oracle: the same exit status and last stderr line, the same image bytes.
#[test]
fn fs_no_loop_devices_verity_block_copy_like_upstream() {
    if !no_loop_namespace_or_skip("fs_no_loop_devices_verity_block_copy_like_upstream") {
        return;
    }
    if let Err(why) = oracle_available() {
        if required() {
            panic!("{why}");
        }
        eprintln!("fs_no_loop_devices_verity_block_copy_like_upstream: SKIPPED: {why}");
        return;
    }
    let mut results = Vec::new();
    for bin in [repart_under_test(), oracle_wrapper()] {
        let mut per_bin = Vec::new();
        for offline in [Some("no"), None] {
            let t = TempDir::new("repart-noloop");
            let data = t.path.join("data.img");
            std::fs::write(
                &data,
                (0..8u32 << 20)
                    .map(|i| (i * 7 % 251) as u8)
                    .collect::<Vec<_>>(),
            )
            .unwrap();
            std::fs::create_dir(t.path.join("repart.d")).unwrap();
            std::fs::write(
                t.path.join("repart.d/10-root.conf"),
                format!(
                    "[Partition]\nType=root\nVerity=data\nVerityMatchKey=root\nCopyBlocks={}\n",
                    data.display()
                ),
            )
            .unwrap();
            std::fs::write(
                t.path.join("repart.d/20-hash.conf"),
                "[Partition]\nType=root-verity\nVerity=hash\nVerityMatchKey=root\n",
            )
            .unwrap();
            let mut args: Vec<OsString> = [
                "--definitions=repart.d",
                "--empty=create",
                "--size=64M",
                "--architecture=x86-64",
                &format!("--seed={SEED}"),
                "--dry-run=no",
                "img.raw",
            ]
            .iter()
            .map(OsString::from)
            .collect();
            if let Some(o) = offline {
                args.insert(0, format!("--offline={o}").into());
            }
            let o = run_without_loop(&t.path, &bin, &args);
            let err = String::from_utf8_lossy(&o.stderr).into_owned();
            let last = err.lines().last().unwrap_or("").to_string();
            per_bin.push((o.status, last, image_hashes(&t.path)));
        }
        results.push(per_bin);
    }
    let (ours, upstream) = (&results[0], &results[1]);
    assert_eq!(ours[0].0, 1, "--offline=no: {}", ours[0].1);
    assert_eq!(
        ours[0].1,
        "Failed to make loopback device of future partition 0: No such file or directory"
    );
    assert_eq!(ours[1].0, 0, "--offline=<default>: {}", ours[1].1);
    assert_eq!(ours, upstream, "ours vs the oracle");
}

/// `Minimize=guess` of a writable file system with files, no loop devices: upstream
/// 257.13 builds it on a loop device over its temporary file unless `--offline=yes`, so
/// `--offline=no` fails there ("Failed to make loopback device of /var/tmp/.#repart…")
/// and the default falls back to the file. Ours and the oracle: the same exit status and
/// last stderr line (temporary name masked).
#[test]
fn fs_no_loop_devices_minimize_like_upstream() {
    if !no_loop_namespace_or_skip("fs_no_loop_devices_minimize_like_upstream")
        || !tools_or_skip("fs_no_loop_devices_minimize_like_upstream")
    {
        return;
    }
    if let Err(why) = oracle_available() {
        if required() {
            panic!("{why}");
        }
        eprintln!("fs_no_loop_devices_minimize_like_upstream: SKIPPED: {why}");
        return;
    }
    let mask = |line: &str| match line.find("/var/tmp/.#repart") {
        Some(i) => {
            let end = line[i..].find(':').map_or(line.len(), |j| i + j);
            format!("{}{{tmpfile}}{}", &line[..i], &line[end..])
        }
        None => line.to_string(),
    };
    let mut results = Vec::new();
    for bin in [repart_under_test(), oracle_wrapper()] {
        let mut per_bin = Vec::new();
        for offline in [Some("no"), None] {
            let t = TempDir::new("repart-noloop");
            std::fs::create_dir_all(t.path.join("src/etc")).unwrap();
            std::fs::write(t.path.join("src/etc/hello"), "hello\n").unwrap();
            std::fs::create_dir(t.path.join("repart.d")).unwrap();
            std::fs::write(
                t.path.join("repart.d/10-data.conf"),
                format!(
                    "[Partition]\nType=linux-generic\nFormat=ext4\nMinimize=guess\nCopyFiles={}:/\n",
                    t.path.join("src").display()
                ),
            )
            .unwrap();
            let mut args: Vec<OsString> = [
                "--definitions=repart.d",
                "--empty=create",
                "--size=auto",
                &format!("--seed={SEED}"),
                "--dry-run=no",
                "img.raw",
            ]
            .iter()
            .map(OsString::from)
            .collect();
            if let Some(o) = offline {
                args.insert(0, format!("--offline={o}").into());
            }
            let o = run_without_loop(&t.path, &bin, &args);
            let err = String::from_utf8_lossy(&o.stderr).into_owned();
            per_bin.push((o.status, mask(err.lines().last().unwrap_or(""))));
        }
        results.push(per_bin);
    }
    let (ours, upstream) = (&results[0], &results[1]);
    assert_eq!(
        ours[0],
        (
            1,
            "Failed to make loopback device of {tmpfile}: No such file or directory".to_string()
        )
    );
    assert_eq!(ours[1].0, 0, "--offline=<default>: {}", ours[1].1);
    assert_eq!(ours, upstream, "ours vs the oracle");
}

/// The partitions of `image` as (offset, size) in bytes, from `sfdisk -d`.
fn partitions(image: &Path, cwd: &Path) -> Vec<(u64, u64)> {
    let dump = String::from_utf8_lossy(&sfdisk_dump(image, cwd)).into_owned();
    let field = |line: &str, key: &str| -> Option<u64> {
        let rest = line.split(key).nth(1)?;
        rest.trim_start()
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    dump.lines()
        .filter_map(|l| Some((field(l, "start=")? * 512, field(l, "size=")? * 512)))
        .collect()
}

/// `CopyBlocks=` from character devices (testdata/golden/fs-copyblocks-stream, whose
/// golden cannot compare the random contents): /dev/urandom fills its whole partition,
/// /dev/zero writes zeros over old data, /dev/null (EOF at once) writes nothing. The
/// image starts out filled with 0xaa so that every written byte shows.
#[test]
fn fs_copy_blocks_streams() {
    let repart = repart_under_test();
    let t = TempDir::new("repart-streams");
    let case = manifest_dir().join("testdata/golden/fs-copyblocks-stream");
    copy_tree(&case.join("repart.d"), &t.path.join("repart.d")).unwrap();
    let image = t.path.join("img.raw");
    std::fs::write(&image, vec![0xaa; 64 << 20]).unwrap();
    let args: Vec<OsString> = [
        "--definitions=repart.d",
        "--empty=allow",
        "--discard=no",
        &format!("--seed={SEED}"),
        "--dry-run=no",
        "img.raw",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    let env = vec![("PATH".to_string(), base_path())];
    let o = run(&repart, &args, &t.path, &env, Duration::from_secs(120));
    assert_eq!(o.status, 0, "{}", String::from_utf8_lossy(&o.stderr));
    let parts = partitions(&image, &t.path);
    assert_eq!(parts.len(), 3, "{parts:?}");
    let data = std::fs::read(&image).unwrap();
    let bytes = |(offset, size): (u64, u64)| &data[offset as usize..(offset + size) as usize];
    let random = bytes(parts[0]);
    for mib in random.chunks(1 << 20) {
        let aa = mib.iter().filter(|&&b| b == 0xaa).count();
        assert!(
            aa < 32 << 10,
            "/dev/urandom left old data: {aa} bytes 0xaa in a MiB"
        );
    }
    assert!(bytes(parts[1]).iter().all(|&b| b == 0), "/dev/zero");
    // The wipe before the copy erases only signatures libblkid finds (none in 0xaa),
    // as upstream's: the old bytes stay.
    let null = bytes(parts[2]);
    assert!(
        null.iter().all(|&b| b == 0xaa),
        "/dev/null (or the wipe) wrote something"
    );
}

/// testdata/golden/fs-split-existing is a known difference (upstream deletes the
/// pre-existing file at a split path after failing on it): check what we do instead.
/// The file that was there stays as it was, the split files this run made and the
/// image (--empty=create) are removed.
#[test]
fn fs_split_keeps_existing_files() {
    if !tools_or_skip("fs_split_keeps_existing_files") {
        return;
    }
    let t = TempDir::new("repart-split-existing");
    prepare_case(&t.path, "fs-split-existing");
    let kept = t.path.join("img.linux-generic.raw");
    std::fs::write(&kept, b"keep\n").unwrap();
    let o = run(
        &repart_under_test(),
        &scenario_args(Some("yes"), true),
        &t.path,
        &[("PATH".to_string(), fs_path())],
        Duration::from_secs(300),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status, 1, "{err}");
    assert!(err.contains("img.linux-generic.raw: File exists"), "{err}");
    assert_eq!(std::fs::read(&kept).unwrap(), b"keep\n");
    for made in ["img.raw", "img.esp-0.raw"] {
        assert!(!t.path.join(made).exists(), "{made} left behind");
    }
}
