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

use crate::common::{TempDir, oracle_wrapper, readelf_dynamic};
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

/// Upstream's TPM2 unlocking code: the chroot's systemd-cryptenroll unlocks `volume`
/// through its token (the swtpm named explicitly: its cryptsetup token plugin only
/// looks for a kernel TPM device) and enrolls the password `new_password`.
pub fn upstream_unlocks(tpm: &Swtpm, volume: &Path, new_password: &str) -> std::process::Output {
    let dev = format!("--unlock-tpm2-device={}", tpm.device());
    in_chroot(
        "systemd-cryptenroll",
        &[&dev, "--password", volume.to_str().unwrap()],
        &[("NEWPASSWORD", new_password)],
    )
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
    let text = readelf_dynamic();
    assert!(
        text.contains("(NEEDED)"),
        "readelf -d shows no NEEDED entries: {text}"
    );
    for lib in ["libtss2", "libcryptsetup"] {
        assert!(
            !text.contains(lib),
            "the binary links {lib} (it must be dlopen()ed):\n{text}"
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
    let out = upstream_unlocks(&tpm, Path::new(file), "via-upstream");
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
    assert_eq!(t["tpm2_pubkey"], repart::pure::base64::encode(&pem));

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
    let out = upstream_unlocks(&tpm, &file, "x");
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
    let srk = repart::pure::base64::encode(&[0x81, 0, 0, 1]);
    assert!(
        t["tpm2_srk"].as_str().unwrap().starts_with(&srk[..5]),
        "{t}"
    );
}

/// stderr without mkfs chatter and temp names (they differ run by run).
fn stable_stderr(text: &[u8]) -> String {
    String::from_utf8_lossy(text)
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_uppercase()) || l.starts_with('/'))
        .filter(|l| {
            !l.starts_with("mke2fs")
                && !l.starts_with("Discarding")
                && !l.starts_with("Creating")
                && !l.starts_with("Allocating")
                && !l.starts_with("Writing")
        })
        .map(|l| match l.find(" successfully formatted") {
            Some(i) if l.starts_with("/var/tmp/") => format!("{{tmp}}{}", &l[i..]),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The LUKS2 JSON of the partition at `offset` in `image`.
fn luks_json(image: &Path, offset: u64, dir: &Path) -> serde_json::Value {
    let part = dir.join(format!("part-{offset}.img"));
    host(
        "dd",
        &[
            &format!("if={}", image.display()),
            &format!("of={}", part.display()),
            "bs=1M",
            &format!("skip={}", offset >> 20),
            "count=64",
            "status=none",
        ],
    );
    let out = Command::new("cryptsetup")
        .args(["luksDump", "--dump-json-metadata"])
        .arg(&part)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// What must match upstream: keyslot KDFs, and per token everything but the sealed
/// blob (random secret) and the SRK (random per TPM).
fn comparable(v: &serde_json::Value) -> serde_json::Value {
    let mut tokens = v["tokens"].clone();
    for (_, t) in tokens.as_object_mut().unwrap() {
        let t = t.as_object_mut().unwrap();
        t.insert("tpm2-blob".into(), "{random}".into());
        t.insert("tpm2_srk".into(), "{per-tpm}".into());
    }
    let kdfs: serde_json::Map<String, serde_json::Value> = v["keyslots"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, s)| {
            (
                k.clone(),
                serde_json::json!([s["kdf"]["type"], s["kdf"]["hash"]]),
            )
        })
        .collect();
    serde_json::json!({ "tokens": tokens, "kdfs": kdfs })
}

/// One image-mode run of `bin` against a fresh swtpm in `tmp`: definitions `defs`
/// (file name, contents), `--key-file=key` (mode 0600), the image `img.raw` made with
/// `--empty=create` unless `existing` names a file to copy there first (then
/// `--empty=allow`). Returns (exit status, stdout, stable stderr).
fn image_run(
    bin: &Path,
    tmp: &TempDir,
    tpm: &Swtpm,
    defs: &[(&str, &str)],
    existing: Option<&Path>,
) -> (i32, String, String) {
    use std::os::unix::fs::PermissionsExt;
    let d = tmp.path.join("d");
    std::fs::create_dir_all(&d).unwrap();
    for (name, text) in defs {
        std::fs::write(d.join(name), text).unwrap();
    }
    let key = tmp.path.join("key");
    std::fs::write(&key, "secret key file").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let img = tmp.path.join("img.raw");
    let empty = match existing {
        Some(src) => {
            std::fs::copy(src, &img).unwrap();
            "--empty=allow"
        }
        None => "--empty=create",
    };
    let out = Command::new(bin)
        .current_dir(&tmp.path)
        .env_remove("SYSTEMD_TPM2_DEVICE")
        .args([
            "--definitions=d",
            empty,
            "--size=auto",
            "--seed=e2a40bf9-73f1-4278-9160-49c031e7aedd",
            "--dry-run=no",
            "--offline=yes",
            "--key-file=key",
        ])
        .arg(format!("--tpm2-device={}", tpm.device()))
        .arg(&img)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stable_stderr(&tmp.normalize(&out.stderr)),
    )
}

fn ours_and_upstream() -> [PathBuf; 2] {
    [
        PathBuf::from(env!("CARGO_BIN_EXE_repart")),
        oracle_wrapper(),
    ]
}

/// Two `Encrypt=tpm2` partitions in image mode (one without and one with a file
/// system), our binary and the oracle each against a fresh swtpm: same stdout, stderr,
/// table, token fields and keyslot KDFs; upstream's systemd-cryptenroll unlocks our
/// partitions through their tokens.
#[test]
fn tpm2_encrypted_image_like_upstream() {
    if !require(tpm_and_chroot_available().and_then(|_| crate::common::oracle_available())) {
        return;
    }
    let defs = [
        (
            "10-a.conf",
            "[Partition]\nType=home\nEncrypt=tpm2\nSizeMinBytes=40M\n",
        ),
        (
            "20-b.conf",
            "[Partition]\nType=srv\nFormat=ext4\nEncrypt=tpm2\nSizeMinBytes=40M\n",
        ),
    ];
    let mut results = Vec::new();
    for bin in ours_and_upstream() {
        let tmp = TempDir::new("repart-tpm2");
        let tpm = Swtpm::start(&tmp.path).expect("swtpm");
        let (rc, stdout, stderr) = image_run(&bin, &tmp, &tpm, &defs, None);
        assert_eq!(rc, 0, "{}: {stderr}", bin.display());
        let img = tmp.path.join("img.raw");
        let sfdisk = tmp.normalize(&crate::common::sfdisk_dump(&img, &tmp.path));
        let offsets = [1u64 << 20, (1 << 20) + (64 << 20)];
        let headers: Vec<_> = offsets
            .iter()
            .map(|&off| comparable(&luks_json(&img, off, &tmp.path)))
            .collect();
        if bin.ends_with("repart") {
            for off in offsets {
                let part = tmp.path.join(format!("part-{off}.img"));
                let o = upstream_unlocks(&tpm, &part, "x");
                assert!(
                    o.status.success(),
                    "upstream cannot unlock ours: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
            }
        }
        results.push((stdout, stderr, sfdisk, headers));
    }
    let (ours, upstream) = (&results[0], &results[1]);
    assert_eq!(ours.0, upstream.0, "stdout");
    assert_eq!(ours.1, upstream.1, "stderr");
    assert_eq!(ours.2, upstream.2, "sfdisk -d");
    assert_eq!(ours.3, upstream.3, "LUKS2 headers (tokens, keyslot KDFs)");
}

/// `Encrypt=key-file+tpm2` in image mode fails as in upstream 257.13: its offline
/// encryption asks libcryptsetup to reencrypt into keyslot 0 (the key file's) with the
/// TPM2 secret (keyslot 1's), the digest check fails, EPERM. Same exit status and
/// stderr as the oracle; an image this run created is removed (also after a first
/// partition was encrypted), an existing image with the failing partition alone is left
/// as it was (byte for byte, as upstream leaves it: nothing is copied in or written to
/// its table before the encryption step).
#[test]
fn tpm2_key_file_plus_tpm2_image_fails_like_upstream() {
    if !require(tpm_and_chroot_available().and_then(|_| crate::common::oracle_available())) {
        return;
    }
    let defs = [
        (
            "10-a.conf",
            "[Partition]\nType=home\nFormat=ext4\nEncrypt=tpm2\nSizeMinBytes=40M\n",
        ),
        (
            "20-b.conf",
            "[Partition]\nType=srv\nFormat=ext4\nEncrypt=key-file+tpm2\nSizeMinBytes=40M\n",
        ),
    ];
    let existing_dir = TempDir::new("repart-tpm2");
    let existing = existing_dir.path.join("existing.raw");
    host("truncate", &["-s", "300M", existing.to_str().unwrap()]);
    let label = std::process::Command::new("sfdisk")
        .arg(&existing)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .unwrap()
                .write_all(b"label: gpt\nlabel-id: 0E1C4D2B-6B43-4B89-9A47-5B5A42F2C0DE\n")?;
            c.wait()
        })
        .unwrap();
    assert!(label.success(), "sfdisk");
    let before = std::fs::read(&existing).unwrap();
    let mut results = Vec::new();
    for bin in ours_and_upstream() {
        let mut per_bin = Vec::new();
        for (from, defs) in [(None, &defs[..]), (Some(existing.as_path()), &defs[1..])] {
            let tmp = TempDir::new("repart-tpm2");
            let tpm = Swtpm::start(&tmp.path).expect("swtpm");
            let (rc, stdout, stderr) = image_run(&bin, &tmp, &tpm, defs, from);
            let img = tmp.path.join("img.raw");
            match from {
                None => assert!(
                    !img.exists(),
                    "{}: the created image is left",
                    bin.display()
                ),
                Some(_) => assert!(
                    std::fs::read(&img).unwrap() == before,
                    "{}: the existing image was changed",
                    bin.display()
                ),
            }
            per_bin.push((rc, stdout, stderr));
        }
        results.push(per_bin);
    }
    let (ours, upstream) = (&results[0], &results[1]);
    for (o, u) in ours.iter().zip(upstream) {
        assert_eq!(o.0, 1, "exit status: {}", o.2);
        assert_eq!(o, u, "exit status, stdout, stderr");
        assert!(
            o.2.ends_with(
                "Failed to initialize LUKS2 reencryption in metadata.\n\
                 Failed to prepare for reencryption: Operation not permitted\n\
                 Failed to encrypt device: Operation not permitted"
            ),
            "{}",
            o.2
        );
    }
}

/// Makes the storage keys the offline seals are made for, through our TPM code with the
/// TCG templates: the ECC SRK at 0x81000001 (as upstream creates it) and an RSA 2048 one
/// at 0x81000002; the RSA key's TPM2B_PUBLIC.
fn persist_storage_keys(tpm: &Swtpm) -> Vec<u8> {
    use repart::pure::tpm2::marshal::{PrimaryAlg, srk_template};
    use repart::shell::tpm2::tss::{Esys, Tcti, Tss};
    let tss = Tss::load().expect("tpm2-tss libraries");
    let tcti = Tcti::resolve(Some(&tpm.device()), None).unwrap();
    let esys = Esys::open(&tss, &tcti).expect("connect to swtpm");
    let mut rsa_public = Vec::new();
    for (alg, handle) in [
        (PrimaryAlg::Ecc, 0x8100_0001),
        (PrimaryAlg::Rsa, 0x8100_0002),
    ] {
        let transient = esys.create_primary(&srk_template(alg)).unwrap();
        let persistent = esys.persist(transient, handle).unwrap();
        if alg == PrimaryAlg::Rsa {
            rsa_public = esys.read_public(persistent).unwrap();
        }
        esys.flush(transient);
    }
    rsa_public
}

/// Runs `bin` (ours or the oracle) on a fresh image with one `Encrypt=tpm2` partition,
/// no TPM reachable, and `args`; (exit status, stdout, stable stderr, image path).
fn offline_run(bin: &Path, dir: &Path, args: &[String]) -> (bool, String, String, PathBuf) {
    let tmp = dir.join(if bin.ends_with("repart") {
        "ours"
    } else {
        "oracle"
    });
    std::fs::create_dir_all(tmp.join("d")).unwrap();
    std::fs::write(
        tmp.join("d/10-a.conf"),
        "[Partition]\nType=home\nEncrypt=tpm2\nSizeMinBytes=40M\n",
    )
    .unwrap();
    let img = tmp.join("img.raw");
    let _ = std::fs::remove_file(&img);
    let out = Command::new(bin)
        .current_dir(&tmp)
        .env_remove("SYSTEMD_TPM2_DEVICE")
        .args([
            "--definitions=d",
            "--empty=create",
            "--size=auto",
            "--seed=e2a40bf9-73f1-4278-9160-49c031e7aedd",
            "--dry-run=no",
            "--offline=yes",
        ])
        .args(args)
        .arg(&img)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stable_stderr(&out.stderr).replace(&tmp.display().to_string(), "{tmp}"),
        img,
    )
}

