//! Differential test: generated cases (from fixed seeds, a small
//! deterministic PRNG) are run through the oracle (upstream systemd-repart 257,
//! tools/oracle/reference-repart) and through our binary; stdout, exit status
//! and `sfdisk -d` of the result must be identical (stderr is not compared),
//! and so must what differential/checks.rs collects: every step of a
//! multi-step case, files the command writes (--generate-fstab=), and the
//! invariants (a dry run does to the target exactly what upstream's does,
//! i.e. nothing except where upstream writes; partitions that exist before
//! keep their bytes and deferred ones stay unwritten, unless upstream
//! writes there too).
//!
//! Each generated case is written in the golden-case format (repart.d/, cmd,
//! optional setup, env, fs) and run with the golden runner's procedure, so a
//! mismatch can be turned into a golden case directly: the failing cases are
//! written to target/differential-failures/diff-<seed>/ (with README and the
//! mismatch report; copy one to testdata/golden/ and run
//! tools/capture-goldens.sh <case>).
//!
//! Families (seed = family base + k; `FAMILIES` below, with their default and
//! long-mode counts):
//! * basic (0+): random definition sets, created or on an image made by a
//!   first run (gen_case);
//! * fs (100000+): Format=, CopyFiles= of the standard tree, Minimize= …
//!   (gen_fs_case; `contents` compared only with `DIFF_FS_CONTENTS=1`);
//! * multistep (200000+): re-run, grow and re-run, second pass adding
//!   partitions, three passes, defer then complete;
//! * oddgpt (300000+): existing GPTs made by sfdisk with lowered last-lba,
//!   table-length 1-256, first-lba, gaps, 4096-byte sectors, zero disk GUIDs
//!   and foreign partitions;
//! * options (400000+): several --copy-from, SYSTEMD_COLORS/TMPDIR/COLUMNS,
//!   INI continuation edge cases, --defer-partitions, dry runs on
//!   new/blank/grown targets;
//! * fstab (500000+, fs): --generate-fstab=/--generate-crypttab= files;
//! * trees (600000+, fs, contents compared): CopyFiles= trees with
//!   duplicate sources, hard links, odd modes, owners and names, for vfat,
//!   ext4, btrfs, xfs, squashfs and erofs;
//! * verity (700000+, fs, contents compared): the two-pass verity flow;
//! * badopts (800000+, stderr compared): two or three bad option values mixed
//!   with valid ones in random order (the first bad one on the command line is
//!   the error; cli_families.rs).
//! * crypt (900000+, fs, stderr and contents compared): Encrypt=key-file or
//!   off with every Format=, CopyFiles=, Minimize=, sizes, EncryptedVolume=,
//!   --key-file= (good, empty, world-readable, missing, none),
//!   --generate-crypttab=, dry runs, existing images (also already
//!   encrypted: "No changes."), Encrypt= with Verity= (crypt_families.rs).
//!
//! Known divergences whose fixes are in progress are listed in
//! differential/skips.rs (temporary, by item); they are reported, not failed.
//!
//! Skipped (with a message) when the oracle is not installed, unless
//! `REPART_REQUIRE_ORACLE=1` (CI), which turns that into a failure.
//! File-system families need the oracle's mkfs tools (left out without them,
//! an error with `REPART_REQUIRE_ORACLE=1`).
//!
//! Environment: `DIFF_LONG=1` long mode (the long counts: more than 2,000
//! cases); `DIFF_CASES=N` / `DIFF_FS_CASES=N` (basic / fs counts),
//! `DIFF_<FAMILY>_CASES=N` (e.g. `DIFF_TREES_CASES`), `DIFF_FIRST=K` (first
//! k of every family), `DIFF_ONLY=seed[,seed]` (run only these),
//! `DIFF_NO_SKIPS=1` (ignore the skip list), `REPART_TEST_JOBS=N` (threads),
//! `DIFF_SHOW=N` (number of mismatches shown in full, default 10),
//! `DIFF_VERBOSE=1` (a line per case: seed, exit status, seconds).

mod checks;
mod cli_families;
mod crypt_families;
mod families;
mod fs_families;
mod skips;

