//! Shared helpers for the golden and differential tests: temp dirs, running
//! commands with a clean environment, `sfdisk -d`, path normalisation, diffs.
//!
//! Nothing here touches host disks: everything happens on image files inside
//! temp dirs created (and removed) by these helpers.

#![allow(dead_code)]

use std::collections::hash_map::RandomState;
use std::ffi::OsString;
use std::hash::{BuildHasher, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The sha256 of a file's bytes in lower-case hex (read in 1 MiB pieces: images are large).
pub fn file_sha256(path: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut f = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

/// Root of the crate (where Cargo.toml is).
pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The binary under test: `$REPART_UNDER_TEST` if set (e.g. the oracle wrapper
/// tools/oracle/reference-repart, to prove the harness), else our `repart`.
pub fn repart_under_test() -> PathBuf {
    match std::env::var_os("REPART_UNDER_TEST") {
        Some(p) if !p.is_empty() => {
            let p = PathBuf::from(p);
            if p.is_relative() {
                manifest_dir().join(p)
            } else {
                p
            }
        }
        _ => PathBuf::from(env!("CARGO_BIN_EXE_repart")),
    }
}

/// The oracle wrapper (tools/oracle/reference-repart, or `$REPART_ORACLE`).
pub fn oracle_wrapper() -> PathBuf {
    match std::env::var_os("REPART_ORACLE") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => manifest_dir().join("tools/oracle/reference-repart"),
    }
}

/// Is the oracle installed? Returns a reason if not.
pub fn oracle_available() -> Result<(), String> {
    let cache =
        std::env::var("REPART_ORACLE_CACHE").unwrap_or_else(|_| "/var/cache/repart-oracle".into());
    let suite = std::env::var("REPART_ORACLE_SUITE").unwrap_or_else(|_| "trixie".into());
    let chroot = Path::new(&cache)
        .join(&suite)
        .join(".repart-oracle-complete");
    let ldso = Path::new(&cache)
        .join(format!("{suite}-ldso"))
        .join(".repart-oracle-complete");
    if !chroot.exists() && !ldso.exists() {
        return Err(format!(
            "no oracle installed in {cache} for suite {suite} (run tools/oracle/setup-reference-repart.sh)"
        ));
    }
    let w = oracle_wrapper();
    match Command::new(&w)
        .arg("--version")
        .env("PATH", base_path())
        .stdin(Stdio::null())
        .output()
    {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!(
            "{} --version failed ({}): {}",
            w.display(),
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Err(format!("cannot run {}: {e}", w.display())),
    }
}

/// PATH for child processes: the caller's PATH plus the sbin dirs (sfdisk).
/// tools/golden-lib.sh uses the same rule.
pub fn base_path() -> OsString {
    let mut p = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    p.push(":/usr/sbin:/sbin");
    p
}

/// The mkfs tool dir put first on PATH for file-system cases (cases with an
/// `fs` file; differential cases with Format=): `$REPART_FS_TOOLS`, default
/// the oracle's ldso tool dir, so that our binary runs the same mkfs versions
/// as the oracle (sizes of minimized file systems depend on them).
pub fn fs_tools_dir() -> PathBuf {
    match std::env::var_os("REPART_FS_TOOLS") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from("/var/cache/repart-oracle/trixie-ldso/bin"),
    }
}

/// Is the fs tool dir usable? Err(reason) if not.
pub fn fs_tools_available() -> Result<(), String> {
    let d = fs_tools_dir();
    for t in [
        "mkfs.ext4",
        "mkfs.vfat",
        "mksquashfs",
        "mkfs.erofs",
        "mkswap",
        "mdir",
        "unsquashfs",
        "debugfs",
        "fsck.erofs",
    ] {
        if !d.join(t).exists() {
            return Err(format!(
                "{} has no {t} (install the ldso oracle: REPART_ORACLE_MODE=both tools/oracle/setup-reference-repart.sh, or set REPART_FS_TOOLS)",
                d.display()
            ));
        }
    }
    Ok(())
}

/// PATH with the fs tool dir first (see fs_tools_dir), then base_path().
pub fn fs_path() -> OsString {
    let mut p = fs_tools_dir().into_os_string();
    p.push(":");
    p.push(base_path());
    p
}

/// Environment variables of the caller that are passed to every repart run
/// (they only configure the oracle wrapper).
pub fn passthrough_env() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("REPART_ORACLE_"))
        .collect()
}