/// `--tpm2-device-key=`: sealed without the TPM to its SRK's public part (from upstream's
/// `systemd-analyze srk`; an RSA key with `--tpm2-seal-key-handle=`), our binary and the
/// oracle give the same output and token (the SRK serialization is deterministic, only
/// the blob is random), and upstream's systemd-cryptenroll unlocks ours through the TPM.
#[test]
fn tpm2_device_key_seals_offline_like_upstream() {
    if !require(tpm_and_chroot_available().and_then(|_| crate::common::oracle_available())) {
        return;
    }
    let tmp = TempDir::new("repart-tpm2");
    let tpm = Swtpm::start(&tmp.path).expect("swtpm");
    let rsa_public = persist_storage_keys(&tpm);
    let srk = in_chroot(
        "systemd-analyze",
        &["srk"],
        &[("SYSTEMD_TPM2_DEVICE", &tpm.device())],
    );
    assert!(
        srk.status.success(),
        "{}",
        String::from_utf8_lossy(&srk.stderr)
    );
    let ecc_file = tmp.path.join("srk.tpm2b_public");
    std::fs::write(&ecc_file, &srk.stdout).unwrap();
    let rsa_file = tmp.path.join("rsa.tpm2b_public");
    std::fs::write(&rsa_file, &rsa_public).unwrap();

    let pcr7 = format!("--tpm2-pcrs=7:sha256={}", "0".repeat(64));
    let cases: Vec<(&str, Vec<String>)> = vec![
        (
            "ecc",
            vec![
                format!("--tpm2-device-key={}", ecc_file.display()),
                pcr7.clone(),
            ],
        ),
        (
            "rsa",
            vec![
                format!("--tpm2-device-key={}", rsa_file.display()),
                "--tpm2-seal-key-handle=0x81000002".into(),
                format!("--tpm2-pcrs=0:sha256={z}+7:sha256={z}", z = "0".repeat(64)),
            ],
        ),
    ];
    for (name, args) in cases {
        let dir = tmp.path.join(name);
        let mut results = Vec::new();
        for bin in [
            PathBuf::from(env!("CARGO_BIN_EXE_repart")),
            oracle_wrapper(),
        ] {
            let (ok, stdout, stderr, img) = offline_run(&bin, &dir, &args);
            assert!(ok, "{name} {}: {stderr}", bin.display());
            let json = luks_json(&img, 1 << 20, img.parent().unwrap());
            let t = json["tokens"]["0"].clone();
            let part = img.parent().unwrap().join(format!("part-{}.img", 1 << 20));
            let o = upstream_unlocks(&tpm, &part, "x");
            assert!(
                o.status.success(),
                "{name}: upstream cannot unlock {}: {}",
                bin.display(),
                String::from_utf8_lossy(&o.stderr)
            );
            results.push((stdout, stderr, comparable(&json), t["tpm2_srk"].clone()));
        }
        assert_eq!(results[0], results[1], "{name}: ours vs the oracle");
    }

    // PCRs without values (here: the default PCR 7) cannot be sealed to offline.
    for bin in [
        PathBuf::from(env!("CARGO_BIN_EXE_repart")),
        oracle_wrapper(),
    ] {
        let args = [format!("--tpm2-device-key={}", ecc_file.display())];
        let (ok, _, stderr, _) = offline_run(&bin, &tmp.path.join("nopcr"), &args);
        assert!(!ok);
        assert!(
            stderr.contains("Must provide all PCR values when using TPM2 device key."),
            "{}: {stderr}",
            bin.display()
        );
    }
}