use crate::common::*;
use crate::golden::run_case_with;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// splitmix64: tiny, deterministic, good enough for test generation.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// true with probability pct %
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
    fn pick<'a, T: ?Sized>(&mut self, v: &[&'a T]) -> &'a T {
        v[self.below(v.len() as u64) as usize]
    }
    fn pick2<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len() as u64) as usize]
    }
    fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    }
}

const TYPES: &[&str] = &[
    "esp",
    "xbootldr",
    "home",
    "srv",
    "var",
    "tmp",
    "user-home",
    "linux-generic",
    "linux-generic",
    "linux-generic",
    "root",
    "root",
    "usr",
    "root-verity",
    "usr-verity",
    "root-verity-sig",
    "usr-x86-64",
    "root-arm64",
    "root-x86",
    "usr-ppc64-le",
    "root-secondary",
    "aarch64-is-not-a-type-but-root-aarch64",
    "8da63339-0007-60c0-c436-083ac8230908",
    "0fc63daf-8483-4772-8e79-3d69d8477de4",
];

/// One generated definition file (plus optional drop-in).
struct Def {
    name: String,
    main: String,
    dropin: Option<String>,
}

/// `sane`: no maximum sizes (so no min > max errors) — for the first run that
/// creates an existing image.
fn gen_def(rng: &mut Rng, idx: usize, sane: bool) -> Def {
    let mut lines: Vec<String> = Vec::new();
    let mut ty = rng.pick(TYPES).to_string();
    if ty.starts_with("aarch64") {
        ty = "root-aarch64".into();
    }
    lines.push(format!("Type={ty}"));
    if rng.chance(30) {
        let l = rng.pick(&[
            "data",
            "data",
            "root-x86-64",
            "home",
            "",
            "x%%y",
            "Ünïcødé-label",
            "%T",
            "a-very-long-label-that-is-over-36-bytes-long",
            "linux-generic-2",
            "esp",
        ]);
        lines.push(format!("Label={l}"));
    }
    if rng.chance(50) {
        let v = rng.pick(&[
            "4K", "1M", "10M", "12M", "20971521", "33M", "64M", "100M", "1.5M", "3G",
        ]);
        lines.push(format!("SizeMinBytes={v}"));
    }
    // A maximum below the minimum is fatal; keep such combinations rare.
    let has_min = lines.iter().any(|l| l.starts_with("SizeMinBytes="));
    if !sane && rng.chance(if has_min { 8 } else { 30 }) {
        let v = rng.pick(&["4K", "10M", "20M", "64M", "100M", "20971521", "1G", "12M"]);
        lines.push(format!("SizeMaxBytes={v}"));
    }
    if rng.chance(15) {
        let v = rng.pick(&["4K", "1M", "5000", "10M"]);
        lines.push(format!("PaddingMinBytes={v}"));
    }
    let has_pmin = lines.iter().any(|l| l.starts_with("PaddingMinBytes="));
    if !sane && rng.chance(if has_pmin { 4 } else { 10 }) {
        let v = rng.pick(&["0", "1M", "8K", "20M", "5000"]);
        lines.push(format!("PaddingMaxBytes={v}"));
    }
    if rng.chance(25) {
        let v = rng.pick(&["0", "1", "500", "1000", "2000", "1000000", "abc", "0x100"]);
        lines.push(format!("Weight={v}"));
    }
    if rng.chance(15) {
        let v = rng.pick(&["0", "100", "1000", "3000"]);
        lines.push(format!("PaddingWeight={v}"));
    }
    if rng.chance(20) {
        let v = rng.pick(&["0", "1", "2", "3", "-1", "0x2"]);
        lines.push(format!("Priority={v}"));
    }
    if rng.chance(10) {
        let v = rng.pick(&[
            "0x1",
            "0x8000000000000000",
            "0x1000000000000000",
            "4",
            "0",
            "0xc000000000000000",
        ]);
        lines.push(format!("Flags={v}"));
    }
    for key in ["ReadOnly", "NoAuto", "GrowFileSystem"] {
        if rng.chance(10) {
            let v = rng.pick(&["yes", "no", "", "1", "off"]);
            lines.push(format!("{key}={v}"));
        }
    }
    if rng.chance(8) {
        let v = if rng.chance(30) {
            "null".to_string()
        } else {
            rng.uuid()
        };
        lines.push(format!("UUID={v}"));
    }
    if rng.chance(5) {
        lines.push("FactoryReset=yes".into());
    }
    if rng.chance(5) {
        lines.push("SplitName=%t-%n".into());
    }
    // Move the last key(s) into a drop-in sometimes.
    let mut dropin = None;
    if lines.len() > 1 && rng.chance(15) {
        let n = 1 + rng.below((lines.len() - 1).min(2) as u64) as usize;
        let moved: Vec<String> = lines.split_off(lines.len() - n);
        dropin = Some(format!("[Partition]\n{}\n", moved.join("\n")));
    }
    let tag = rng.pick(&["a", "b", "data", "x", "root", "extra"]);
    Def {
        name: format!("{:02}-{tag}{idx}.conf", idx * 10 + rng.below(10) as usize),
        main: format!("[Partition]\n{}\n", lines.join("\n")),
        dropin,
    }
}

