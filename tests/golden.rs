//! Golden tests: run every case in testdata/golden/<case>/ with the binary
//! under test and compare stdout, stderr, exit status and `sfdisk -d` of the
//! resulting image byte for byte with `expected/` (recorded from the oracle by
//! tools/capture-goldens.sh). The procedure mirrors tools/golden-lib.sh.
//! File-system cases (with an `fs` file) run with the oracle's mkfs tools first
//! on PATH (`REPART_FS_TOOLS`), have their stderr normalised by
//! tools/golden-fs-stderr.pl and also compare `contents` (the file systems read
//! back by tools/golden-fs-contents.sh); they are skipped when the tools are
//! missing, unless `REPART_REQUIRE_ORACLE=1`.
//!
//! Environment:
//! * `GOLDEN_CASE=name[,name...]` run only these cases (a trailing `*` matches
//!   a prefix, e.g. `GOLDEN_CASE='empty-*'`).
//! * `REPART_UNDER_TEST=path` run another binary, e.g.
//!   `tools/oracle/reference-repart` (then every case must pass: this proves
//!   the harness and the captures are stable).
//! * `GOLDEN_KEEP_TMP=1` keep the temp dirs for inspection.
//! * `REPART_TEST_JOBS=N` number of parallel cases.
//!
//! Cases listed in testdata/golden/KNOWN-DIFFERENCES (`case reason...`) are
//! run and reported, but do not fail the test.

use crate::common::*;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub fn golden_dir() -> PathBuf {
    manifest_dir().join("testdata/golden")
}

pub fn list_cases() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(golden_dir())
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.path().join("cmd").is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn selected(name: &str, filter: &Option<String>) -> bool {
    match filter {
        None => true,
        Some(f) => f
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .any(|p| match p.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == p,
            }),
    }
}

/// KNOWN-DIFFERENCES: `case reason` per line, `#` comments.
pub fn known_differences() -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    if let Ok(s) = std::fs::read_to_string(golden_dir().join("KNOWN-DIFFERENCES")) {
        for line in s.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, reason) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            m.insert(name.to_string(), reason.trim().to_string());
        }
    }
    m
}

/// The results of one run, normalised like the files in expected/.
#[derive(Default)]
pub struct CaseResult {
    pub files: BTreeMap<&'static str, Option<Vec<u8>>>,
    /// Results collected by the caller's hook of run_case_with (the
    /// differential test: earlier steps, generated files, invariants).
    pub extra: BTreeMap<String, Vec<u8>>,
}

/// Run a case directory with `repart`; Err on harness errors (setup failed...).
pub fn run_case(case_dir: &Path, repart: &Path) -> Result<CaseResult, String> {
    run_case_with(case_dir, repart, &|_, _| {})
}