/// One run of `bin` in a fresh directory under `dir` with one `Format=ext4
/// Encrypt=tpm2` partition and `args`: on `existing` (copied to img.raw,
/// `--empty=allow`) or a new image (`--empty=create`). (exit status, stdout, stable
/// stderr without the tpm2-tss libraries' own lines, sha256 of img.raw or "missing").
fn error_run(
    bin: &Path,
    dir: &Path,
    args: &[String],
    existing: Option<&Path>,
) -> (i32, String, String, String) {
    let tmp = dir.join(if bin.ends_with("repart") {
        "ours"
    } else {
        "oracle"
    });
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(tmp.join("d")).unwrap();
    std::fs::write(
        tmp.join("d/10-a.conf"),
        "[Partition]\nType=home\nFormat=ext4\nEncrypt=tpm2\nSizeMinBytes=40M\n",
    )
    .unwrap();
    let img = tmp.join("img.raw");
    let empty = match existing {
        Some(src) => {
            std::fs::copy(src, &img).unwrap();
            "--empty=allow"
        }
        None => "--empty=create",
    };
    let out = Command::new(bin)
        .current_dir(&tmp)
        .env_remove("SYSTEMD_TPM2_DEVICE")
        .args([
            "--definitions=d",
            empty,
            "--size=auto",
            "--seed=e2a40bf9-73f1-4278-9160-49c031e7aedd",
            "--dry-run=no",
        ])
        .args(args)
        .arg(&img)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = stable_stderr(&out.stderr)
        .replace(&tmp.display().to_string(), "{tmp}")
        .lines()
        .filter(|l| !l.starts_with("ERROR:") && !l.starts_with("WARNING:"))
        .collect::<Vec<_>>()
        .join("\n");
    let sum = match std::fs::read(&img) {
        Ok(bytes) => openssl::sha::sha256(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        Err(_) => "missing".into(),
    };
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
        sum,
    )
}

