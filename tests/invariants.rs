//! Invariants of the shell around the planner, checked on the bytes of image files:
//!
//! * a dry run never changes a byte of the target, except where upstream provably
//!   writes: `--empty=create` (the image is made), and `--size=` growth (the file
//!   grows; a GPT with 512-byte sectors is moved to the new end, one with larger
//!   sectors is left alone);
//! * the extents of deferred (`--defer-partitions=`) and foreign partitions keep
//!   their bytes, and their table entries stay as they were.
//!
//! Each case also runs the oracle when it is installed, so an "unchanged" claim is
//! upstream's behaviour too, not only ours.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::{
    TempDir, base_path, binaries_with_oracle, child_env, repart_under_test, run, sfdisk,
};

const SEED: &str = "--seed=e2a40bf9-73f1-4278-9160-49c031e7aedd";
const TIMEOUT: Duration = Duration::from_secs(60);
const MIB: u64 = 1 << 20;

fn binaries() -> Vec<PathBuf> {
    binaries_with_oracle("invariants")
}

fn env() -> Vec<(String, OsString)> {
    child_env(base_path())
}

fn repart(bin: &Path, dir: &Path, args: &[&str]) -> (i32, String) {
    let args: Vec<OsString> = args.iter().map(OsString::from).collect();
    let o = run(bin, &args, dir, &env(), TIMEOUT);
    let text = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        o.status != 101 && o.status != -1 && !text.contains("panicked"),
        "{}: crashed: {text}",
        bin.display()
    );
    (o.status, text)
}

fn sfdisk_script(image: &Path, script: &str) {
    use std::io::Write as _;
    let mut child = std::process::Command::new(sfdisk())
        .arg("-q")
        .arg(image)
        .env_clear()
        .env("PATH", base_path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("run sfdisk");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "sfdisk failed: {script}");
}

/// Deterministic non-zero bytes (a stand-in for file-system contents).
fn pattern(len: u64, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(131) as u8) ^ salt | 1)
        .collect()
}

fn fill(image: &Path, offset: u64, data: &[u8]) {
    use std::os::unix::fs::FileExt as _;
    let f = std::fs::OpenOptions::new().write(true).open(image).unwrap();
    f.write_all_at(data, offset).unwrap();
}

fn read(image: &Path, offset: u64, len: u64) -> Vec<u8> {
    use std::os::unix::fs::FileExt as _;
    let f = std::fs::File::open(image).unwrap();
    let mut buf = vec![0u8; len as usize];
    f.read_exact_at(&mut buf, offset).unwrap();
    buf
}

fn write_def(dir: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), text).unwrap();
}

/// The starting images: (name, builder). Each builder makes `img.raw` in `dir`.
type Builder = fn(&Path);

fn blank(dir: &Path) {
    std::fs::write(dir.join("img.raw"), vec![0u8; MIB as usize]).unwrap();
}

/// 64M, 512-byte sectors: a 4M linux-generic (foreign to every definition below)
/// and a 4M home, both filled with data.
fn gpt512(dir: &Path) {
    let img = dir.join("img.raw");
    std::fs::write(&img, []).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&img)
        .unwrap()
        .set_len(64 * MIB)
        .unwrap();
    sfdisk_script(
        &img,
        "label: gpt\nsize=4M, type=L\nsize=4M, type=933AC7E1-2EB4-4F13-B844-0E14E2AEF915\n",
    );
    fill(&img, MIB, &pattern(8 * MIB, 7));
}

/// Like `gpt512`, after the file grew to 128M (the backup header is in the middle).
fn gpt512_grown(dir: &Path) {
    gpt512(dir);
    std::fs::File::options()
        .write(true)
        .open(dir.join("img.raw"))
        .unwrap()
        .set_len(128 * MIB)
        .unwrap();
}

