//! Generators of the partition-table families (no file systems): multi-step
//! runs, existing GPTs made by sfdisk with odd geometry, and options
//! (--copy-from, the environment, INI edge cases, --defer-partitions,
//! dry runs). Each writes a case in golden format and returns its Case.

use super::checks::{Checks, SETUP_LIB, type_uuid};
use super::{Case, Def, Rng, gen_def, gen_defs, write_defs};
use std::fmt::Write as _;
use std::path::Path;

/// Types whose partitions the generators defer (type_uuid knows them).
const DEFERRABLE: &[&str] = &[
    "esp",
    "xbootldr",
    "home",
    "srv",
    "var",
    "linux-generic",
    "swap",
];

/// Types of foreign partitions: no generated definition uses them.
const FOREIGN: &[&str] = &[
    "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7", // Microsoft basic data
    "21686148-6449-6E6F-744E-656564454649", // BIOS boot
    "FE3A2A5D-4F32-41A7-B725-ACCC3285A309", // ChromeOS kernel
    "5A1C1A9E-0DD1-4C13-9D2E-5F0E6C37F7A1", // made up
];

/// Types an sfdisk-made partition may have that definitions can match.
const MATCHABLE: &[&str] = &[
    "0FC63DAF-8483-4772-8E79-3D69D8477DE4", // linux-generic
    "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", // esp
    "933AC7E1-2EB4-4F13-B844-0E14E2AEF915", // home
    "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709", // root-x86-64
];

fn write(dir: &Path, name: &str, text: &str) {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(p, text).unwrap();
}

fn write_cmd(dir: &Path, cmd: &[String]) {
    write(dir, "cmd", &(cmd.join("\n") + "\n"));
}

/// A definition of a type that can be deferred (so a --defer-partitions= case
/// has something to defer).
fn deferrable_def(rng: &mut Rng, idx: usize) -> (Def, &'static str) {
    let ty = rng.pick(DEFERRABLE);
    let mut d = gen_def(rng, idx, true);
    d.main = d.main.replacen("Type=", &format!("Type={ty}\n#was "), 1);
    (d, ty)
}

/// The last `--dry-run=` wins; upstream's default is a dry run.
fn is_dry(cmd: &[String]) -> bool {
    cmd.iter()
        .rev()
        .find_map(|a| a.strip_prefix("--dry-run="))
        .map(|v| !matches!(v, "no" | "false" | "0" | "off"))
        .unwrap_or(true)
}

fn pick_dry(rng: &mut Rng) -> Option<&'static str> {
    match rng.below(4) {
        0 => Some("--dry-run=yes"),
        1 => None,
        _ => Some("--dry-run=no"),
    }
}

fn output_opt(rng: &mut Rng, cmd: &mut Vec<String>, tags: &mut Vec<&'static str>) {
    if rng.chance(25) {
        let o = rng.pick(&[
            "--json=short",
            "--json=pretty",
            "--no-legend",
            "--pretty=no",
        ]);
        if o == "--no-legend" {
            tags.push("no-legend");
        }
        cmd.push(o.into());
    }
}