/// TPM2 errors come where upstream 257.13 raises them: in the encryption step (after
/// the file system is made in image mode), the step's message followed by "Failed to
/// encrypt device: …". Ours and the oracle on the same inputs give the same exit
/// status, stdout, stderr and image: an existing one has its new partition's area
/// wiped and discarded and its table unchanged (the same bytes as upstream's), a
/// created one is removed. Cases: an unreadable `--tpm2-device-key=`, PCRs without
/// values for it, an unreachable TPM (live mode too), and a seal-time error of the TPM
/// itself (swtpm, a seal key handle it does not have).
#[test]
fn tpm2_errors_in_the_encryption_step_like_upstream() {
    if !require(tpm_and_chroot_available().and_then(|_| crate::common::oracle_available())) {
        return;
    }
    let tmp = TempDir::new("repart-tpm2");
    let tpm = Swtpm::start(&tmp.path).expect("swtpm");
    // An existing image: an empty GPT, 0xaa where the new partition goes.
    let existing = tmp.path.join("existing.raw");
    {
        let mut bytes = vec![0u8; 128 << 20];
        bytes[1 << 20..100 << 20].fill(0xaa);
        std::fs::write(&existing, bytes).unwrap();
    }
    let label = Command::new("sfdisk")
        .arg("-q")
        .arg(&existing)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .unwrap()
                .write_all(b"label: gpt\nlabel-id: 0E1C4D2B-6B43-4B89-9A47-5B5A42F2C0DE\n")?;
            c.wait()
        })
        .unwrap();
    assert!(label.success(), "sfdisk");
    // An SRK's TPM2B_PUBLIC (systemd-analyze srk against swtpm, kept with the golden).
    let srk_file = tmp.path.join("srk.tpm2b_public");
    std::fs::copy(
        crate::common::manifest_dir()
            .join("testdata/golden/luks-tpm2-device-key-no-pcr-values/srk.tpm2b_public"),
        &srk_file,
    )
    .unwrap();
    let missing = tmp.path.join("missing");
    let no_socket = format!("--tpm2-device=swtpm:path={}", missing.display());
    let cases: Vec<(&str, Vec<String>, Option<&Path>, &str)> = vec![
        (
            "device-key-missing",
            vec![
                "--offline=yes".into(),
                format!("--tpm2-device-key={}", missing.display()),
            ],
            Some(&existing),
            "Failed to encrypt device: No such file or directory",
        ),
        (
            "device-key-no-pcr-values",
            vec![
                "--offline=yes".into(),
                format!("--tpm2-device-key={}", srk_file.display()),
            ],
            None,
            "Must provide all PCR values when using TPM2 device key.\n\
             Failed to encrypt device: Invalid argument",
        ),
        (
            "no-tpm",
            vec!["--offline=yes".into(), no_socket.clone()],
            Some(&existing),
            "Failed to create TPM2 context: State not recoverable\n\
             Failed to encrypt device: State not recoverable",
        ),
        (
            "no-tpm-live",
            vec![no_socket],
            None,
            "Failed to create TPM2 context: State not recoverable\n\
             Failed to encrypt device: State not recoverable",
        ),
        (
            "seal-key-handle-missing",
            vec![
                "--offline=yes".into(),
                format!("--tpm2-device={}", tpm.device()),
                "--tpm2-seal-key-handle=0x81000002".into(),
            ],
            Some(&existing),
            "Failed to seal to TPM2: No such file or directory\n\
             Failed to encrypt device: No such file or directory",
        ),
    ];
    for (name, args, from, tail) in cases {
        let dir = tmp.path.join(name);
        let results: Vec<_> = ours_and_upstream()
            .iter()
            .map(|bin| error_run(bin, &dir, &args, from))
            .collect();
        let (ours, upstream) = (&results[0], &results[1]);
        assert_eq!(ours.0, 1, "{name}: {}", ours.2);
        assert!(ours.2.ends_with(tail), "{name}: {}", ours.2);
        assert_eq!(ours, upstream, "{name}: ours vs the oracle");
    }
}