fn gen_defs(rng: &mut Rng, max: u64, sane: bool) -> Vec<Def> {
    let n = rng.below(max + 1) as usize;
    (0..n).map(|i| gen_def(rng, i, sane)).collect()
}

fn write_defs(dir: &Path, defs: &[Def]) {
    std::fs::create_dir_all(dir).unwrap();
    for d in defs {
        std::fs::write(dir.join(&d.name), &d.main).unwrap();
        if let Some(di) = &d.dropin {
            let dd = dir.join(format!("{}.d", d.name));
            std::fs::create_dir_all(&dd).unwrap();
            std::fs::write(dd.join("50-dropin.conf"), di).unwrap();
        }
    }
}

/// A generated case in golden format: writes repart.d/, cmd, setup into `dir`.
fn gen_case(seed: u64, dir: &Path) -> String {
    let mut rng = Rng::new(seed);
    let uuid_seed = rng.uuid();
    let mut cmd: Vec<String> = vec!["--definitions={defs}".into()];
    let mut descr = String::new();
    let existing = rng.chance(25);
    if existing {
        // First run (setup) with other definitions, then grow the image.
        let first = gen_defs(&mut rng, 4, true);
        write_defs(&dir.join("first.d"), &first);
        let grow = rng.pick(&["0", "1M", "50M", "300M", "1G"]);
        let mut setup = format!("{}mkdir -p first.d\n", checks::SETUP_LIB);
        let sector = if rng.chance(15) {
            " --sector-size=4096"
        } else {
            ""
        };
        writeln!(
            setup,
            "\"$REPART\" --definitions=first.d --empty=create --size=auto --seed={uuid_seed} --dry-run=no --offline=yes{sector} img.raw > /dev/null"
        )
        .unwrap();
        if grow != "0" {
            writeln!(setup, "truncate -s +{grow} img.raw").unwrap();
        }
        setup.push_str("snapshot\n");
        std::fs::write(dir.join("setup"), setup).unwrap();
        // Second definitions: often the first ones plus some new ones.
        let mut second = if rng.chance(60) { first } else { Vec::new() };
        let more = gen_defs(&mut rng, 4, false);
        let base = second.len();
        second.extend(more.into_iter().enumerate().map(|(i, mut d)| {
            d.name = format!("{:02}-new{}.conf", (base + i) * 10 + 5, i);
            d
        }));
        write_defs(&dir.join("repart.d"), &second);
        cmd.push(format!("--seed={uuid_seed}"));
        cmd.push(
            rng.pick(&[
                "--dry-run=no",
                "--dry-run=no",
                "--dry-run=no",
                "--dry-run=yes",
            ])
            .into(),
        );
        if rng.chance(20) {
            cmd.push("--empty=allow".into());
        }
        if rng.chance(15) {
            cmd.push(
                rng.pick(&["--size=auto", "--size=2G", "--size=100M"])
                    .into(),
            );
        }
        write!(descr, "existing image grown by {grow}, ").unwrap();
    } else {
        let defs = gen_defs(&mut rng, 8, false);
        write_defs(&dir.join("repart.d"), &defs);
        cmd.push("--empty=create".into());
        let size = if rng.chance(70) {
            "auto"
        } else {
            rng.pick(&["10M", "50M", "100M", "200M", "1G", "3M", "100000001", "1M"])
        };
        cmd.push(format!("--size={size}"));
        cmd.push(format!("--seed={uuid_seed}"));
        cmd.push("--dry-run=no".into());
        cmd.push("--offline=yes".into());
        if rng.chance(15) {
            cmd.push("--sector-size=4096".into());
        }
        write!(descr, "create --size={size}, ").unwrap();
    }
    if rng.chance(10) {
        cmd.push("--architecture=arm64".into());
    }
    if rng.chance(15) {
        cmd.push(rng.pick(&["--json=short", "--json=pretty"]).into());
    } else if rng.chance(5) {
        cmd.push(rng.pick(&["--pretty=no", "--no-legend"]).into());
    }
    if rng.chance(5) {
        cmd.push(
            rng.pick(&[
                "--include-partitions=root,esp,linux-generic",
                "--exclude-partitions=linux-generic",
            ])
            .into(),
        );
    }
    cmd.push("{img}".into());
    std::fs::write(dir.join("cmd"), cmd.join("\n") + "\n").unwrap();
    descr.push_str(&cmd.join(" "));
    descr
}