/// run_case, then `hook` with the case's temp dir (still there, after all the
/// results above were taken) to collect more results into `CaseResult::extra`.
pub fn run_case_with(
    case_dir: &Path,
    repart: &Path,
    hook: &dyn Fn(&TempDir, &mut CaseResult),
) -> Result<CaseResult, String> {
    let tmp = TempDir::new("repart-golden");
    let t = &tmp.path;
    // 1. inputs
    let mut entries: Vec<_> = std::fs::read_dir(case_dir)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        if matches!(
            name.to_str(),
            Some(
                "cmd"
                    | "env"
                    | "setup"
                    | "expected"
                    | "README"
                    | "ignore"
                    | "fs"
                    | "files"
                    | "image-sha256"
                    | "ours-extra-stderr"
            )
        ) {
            continue;
        }
        copy_tree(&e.path(), &t.join(&name))
            .map_err(|err| format!("copying {}: {err}", e.path().display()))?;
    }
    std::fs::create_dir_all(t.join("repart.d")).map_err(|e| e.to_string())?;
    let tstr = t.to_str().ok_or("non-UTF-8 temp path")?;
    // File-system case: mkfs tools first on PATH, stderr filtered, contents dumped.
    let fs_case = case_dir.join("fs").exists();
    let path = if fs_case { fs_path() } else { base_path() };

    // 2. setup
    let setup = case_dir.join("setup");
    if setup.exists() {
        let env = vec![
            ("PATH".to_string(), path.clone()),
            ("REPART".to_string(), repart.as_os_str().to_owned()),
            ("TMP".to_string(), t.as_os_str().to_owned()),
        ];
        let args = vec![
            OsString::from("-euo"),
            OsString::from("pipefail"),
            setup.as_os_str().to_owned(),
        ];
        let o = run(
            Path::new("/bin/bash"),
            &args,
            t,
            &env,
            Duration::from_secs(300),
        );
        if o.status != 0 {
            return Err(format!(
                "setup failed (exit {}):\n{}{}",
                o.status,
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ));
        }
    }

    // 3. the command
    let cmd = std::fs::read_to_string(case_dir.join("cmd")).map_err(|e| e.to_string())?;
    let defs = format!("{tstr}/repart.d");
    let img = format!("{tstr}/img.raw");
    let args: Vec<OsString> = cmd
        .lines()
        .map(|l| {
            OsString::from(
                l.replace("{defs}", &defs)
                    .replace("{img}", &img)
                    .replace("{tmp}", tstr),
            )
        })
        .collect();
    let mut env: Vec<(String, OsString)> = vec![("PATH".to_string(), path.clone())];
    let mut case_env: Vec<(String, OsString)> = Vec::new();
    env.extend(
        passthrough_env()
            .into_iter()
            .map(|(k, v)| (k, OsString::from(v))),
    );
    if let Ok(s) = std::fs::read_to_string(case_dir.join("env")) {
        for line in s.lines() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = line
                .split_once('=')
                .ok_or_else(|| format!("bad env line {line:?}"))?;
            env.push((k.to_string(), OsString::from(v)));
            case_env.push((k.to_string(), OsString::from(v)));
        }
    }
    // As installed: upstream's syntax errors start with argv[0], which is
    // `systemd-repart` for the oracle (run by that name inside its chroot).
    let o = run_as(
        repart,
        Some("systemd-repart"),
        &args,
        t,
        &env,
        Duration::from_secs(300),
    );
    let mut r = CaseResult::default();
    r.files.insert("stdout", Some(tmp.normalize(&o.stdout)));
    let stderr = if fs_case {
        filter(
            &manifest_dir().join("tools/golden-fs-stderr.pl"),
            &[],
            &o.stderr,
            t,
        )?
    } else {
        o.stderr
    };
    let stderr = tmp.normalize(&stderr);
    let stderr = remove_deliberate_lines(case_dir, stderr)?;
    r.files.insert("stderr", Some(stderr));
    r.files
        .insert("status", Some(format!("{}\n", o.status).into_bytes()));
    let image = t.join("img.raw");
    let sf = if image.exists() {
        Some(tmp.normalize(&sfdisk_dump(&image, t)))
    } else {
        None
    };
    r.files.insert("sfdisk-d", sf);
    if fs_case {
        // contents: the file systems read back without mounting
        let mut cenv = vec![("PATH".to_string(), path.clone())];
        cenv.extend(case_env);
        let o = run(
            Path::new("/bin/bash"),
            &[
                manifest_dir()
                    .join("tools/golden-fs-contents.sh")
                    .into_os_string(),
                t.as_os_str().to_owned(),
            ],
            t,
            &cenv,
            Duration::from_secs(300),
        );
        if o.status != 0 {
            return Err(format!(
                "tools/golden-fs-contents.sh failed (exit {}): {}",
                o.status,
                String::from_utf8_lossy(&o.stderr)
            ));
        }
        r.files.insert("contents", Some(tmp.normalize(&o.stdout)));
    }
    // files: written files (e.g. --generate-fstab=) with their permission bits
    if let Ok(list) = std::fs::read_to_string(case_dir.join("files")) {
        r.files
            .insert("files", Some(tmp.normalize(&listed_files(t, &list))));
    }
    // image-sha256: the raw bytes, for cases where what stays of old data matters
    if case_dir.join("image-sha256").exists() {
        r.files.insert("image-sha256", Some(image_sha256(&image)));
    }
    hook(&tmp, &mut r);
    Ok(r)
}

/// `SHA256  img.raw` (or `missing`), as tools/golden-lib.sh step 8 writes it.
fn image_sha256(image: &Path) -> Vec<u8> {
    match crate::common::file_sha256(image) {
        Ok(hex) => format!("{hex}  img.raw\n").into_bytes(),
        Err(_) => b"missing\n".to_vec(),
    }
}

/// `== PATH mode NNNN` and the contents for each path of a case's `files` list (same
/// format as tools/golden-lib.sh step 7).
fn listed_files(t: &Path, list: &str) -> Vec<u8> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    for path in list
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let full = t.join(path);
        match (std::fs::metadata(&full), std::fs::read(&full)) {
            (Ok(m), Ok(data)) if m.is_file() => {
                let mode = m.permissions().mode() & 0o7777;
                out.extend_from_slice(format!("== {path} mode {mode:04o}\n").as_bytes());
                out.extend_from_slice(&data);
            }
            _ => out.extend_from_slice(format!("== {path} missing\n").as_bytes()),
        }
    }
    out
}

/// Run `prog args` with `input` on stdin (via a temp file), return stdout.
fn filter(prog: &Path, args: &[&str], input: &[u8], cwd: &Path) -> Result<Vec<u8>, String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(prog)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", prog.display()))?;
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let w = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let o = child.wait_with_output().map_err(|e| e.to_string())?;
    let _ = w.join();
    if !o.status.success() {
        return Err(format!("{} failed: {}", prog.display(), o.status));
    }
    Ok(o.stdout)
}