/// Multi-step runs: re-run, grow then re-run, a second pass adding
/// partitions, three passes, defer then complete. Every step's stdout,
/// status and sfdisk -d are compared (steps/), the last one is `cmd`.
pub fn gen_multistep(seed: u64, dir: &Path) -> Case {
    let mut rng = Rng::new(seed);
    let s = rng.uuid();
    let mut tags = vec!["multistep"];
    let variant = rng.below(5);
    let mut first = gen_defs(&mut rng, 4, true);
    let mut deferred = None;
    if variant == 4 || rng.chance(10) {
        let (d, ty) = deferrable_def(&mut rng, first.len());
        first.push(d);
        deferred = Some(ty);
        tags.push("defer");
    }
    write_defs(&dir.join("s1.d"), &first);
    let sector = if rng.chance(15) {
        " --sector-size=4096"
    } else {
        ""
    };
    if !sector.is_empty() {
        tags.push("4k");
    }
    let size1 = if rng.chance(70) {
        "auto"
    } else {
        rng.pick(&["100M", "300M", "1G"])
    };
    let mut setup = format!("{SETUP_LIB}mkdir -p s1.d\n");
    let defer1 = deferred
        .map(|t| format!(" --defer-partitions={t}"))
        .unwrap_or_default();
    writeln!(
        setup,
        "step 1 --definitions=s1.d --empty=create --size={size1} --seed={s} --dry-run=no --offline=yes{sector}{defer1} img.raw"
    )
    .unwrap();
    let mut final_defs: Vec<Def> = first;
    let mut descr = format!("multistep v{variant}: create --size={size1}{sector}{defer1}; ");
    let grow = |rng: &mut Rng, setup: &mut String, descr: &mut String| {
        let g = rng.pick(&["1M", "10M", "50M", "300M", "1G"]);
        writeln!(setup, "truncate -s +{g} img.raw").unwrap();
        write!(descr, "grow {g}; ").unwrap();
    };
    let add = |rng: &mut Rng, defs: &mut Vec<Def>| {
        let more = gen_defs(rng, 3, false);
        let base = defs.len();
        defs.extend(more.into_iter().enumerate().map(|(i, mut d)| {
            d.name = format!("{:02}-add{}.conf", (base + i) * 10 + 5, i);
            d
        }));
    };
    match variant {
        0 => {}
        1 => grow(&mut rng, &mut setup, &mut descr),
        2 => {
            if rng.chance(50) {
                grow(&mut rng, &mut setup, &mut descr);
            }
            add(&mut rng, &mut final_defs);
            descr.push_str("add partitions; ");
        }
        3 => {
            // second pass adds, third re-runs it
            add(&mut rng, &mut final_defs);
            write_defs(&dir.join("s2.d"), &final_defs);
            if rng.chance(50) {
                grow(&mut rng, &mut setup, &mut descr);
            }
            writeln!(
                setup,
                "mkdir -p s2.d\nstep 2 --definitions=s2.d --seed={s} --dry-run=no --offline=yes img.raw"
            )
            .unwrap();
            descr.push_str("add partitions; re-run; ");
        }
        _ => {
            if rng.chance(40) {
                grow(&mut rng, &mut setup, &mut descr);
            }
            tags.push("defer-complete");
            descr.push_str("complete the deferred one; ");
        }
    }
    if variant != 4 && variant != 2 && variant != 3 {
        tags.push("rerun");
    }
    write_defs(&dir.join("repart.d"), &final_defs);
    setup.push_str("snapshot\n");
    write(dir, "setup", &setup);
    let mut cmd: Vec<String> = vec!["--definitions={defs}".into(), format!("--seed={s}")];
    if let Some(d) = pick_dry(&mut rng) {
        cmd.push(d.into());
    }
    if rng.chance(25) {
        cmd.push(
            rng.pick(&["--size=auto", "--size=auto", "--size=2G", "--size=500M"])
                .into(),
        );
        tags.push("size-on-existing");
    }
    if rng.chance(25) {
        cmd.push(
            rng.pick(&["--empty=allow", "--empty=require", "--empty=refuse"])
                .into(),
        );
    }
    if !sector.is_empty() && rng.chance(50) {
        cmd.push("--sector-size=4096".into());
    }
    if variant == 4 && rng.chance(30) {
        cmd.push(format!("--defer-partitions={}", deferred.unwrap_or("esp")));
    }
    cmd.push("--offline=yes".into());
    output_opt(&mut rng, &mut cmd, &mut tags);
    cmd.push("{img}".into());
    write_cmd(dir, &cmd);
    let dry = is_dry(&cmd);
    if dry {
        tags.push("dry-existing");
    }
    let deferred = cmd
        .iter()
        .filter_map(|a| a.strip_prefix("--defer-partitions="))
        .filter_map(type_uuid)
        .map(String::from)
        .collect();
    descr.push_str(&cmd.join(" "));
    Case {
        descr,
        tags,
        contents: false,
        checks: Checks {
            dry,
            deferred,
            sector4k: !sector.is_empty(),
            ..Default::default()
        },
    }
}