/// A generated file-system case (seeds FS_SEED_BASE + k): 1-3 partitions with
/// Format= vfat/ext4/squashfs/erofs/swap, small CopyFiles= trees from the
/// standard source tree of testdata/golden/fs-lib.sh (built by the case's
/// setup), sometimes ExcludeFiles=, MakeDirectories=, MakeSymlinks=,
/// Minimize=, Compression=. The case gets an `fs` file, so the golden runner
/// puts the oracle's mkfs tools first on PATH and also dumps `contents`.
fn gen_fs_case(seed: u64, dir: &Path) -> String {
    let mut rng = Rng::new(seed);
    let uuid_seed = rng.uuid();
    let n = 1 + rng.below(3) as usize;
    let sources: &[&str] = &[
        "@TMP@/src/esp:/EFI/BOOT",
        "@TMP@/src/kernel.efi:/EFI/Linux/k.efi",
        "@TMP@/src/nix:/nix",
        "@TMP@/src/nix:/",
        "@TMP@/src/rootfs/etc:/etc",
        "@TMP@/src/rootfs:/",
        "@TMP@/src/rootfs/usr:/usr",
        "@TMP@/src/missing:/x",
    ];
    let mut descr = String::new();
    std::fs::create_dir_all(dir.join("repart.d")).unwrap();
    for i in 0..n {
        let fmt = rng.pick(&["vfat", "ext4", "squashfs", "squashfs", "erofs", "swap"]);
        let mut l: Vec<String> = vec![];
        let ty = match fmt {
            "vfat" => rng.pick(&["esp", "xbootldr", "linux-generic"]),
            "swap" => rng.pick(&["swap", "linux-generic"]),
            _ => rng.pick(&["linux-generic", "root", "usr", "home", "var"]),
        };
        l.push(format!("Type={ty}"));
        if !(fmt == "swap" && ty == "swap" && rng.chance(50)) {
            l.push(format!("Format={fmt}"));
        }
        if rng.chance(60) {
            l.push(format!(
                "Label={}",
                rng.pick(&[
                    "data",
                    "boot",
                    "nix-store",
                    "a-rather-long-label-x",
                    "ÜmlautLabel"
                ])
            ));
        }
        let ro = matches!(fmt, "squashfs" | "erofs");
        if fmt != "swap" && (ro || rng.chance(70)) {
            let k = 1 + rng.below(2);
            for _ in 0..k {
                l.push(format!("CopyFiles={}", rng.pick(sources)));
            }
            if rng.chance(25) {
                l.push(format!(
                    "ExcludeFiles={}",
                    rng.pick(&[
                        "@TMP@/src/rootfs/var/cache/",
                        "@TMP@/src/rootfs/tmp",
                        "@TMP@/src/esp/loader.conf",
                        "@TMP@/src/nix/",
                    ])
                ));
            }
            if rng.chance(15) {
                l.push(format!(
                    "ExcludeFilesTarget={}",
                    rng.pick(&["/etc/skip", "/nix/", "/EFI/BOOT/loader.conf"])
                ));
            }
        }
        if fmt != "swap" && rng.chance(30) {
            l.push(format!(
                "MakeDirectories={}",
                rng.pick(&["/var/lib/x /home", "/loader/entries", "/a/b/c"])
            ));
        }
        if matches!(fmt, "ext4" | "squashfs" | "erofs") && rng.chance(20) {
            l.push(format!(
                "MakeSymlinks={}",
                rng.pick(&["/bin:usr/bin", "/link:/nix"])
            ));
        }
        if rng.chance(if ro { 70 } else { 30 }) {
            l.push(format!(
                "Minimize={}",
                rng.pick(&["guess", "best", "guess", "yes"])
            ));
        } else if rng.chance(60) {
            l.push(format!(
                "SizeMinBytes={}",
                rng.pick(&["1M", "16M", "40M", "64M", "200M"])
            ));
            if rng.chance(30) {
                l.push(format!(
                    "SizeMaxBytes={}",
                    rng.pick(&["32M", "64M", "100M"])
                ));
            }
        }
        if ro && rng.chance(30) {
            let (c, lv) = if fmt == "squashfs" {
                (
                    rng.pick(&["xz", "zstd", "lz4", "gzip"]),
                    rng.pick(&["", "1", "9"]),
                )
            } else {
                (
                    rng.pick(&["lz4", "lz4hc", "lzma"]),
                    rng.pick(&["", "3", "9"]),
                )
            };
            l.push(format!("Compression={c}"));
            if !lv.is_empty() {
                l.push(format!("CompressionLevel={lv}"));
            }
        }
        write!(descr, "[{}] ", l.join(" ")).unwrap();
        std::fs::write(
            dir.join(format!("repart.d/{:02}-p{i}.conf", 10 * (i + 1))),
            format!("[Partition]\n{}\n", l.join("\n")),
        )
        .unwrap();
    }
    let lib = manifest_dir().join("testdata/golden/fs-lib.sh");
    std::fs::write(
        dir.join("setup"),
        format!(
            ". '{}'\nfs_make_tree src\nfs_subst repart.d\n",
            lib.display()
        ),
    )
    .unwrap();
    std::fs::write(dir.join("fs"), "generated file-system case\n").unwrap();
    let mut cmd: Vec<String> = vec![
        "--definitions={defs}".into(),
        "--empty=create".into(),
        format!(
            "--size={}",
            if rng.chance(80) {
                "auto"
            } else {
                rng.pick(&["300M", "1G"])
            }
        ),
        format!("--seed={uuid_seed}"),
        "--dry-run=no".into(),
        "--offline=yes".into(),
    ];
    if rng.chance(15) {
        cmd.push("--sector-size=4096".into());
    }
    if rng.chance(20) {
        cmd.push(rng.pick(&["--json=short", "--json=pretty"]).into());
    }
    if rng.chance(15) {
        cmd.push("--split=yes".into());
    }
    cmd.push("{img}".into());
    std::fs::write(dir.join("cmd"), cmd.join("\n") + "\n").unwrap();
    if rng.chance(40) {
        std::fs::write(dir.join("env"), "SOURCE_DATE_EPOCH=1700000000\n").unwrap();
        descr.push_str("SOURCE_DATE_EPOCH ");
    }
    descr.push_str(&cmd.join(" "));
    descr
}