/// 8M with a 4096-byte-sector GPT holding one 1M partition, made by our binary.
fn gpt4096(dir: &Path) {
    write_def(
        &dir.join("first.d"),
        "a.conf",
        "[Partition]\nType=linux-generic\nSizeMinBytes=1M\nSizeMaxBytes=1M\n",
    );
    let (status, err) = repart(
        &repart_under_test(),
        dir,
        &[
            "--definitions=first.d",
            "--empty=create",
            "--size=8M",
            "--sector-size=4096",
            SEED,
            "img.raw",
        ],
    );
    assert_eq!(status, 0, "making the 4096-byte-sector image: {err}");
    fill(&dir.join("img.raw"), MIB, &pattern(MIB, 3));
}

const IMAGES: &[(&str, Builder)] = &[
    ("blank", blank),
    ("gpt512", gpt512),
    ("gpt512-grown", gpt512_grown),
    ("gpt4096", gpt4096),
];

/// Dry runs (the default `--dry-run=yes`) without `--size=`: not one byte changes,
/// whatever the definitions want and whether the plan fits or not.
#[test]
fn dry_run_never_writes() {
    let variants: &[&[&str]] = &[
        &[],
        &["--empty=allow"],
        &["--empty=force"],
        &["--empty=require"],
        &["--factory-reset=yes"],
        &["--sector-size=4096"],
        &["--defer-partitions=home"],
    ];
    let mut checked = 0;
    for bin in binaries() {
        for (image, build) in IMAGES {
            for variant in variants {
                let t = TempDir::new("repart-inv");
                build(&t.path);
                write_def(
                    &t.path.join("repart.d"),
                    "10-home.conf",
                    "[Partition]\nType=home\nFactoryReset=yes\n",
                );
                write_def(
                    &t.path.join("repart.d"),
                    "20-root.conf",
                    "[Partition]\nType=root\nSizeMinBytes=20M\n",
                );
                let img = t.path.join("img.raw");
                let before = std::fs::read(&img).unwrap();
                let mut args = vec!["--definitions=repart.d", SEED];
                args.extend_from_slice(variant);
                args.push("img.raw");
                let (status, err) = repart(&bin, &t.path, &args);
                assert!(
                    std::fs::read(&img).unwrap() == before,
                    "{}: {image} {variant:?}: a dry run changed the image (exit {status}): {err}",
                    bin.display()
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= IMAGES.len() * variants.len());
}

/// (image, builder, extra arguments, whether a 512-byte GPT moves to the new end).
type GrowthCase = (&'static str, Builder, &'static [&'static str], bool);

/// `--size=` in a dry run grows the file; what was there keeps its bytes, except the
/// table of a 512-byte-sector GPT (moved to the new end, like upstream does), and the
/// new space stays zero except for that table's backup copy.
#[test]
fn dry_run_growth_only_grows() {
    let cases: &[GrowthCase] = &[
        ("blank", blank, &["--empty=allow", "--size=auto"], false),
        ("blank", blank, &["--empty=allow", "--size=50M"], false),
        ("gpt4096", gpt4096, &["--size=100M"], false),
        (
            "gpt4096",
            gpt4096,
            &["--size=100M", "--sector-size=4096"],
            false,
        ),
        ("gpt512", gpt512, &["--size=100M"], true),
        ("gpt512", gpt512, &["--size=1G", "--sector-size=4096"], true),
    ];
    for bin in binaries() {
        for (image, build, extra, table_moves) in cases {
            let t = TempDir::new("repart-inv");
            build(&t.path);
            write_def(
                &t.path.join("repart.d"),
                "h.conf",
                "[Partition]\nType=home\nSizeMinBytes=20M\n",
            );
            let img = t.path.join("img.raw");
            let before = std::fs::read(&img).unwrap();
            let mut args = vec!["--definitions=repart.d", SEED];
            args.extend_from_slice(extra);
            args.push("img.raw");
            let (status, err) = repart(&bin, &t.path, &args);
            let what = format!(
                "{}: {image} {extra:?} (exit {status}): {err}",
                bin.display()
            );
            let after = std::fs::read(&img).unwrap();
            assert!(after.len() > before.len(), "{what}: not grown");
            // A 512-byte GPT's own bytes: PMBR, primary header (entries stay).
            let table_bytes = |i: usize| i < 1024;
            let changed: Vec<usize> = (0..before.len())
                .filter(|&i| before[i] != after[i])
                .collect();
            if *table_moves {
                assert!(
                    !changed.is_empty(),
                    "{what}: the 512-byte GPT was not moved"
                );
                assert!(
                    changed.iter().all(|&i| table_bytes(i)),
                    "{what}: bytes outside the GPT headers changed: {:?}",
                    &changed[..changed.len().min(8)]
                );
            } else {
                assert!(changed.is_empty(), "{what}: existing bytes changed");
            }
            let backup_table = after.len() - 33 * 512;
            let tail_dirty = after[before.len()..]
                .iter()
                .enumerate()
                .any(|(i, &b)| b != 0 && !(*table_moves && before.len() + i >= backup_table));
            assert!(!tail_dirty, "{what}: the new space was written");
        }
    }
}

/// The bytes of every listed partition extent are what they were.
fn assert_untouched(what: &str, img: &Path, extents: &[(u64, u64)], before: &[Vec<u8>]) {
    for ((offset, len), old) in extents.iter().zip(before) {
        assert!(
            read(img, *offset, *len) == *old,
            "{what}: the bytes of the partition at {offset} changed"
        );
    }
}

fn sfdisk_lines(img: &Path) -> Vec<String> {
    let o = std::process::Command::new(sfdisk())
        .arg("-d")
        .arg(img)
        .env_clear()
        .env("PATH", base_path())
        .output()
        .expect("sfdisk -d");
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.contains(" : start="))
        .map(|l| l.rsplit_once(" : ").unwrap().1.to_string())
        .collect()
}

/// (extra arguments, definitions as (file name, text)).
type DeferCase = (
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

/// Deferred partitions (existing ones of a deferred type) and foreign partitions
/// keep their bytes and entries, whatever the run does around them.
#[test]
fn deferred_and_foreign_partitions_are_never_touched() {
    let cases: &[DeferCase] = &[
        (
            &["--defer-partitions=home", "--size=1.5G"],
            &[("h.conf", "[Partition]\nType=home\nSizeMinBytes=20M\n")],
        ),
        (
            &["--defer-partitions=home"],
            &[
                ("h.conf", "[Partition]\nType=home\nLabel=newname\n"),
                ("r.conf", "[Partition]\nType=root\n"),
            ],
        ),
        (
            &["--defer-partitions=home,root", "--size=200M"],
            &[
                ("h.conf", "[Partition]\nType=home\nWeight=5000\n"),
                ("r.conf", "[Partition]\nType=root\nFormat=vfat\n"),
                ("s.conf", "[Partition]\nType=swap\nSizeMaxBytes=8M\n"),
            ],
        ),
        (
            &[],
            &[(
                "h.conf",
                "[Partition]\nType=home\nFactoryReset=yes\nLabel=x\n",
            )],
        ),
    ];
    let extents = [(MIB, 4 * MIB), (5 * MIB, 4 * MIB)];
    for bin in binaries() {
        for (extra, defs) in cases {
            let t = TempDir::new("repart-inv");
            gpt512(&t.path);
            for (name, text) in *defs {
                write_def(&t.path.join("repart.d"), name, text);
            }
            let img = t.path.join("img.raw");
            let before: Vec<Vec<u8>> = extents.iter().map(|(o, l)| read(&img, *o, *l)).collect();
            let entries = sfdisk_lines(&img);
            let mut args = vec!["--definitions=repart.d", "--dry-run=no", SEED];
            args.extend_from_slice(extra);
            args.push("img.raw");
            let (status, err) = repart(&bin, &t.path, &args);
            let what = format!("{}: {extra:?} (exit {status}): {err}", bin.display());
            // Slot 0 is foreign to every case; slot 1 is a deferred home (or, with
            // no deferral, matched by a definition: then only its bytes count).
            assert_untouched(&what, &img, &extents, &before);
            let now = sfdisk_lines(&img);
            assert_eq!(
                now.first(),
                entries.first(),
                "{what}: foreign entry changed"
            );
            if !extra.is_empty() {
                assert_eq!(now.get(1), entries.get(1), "{what}: deferred entry changed");
            }
        }
    }
}