/// The sfdisk script of an existing GPT with odd geometry (and the dd
/// commands that fill its partitions with patterns). Returns (setup text,
/// whether the sectors have 4096 bytes); 4096 only with the oracle's sfdisk.
fn odd_gpt(
    rng: &mut Rng,
    file: &str,
    allow4k: bool,
    tags: &mut Vec<&'static str>,
) -> (String, bool) {
    let k4 = rng.chance(10) && allow4k;
    let ss: u64 = if k4 { 4096 } else { 512 };
    let bytes: u64 = rng.pick(&[&16u64, &64, &100, &300, &1024]) * (1 << 20);
    let total = bytes / ss;
    let mut script = String::from("label: gpt\n");
    if rng.chance(20) {
        script.push_str("label-id: 00000000-0000-0000-0000-000000000000\n");
        tags.push("zero-disk-guid");
    } else {
        writeln!(script, "label-id: {}", rng.uuid().to_uppercase()).unwrap();
    }
    let table_len: u64 = if rng.chance(40) {
        tags.push("table-length");
        *rng.pick(&[&1u64, &4, &7, &8, &16, &100, &127, &129, &200, &256])
    } else {
        128
    };
    let table_sectors = (table_len * 128).div_ceil(ss);
    let min_first = 2 + table_sectors;
    let mut first = if k4 { 256 } else { 2048 };
    if rng.chance(40) {
        tags.push("first-lba");
        let f: u64 = *rng.pick(&[&34u64, &40, &64, &100, &4096, &10000]);
        first = f.max(min_first);
        writeln!(script, "first-lba: {first}").unwrap();
    }
    let max_last = total - 1 - table_sectors;
    let mut last = max_last;
    if rng.chance(35) {
        tags.push("lowered-last-lba");
        let cut: u64 = *rng.pick(&[&1u64, &33, &100, &2048, &20000]);
        last = max_last.saturating_sub(cut).max(first + 64);
        if rng.chance(20) {
            last = first + (max_last - first) / 2;
        }
        writeln!(script, "last-lba: {last}").unwrap();
    }
    if table_len != 128 {
        writeln!(script, "table-length: {table_len}").unwrap();
    }
    let mut fills = String::new();
    let mut pos = first;
    let n = rng.below(5);
    for i in 0..n.min(table_len) {
        let gap: u64 = *rng.pick(&[&0u64, &0, &1, &7, &2048, &10000]);
        let size: u64 = *rng.pick(&[&1u64, &8, &2048, &20480, &65536, &200000]);
        let start = pos + gap;
        if start + size > last + 1 {
            break;
        }
        if gap > 0 {
            tags.push("gaps");
        }
        let ty = if rng.chance(55) {
            rng.pick(FOREIGN)
        } else {
            rng.pick(MATCHABLE)
        };
        write!(
            script,
            "start={start}, size={size}, type={ty}, uuid={}",
            rng.uuid().to_uppercase()
        )
        .unwrap();
        if rng.chance(50) {
            write!(
                script,
                ", name=\"{}\"",
                rng.pick(&["data", "x y", "foreign", "home"])
            )
            .unwrap();
        }
        if rng.chance(15) {
            write!(
                script,
                ", attrs=\"{}\"",
                rng.pick(&["RequiredPartition", "GUID:60", "GUID:63 LegacyBIOSBootable"])
            )
            .unwrap();
        }
        script.push('\n');
        // A recognisable pattern at both ends of the partition.
        for at in [start * ss, (start + size) * ss - 16] {
            writeln!(
                fills,
                "printf 'PART{i}-PATTERN!' | dd of={file} bs=1 seek={at} conv=notrunc status=none"
            )
            .unwrap();
        }
        pos = start + size;
    }
    let sfdisk = if k4 {
        tags.push("4k");
        // the host's sfdisk (2.38) cannot make a 4096-byte-sector GPT in a file
        format!(
            "'{}/sfdisk' --sector-size 4096",
            crate::common::fs_tools_dir().display()
        )
    } else {
        "sfdisk".into()
    };
    let setup = format!(
        "truncate -s {bytes} {file}\n{sfdisk} -q --no-reread --no-tell-kernel {file} > /dev/null 2>&1 <<'EOF' || echo 'sfdisk failed (the case runs on a blank file)'\n{script}EOF\n{fills}"
    );
    (setup, k4)
}

