//! Differential test: random definition sets (from fixed seeds, a small
//! deterministic PRNG) are run through the oracle (upstream systemd-repart 257,
//! tools/oracle/reference-repart) and through our binary; stdout, exit status
//! and `sfdisk -d` of the result must be identical (stderr is not compared).
//!
//! Each generated case is written in the golden-case format (repart.d/, cmd,
//! optional setup) and run with the golden runner's procedure, so a mismatch
//! can be turned into a golden case directly: the failing cases are written to
//! target/differential-failures/<case>/ (copy one to testdata/golden/ and run
//! tools/capture-goldens.sh <case>).
//!
//! Skipped (with a message) when the oracle is not installed, unless
//! `REPART_REQUIRE_ORACLE=1` (CI), which turns that into a failure.
//!
//! File-system cases (seeds from 100000 on, `DIFF_FS_CASES=N`, default 60;
//! gen_fs_case) add Format=, CopyFiles= trees, Minimize= etc.; they run with
//! the oracle's mkfs tools first on PATH and compare the same three results
//! (and, with `DIFF_FS_CONTENTS=1`, also the file systems' `contents` as in
//! the fs golden cases). Without the mkfs tools they are left out (an error
//! with `REPART_REQUIRE_ORACLE=1`).
//!
//! Environment: `DIFF_CASES=N` (default 320), `DIFF_FIRST=K` (first seed, default 0),
//! `DIFF_ONLY=seed[,seed]` (run only these), `REPART_TEST_JOBS=N` (threads),
//! `DIFF_SHOW=N` (number of mismatches shown in full, default 10).

use crate::common::*;
use crate::golden::run_case;
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
        let mut setup = String::from("mkdir -p first.d\n");
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

/// Seeds at or above this are file-system cases (gen_fs_case).
const FS_SEED_BASE: u64 = 100_000;

struct Mismatch {
    seed: u64,
    descr: String,
    report: String,
}

/// Ok(oracle exit status) when identical.
fn compare_case(seed: u64, oracle: &Path, ours: &Path) -> Result<String, Mismatch> {
    let case = TempDir::new("repart-diffcase");
    let fs = seed >= FS_SEED_BASE;
    let descr = if fs {
        gen_fs_case(seed, &case.path)
    } else {
        gen_case(seed, &case.path)
    };
    let fail = |report: String| Mismatch {
        seed,
        descr: descr.clone(),
        report,
    };
    let o = run_case(&case.path, oracle).map_err(|e| fail(format!("oracle harness error: {e}")))?;
    let u = run_case(&case.path, ours).map_err(|e| fail(format!("harness error: {e}")))?;
    let mut report = String::new();
    let files: &[&str] = if fs && std::env::var_os("DIFF_FS_CONTENTS").is_some() {
        &["status", "stdout", "sfdisk-d", "contents"]
    } else {
        &["status", "stdout", "sfdisk-d"]
    };
    for &file in files {
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
    if report.is_empty() {
        let st = o.files["status"]
            .as_ref()
            .map(|v| String::from_utf8_lossy(v).trim().to_string());
        return Ok(st.unwrap_or_default());
    }
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
        writeln!(report, "reproducer: {}", out.display()).unwrap();
    }
    Err(fail(report))
}

fn failures_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("target"))
        .join("differential-failures")
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
    let n: u64 = std::env::var("DIFF_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(320);
    let first: u64 = std::env::var("DIFF_FIRST")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let n_fs: u64 = std::env::var("DIFF_FS_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let n_fs = match fs_tools_available() {
        Ok(()) => n_fs,
        Err(why) if std::env::var("REPART_REQUIRE_ORACLE").as_deref() == Ok("1") => {
            panic!("differential: file-system cases need the mkfs tools: {why}")
        }
        Err(why) => {
            eprintln!("differential: no file-system cases: {why}");
            0
        }
    };
    let seeds: Vec<u64> = match std::env::var("DIFF_ONLY") {
        Ok(s) if !s.is_empty() => s.split(',').filter_map(|x| x.trim().parse().ok()).collect(),
        // file-system cases first: they are slower, so they overlap the rest
        _ => (FS_SEED_BASE + first..FS_SEED_BASE + first + n_fs)
            .chain(first..first + n)
            .collect(),
    };
    let show: usize = std::env::var("DIFF_SHOW")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let _ = std::fs::remove_dir_all(failures_dir());
    let t0 = std::time::Instant::now();
    let results = parallel_map(seeds.len(), jobs(), |i| {
        compare_case(seeds[i], &oracle, &ours)
    });
    let mismatches: Vec<&Mismatch> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    let mut statuses = std::collections::BTreeMap::<&str, usize>::new();
    for r in results.iter().filter_map(|r| r.as_ref().ok()) {
        *statuses.entry(r.as_str()).or_default() += 1;
    }
    for m in mismatches.iter().take(show) {
        eprintln!(
            "MISMATCH seed {}: {}\n{}",
            m.seed,
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
    eprintln!(
        "differential: compared {} cases against the oracle in {:.1}s: {} identical (exit status: count {:?}), {} mismatches{}",
        seeds.len(),
        t0.elapsed().as_secs_f64(),
        seeds.len() - mismatches.len(),
        statuses,
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