/// Our binary, and the oracle when it is installed (`who` names the test in the
/// message when the oracle is skipped).
pub fn binaries_with_oracle(who: &str) -> Vec<PathBuf> {
    let mut bins = vec![repart_under_test()];
    match oracle_available() {
        Ok(()) => bins.push(oracle_wrapper()),
        Err(why) => eprintln!("{who}: oracle SKIPPED: {why}"),
    }
    bins
}

/// The environment of a child repart run: the oracle's variables and `path` as PATH.
pub fn child_env(path: OsString) -> Vec<(String, OsString)> {
    let mut env: Vec<(String, OsString)> = passthrough_env()
        .into_iter()
        .map(|(k, v)| (k, OsString::from(v)))
        .collect();
    env.push(("PATH".into(), path));
    env
}

pub fn sfdisk() -> PathBuf {
    for c in ["/usr/sbin/sfdisk", "/sbin/sfdisk", "/usr/bin/sfdisk"] {
        if Path::new(c).exists() {
            return PathBuf::from(c);
        }
    }
    PathBuf::from("sfdisk")
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temp dir whose path always has the same length:
/// `$GOLDEN_TMPDIR/<prefix>.XXXXXXXXXX` (default /tmp), like `mktemp -d`.
/// (Debug tables show full paths; right-aligned columns must not depend on
/// the random part.) Removed on drop.
pub struct TempDir {
    pub path: PathBuf,
    pub canonical: PathBuf,
}

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let base = std::env::var_os("GOLDEN_TMPDIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| "/tmp".into());
        const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        for _ in 0..1000 {
            let mut h = RandomState::new().build_hasher();
            h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
            h.write_u32(std::process::id());
            h.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos(),
            );
            let mut x = h.finish();
            let mut name = format!("{prefix}.");
            for _ in 0..10 {
                name.push(CHARS[(x % CHARS.len() as u64) as usize] as char);
                x /= CHARS.len() as u64;
                if x == 0 {
                    x = h.finish().rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15;
                }
            }
            let path = base.join(name);
            if std::fs::create_dir(&path).is_ok() {
                let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
                return TempDir { path, canonical };
            }
        }
        panic!("cannot create a temp dir in {}", base.display());
    }

    /// Replace the temp dir path (as created and canonical) by `{tmp}`.
    pub fn normalize(&self, data: &[u8]) -> Vec<u8> {
        let a = self.path.as_os_str().as_encoded_bytes();
        let b = self.canonical.as_os_str().as_encoded_bytes();
        let out = replace_bytes(data, a, b"{tmp}");
        if a != b {
            replace_bytes(&out, b, b"{tmp}")
        } else {
            out
        }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("GOLDEN_KEEP_TMP").is_some() {
            eprintln!("keeping {}", self.path.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

pub fn replace_bytes(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    if from.is_empty() {
        return data.to_vec();
    }
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

/// Copy a directory tree; symlinks are copied as symlinks (targets verbatim).
pub fn copy_tree(src: &Path, dst: &Path) -> std::io::Result<()> {
    let md = std::fs::symlink_metadata(src)?;
    if md.file_type().is_symlink() {
        std::os::unix::fs::symlink(std::fs::read_link(src)?, dst)
    } else if md.is_dir() {
        std::fs::create_dir_all(dst)?;
        let mut entries: Vec<_> = std::fs::read_dir(src)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            copy_tree(&e.path(), &dst.join(e.file_name()))?;
        }
        Ok(())
    } else {
        std::fs::copy(src, dst).map(|_| ())
    }
}

pub struct Output {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// exit code; 128+signal if killed by a signal; -1 on timeout
    pub status: i32,
}

/// Run `script` with `bash -euo pipefail -c` in `cwd` (clean environment `env`,
/// killed after a minute): the shell steps of the integration tests.
pub fn bash(cwd: &Path, script: &str, env: &[(String, OsString)]) -> Output {
    run(
        Path::new("/bin/bash"),
        &[
            "-euo".into(),
            "pipefail".into(),
            "-c".into(),
            OsString::from(script),
        ],
        cwd,
        env,
        Duration::from_secs(60),
    )
}

/// `readelf -d` of the binary under test (its dynamic section, with the `(NEEDED)`
/// libraries), asserting readelf ran.
pub fn readelf_dynamic() -> String {
    let bin = env!("CARGO_BIN_EXE_repart");
    let out = Command::new("readelf")
        .args(["-d", bin])
        .output()
        .expect("readelf (binutils) is installed");
    assert!(out.status.success(), "readelf -d {bin} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Run `prog args` in `cwd` with a clean environment (only `env`), stdin
/// /dev/null, stdout/stderr captured, killed after `timeout`.
pub fn run(
    prog: &Path,
    args: &[OsString],
    cwd: &Path,
    env: &[(String, OsString)],
    timeout: Duration,
) -> Output {
    run_as(prog, None, args, cwd, env, timeout)
}

/// [`run`] with `argv[0]` set to `arg0` (the name glibc's getopt messages start with).
pub fn run_as(
    prog: &Path,
    arg0: Option<&str>,
    args: &[OsString],
    cwd: &Path,
    env: &[(String, OsString)],
    timeout: Duration,
) -> Output {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(prog);
    if let Some(arg0) = arg0 {
        cmd.arg0(arg0);
    }
    // Own process group: on a timeout the whole group is killed, so that a
    // stray grandchild (e.g. an mkfs tool blocked on a fifo) cannot keep the
    // output pipes open and hang the harness.
    cmd.process_group(0);
    cmd.args(args)
        .current_dir(cwd)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Output {
                stdout: vec![],
                stderr: format!("cannot run {}: {e}\n", prog.display()).into_bytes(),
                status: -1,
            };
        }
    };
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t1 = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let t2 = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let mut timed_out = false;
    let st = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) => {}
            Err(_) => break None,
        }
        if start.elapsed() > timeout {
            // SAFETY: kill(2) on the child's own process group.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.kill();
            timed_out = true;
            break child.wait().ok();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // Whatever the child left behind in its group must not hold the pipes.
    // SAFETY: kill(2) on the child's own (just reaped) process group.
    unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
    let stdout = t1.join().unwrap_or_default();
    let mut stderr = t2.join().unwrap_or_default();
    let status = if timed_out {
        stderr.extend_from_slice(format!("\n[harness: killed after {timeout:?}]\n").as_bytes());
        -1
    } else {
        use std::os::unix::process::ExitStatusExt;
        match st {
            Some(s) => s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0)),
            None => -1,
        }
    };
    Output {
        stdout,
        stderr,
        status,
    }
}