/// Existing GPTs made by sfdisk: lowered last-lba, table-length 1-256,
/// first-lba, gaps, 4096-byte sectors, zero disk GUIDs, foreign partitions
/// (whose bytes must stay).
pub fn gen_odd_gpt(seed: u64, dir: &Path) -> Case {
    let mut rng = Rng::new(seed);
    let s = rng.uuid();
    let mut tags = vec!["oddgpt"];
    let allow4k = crate::common::fs_tools_available().is_ok();
    let (gpt, k4) = odd_gpt(&mut rng, "img.raw", allow4k, &mut tags);
    let mut setup = format!("{SETUP_LIB}{gpt}");
    if rng.chance(20) {
        let g = rng.pick(&["1M", "100M", "1G"]);
        writeln!(setup, "truncate -s +{g} img.raw").unwrap();
        tags.push("grown");
    }
    setup.push_str("snapshot\n");
    write(dir, "setup", &setup);
    let defs = gen_defs(&mut rng, 4, false);
    write_defs(&dir.join("repart.d"), &defs);
    let mut cmd: Vec<String> = vec!["--definitions={defs}".into(), format!("--seed={s}")];
    if let Some(d) = pick_dry(&mut rng) {
        cmd.push(d.into());
    }
    let empty = if rng.chance(40) {
        Some(rng.pick(&[
            "--empty=allow",
            "--empty=require",
            "--empty=force",
            "--empty=refuse",
        ]))
    } else {
        None
    };
    if let Some(e) = empty {
        cmd.push(e.into());
    }
    if rng.chance(15) {
        cmd.push(rng.pick(&["--size=auto", "--size=2G"]).into());
        tags.push("size-on-existing");
    }
    if k4 && rng.chance(60) {
        cmd.push("--sector-size=4096".into());
    }
    cmd.push("--offline=yes".into());
    output_opt(&mut rng, &mut cmd, &mut tags);
    cmd.push("{img}".into());
    write_cmd(dir, &cmd);
    let dry = is_dry(&cmd);
    if dry {
        tags.push("dry-existing");
    }
    Case {
        descr: format!("odd GPT: {}", cmd.join(" ")),
        tags,
        contents: false,
        checks: Checks {
            dry,
            sector4k: k4,
            ..Default::default()
        },
    }
}

/// INI edge cases: continuation lines, comments inside them, CRLF, a BOM,
/// whitespace, repeated and unknown sections, quoting.
const INI_SNIPPETS: &[(&str, &str)] = &[
    ("Label=foo\\\nbar\n", ""),
    ("Label=foo \\\n  bar\n", ""),
    ("Label=foo\\\n# a comment\nbar\n", ""),
    ("Label=foo\\\n; a comment\nbar\n", ""),
    ("Label=at-eof\\", "eof"),
    ("Label=at-eof\\\n", "eof"),
    ("Label=two\\\\\n", ""),
    ("Weight=10\\\n00\n", ""),
    ("SizeMinBytes=10\\\nM\n", ""),
    ("SizeMinBytes=\\\n20M\n", ""),
    ("Flags=0b\\\n1\n", "flags-continuation"),
    ("Flags=0x\\\n1\n", ""),
    ("Priority=1\\\n\n", ""),
    ("  Label = spaced  \n", ""),
    ("Label=\"quoted value\"\n", ""),
    ("Label='single'\n", ""),
    ("Label=\n", ""),
    ("Label=crlf\r\n", "crlf"),
    ("\\\n", ""),
    ("Foo=bar\n", ""),
    ("[Other]\nX=1\n[Partition]\n", ""),
    ("[Partition]\n", ""),
    ("[Partition]  \n", ""),
    ("   \n\t\n", ""),
    ("Label=tab\tinside\n", "tab-label"),
    ("Label=a\\\n\\\nb\n", ""),
    ("Label=x\\ y\n", ""),
    ("UUID=null\\\n\n", ""),
];

fn gen_ini_defs(rng: &mut Rng, dir: &Path, tags: &mut Vec<&'static str>) {
    let n = 1 + rng.below(3) as usize;
    for i in 0..n {
        let d = gen_def(rng, i, false);
        let mut text = String::new();
        if rng.chance(10) {
            text.push('\u{feff}');
            tags.push("ini-bom");
        }
        let mut lines: Vec<&str> = d.main.lines().collect();
        let k = 1 + rng.below(2);
        let mut tail = String::new();
        let mut snippets = String::new();
        for _ in 0..k {
            let (sn, tag) = INI_SNIPPETS[rng.below(INI_SNIPPETS.len() as u64) as usize];
            if tag == "eof" {
                tail = sn.into();
            } else {
                snippets.push_str(sn);
            }
            if !tag.is_empty() && tag != "eof" {
                tags.push(match tag {
                    "crlf" => "ini-crlf",
                    "tab-label" => "tab-label",
                    _ => "ini-flags-continuation",
                });
            }
        }
        let at = 1 + rng.below(lines.len() as u64) as usize;
        let rest: Vec<&str> = lines.split_off(at.min(lines.len()));
        for l in &lines {
            text.push_str(l);
            text.push('\n');
        }
        text.push_str(&snippets);
        for l in &rest {
            text.push_str(l);
            text.push('\n');
        }
        text.push_str(&tail);
        write(dir, &format!("repart.d/{}", d.name), &text);
    }
}