/// Compare one case; returns a failure report or None.
pub fn check_case(name: &str, repart: &Path) -> Option<String> {
    let dir = golden_dir().join(name);
    let exp_dir = dir.join("expected");
    if !exp_dir.is_dir() {
        return Some(format!(
            "no expected/ (run tools/capture-goldens.sh {name})\n"
        ));
    }
    let ignored: Vec<String> = std::fs::read_to_string(dir.join("ignore"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|w| !w.starts_with('#'))
        .collect();
    let res = match run_case(&dir, repart) {
        Ok(r) => r,
        Err(e) => return Some(format!("harness error: {e}\n")),
    };
    let mut report = String::new();
    for file in [
        "status",
        "stdout",
        "stderr",
        "sfdisk-d",
        "contents",
        "files",
        "image-sha256",
    ] {
        let actual = res.files.get(file).cloned().flatten();
        let actual = &actual;
        if ignored.iter().any(|i| i == file) {
            continue;
        }
        let expected = std::fs::read(exp_dir.join(file)).ok();
        match (&expected, actual) {
            (None, None) => {}
            (Some(e), Some(a)) if e == a => {}
            (Some(_), None) => report.push_str(&format!(
                "--- {file}: expected a result, but there is none (no image?)\n"
            )),
            (None, Some(a)) => report.push_str(&format!(
                "--- {file}: not expected, but got:\n{}\n",
                String::from_utf8_lossy(a)
            )),
            (Some(e), Some(a)) => {
                report.push_str(&format!("--- {file} differs (- expected, + actual):\n"));
                report.push_str(&diff(e, a, 3));
            }
        }
    }
    if report.is_empty() {
        None
    } else {
        Some(report)
    }
}

/// Lines repart prints on purpose where upstream prints nothing (listed in the case's
/// `ours-extra-stderr`, with `{tmp}`): they must be there, and are then removed so
/// the rest of stderr is still compared byte for byte with upstream's. Not applied
/// when the oracle itself is under test.
fn remove_deliberate_lines(dir: &Path, stderr: Vec<u8>) -> Result<Vec<u8>, String> {
    let Ok(extra) = std::fs::read_to_string(dir.join("ours-extra-stderr")) else {
        return Ok(stderr);
    };
    if std::env::var_os("REPART_UNDER_TEST").is_some() {
        return Ok(stderr);
    }
    let text = String::from_utf8_lossy(&stderr).into_owned();
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    for wanted in extra.lines().filter(|l| !l.is_empty()) {
        match lines
            .iter()
            .position(|l| l.trim_end_matches('\n') == wanted)
        {
            Some(i) => {
                lines.remove(i);
            }
            None => return Ok(format!("{text}MISSING deliberate line: {wanted}\n").into_bytes()),
        }
    }
    Ok(lines.concat().into_bytes())
}

#[test]
fn golden() {
    let repart = repart_under_test();
    let filter = std::env::var("GOLDEN_CASE").ok().filter(|s| !s.is_empty());
    let cases: Vec<String> = list_cases()
        .into_iter()
        .filter(|c| selected(c, &filter))
        .collect();
    assert!(
        !cases.is_empty(),
        "no golden cases selected (GOLDEN_CASE={filter:?})"
    );
    // File-system cases need the oracle's mkfs tools (same versions as at capture).
    let cases: Vec<String> = match fs_tools_available() {
        Ok(()) => cases,
        Err(why) => {
            if std::env::var("REPART_REQUIRE_ORACLE").as_deref() == Ok("1") {
                panic!("golden: file-system cases need the mkfs tools: {why}");
            }
            let (fs, rest): (Vec<String>, Vec<String>) = cases
                .into_iter()
                .partition(|c| golden_dir().join(c).join("fs").exists());
            if !fs.is_empty() {
                eprintln!("golden: SKIPPING {} file-system case(s): {why}", fs.len());
            }
            rest
        }
    };
    let known = known_differences();
    eprintln!("golden: {} case(s) with {}", cases.len(), repart.display());
    let results = parallel_map(cases.len(), jobs(), |i| check_case(&cases[i], &repart));

    let (mut failed, mut known_failed, mut fixed) = (vec![], vec![], vec![]);
    for (name, res) in cases.iter().zip(&results) {
        match (res, known.get(name)) {
            (None, None) => eprintln!("ok    {name}"),
            (None, Some(_)) => {
                eprintln!("ok    {name} (listed in KNOWN-DIFFERENCES: remove it there)");
                fixed.push(name.clone());
            }
            (Some(rep), Some(reason)) => {
                eprintln!("known {name}: {reason}");
                if std::env::var_os("GOLDEN_VERBOSE").is_some() {
                    eprintln!("{rep}");
                }
                known_failed.push(name.clone());
            }
            (Some(rep), None) => {
                eprintln!("FAIL  {name}\n{}", indent(rep));
                failed.push(name.clone());
            }
        }
    }
    eprintln!(
        "golden: {} passed, {} failed, {} known differences, {} known differences now passing",
        cases.len() - failed.len() - known_failed.len(),
        failed.len(),
        known_failed.len(),
        fixed.len()
    );
    if !failed.is_empty() {
        panic!(
            "{} golden case(s) failed: {}\n(re-run one with GOLDEN_CASE=name; diffs above)",
            failed.len(),
            failed.join(" ")
        );
    }
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("    {l}\n")).collect()
}