/// One generated case: what it is, its tags (for the skip list and the
/// report), how it is compared.
pub struct Case {
    descr: String,
    tags: Vec<&'static str>,
    /// Compare `contents` (the file systems read back).
    contents: bool,
    checks: checks::Checks,
}

/// A family of generated cases: seeds `base + k`.
struct Family {
    name: &'static str,
    base: u64,
    /// Count of the default run (CI) and of the long mode (DIFF_LONG=1).
    default: u64,
    long: u64,
    /// Variable that overrides the count.
    var: &'static str,
    fs: bool,
    generate: fn(u64, &Path) -> Case,
}

/// The families. Default counts keep the default differential run (with the
/// fs families) at about 3 minutes on 2 cores; the long counts add up to
/// more than 2,000 cases.
const FAMILIES: &[Family] = &[
    Family {
        name: "basic",
        base: 0,
        default: 220,
        long: 800,
        var: "DIFF_CASES",
        fs: false,
        generate: gen_basic,
    },
    Family {
        name: "fs",
        base: 100_000,
        default: 40,
        long: 160,
        var: "DIFF_FS_CASES",
        fs: true,
        generate: gen_fs,
    },
    Family {
        name: "multistep",
        base: 200_000,
        default: 60,
        long: 300,
        var: "DIFF_MULTISTEP_CASES",
        fs: false,
        generate: families::gen_multistep,
    },
    Family {
        name: "oddgpt",
        base: 300_000,
        default: 60,
        long: 300,
        var: "DIFF_ODDGPT_CASES",
        fs: false,
        generate: families::gen_odd_gpt,
    },
    Family {
        name: "options",
        base: 400_000,
        default: 70,
        long: 360,
        var: "DIFF_OPTIONS_CASES",
        fs: false,
        generate: families::gen_options,
    },
    Family {
        name: "fstab",
        base: 500_000,
        default: 8,
        long: 60,
        var: "DIFF_FSTAB_CASES",
        fs: true,
        generate: fs_families::gen_fstab,
    },
    Family {
        name: "trees",
        base: 600_000,
        default: 12,
        long: 100,
        var: "DIFF_TREES_CASES",
        fs: true,
        generate: fs_families::gen_trees,
    },
    Family {
        name: "verity",
        base: 700_000,
        default: 6,
        long: 40,
        var: "DIFF_VERITY_CASES",
        fs: true,
        generate: fs_families::gen_verity,
    },
    Family {
        name: "badopts",
        base: 800_000,
        default: 20,
        long: 200,
        var: "DIFF_BADOPTS_CASES",
        fs: false,
        generate: cli_families::gen_bad_options,
    },
    Family {
        name: "crypt",
        base: 900_000,
        default: 12,
        long: 120,
        var: "DIFF_CRYPT_CASES",
        fs: true,
        generate: crypt_families::gen_crypt,
    },
];