/// Source images for --copy-from (sfdisk, fixed UUIDs, patterned contents).
fn copy_from_sources(rng: &mut Rng, setup: &mut String, n: usize) -> Vec<String> {
    let mut names = vec![];
    for i in 0..n {
        let name = format!("src{i}.gpt");
        let mut script = format!("label: gpt\nlabel-id: {}\n", rng.uuid().to_uppercase());
        let mut fills = String::new();
        let mut pos = 2048u64;
        for p in 0..1 + rng.below(3) {
            let size: u64 = *rng.pick(&[&2048u64, &8192, &20480, &40960]);
            let ty = if rng.chance(70) {
                rng.pick(MATCHABLE)
            } else {
                rng.pick(FOREIGN)
            };
            writeln!(
                script,
                "start={pos}, size={size}, type={ty}, uuid={}, name=\"src{i}p{p}\"",
                rng.uuid().to_uppercase()
            )
            .unwrap();
            writeln!(
                fills,
                "printf 'SRC{i}P{p}' | dd of={name} bs=1 seek={} conv=notrunc status=none",
                pos * 512
            )
            .unwrap();
            pos += size + *rng.pick(&[&0u64, &2048]);
        }
        writeln!(
            setup,
            "truncate -s 64M {name}\nsfdisk -q --no-reread --no-tell-kernel {name} > /dev/null <<'EOF'\n{script}EOF\n{fills}"
        )
        .unwrap();
        names.push(name);
    }
    names
}

