//! TPM2 sealing (`src/tpm2`) against a software TPM (swtpm), proven with upstream's
//! own unlocking code: the oracle chroot's systemd-cryptenroll unlocks a LUKS2 header
//! carrying our keyslot and token through the token (`--unlock-tpm2-device=`).
//! Also: the binary does not link the tpm2-tss libraries (they are dlopen()ed).
//!
//! Skipped (with a message) without swtpm or the oracle chroot, unless
//! `REPART_REQUIRE_ORACLE=1`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{TempDir, oracle_wrapper};
use repart::shell::tpm2::{LuksEnrollTarget, Tpm2Enroller, Tpm2Settings};

/// A swtpm listening on a unix socket in `dir`; killed (by its pid) on drop.
pub struct Swtpm {
    child: Child,
    /// The socket for `--tpm2-device=swtpm:path=…`.
    pub socket: PathBuf,
}

impl Swtpm {
    /// Starts a fresh TPM (new state in `dir/tpm`), or `Err` with why not.
    pub fn start(dir: &Path) -> Result<Swtpm, String> {
        let state = dir.join("tpm");
        std::fs::create_dir_all(&state).map_err(|e| e.to_string())?;
        let socket = dir.join("tpm.sock");
        let child = Command::new("swtpm")
            .args(["socket", "--tpm2", "--flags", "startup-clear"])
            .arg(format!("--tpmstate=dir={}", state.display()))
            .arg(format!("--server=type=unixio,path={}", socket.display()))
            .arg(format!(
                "--ctrl=type=unixio,path={}",
                dir.join("tpm.sock.ctrl").display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("swtpm not available ({e}); apt-get install swtpm"))?;
        let t = Swtpm { child, socket };
        let start = Instant::now();
        while !t.socket.exists() {
            if start.elapsed() > Duration::from_secs(10) {
                return Err("swtpm did not create its socket".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(t)
    }

    /// The `--tpm2-device=` value.
    pub fn device(&self) -> String {
        format!("swtpm:path={}", self.socket.display())
    }
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn require(what: Result<(), String>) -> bool {
    match what {
        Ok(()) => true,
        Err(e) if std::env::var("REPART_REQUIRE_ORACLE").as_deref() == Ok("1") => panic!("{e}"),
        Err(e) => {
            eprintln!("tpm2: skipped: {e}");
            false
        }
    }
}

/// swtpm and the oracle chroot (with cryptsetup and systemd's token plugin).
pub fn tpm_and_chroot_available() -> Result<(), String> {
    Command::new("swtpm")
        .arg("--version")
        .output()
        .map_err(|e| format!("swtpm not available ({e}); apt-get install swtpm"))?;
    let root =
        std::env::var("REPART_ORACLE_CACHE").unwrap_or_else(|_| "/var/cache/repart-oracle".into());
    let plugin = Path::new(&root)
        .join("trixie/usr/lib/x86_64-linux-gnu/cryptsetup/libcryptsetup-token-systemd-tpm2.so");
    if !plugin.exists() {
        return Err(format!(
            "{} missing (oracle chroot without systemd-cryptsetup)",
            plugin.display()
        ));
    }
    Ok(())
}

/// Runs `prog args` inside the oracle chroot (its cryptsetup, its systemd).
pub fn in_chroot(prog: &str, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut c = Command::new(oracle_wrapper());
    c.env("REPART_ORACLE_BINARY", prog)
        .env("REPART_ORACLE_MODE", "chroot")
        .args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.stdin(Stdio::null())
        .output()
        .expect("run the oracle wrapper")
}

fn host(prog: &str, args: &[&str]) {
    let out = Command::new(prog)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{prog}: {e}"));
    assert!(
        out.status.success(),
        "{prog} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A LUKS2 file formatted by the host's cryptsetup, enrolled through the CLI.
struct CliHeader {
    file: PathBuf,
    key: PathBuf,
    dir: PathBuf,
}

impl LuksEnrollTarget for CliHeader {
    fn add_keyslot_minimal_pbkdf(&mut self, passphrase: &[u8]) -> Result<u32, String> {
        let new = self.dir.join("new.key");
        std::fs::write(&new, passphrase).unwrap();
        host(
            "cryptsetup",
            &[
                "luksAddKey",
                "--batch-mode",
                "--pbkdf=pbkdf2",
                "--pbkdf-force-iterations=1000",
                "--hash=sha512",
                "--key-slot=1",
                "--key-file",
                self.key.to_str().unwrap(),
                self.file.to_str().unwrap(),
                new.to_str().unwrap(),
            ],
        );
        Ok(1)
    }
    fn add_token_json(&mut self, json: &str) -> Result<u32, String> {
        let f = self.dir.join("token.json");
        std::fs::write(&f, json).unwrap();
        host(
            "cryptsetup",
            &[
                "token",
                "import",
                "--json-file",
                f.to_str().unwrap(),
                self.file.to_str().unwrap(),
            ],
        );
        Ok(0)
    }
}

fn luks_file(dir: &Path) -> CliHeader {
    let file = dir.join("luks.img");
    let key = dir.join("k");
    std::fs::write(&key, b"key-file").unwrap();
    host("truncate", &["-s", "20M", file.to_str().unwrap()]);
    host(
        "cryptsetup",
        &[
            "luksFormat",
            "--batch-mode",
            "--type=luks2",
            "--pbkdf=pbkdf2",
            "--pbkdf-force-iterations=1000",
            "--key-file",
            key.to_str().unwrap(),
            file.to_str().unwrap(),
        ],
    );
    CliHeader {
        file,
        key,
        dir: dir.to_path_buf(),
    }
}

/// The token of `file` as luksDump's JSON shows it.
fn token(file: &Path) -> serde_json::Value {
    let out = Command::new("cryptsetup")
        .args(["luksDump", "--dump-json-metadata"])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["tokens"]["0"].clone()
}

#[test]
fn tpm2_libraries_are_not_linked() {
    let bin = env!("CARGO_BIN_EXE_repart");
    let out = Command::new("readelf")
        .args(["-d", bin])
        .output()
        .expect("readelf (binutils)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("(NEEDED)"),
        "readelf -d shows no NEEDED entries: {text}"
    );
    for lib in ["libtss2", "libcryptsetup"] {
        assert!(
            !text.contains(lib),
            "{bin} links {lib} (it must be dlopen()ed):\n{text}"
        );
    }
}

#[test]
fn tpm2_sealed_secret_unlocks_with_upstreams_cryptenroll() {
    if !require(tpm_and_chroot_available()) {
        return;
    }
    let tmp = TempDir::new("repart-tpm2");
    let tpm = Swtpm::start(&tmp.path).expect("swtpm");
    let settings = Tpm2Settings {
        device: Some(tpm.device()),
        ..Default::default()
    };
    let enroller = Tpm2Enroller::open(&settings).expect("open the TPM");
    let mut header = luks_file(&tmp.path);
    let passphrase = enroller.enroll(&mut header).expect("enroll");
    assert_eq!(passphrase.len(), 44, "base64 of 32 bytes");
    let t = token(&header.file);
    assert_eq!(t["type"], "systemd-tpm2");
    assert_eq!(t["keyslots"], serde_json::json!(["1"]));
    assert_eq!(t["tpm2-pcrs"], serde_json::json!([7]));
    assert_eq!(t["tpm2-pcr-bank"], "sha256");
    // PolicyPCR over PCR 7 = 0 (a fresh swtpm), as the oracle's token has it.
    assert_eq!(
        t["tpm2-policy-hash"],
        "8b5682d81b29435d08d79278150611dc7e5923b2fefcce684a09577b40130a8b"
    );

    // Upstream's TPM2 unlocking code: systemd-cryptenroll unlocks the volume through
    // the token (tpm2-device named explicitly: its cryptsetup token plugin only looks
    // for a kernel TPM device) and enrolls a password, which then opens the volume.
    let file = header.file.to_str().unwrap();
    let dev = format!("--unlock-tpm2-device={}", tpm.device());
    let out = in_chroot(
        "systemd-cryptenroll",
        &[&dev, "--password", file],
        &[("NEWPASSWORD", "via-upstream")],
    );
    assert!(
        out.status.success(),
        "upstream's systemd-cryptenroll did not unlock: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("TPM2 token unlocks volume"), "{stderr}");
    let pw = tmp.path.join("pw");
    std::fs::write(&pw, "via-upstream").unwrap();
    host(
        "cryptsetup",
        &[
            "open",
            "--test-passphrase",
            "--key-file",
            pw.to_str().unwrap(),
            file,
        ],
    );

    // The passphrase opens exactly keyslot 1.
    let pass = tmp.path.join("p");
    std::fs::write(&pass, &passphrase).unwrap();
    host(
        "cryptsetup",
        &[
            "open",
            "--test-passphrase",
            "--key-slot=1",
            "--key-file",
            pass.to_str().unwrap(),
            file,
        ],
    );
}

/// Seals with `settings` (device filled in) into a fresh header; (token, passphrase).
fn enroll_with(
    tpm: &Swtpm,
    dir: &Path,
    settings: Tpm2Settings,
) -> Result<(serde_json::Value, Vec<u8>), String> {
    let settings = Tpm2Settings {
        device: Some(tpm.device()),
        ..settings
    };
    let enroller = Tpm2Enroller::open(&settings)?;
    let mut header = luks_file(dir);
    let passphrase = enroller.enroll(&mut header)?;
    Ok((token(&header.file), passphrase))
}

#[test]
fn tpm2_signed_policy_key_and_no_pcrs() {
    if !require(tpm_and_chroot_available()) {
        return;
    }
    let tmp = TempDir::new("repart-tpm2");
    let tpm = Swtpm::start(&tmp.path).expect("swtpm");
    let pem_path = crate::common::manifest_dir().join("testdata/tpm2/pcr-signing-rsa.pub.pem");
    let pem = std::fs::read(&pem_path).unwrap();
    let (t, _) = enroll_with(
        &tpm,
        &tmp.path,
        Tpm2Settings {
            public_key: Some(pem_path.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    // Oracle (257.13, swtpm, same key): PolicyAuthorize(key) then PolicyPCR(7 = 0).
    assert_eq!(
        t["tpm2-policy-hash"],
        "332b3eb1f6acaa37bc9c7adf1fc57e8469f9a9c7ceb81d36c218d4d5d28a0225"
    );
    assert_eq!(t["tpm2_pubkey_pcrs"], serde_json::json!([11]));
    assert_eq!(t["tpm2_pubkey"], repart::pure::tpm2::token::base64(&pem));

    // --tpm2-pcrs= (empty) and --tpm2-public-key-pcrs= (empty): no policy at all, no
    // bank, no key; upstream unlocks it.
    let dir2 = tmp.path.join("b");
    std::fs::create_dir(&dir2).unwrap();
    let (t, _) = enroll_with(
        &tpm,
        &dir2,
        Tpm2Settings {
            pcrs: Some(Vec::new()),
            public_key: Some(pem_path),
            public_key_pcr_mask: Some(0),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(t["tpm2-pcrs"], serde_json::json!([]));
    assert_eq!(t["tpm2-policy-hash"], "0".repeat(64));
    assert!(
        t.get("tpm2-pcr-bank").is_none() && t.get("tpm2_pubkey").is_none(),
        "{t}"
    );
    let file = dir2.join("luks.img");
    let dev = format!("--unlock-tpm2-device={}", tpm.device());
    let out = in_chroot(
        "systemd-cryptenroll",
        &[&dev, "--password", file.to_str().unwrap()],
        &[("NEWPASSWORD", "x")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn tpm2_seal_key_handles() {
    if !require(tpm_and_chroot_available()) {
        return;
    }
    let tmp = TempDir::new("repart-tpm2");
    let tpm = Swtpm::start(&tmp.path).expect("swtpm");
    let with_handle = |h: u32, sub: &str| {
        let d = tmp.path.join(sub);
        std::fs::create_dir(&d).unwrap();
        enroll_with(
            &tpm,
            &d,
            Tpm2Settings {
                seal_key_handle: Some(h),
                ..Default::default()
            },
        )
    };
    // Upstream's messages (257.13 against swtpm).
    assert_eq!(
        with_handle(0x8100_0002, "a").unwrap_err(),
        "Failed to seal to TPM2: No such file or directory"
    );
    assert_eq!(
        with_handle(0x4000_0001, "b").unwrap_err(),
        "Failed to seal to TPM2: Invalid argument"
    );
    // The SRK named explicitly: created on first use, the same key in the token.
    let (t, _) = with_handle(0x8100_0001, "c").unwrap();
    let srk = repart::pure::tpm2::token::base64(&[0x81, 0, 0, 1]);
    assert!(
        t["tpm2_srk"].as_str().unwrap().starts_with(&srk[..5]),
        "{t}"
    );
}
