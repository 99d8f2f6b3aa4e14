//! What a differential case compares beyond the golden runner's stdout,
//! status and `sfdisk -d` (collected by the hook of `run_case_with` while the
//! case's temp dir still exists):
//!
//! * `step/<n>.<stdout|status|sfdisk-d>`: the earlier repart runs of a
//!   multi-step case, recorded by the `step` function of its setup
//!   (SETUP_LIB), compared like the final run;
//! * `file/<name>`: files the command writes (`--generate-fstab=`), and the
//!   GPT of a 4096-byte-sector image read with 4096-byte sectors;
//! * `inv/…`: the invariants. `inv/dry`: what a dry run did to the target
//!   (compared with what upstream's dry run did: nothing, or exactly the same
//!   bytes); `inv/protected`: whether partitions that existed before (foreign
//!   ones, i.e. without a matching definition, and matched ones: repart
//!   never writes into an existing partition) kept their old bytes, and
//!   whether new deferred partitions stayed unwritten (a failure when ours
//!   changed one that upstream left alone).
//!
//! The "before" image is `.before.snapshot`, copied by `snapshot` (SETUP_LIB)
//! at the end of the setup.

use crate::common::*;
use crate::golden::CaseResult;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Duration;

/// Bash functions every generated setup starts with.
pub const SETUP_LIB: &str = r#"# step N ARGS...: a repart run before the final command; its stdout, exit status
# and sfdisk -d of img.raw go to steps/ and are compared like the final run's.
step() {
    local n=$1 rc=0
    shift
    mkdir -p steps
    "$REPART" "$@" > "steps/$n.stdout" 2> "steps/$n.stderr" || rc=$?
    echo "$rc" > "steps/$n.status"
    if [ -e img.raw ]; then
        sfdisk -d img.raw > "steps/$n.sfdisk-d" 2>/dev/null || echo "sfdisk exit status: $?" >> "steps/$n.sfdisk-d"
    fi
}
# snapshot: keep the target as it is before the final command (invariant checks)
snapshot() {
    rm -f .before.snapshot
    if [ -e img.raw ]; then cp --sparse=always img.raw .before.snapshot; fi
}
"#;

/// The snapshot of the target taken by `snapshot` (SETUP_LIB).
const SNAPSHOT: &str = ".before.snapshot";

/// GPT type UUIDs (as sfdisk prints them) of the types the generators defer.
pub fn type_uuid(name: &str) -> Option<&'static str> {
    Some(match name {
        "esp" => "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
        "xbootldr" => "BC13C2FF-59E6-4262-A352-B275FD6F7172",
        "home" => "933AC7E1-2EB4-4F13-B844-0E14E2AEF915",
        "srv" => "3B8F8425-20E0-4F3B-907F-1A25A76F98E8",
        "var" => "4D21B016-B534-45C2-A9FB-5C16E091FD2D",
        "tmp" => "7EC6F557-3BC5-4ACA-B293-16EF5DF639D1",
        "linux-generic" => "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
        "swap" => "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F",
        _ => return None,
    })
}

/// What to collect and check for one case.
#[derive(Default, Clone)]
pub struct Checks {
    /// Files (relative to the temp dir) the command writes, compared.
    pub files: Vec<String>,
    /// The final command is a dry run (no `--dry-run=no`).
    pub dry: bool,
    /// Type UUIDs of deferred partitions (new ones must stay unwritten).
    pub deferred: Vec<String>,
    /// The image has 4096-byte sectors: also dump its GPT with them.
    pub sector4k: bool,
    /// File systems are written (a dry run's new image is compared by its
    /// table areas only).
    pub fs: bool,
    /// Compare stderr too (for generated command lines whose messages are
    /// deterministic; both binaries run as `systemd-repart`, so getopt's messages,
    /// which start with `argv[0]`, compare too).
    pub stderr: bool,
}