/// How a repart run is started: a program, arguments before repart's own, environment.
struct Runner {
    program: PathBuf,
    pre_args: Vec<String>,
    env: Vec<(&'static str, String)>,
}

impl Runner {
    fn plain(program: PathBuf) -> Runner {
        Runner {
            program,
            pre_args: Vec::new(),
            env: Vec::new(),
        }
    }
}

/// A script for the oracle chroot: puts the policy `$1` where upstream's unlocker and
/// repart look for it (/run/systemd/pcrlock.json; /run is the chroot's private tmpfs,
/// so nothing of it stays), then runs the rest of its arguments.
fn with_pcrlock_script(dir: &Path) -> PathBuf {
    let script = dir.join("with-pcrlock.sh");
    std::fs::write(
        &script,
        "set -e\nmkdir -p /run/systemd\ncp \"$1\" /run/systemd/pcrlock.json\nshift\nexec \"$@\"\n",
    )
    .unwrap();
    script
}

/// Upstream's systemd-cryptenroll unlocks `volume` through its token with `policy` as
/// the system's pcrlock policy (None: no policy file).
fn upstream_unlocks_with_pcrlock(
    tpm: &Swtpm,
    volume: &Path,
    policy: Option<&Path>,
    dir: &Path,
) -> std::process::Output {
    let dev = format!("--unlock-tpm2-device={}", tpm.device());
    let Some(policy) = policy else {
        return upstream_unlocks(tpm, volume, "x");
    };
    let script = with_pcrlock_script(dir);
    in_chroot(
        "/bin/sh",
        &[
            script.to_str().unwrap(),
            policy.to_str().unwrap(),
            "systemd-cryptenroll",
            &dev,
            "--password",
            volume.to_str().unwrap(),
        ],
        &[("NEWPASSWORD", "x")],
    )
}

/// One image-mode run of `runner` in `dir/name` (one `Encrypt=tpm2` partition, as
/// [`offline_run`]); (exit status, stdout, stable stderr, image, LUKS2 JSON if any).
fn pcrlock_run(
    runner: &Runner,
    dir: &Path,
    name: &str,
    args: &[String],
) -> (bool, String, String, PathBuf, Option<serde_json::Value>) {
    let tmp = dir.join(name);
    std::fs::create_dir_all(tmp.join("d")).unwrap();
    std::fs::write(
        tmp.join("d/10-a.conf"),
        "[Partition]\nType=home\nEncrypt=tpm2\nSizeMinBytes=40M\n",
    )
    .unwrap();
    let img = tmp.join("img.raw");
    let _ = std::fs::remove_file(&img);
    let mut c = Command::new(&runner.program);
    c.current_dir(&tmp)
        .env_remove("SYSTEMD_TPM2_DEVICE")
        .args(&runner.pre_args)
        .args([
            "--definitions=d",
            "--empty=create",
            "--size=auto",
            "--seed=e2a40bf9-73f1-4278-9160-49c031e7aedd",
            "--dry-run=no",
            "--offline=yes",
        ])
        .args(args)
        .arg(&img)
        .stdin(Stdio::null());
    for (k, v) in &runner.env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    let json = (out.status.success() && img.exists()).then(|| luks_json(&img, 1 << 20, &tmp));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stable_stderr(&out.stderr)
            .replace(&tmp.display().to_string(), "{tmp}")
            .replace(&dir.display().to_string(), "{dir}"),
        tmp.join(format!("part-{}.img", 1 << 20)),
        json,
    )
}