fn family_of(seed: u64) -> &'static Family {
    FAMILIES
        .iter()
        .rev()
        .find(|f| seed >= f.base)
        .unwrap_or(&FAMILIES[0])
}

fn gen_basic(seed: u64, dir: &Path) -> Case {
    let descr = gen_case(seed, dir);
    let cmd = std::fs::read_to_string(dir.join("cmd")).unwrap_or_default();
    let dry = !cmd.lines().any(|l| l == "--dry-run=no");
    let mut tags = vec!["basic"];
    let existing = dir.join("setup").exists();
    if dry {
        tags.push(if existing {
            "dry-existing"
        } else {
            "dry-create"
        });
    }
    if cmd.lines().any(|l| l == "--no-legend") {
        tags.push("no-legend");
    }
    if existing && cmd.lines().any(|l| l.starts_with("--size=")) {
        tags.push("size-on-existing");
    }
    let sector4k =
        cmd.lines().any(|l| l == "--sector-size=4096") || descr.contains("--sector-size=4096");
    if sector4k {
        tags.push("4k");
    }
    Case {
        descr,
        tags,
        contents: false,
        checks: checks::Checks {
            dry,
            // the host's sfdisk sees only the protective MBR of these
            sector4k: sector4k && fs_tools_available().is_ok(),
            ..Default::default()
        },
    }
}

fn gen_fs(seed: u64, dir: &Path) -> Case {
    Case {
        descr: gen_fs_case(seed, dir),
        tags: vec!["fs"],
        contents: std::env::var_os("DIFF_FS_CONTENTS").is_some(),
        checks: checks::Checks {
            fs: true,
            ..Default::default()
        },
    }
}

struct Mismatch {
    seed: u64,
    descr: String,
    report: String,
    /// Some(item) when the skip list knows it.
    known: Option<&'static str>,
}

/// What compare_case found out about a case that matched.
struct Matched {
    status: String,
    /// Upstream also changed bytes of a partition it keeps otherwise (noted).
    upstream_touches: bool,
    descr: String,
}