/// The hook: collect steps, files and invariants of a finished run.
pub fn collect(tmp: &TempDir, r: &mut CaseResult, c: &Checks) {
    let t = &tmp.path;
    if let Ok(rd) = std::fs::read_dir(t.join("steps")) {
        let mut names: Vec<String> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.ends_with(".stderr"))
            .collect();
        names.sort();
        for n in names {
            let data = std::fs::read(t.join("steps").join(&n)).unwrap_or_default();
            r.extra.insert(format!("step/{n}"), tmp.normalize(&data));
        }
    }
    for f in &c.files {
        let v = match std::fs::read(t.join(f)) {
            Ok(d) => tmp.normalize(&d),
            Err(_) => b"(absent)\n".to_vec(),
        };
        r.extra.insert(format!("file/{f}"), v);
    }
    let image = t.join("img.raw");
    let gpt = if c.sector4k {
        let d = sfdisk_4k(&image, t);
        r.extra
            .insert("file/sfdisk-d-4096".into(), tmp.normalize(&d));
        d
    } else {
        r.files
            .get("sfdisk-d")
            .cloned()
            .flatten()
            .unwrap_or_default()
    };
    let before = t.join(SNAPSHOT);
    if c.dry {
        r.extra
            .insert("inv/dry".into(), dry_effect(&before, &image, c.fs));
    }
    if !image.exists() {
        return;
    }
    // Partitions that exist before and are still there (same start and type)
    // keep their old bytes; new partitions of deferred types keep whatever
    // was there before (zeros for a new image).
    let ss = if c.sector4k { 4096 } else { 512 };
    let old = if before.exists() {
        let d = if c.sector4k {
            sfdisk_4k(&before, t)
        } else {
            sfdisk_dump(&before, t)
        };
        partitions(&String::from_utf8_lossy(&d))
    } else {
        vec![]
    };
    let mut rep = String::new();
    for (start, size, ty) in partitions(&String::from_utf8_lossy(&gpt)) {
        if ty == "ee" {
            // the protective MBR's entry (a GPT sfdisk cannot read): the table
            // itself, covered by sfdisk-d and inv/dry
            continue;
        }
        let was = old.iter().find(|(s, _, t)| *s == start && *t == ty);
        let (what, len) = match was {
            Some((_, old_size, _)) => ("existing", *old_size),
            None if c.deferred.iter().any(|d| d.eq_ignore_ascii_case(&ty)) => ("deferred", size),
            None => continue,
        };
        let same = same_range(&before, &image, start * ss, len * ss);
        writeln!(
            rep,
            "{what} partition type={ty} start={start} size={len}: {}",
            if same { "kept" } else { "CHANGED" }
        )
        .unwrap();
    }
    if !rep.is_empty() {
        r.extra.insert("inv/protected".into(), rep.into_bytes());
    }
}

/// `sfdisk -d --sector-size 4096` with the oracle's sfdisk (util-linux 2.41;
/// the host's 2.38 cannot read a 4096-byte-sector GPT from a file).
fn sfdisk_4k(image: &Path, cwd: &Path) -> Vec<u8> {
    let prog = fs_tools_dir().join("sfdisk");
    let env = vec![("PATH".to_string(), fs_path())];
    let args: Vec<OsString> = vec![
        "-d".into(),
        "--sector-size".into(),
        "4096".into(),
        image.into(),
    ];
    let o = run(&prog, &args, cwd, &env, Duration::from_secs(60));
    let mut v = o.stdout;
    if o.status != 0 {
        v.extend_from_slice(format!("sfdisk exit status: {}\n", o.status).as_bytes());
    }
    v
}

/// (start, size, type) of the partitions in an `sfdisk -d` dump.
fn partitions(dump: &str) -> Vec<(u64, u64, String)> {
    let field = |l: &str, k: &str| -> Option<String> {
        let i = l.find(&format!("{k}="))? + k.len() + 1;
        Some(l[i..].split(',').next()?.trim().to_string())
    };
    dump.lines()
        .filter(|l| l.contains(" : start="))
        .filter_map(|l| {
            Some((
                field(l, "start")?.parse().ok()?,
                field(l, "size")?.parse().ok()?,
                field(l, "type")?,
            ))
        })
        .collect()
}

/// What a dry run did to the target: "unchanged", or its new state.
fn dry_effect(before: &Path, after: &Path, ends_only: bool) -> Vec<u8> {
    let (b, a) = (
        std::fs::metadata(before).ok(),
        std::fs::metadata(after).ok(),
    );
    let state = match (&b, &a) {
        (None, None) => return b"no target before or after\n".to_vec(),
        (Some(_), None) => return b"target REMOVED\n".to_vec(),
        (None, Some(m)) => format!("target CREATED: {} bytes", m.len()),
        (Some(mb), Some(ma)) => {
            if mb.len() == ma.len() && same_range(before, after, 0, ma.len()) {
                return b"unchanged\n".to_vec();
            }
            format!("target CHANGED: {} -> {} bytes", mb.len(), ma.len())
        }
    };
    let what = if ends_only {
        "first and last MiB"
    } else {
        "contents"
    };
    format!("{state}, {what} {}\n", digest(after, ends_only)).into_bytes()
}