/// `--tpm2-pcrlock=` with a policy made by upstream's systemd-pcrlock (PCR 15, its NV
/// index on the same swtpm): ours and the oracle write the same token (tpm2-pcrs [],
/// no bank, the same PolicyAuthorizeNV policy hash, tpm2_pcrlock, the same SRK and
/// tpm2_pcrlock_nv), stdout and stderr; also when the policy is found on its own in
/// /run/systemd (ours in a mount namespace with a tmpfs there, the oracle in its
/// chroot's private /run), sealed offline (`--tpm2-device-key=`), and with a signed PCR
/// policy key as well (two shards; ours inside the oracle chroot there, whose
/// libcryptsetup token plugin is 257's: the host's 252 refuses sharded tokens), which
/// offline both refuse with the same message. Upstream's systemd-cryptenroll opens our
/// partitions through the pcrlock policy, not without the policy file, and no longer
/// once PCR 15 was extended.
#[test]
fn tpm2_pcrlock_policy_like_upstream() {
    if !require(tpm_and_chroot_available().and_then(|_| crate::common::oracle_available())) {
        return;
    }
    let tmp = TempDir::new("repart-tpm2");
    let tpm = Swtpm::start(&tmp.path).expect("swtpm");
    let policy = tmp.path.join("pcrlock.json");
    let made = in_chroot(
        "/usr/lib/systemd/systemd-pcrlock",
        &[
            "make-policy",
            "--pcr=15",
            &format!("--policy={}", policy.display()),
        ],
        &[
            ("SYSTEMD_MEASURE_LOG_FIRMWARE", "/dev/null"),
            ("SYSTEMD_MEASURE_LOG_USERSPACE", "/dev/null"),
            ("SYSTEMD_TPM2_DEVICE", &tpm.device()),
        ],
    );
    assert!(
        made.status.success(),
        "systemd-pcrlock make-policy: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    let nv_handle = serde_json::from_slice::<serde_json::Value>(&std::fs::read(&policy).unwrap())
        .unwrap()["nvHandle"]
        .clone();
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_repart"));
    let script = with_pcrlock_script(&tmp.path);
    let device = format!("--tpm2-device={}", tpm.device());
    let named = vec![
        device.clone(),
        format!("--tpm2-pcrlock={}", policy.display()),
    ];

    // Named and found on its own; ours first (so the SRK exists for the oracle too).
    let found_ours = Runner {
        program: "unshare".into(),
        pre_args: vec![
            "--mount".into(),
            "--propagation".into(),
            "private".into(),
            "sh".into(),
            "-c".into(),
            "mount -t tmpfs tmpfs /run/systemd && cp \"$0\" /run/systemd/pcrlock.json && exec \"$@\"".into(),
            policy.display().to_string(),
            ours.display().to_string(),
        ],
        env: Vec::new(),
    };
    let found_oracle = Runner {
        program: oracle_wrapper(),
        pre_args: vec![
            script.display().to_string(),
            policy.display().to_string(),
            "systemd-repart".into(),
        ],
        env: vec![("REPART_ORACLE_BINARY", "/bin/sh".into())],
    };
    let cases: [(&str, Runner, Runner, Vec<String>); 2] = [
        (
            "named",
            Runner::plain(ours.clone()),
            Runner::plain(oracle_wrapper()),
            named.clone(),
        ),
        ("found", found_ours, found_oracle, vec![device.clone()]),
    ];
    let mut our_parts = Vec::new();
    for (name, ours_runner, oracle_runner, args) in &cases {
        let o = pcrlock_run(ours_runner, &tmp.path, &format!("{name}-ours"), args);
        let u = pcrlock_run(oracle_runner, &tmp.path, &format!("{name}-oracle"), args);
        assert!(o.0, "{name}: ours failed: {}", o.2);
        assert!(u.0, "{name}: the oracle failed: {}", u.2);
        let (oj, uj) = (o.4.unwrap(), u.4.unwrap());
        let t = &oj["tokens"]["0"];
        assert_eq!(t["tpm2-pcrs"], serde_json::json!([]), "{name}: {t}");
        assert!(t.get("tpm2-pcr-bank").is_none(), "{name}: {t}");
        assert_eq!(t["tpm2_pcrlock"], true, "{name}: {t}");
        assert_eq!(t["tpm2_pcrlock_nv"], nv_handle, "{name}: {t}");
        assert_eq!(
            t["tpm2-policy-hash"], uj["tokens"]["0"]["tpm2-policy-hash"],
            "{name}: policy hash"
        );
        assert_eq!(t["tpm2_srk"], uj["tokens"]["0"]["tpm2_srk"], "{name}: SRK");
        assert_eq!(comparable(&oj), comparable(&uj), "{name}: LUKS2 header");
        assert_eq!((&o.1, &o.2), (&u.1, &u.2), "{name}: stdout, stderr");
        our_parts.push(o.3);
    }

    // Sealed offline to the SRK's public part, one shard: as the oracle.
    let srk = in_chroot(
        "systemd-analyze",
        &["srk"],
        &[("SYSTEMD_TPM2_DEVICE", &tpm.device())],
    );
    assert!(srk.status.success());
    let srk_file = tmp.path.join("srk.tpm2b_public");
    std::fs::write(&srk_file, &srk.stdout).unwrap();
    let offline = vec![
        format!("--tpm2-device-key={}", srk_file.display()),
        format!("--tpm2-pcrlock={}", policy.display()),
    ];
    let o = pcrlock_run(
        &Runner::plain(ours.clone()),
        &tmp.path,
        "offline-ours",
        &offline,
    );
    let u = pcrlock_run(
        &Runner::plain(oracle_wrapper()),
        &tmp.path,
        "offline-oracle",
        &offline,
    );
    assert!(o.0 && u.0, "offline: {} / {}", o.2, u.2);
    assert_eq!(
        (comparable(o.4.as_ref().unwrap()), &o.1, &o.2),
        (comparable(u.4.as_ref().unwrap()), &u.1, &u.2),
        "offline"
    );
    our_parts.push(o.3);

    // A signed PCR policy key as well: two shards (TPM), refused offline.
    let key = tmp.path.join("sign.key");
    let public = tmp.path.join("sign.pub");
    host(
        "openssl",
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            key.to_str().unwrap(),
        ],
    );
    host(
        "openssl",
        &[
            "pkey",
            "-in",
            key.to_str().unwrap(),
            "-pubout",
            "-out",
            public.to_str().unwrap(),
        ],
    );
    let mut sharded = named.clone();
    sharded.push(format!("--tpm2-public-key={}", public.display()));
    let ours_in_chroot = Runner {
        program: oracle_wrapper(),
        pre_args: Vec::new(),
        // The wrapper binds only well-known directories and argument paths: a clone
        // elsewhere (as on CI) must name our binary's directory itself.
        env: vec![
            ("REPART_ORACLE_BINARY", ours.display().to_string()),
            (
                "REPART_ORACLE_BIND",
                ours.parent().unwrap().display().to_string(),
            ),
        ],
    };
    let o = pcrlock_run(&ours_in_chroot, &tmp.path, "shards-ours", &sharded);
    let u = pcrlock_run(
        &Runner::plain(oracle_wrapper()),
        &tmp.path,
        "shards-oracle",
        &sharded,
    );
    assert!(o.0 && u.0, "two shards: {} / {}", o.2, u.2);
    let (oj, uj) = (o.4.unwrap(), u.4.unwrap());
    assert_eq!(comparable(&oj), comparable(&uj), "two shards: LUKS2 header");
    let hashes = &oj["tokens"]["0"]["tpm2-policy-hash"];
    assert_eq!(hashes.as_array().map(Vec::len), Some(2), "{hashes}");
    assert_eq!(
        oj["tokens"]["0"]["tpm2-blob"].as_array().map(Vec::len),
        Some(2)
    );
    let mut sharded_offline = offline.clone();
    sharded_offline.push(format!("--tpm2-public-key={}", public.display()));
    let o = pcrlock_run(
        &Runner::plain(ours.clone()),
        &tmp.path,
        "shards-offline-ours",
        &sharded_offline,
    );
    let u = pcrlock_run(
        &Runner::plain(oracle_wrapper()),
        &tmp.path,
        "shards-offline-oracle",
        &sharded_offline,
    );
    assert!(!o.0 && !u.0);
    assert_eq!(
        (&o.1, &o.2),
        (&u.1, &u.2),
        "two shards offline: stdout, stderr"
    );
    assert!(
        o.2.contains("Combined signed PCR policies and pcrlock policies cannot be calculated offline, currently."),
        "{}",
        o.2
    );

    // Upstream's unlocker opens ours only through the policy file, and not after PCR 15
    // moved away from the value the policy allows.
    for part in &our_parts {
        let copy = part.with_extension("copy");
        std::fs::copy(part, &copy).unwrap();
        let without = upstream_unlocks_with_pcrlock(&tpm, &copy, None, &tmp.path);
        assert!(!without.status.success());
        assert!(
            String::from_utf8_lossy(&without.stderr)
                .contains("Couldn't find pcrlock policy for volume."),
            "{}",
            String::from_utf8_lossy(&without.stderr)
        );
        let with = upstream_unlocks_with_pcrlock(&tpm, part, Some(&policy), &tmp.path);
        assert!(
            with.status.success(),
            "upstream cannot unlock {}: {}",
            part.display(),
            String::from_utf8_lossy(&with.stderr)
        );
    }
    let extend = in_chroot(
        "/usr/lib/systemd/systemd-pcrextend",
        &[&device, "--pcr=15", "repart-test"],
        &[("SYSTEMD_FORCE_MEASURE", "1")],
    );
    assert!(
        extend.status.success(),
        "{}",
        String::from_utf8_lossy(&extend.stderr)
    );
    let after = upstream_unlocks_with_pcrlock(
        &tpm,
        &our_parts[0].with_extension("copy"),
        Some(&policy),
        &tmp.path,
    );
    assert!(
        !after.status.success(),
        "unlocked after PCR 15 changed: {}",
        String::from_utf8_lossy(&after.stderr)
    );
}