fn compare_case(seed: u64, oracle: &Path, ours: &Path) -> Result<Matched, Mismatch> {
    let case = TempDir::new("repart-diffcase");
    let g = (family_of(seed).generate)(seed, &case.path);
    let fail = |report: String| Mismatch {
        seed,
        descr: g.descr.clone(),
        known: skips::known(&g.tags, &report),
        report,
    };
    let hook = |t: &TempDir, r: &mut crate::golden::CaseResult| checks::collect(t, r, &g.checks);
    let o = run_case_with(&case.path, oracle, &hook)
        .map_err(|e| fail(format!("oracle harness error: {e}")))?;
    let mut u =
        run_case_with(&case.path, ours, &hook).map_err(|e| fail(format!("harness error: {e}")))?;
    if g.checks.stderr
        && let (Some(Some(a)), Some(Some(b))) = (o.files.get("stderr"), u.files.get("stderr"))
    {
        let b = checks::without_deliberate_lines(a, b);
        u.files.insert("stderr", Some(b));
    }
    let mut report = String::new();
    let mut files = vec!["status", "stdout", "sfdisk-d"];
    if g.contents {
        files.push("contents");
    }
    if g.checks.stderr {
        files.push("stderr");
    }
    for &file in &files {
        let none = None;
        let (a, b) = (
            o.files.get(file).unwrap_or(&none),
            u.files.get(file).unwrap_or(&none),
        );
        if a != b {
            match (a, b) {
                (Some(a), Some(b)) => {
                    writeln!(report, "--- {file} differs (- oracle, + ours):").unwrap();
                    report.push_str(&diff(a, b, 2));
                }
                (a, _) => writeln!(
                    report,
                    "--- {file}: oracle {} a result, ours {}",
                    if a.is_some() { "has" } else { "has no" },
                    if a.is_some() { "not" } else { "has" }
                )
                .unwrap(),
            }
        }
    }
    let mut upstream_touches = false;
    checks::compare_extra(&o, &u, &mut report, &mut upstream_touches);
    if !report.is_empty() && upstream_crashed(&o) {
        // Deliberate: where upstream crashes we need not match (PROTOCOL.md).
        return Ok(Matched {
            status: "upstream crashed".into(),
            upstream_touches,
            descr: g.descr,
        });
    }
    if report.is_empty() {
        let st = o.files["status"]
            .as_ref()
            .map(|v| String::from_utf8_lossy(v).trim().to_string());
        return Ok(Matched {
            status: st.unwrap_or_default(),
            upstream_touches,
            descr: g.descr,
        });
    }
    writeln!(report, "--- tags: {}", g.tags.join(" ")).unwrap();
    // Oracle's stderr helps to understand the case.
    if let Some(Some(e)) = o.files.get("stderr") {
        writeln!(report, "--- oracle stderr:\n{}", String::from_utf8_lossy(e)).unwrap();
    }
    if let Some(Some(e)) = u.files.get("stderr") {
        writeln!(report, "--- our stderr:\n{}", String::from_utf8_lossy(e)).unwrap();
    }
    // Keep a reproducer in golden-case format.
    let out = failures_dir().join(format!("diff-{seed:04}"));
    let _ = std::fs::remove_dir_all(&out);
    if copy_tree(&case.path, &out).is_ok() {
        let _ = std::fs::write(
            out.join("README"),
            format!(
                "differential seed {seed} ({}): {}\ntags: {}\n",
                family_of(seed).name,
                g.descr,
                g.tags.join(" ")
            ),
        );
        let _ = std::fs::write(out.join("mismatch"), &report);
        writeln!(report, "reproducer: {}", out.display()).unwrap();
    }
    Err(fail(report))
}

/// Did upstream abort on an assertion (SIGABRT, exit 134)? A deliberate
/// difference is allowed there; such cases count as "upstream crashed".
fn upstream_crashed(o: &crate::golden::CaseResult) -> bool {
    let get = |f: &str| o.files.get(f).cloned().flatten().unwrap_or_default();
    get("status") == b"134\n" && String::from_utf8_lossy(&get("stderr")).contains("Assertion '")
}

fn failures_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("target"))
        .join("differential-failures")
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

/// The seeds to run: DIFF_ONLY, or every family's count from DIFF_FIRST on
/// (file-system families first: they are slower, so they overlap the rest).
fn seeds(fs_ok: bool) -> Vec<u64> {
    if let Ok(s) = std::env::var("DIFF_ONLY")
        && !s.is_empty()
    {
        return s.split(',').filter_map(|x| x.trim().parse().ok()).collect();
    }
    let long = std::env::var("DIFF_LONG").is_ok_and(|v| v == "1");
    let first = env_u64("DIFF_FIRST").unwrap_or(0);
    let mut fams: Vec<&Family> = FAMILIES.iter().filter(|f| fs_ok || !f.fs).collect();
    fams.sort_by_key(|f| !f.fs);
    fams.iter()
        .flat_map(|f| {
            let n = env_u64(f.var).unwrap_or(if long { f.long } else { f.default });
            f.base + first..f.base + first + n
        })
        .collect()
}