/// `sfdisk -d IMAGE` as the golden files store it: sfdisk's stdout, then
/// "sfdisk exit status: N" if it failed. Same as tools/golden-lib.sh.
pub fn sfdisk_dump(image: &Path, cwd: &Path) -> Vec<u8> {
    let env = vec![("PATH".to_string(), base_path())];
    let o = run(
        &sfdisk(),
        &[OsString::from("-d"), image.as_os_str().to_owned()],
        cwd,
        &env,
        Duration::from_secs(60),
    );
    let mut v = o.stdout;
    if o.status != 0 {
        v.extend_from_slice(format!("sfdisk exit status: {}\n", o.status).as_bytes());
    }
    v
}

/// A small unified-style line diff (LCS based), `ctx` lines of context.
pub fn diff(expected: &[u8], actual: &[u8], ctx: usize) -> String {
    let a: Vec<&[u8]> = split_lines(expected);
    let b: Vec<&[u8]> = split_lines(actual);
    let show = |l: &[u8]| -> String {
        let s = String::from_utf8_lossy(l).into_owned();
        let s = s.replace('\r', "\\r").replace('\t', "\\t");
        if s.ends_with(' ') {
            format!("{s}⏎(trailing spaces)")
        } else {
            s
        }
    };
    if a.len() * b.len() > 4_000_000 {
        return format!("(too large for a diff: {} vs {} lines)\n", a.len(), b.len());
    }
    // LCS table
    let (n, m) = (a.len(), b.len());
    let mut t = vec![0u32; (n + 1) * (m + 1)];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            t[i * (m + 1) + j] = if a[i] == b[j] {
                t[(i + 1) * (m + 1) + j + 1] + 1
            } else {
                t[(i + 1) * (m + 1) + j].max(t[i * (m + 1) + j + 1])
            };
        }
    }
    // edit script: (' ', line) / ('-', line) / ('+', line)
    let mut ops: Vec<(char, usize)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push((' ', i));
            i += 1;
            j += 1;
        } else if i < n && (j == m || t[(i + 1) * (m + 1) + j] >= t[i * (m + 1) + j + 1]) {
            ops.push(('-', i));
            i += 1;
        } else {
            ops.push(('+', j));
            j += 1;
        }
    }
    let mut out = String::new();
    let changed: Vec<bool> = ops.iter().map(|o| o.0 != ' ').collect();
    let mut k = 0;
    while k < ops.len() {
        if !changed[k] {
            k += 1;
            continue;
        }
        let start = k.saturating_sub(ctx);
        let mut end = k;
        while end < ops.len() {
            if changed[end] {
                end += 1;
                continue;
            }
            // stop if the next change is more than 2*ctx away
            let next = (end..ops.len()).find(|&x| changed[x]);
            match next {
                Some(nx) if nx - end <= 2 * ctx => end = nx,
                _ => break,
            }
        }
        let stop = (end + ctx).min(ops.len());
        out.push_str(&format!(
            "@@ expected line {} @@\n",
            ops[start..]
                .iter()
                .find(|o| o.0 != '+')
                .map(|o| o.1 + 1)
                .unwrap_or(n)
        ));
        for &(c, idx) in &ops[start..stop] {
            let l = if c == '+' { b[idx] } else { a[idx] };
            out.push_str(&format!("{c}{}\n", show(l)));
        }
        k = stop;
    }
    if expected.last() != actual.last() && (expected.ends_with(b"\n") != actual.ends_with(b"\n")) {
        out.push_str(&format!(
            "(final newline: expected {}, actual {})\n",
            expected.ends_with(b"\n"),
            actual.ends_with(b"\n")
        ));
    }
    out
}

fn split_lines(d: &[u8]) -> Vec<&[u8]> {
    if d.is_empty() {
        return vec![];
    }
    let d = d.strip_suffix(b"\n").unwrap_or(d);
    d.split(|&c| c == b'\n').collect()
}

/// Run `f(i)` for i in 0..n on `jobs` threads; results in index order.
pub fn parallel_map<T: Send, F: Fn(usize) -> T + Sync>(n: usize, jobs: usize, f: F) -> Vec<T> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: std::sync::Mutex<Vec<Option<T>>> =
        std::sync::Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= n {
                        break;
                    }
                    let r = f(i);
                    results.lock().unwrap()[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap())
        .collect()
}

pub fn jobs() -> usize {
    std::env::var("REPART_TEST_JOBS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
                .clamp(1, 8)
        })
}