/// Options: --copy-from (several), the environment (SYSTEMD_COLORS,
/// TMPDIR, COLUMNS), INI edge cases, --defer-partitions, dry runs on
/// blank/grown/new targets.
pub fn gen_options(seed: u64, dir: &Path) -> Case {
    let mut rng = Rng::new(seed);
    let s = rng.uuid();
    let mut tags = vec!["options"];
    let mut setup = String::from(SETUP_LIB);
    let mut cmd: Vec<String> = vec!["--definitions={defs}".into(), format!("--seed={s}")];
    let mut deferred = vec![];
    let variant = rng.below(5);
    let mut create = true;
    match variant {
        0 => {
            let n = 1 + rng.below(3) as usize;
            let mut srcs = copy_from_sources(&mut rng, &mut setup, n);
            if rng.chance(15) {
                srcs.push(srcs[0].clone());
            }
            for src in &srcs {
                cmd.push(format!("--copy-from={{tmp}}/{src}"));
            }
            tags.push(if srcs.len() > 1 {
                "copy-from-multi"
            } else {
                "copy-from"
            });
            let defs = gen_defs(&mut rng, 3, false);
            write_defs(&dir.join("repart.d"), &defs);
        }
        1 => {
            let mut env = String::new();
            let mut defs = gen_defs(&mut rng, 4, false);
            if rng.chance(60) {
                let c = rng.pick(&["0", "1", "no", "yes", "auto", "256", "24bit", "16", ""]);
                writeln!(env, "SYSTEMD_COLORS={c}").unwrap();
                if matches!(c, "1" | "yes" | "256" | "24bit" | "16") {
                    tags.push("colors-on");
                }
            }
            let mut tmpdir_missing = false;
            if rng.chance(50) {
                let t = rng.pick(&["/nonexistent", "/tmp", "", "/var/tmp", "relative"]);
                writeln!(env, "TMPDIR={t}").unwrap();
                tmpdir_missing = matches!(t, "/nonexistent" | "relative");
            }
            if rng.chance(60) {
                let c = rng.pick(&[
                    "0", "1", "40", "79", "80", "120", "200", "1000", "abc", "-5",
                ]);
                writeln!(env, "COLUMNS={c}").unwrap();
                tags.push("columns");
            }
            if rng.chance(40) {
                let mut d = gen_def(&mut rng, defs.len(), true);
                let spec = rng.pick(&["%T", "%a", "%%", "x%Ty", "%a-%T", "%m", "%b"]);
                d.main.push_str(&format!("Label={spec}\n"));
                if spec.contains("%T") && tmpdir_missing {
                    tags.push("tmpdir-missing-%T");
                }
                defs.push(d);
            }
            if rng.chance(20) {
                let o = rng.pick(&["--no-legend", "--pretty=yes", "--json=pretty"]);
                if o == "--no-legend" {
                    tags.push("no-legend");
                }
                cmd.push(o.into());
            }
            write(dir, "env", &env);
            write_defs(&dir.join("repart.d"), &defs);
            tags.push("env");
        }
        2 => {
            gen_ini_defs(&mut rng, dir, &mut tags);
            tags.push("ini");
        }
        3 => {
            let mut defs = gen_defs(&mut rng, 3, true);
            let k = 1 + rng.below(2) as usize;
            let mut types = vec![];
            for _ in 0..k {
                let (d, ty) = deferrable_def(&mut rng, defs.len());
                defs.push(d);
                types.push(ty);
            }
            cmd.push(format!("--defer-partitions={}", types.join(",")));
            deferred = types
                .iter()
                .filter_map(|t| type_uuid(t))
                .map(String::from)
                .collect();
            if rng.chance(40) {
                // an existing image made without the deferred ones
                let first: Vec<Def> = defs[..defs.len() - k]
                    .iter()
                    .map(|d| Def {
                        name: d.name.clone(),
                        main: d.main.clone(),
                        dropin: d.dropin.clone(),
                    })
                    .collect();
                write_defs(&dir.join("s1.d"), &first);
                writeln!(
                    setup,
                    "mkdir -p s1.d\nstep 1 --definitions=s1.d --empty=create --size=auto --seed={s} --dry-run=no --offline=yes img.raw"
                )
                .unwrap();
                if rng.chance(50) {
                    writeln!(setup, "truncate -s +{} img.raw", rng.pick(&["10M", "200M"])).unwrap();
                }
                create = false;
            }
            write_defs(&dir.join("repart.d"), &defs);
            tags.push("defer");
        }
        _ => {
            let defs = gen_defs(&mut rng, 4, false);
            write_defs(&dir.join("repart.d"), &defs);
            match rng.below(3) {
                0 => {
                    writeln!(
                        setup,
                        "truncate -s {} img.raw",
                        rng.pick(&["0", "1M", "100M"])
                    )
                    .unwrap();
                    tags.push("blank-file");
                    create = rng.chance(30);
                    if !create {
                        cmd.push(
                            rng.pick(&["--empty=allow", "--empty=force", "--empty=require"])
                                .into(),
                        );
                    }
                }
                1 => {
                    write_defs(&dir.join("s1.d"), &gen_defs(&mut rng, 3, true));
                    writeln!(
                        setup,
                        "mkdir -p s1.d\nstep 1 --definitions=s1.d --empty=create --size=auto --seed={s} --dry-run=no --offline=yes img.raw"
                    )
                    .unwrap();
                    create = false;
                }
                _ => {}
            }
            if !create && rng.chance(50) {
                cmd.push(
                    rng.pick(&["--size=auto", "--size=1G", "--size=300M"])
                        .into(),
                );
                tags.push("size-on-existing");
            }
            tags.push("dry-variants");
        }
    }
    if create {
        cmd.push("--empty=create".into());
        let size = if rng.chance(70) {
            "auto"
        } else {
            rng.pick(&["100M", "1G", "10M"])
        };
        cmd.push(format!("--size={size}"));
    }
    if let Some(d) = pick_dry(&mut rng) {
        cmd.push(d.into());
    }
    cmd.push("--offline=yes".into());
    let k4 = rng.chance(10);
    if k4 {
        cmd.push("--sector-size=4096".into());
        tags.push("4k");
    }
    cmd.push("{img}".into());
    write_cmd(dir, &cmd);
    setup.push_str("snapshot\n");
    write(dir, "setup", &setup);
    let dry = is_dry(&cmd);
    if dry {
        tags.push(if create { "dry-create" } else { "dry-existing" });
    }
    Case {
        descr: format!("options v{variant}: {}", cmd.join(" ")),
        tags,
        contents: false,
        checks: Checks {
            dry,
            deferred,
            sector4k: k4,
            ..Default::default()
        },
    }
}