#[test]
fn differential() {
    if let Err(why) = oracle_available() {
        if std::env::var("REPART_REQUIRE_ORACLE").as_deref() == Ok("1") {
            panic!(
                "differential: the oracle is required (REPART_REQUIRE_ORACLE=1) but unavailable: {why}"
            );
        }
        eprintln!("differential: SKIPPED: {why}");
        return;
    }
    let oracle = oracle_wrapper();
    let ours = repart_under_test();
    let fs_ok = match fs_tools_available() {
        Ok(()) => true,
        Err(why) if std::env::var("REPART_REQUIRE_ORACLE").as_deref() == Ok("1") => {
            panic!("differential: file-system cases need the mkfs tools: {why}")
        }
        Err(why) => {
            eprintln!("differential: no file-system cases: {why}");
            false
        }
    };
    let seeds = seeds(fs_ok);
    let show: usize = env_u64("DIFF_SHOW").unwrap_or(10) as usize;
    let _ = std::fs::remove_dir_all(failures_dir());
    let t0 = std::time::Instant::now();
    let verbose = std::env::var_os("DIFF_VERBOSE").is_some();
    let results = parallel_map(seeds.len(), jobs(), |i| {
        let t = std::time::Instant::now();
        let r = compare_case(seeds[i], &oracle, &ours);
        if verbose {
            let (what, descr) = match &r {
                Ok(m) => (m.status.clone(), m.descr.clone()),
                Err(m) => ("MISMATCH".into(), m.descr.clone()),
            };
            eprintln!(
                "differential: seed {} {what} in {:.1}s {descr}",
                seeds[i],
                t.elapsed().as_secs_f64()
            );
        }
        r
    });
    let all: Vec<&Mismatch> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    let (known, mismatches): (Vec<&Mismatch>, Vec<&Mismatch>) =
        all.iter().partition(|m| m.known.is_some());
    let mut statuses = std::collections::BTreeMap::<&str, usize>::new();
    let mut touches = 0;
    for r in results.iter().filter_map(|r| r.as_ref().ok()) {
        *statuses.entry(r.status.as_str()).or_default() += 1;
        touches += r.upstream_touches as usize;
    }
    for m in mismatches.iter().take(show) {
        eprintln!(
            "MISMATCH seed {} ({}): {}\n{}",
            m.seed,
            family_of(m.seed).name,
            m.descr,
            m.report
                .lines()
                .map(|l| format!("    {l}\n"))
                .collect::<String>()
        );
    }
    if mismatches.len() > show {
        eprintln!(
            "... and {} more mismatches (DIFF_SHOW=N to see more)",
            mismatches.len() - show
        );
    }
    let mut by_item = std::collections::BTreeMap::<&str, Vec<u64>>::new();
    for m in &known {
        by_item.entry(m.known.unwrap()).or_default().push(m.seed);
    }
    for (item, s) in &by_item {
        eprintln!(
            "known (skip list): {item}: {} case(s), seeds {s:?}",
            s.len()
        );
    }
    let mut per_family = std::collections::BTreeMap::<&str, (usize, usize)>::new();
    for (s, r) in seeds.iter().zip(&results) {
        let e = per_family.entry(family_of(*s).name).or_default();
        e.0 += 1;
        e.1 += r.is_err() as usize;
    }
    eprintln!("differential: per family (cases, mismatches incl. known): {per_family:?}");
    eprintln!(
        "differential: compared {} cases against the oracle in {:.1}s: {} identical (exit status: count {:?}; {} where upstream itself changes kept partitions), {} known, {} mismatches{}",
        seeds.len(),
        t0.elapsed().as_secs_f64(),
        seeds.len() - all.len(),
        statuses,
        touches,
        known.len(),
        mismatches.len(),
        if mismatches.is_empty() {
            String::new()
        } else {
            format!(
                " (seeds: {})",
                mismatches
                    .iter()
                    .map(|m| m.seed.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            )
        }
    );
    assert!(
        mismatches.is_empty(),
        "{} of {} differential cases differ from the oracle (reproducers in {})",
        mismatches.len(),
        seeds.len(),
        failures_dir().display()
    );
}