/// A digest of the file; with `ends_only`, of its table areas only
/// (the table areas: file systems written into the partitions carry times
/// and random ids, compared by `contents` instead).
fn digest(p: &Path, ends_only: bool) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    if let Ok(mut f) = std::fs::File::open(p) {
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        if ends_only {
            const MIB: u64 = 1 << 20;
            // the first MiB and the backup table (33 sectors of 512 bytes
            // or 5 of 4096), not the end of the last partition's file system
            for (at, n) in [
                (0, MIB.min(len)),
                (len.saturating_sub(20480), 20480.min(len)),
            ] {
                let mut buf = vec![0u8; n as usize];
                if f.read_exact_at(&mut buf, at).is_ok() {
                    h.update(&buf);
                }
            }
        } else {
            let mut buf = vec![0u8; 1 << 20];
            while let Ok(n) = f.read(&mut buf) {
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
            }
        }
    }
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Are bytes [off, off+len) of `a` and `b` the same? Missing files and bytes
/// past the end read as zeros; holes in both files are skipped (SEEK_DATA).
fn same_range(a: &Path, b: &Path, off: u64, len: u64) -> bool {
    let (fa, fb) = (std::fs::File::open(a).ok(), std::fs::File::open(b).ok());
    let read = |f: &Option<std::fs::File>, buf: &mut [u8], at: u64| {
        buf.fill(0);
        if let Some(f) = f {
            let mut done = 0;
            while done < buf.len() {
                match f.read_at(&mut buf[done..], at + done as u64) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => done += n,
                }
            }
        }
    };
    // The next offset >= pos with data in f (u64::MAX: none).
    let next_data = |f: &Option<std::fs::File>, pos: u64| -> u64 {
        use std::os::fd::AsRawFd;
        match f {
            None => u64::MAX,
            Some(f) => {
                // SAFETY: lseek on a valid, open descriptor.
                let r = unsafe { libc::lseek(f.as_raw_fd(), pos as libc::off_t, libc::SEEK_DATA) };
                if r < 0 { u64::MAX } else { r as u64 }
            }
        }
    };
    const CHUNK: u64 = 1 << 20;
    let (mut x, mut y) = (vec![0u8; CHUNK as usize], vec![0u8; CHUNK as usize]);
    let end = off + len;
    let mut pos = off;
    while pos < end {
        let data = next_data(&fa, pos).min(next_data(&fb, pos));
        if data >= end {
            return true;
        }
        pos = pos.max(data & !(CHUNK - 1)).max(off);
        let n = CHUNK.min(end - pos) as usize;
        read(&fa, &mut x[..n], pos);
        read(&fb, &mut y[..n], pos);
        if x[..n] != y[..n] {
            return false;
        }
        pos += n as u64;
    }
    true
}

/// Compare the collected extras of the oracle (`o`) and ours (`u`) into
/// `report`; protected extents changed by upstream as well are noted in
/// `upstream_touches` (upstream's behaviour, mirrored, not a failure).
pub fn compare_extra(
    o: &CaseResult,
    u: &CaseResult,
    report: &mut String,
    upstream_touches: &mut bool,
) {
    let keys: std::collections::BTreeSet<&String> = o.extra.keys().chain(u.extra.keys()).collect();
    for k in keys {
        let (a, b) = (o.extra.get(k), u.extra.get(k));
        if k == "inv/protected" {
            let (a, b) = (
                String::from_utf8_lossy(a.map(|v| &v[..]).unwrap_or(b"")).into_owned(),
                String::from_utf8_lossy(b.map(|v| &v[..]).unwrap_or(b"")).into_owned(),
            );
            for l in b.lines().filter(|l| l.ends_with("CHANGED")) {
                if a.lines().any(|x| x == l) {
                    *upstream_touches = true;
                } else {
                    writeln!(
                        report,
                        "--- invariant: ours changed the bytes of a foreign or deferred partition that upstream keeps: {l}"
                    )
                    .unwrap();
                }
            }
            continue;
        }
        if a == b {
            continue;
        }
        let label = if k == "inv/dry" {
            "invariant: what the dry run did to the target".to_string()
        } else {
            k.clone()
        };
        match (a, b) {
            (Some(a), Some(b)) => {
                writeln!(report, "--- {label} differs (- oracle, + ours):").unwrap();
                report.push_str(&diff(a, b, 2));
            }
            (a, _) => writeln!(
                report,
                "--- {label}: oracle {} a result, ours {}",
                if a.is_some() { "has" } else { "has no" },
                if a.is_some() { "not" } else { "has" }
            )
            .unwrap(),
        }
    }
}

/// Our stderr without the deliberate extra lines (testdata/golden/README.md,
/// "Deliberate extra stderr lines"; goldens list them in `ours-extra-stderr`):
/// after upstream's "Can't fit requested partitions …" refusal we also say
/// which partition did not fit and how many bytes are missing. Removed only
/// where upstream refused the same way; anything else is compared.
pub fn without_deliberate_lines(oracle: &[u8], ours: &[u8]) -> Vec<u8> {
    let refused = String::from_utf8_lossy(oracle).contains("Can't fit requested partitions");
    if !refused {
        return ours.to_vec();
    }
    let deliberate = |l: &[u8]| {
        let l = String::from_utf8_lossy(l);
        l.starts_with("Partition ") && l.contains(" needs ") && l.ends_with(") missing.")
    };
    ours.split_inclusive(|&b| b == b'\n')
        .filter(|l| !deliberate(l.strip_suffix(b"\n").unwrap_or(l)))
        .flatten()
        .copied()
        .collect()
}
