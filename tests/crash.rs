//! Crash safety: a first-boot run (new partitions added and formatted on a grown image
//! holding a partition with data) is stopped at every step of applying the plan
//! (`src/shell/fault.rs`, built with `--features fault-injection`), by SIGKILL (a
//! crash) and by SIGTERM (an orderly stop). After every stop the partition table is the
//! old or the new one, the existing partition's data is intact, and running repart
//! again completes the job with the same table as an uninterrupted run. Also with an
//! encrypted partition (`Encrypt=key-file`, and `Encrypt=tpm2` against swtpm), stopped
//! inside the offline encryption too: after the rerun the partition opens with its key
//! (the key file; the TPM through upstream's systemd-cryptenroll) and holds the files.
//! Temporary files: SIGTERM leaves none; SIGKILL leaves the killed run's own (nothing
//! can remove them), and the rerun adds none.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::{
    TempDir, base_path, manifest_dir, repart_under_test, run, sfdisk, sfdisk_dump,
};

const SEED: &str = "750b6cd5c4ae4012a15e7be3c29e6a47";

/// The points of every run, in the order they are reached.
const TABLE_POINTS: [&str; 5] = ["wiped", "copied", "formatted", "gpt-backup", "gpt-primary"];

/// The points inside the offline encryption of a partition.
const CRYPT_POINTS: [&str; 5] = [
    "luks-formatted",
    "reencrypt-initialised",
    "luks-header-restored",
    "reencrypting",
    "encrypted",
];

/// How a run is stopped at its fault point (`REPART_FAULT_SIGNAL`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Stop {
    Kill,
    Term,
}

impl Stop {
    fn status(self) -> i32 {
        match self {
            Stop::Kill => 128 + 9,
            Stop::Term => 128 + 15,
        }
    }
}

fn sh(dir: &Path, script: &str) -> String {
    let o = run(
        Path::new("/bin/bash"),
        &[
            OsString::from("-euo"),
            OsString::from("pipefail"),
            OsString::from("-c"),
            OsString::from(script),
        ],
        dir,
        &[("PATH".into(), base_path())],
        Duration::from_secs(300),
    );
    assert_eq!(
        o.status,
        0,
        "{script}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// One way of running the second (first-boot) run.
struct Scenario<'a> {
    name: &'a str,
    definitions: &'a str,
    /// Arguments besides the definitions, seed, --dry-run=no and the image.
    args: Vec<String>,
    points: Vec<&'a str>,
    /// The points also stopped at by SIGTERM (where it has temporary files to remove).
    term_at: &'a [&'a str],
    /// Called before every run (a TPM is "rebooted" there).
    before_run: &'a dyn Fn(),
    /// Checks the finished image's new partitions (panics with `what` in the message).
    check: &'a dyn Fn(&Path, &str, &str),
}

fn repart(dir: &Path, sc: &Scenario, image: &str, fault: Option<(&str, Stop)>) -> i32 {
    (sc.before_run)();
    let mut env = vec![
        ("PATH".to_string(), base_path()),
        ("TMPDIR".to_string(), dir.join("tmp").into_os_string()),
    ];
    if let Some((point, stop)) = fault {
        env.push(("REPART_FAULT_AT".into(), point.into()));
        if stop == Stop::Term {
            env.push(("REPART_FAULT_SIGNAL".into(), "TERM".into()));
        }
    }
    let mut args = vec![
        format!("--definitions={}", sc.definitions),
        format!("--seed={SEED}"),
        "--dry-run=no".into(),
    ];
    args.extend(sc.args.iter().cloned());
    args.push(image.into());
    let args: Vec<OsString> = args.into_iter().map(OsString::from).collect();
    let o = run(
        &repart_under_test(),
        &args,
        dir,
        &env,
        Duration::from_secs(300),
    );
    if fault.is_none() && o.status != 0 {
        eprintln!("{}", String::from_utf8_lossy(&o.stderr));
    }
    o.status
}

/// sha256 of the data partition (slot 0) of `image`.
fn data_digest(dir: &Path, image: &str) -> String {
    sh(
        dir,
        &format!("dd if={image} bs=1M skip=1 count=8 status=none | sha256sum"),
    )
}

fn table(dir: &Path, image: &str) -> String {
    String::from_utf8_lossy(&sfdisk_dump(&dir.join(image), dir)).replace(image, "IMG")
}

/// Whether the primary GPT is valid: the kernel reads only that copy (the backup only
/// with `gpt` on its command line), while sfdisk, like repart, falls back to the
/// backup and warns.
fn primary_is_valid(dir: &Path, image: &str) -> bool {
    let o = run(
        &sfdisk(),
        &[OsString::from("-d"), OsString::from(image)],
        dir,
        &[("PATH".into(), base_path())],
        Duration::from_secs(60),
    );
    !String::from_utf8_lossy(&o.stderr).contains("primary GPT table is corrupt")
}

/// The names in the run's TMPDIR.
fn temp_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("tmp"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The image every scenario starts from: an 8 MiB partition with random data, on a
/// disk grown by `grow` behind it.
fn base_image(d: &Path, grow: &str) {
    std::fs::create_dir(d.join("tmp")).unwrap();
    sh(
        d,
        "mkdir -p first.d
printf '[Partition]\\nType=linux-generic\\nLabel=data\\nSizeMinBytes=8M\\nSizeMaxBytes=8M\\n' > first.d/10-data.conf",
    );
    let created = run(
        &repart_under_test(),
        &[
            "--definitions=first.d",
            "--empty=create",
            "--size=auto",
            &format!("--seed={SEED}"),
            "base.raw",
        ]
        .map(OsString::from),
        d,
        &[("PATH".into(), base_path())],
        Duration::from_secs(60),
    );
    assert_eq!(
        created.status,
        0,
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    sh(
        d,
        &format!(
            "head -c 8388608 /dev/urandom | dd of=base.raw bs=1M seek=1 conv=notrunc status=none
truncate -s +{grow} base.raw"
        ),
    );
}

/// Runs `sc` uninterrupted, then stopped at each of its points with each kind of stop,
/// each followed by a rerun; returns the number of stops that passed.
fn crash_matrix(d: &Path, sc: &Scenario) -> usize {
    let data = data_digest(d, "base.raw");
    let old = table(d, "base.raw");
    sh(d, "cp --sparse=always base.raw ref.raw");
    assert_eq!(
        repart(d, sc, "ref.raw", None),
        0,
        "{}: reference run",
        sc.name
    );
    let new = table(d, "ref.raw");
    assert_ne!(old, new);
    assert_eq!(data_digest(d, "ref.raw"), data);
    assert_eq!(
        temp_files(d),
        Vec::<String>::new(),
        "{}: reference run",
        sc.name
    );
    (sc.check)(d, "ref.raw", &format!("{}: reference run", sc.name));
    let mut passed = 0;
    for point in &sc.points {
        let stops = if sc.term_at.contains(point) {
            &[Stop::Kill, Stop::Term][..]
        } else {
            &[Stop::Kill][..]
        };
        for &stop in stops {
            let what = format!("{}: {stop:?} at {point}", sc.name);
            let image = format!("{point}.raw");
            sh(d, &format!("cp --sparse=always base.raw {image}"));
            let status = repart(d, sc, &image, Some((point, stop)));
            assert_eq!(
                status,
                stop.status(),
                "{what}: not stopped there (is the binary built with --features fault-injection?)"
            );
            let after = table(d, &image);
            assert!(
                after == old || after == new,
                "{what}: neither the old nor the new table:\n{after}"
            );
            assert!(
                primary_is_valid(d, &image),
                "{what}: the primary GPT (the kernel's copy) is corrupt"
            );
            assert_eq!(
                data_digest(d, &image),
                data,
                "{what}: data partition changed"
            );
            let left = temp_files(d);
            if stop == Stop::Term {
                assert_eq!(left, Vec::<String>::new(), "{what}: temporary files left");
            }
            assert_eq!(repart(d, sc, &image, None), 0, "{what}: rerun failed");
            assert_eq!(table(d, &image), new, "{what}: rerun gave another table");
            assert_eq!(
                data_digest(d, &image),
                data,
                "{what}: data changed by the rerun"
            );
            assert_eq!(
                temp_files(d),
                left,
                "{what}: the rerun left temporary files"
            );
            (sc.check)(d, &image, &what);
            eprintln!(
                "{what}: table after the stop was the {} one, {} temporary file(s) of the stopped run left; rerun completed",
                if after == old { "old" } else { "new" },
                left.len()
            );
            sh(d, &format!("rm -rf tmp/* tmp/.[!.]* {image}"));
            passed += 1;
        }
    }
    eprintln!("{}: {passed} stops passed", sc.name);
    passed
}

#[test]
fn killed_at_every_step_keeps_data_and_completes() {
    let t = TempDir::new("repart-crash");
    let d = &t.path;
    base_image(d, "120M");
    sh(
        d,
        "mkdir -p second.d
cp first.d/10-data.conf second.d/
printf '[Partition]\\nType=home\\nFormat=ext4\\nWeight=2000\\n' > second.d/20-home.conf
printf '[Partition]\\nType=var\\nWeight=1000\\n' > second.d/30-var.conf",
    );
    let sc = Scenario {
        name: "plain",
        definitions: "second.d",
        args: vec![],
        points: TABLE_POINTS.to_vec(),
        term_at: &TABLE_POINTS,
        before_run: &|| {},
        check: &|_, _, _| {},
    };
    assert_eq!(crash_matrix(d, &sc), TABLE_POINTS.len() * 2);
}

/// Definitions adding an encrypted ext4 partition (label `secret`, 64 MiB: a 32 MiB
/// file system, so the reencryption takes several steps) filled from `files/`, next to
/// a plain ext4 one and an unformatted one.
fn encrypted_definitions(d: &Path, encrypt: &str) {
    sh(
        d,
        &format!(
            "mkdir -p second.d files/sub
cp first.d/10-data.conf second.d/
printf 'hello\\n' > files/hello
head -c 3000000 /dev/urandom > files/sub/random
printf '[Partition]\\nType=home\\nFormat=ext4\\nSizeMinBytes=16M\\nSizeMaxBytes=16M\\n' > second.d/20-home.conf
printf '[Partition]\\nType=srv\\nLabel=secret\\nFormat=ext4\\nEncrypt={encrypt}\\nCopyFiles=%s/files:/\\nSizeMinBytes=64M\\nSizeMaxBytes=64M\\n' \"$PWD\" > second.d/30-secret.conf
printf '[Partition]\\nType=var\\n' > second.d/40-var.conf"
        ),
    );
}

/// The `secret` partition of `image`, cut out into `secret.img`; returns its size.
fn cut_secret(d: &Path, image: &str) -> u64 {
    let size = sh(
        d,
        &format!(
            "line=$(sfdisk -d {image} | grep 'name=\"secret\"')
start=$(echo \"$line\" | sed 's/.*start= *\\([0-9]*\\),.*/\\1/')
size=$(echo \"$line\" | sed 's/.*size= *\\([0-9]*\\),.*/\\1/')
dd if={image} of=secret.img bs=512 skip=$start count=$size conv=sparse status=none
echo $((size * 512))"
        ),
    );
    size.trim().parse().unwrap()
}

/// `secret.img` (`size` bytes) decrypted with the volume key in `vk`
/// (tools/luks-decrypt.py) holds a clean ext4 file system with the files of `files/`.
fn check_decrypted(d: &Path, size: u64, what: &str) {
    let got = sh(
        d,
        &format!(
            "/usr/bin/python3 {decrypt} secret.img 0 {size} vk plain.img
e2fsck -fn plain.img > /dev/null
rm -rf out && mkdir out && debugfs -R 'rdump / out' plain.img > /dev/null 2>&1
(cd out && find . -type f ! -path './lost+found/*' | sort | xargs sha256sum)
rm -rf out secret.img plain.img vk",
            decrypt = manifest_dir().join("tools/luks-decrypt.py").display(),
        ),
    );
    let want = sh(d, "cd files && find . -type f | sort | xargs sha256sum");
    assert_eq!(got, want, "{what}: the encrypted file system's files");
}

/// `Encrypt=key-file`: stopped at every point, including inside the encryption.
#[test]
fn killed_while_encrypting_with_a_key_file_completes() {
    let t = TempDir::new("repart-crash");
    let d = &t.path;
    base_image(d, "200M");
    encrypted_definitions(d, "key-file");
    std::fs::write(d.join("key"), "crash test key file").unwrap();
    let mut points = TABLE_POINTS.to_vec();
    points.splice(2..2, CRYPT_POINTS);
    let sc = Scenario {
        name: "key-file",
        definitions: "second.d",
        args: vec!["--offline=yes".into(), "--key-file=key".into()],
        points,
        term_at: &CRYPT_POINTS,
        before_run: &|| {},
        check: &|d, image, what| {
            let size = cut_secret(d, image);
            // Getting the volume key with the key file unlocks a keyslot with it, as
            // `cryptsetup open --test-passphrase` does (one argon2 unlock instead of two).
            sh(
                d,
                "cryptsetup luksDump -q --dump-volume-key --volume-key-file vk --key-file=key secret.img > /dev/null",
            );
            check_decrypted(d, size, what);
        },
    };
    assert_eq!(
        crash_matrix(d, &sc),
        TABLE_POINTS.len() + CRYPT_POINTS.len() * 2
    );
}

/// `Encrypt=tpm2` against swtpm, "rebooted" (restarted on its state) before every run:
/// stopped inside the encryption; afterwards upstream's systemd-cryptenroll unlocks the
/// partition through its token (enrolling a password that then gives the volume key).
#[test]
fn killed_while_encrypting_with_tpm2_completes() {
    if let Err(e) = crate::tpm2::tpm_and_chroot_available() {
        if std::env::var("REPART_REQUIRE_ORACLE").as_deref() == Ok("1") {
            panic!("{e}");
        }
        eprintln!("crash tpm2: skipped: {e}");
        return;
    }
    let t = TempDir::new("repart-crash");
    let d = &t.path;
    base_image(d, "200M");
    encrypted_definitions(d, "tpm2");
    let tpm_dir = d.join("swtpm");
    std::fs::create_dir(&tpm_dir).unwrap();
    let tpm: std::cell::RefCell<Option<crate::tpm2::Swtpm>> = Default::default();
    let reboot = || {
        drop(tpm.borrow_mut().take());
        for f in ["tpm.sock", "tpm.sock.ctrl"] {
            let _ = std::fs::remove_file(tpm_dir.join(f));
        }
        *tpm.borrow_mut() = Some(crate::tpm2::Swtpm::start(&tpm_dir).expect("swtpm"));
    };
    let socket: PathBuf = tpm_dir.join("tpm.sock");
    let mut points = CRYPT_POINTS.to_vec();
    points.push("formatted");
    let sc = Scenario {
        name: "tpm2",
        definitions: "second.d",
        args: vec![
            "--offline=yes".into(),
            format!("--tpm2-device=swtpm:path={}", socket.display()),
        ],
        points,
        term_at: &CRYPT_POINTS,
        before_run: &reboot,
        check: &|d, image, what| {
            let size = cut_secret(d, image);
            let out = {
                let guard = tpm.borrow();
                let swtpm = guard.as_ref().expect("swtpm running");
                crate::tpm2::upstream_unlocks(swtpm, &d.join("secret.img"), "crash-pw")
            };
            assert!(
                out.status.success(),
                "{what}: upstream cannot unlock through the TPM2 token: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            sh(
                d,
                "printf crash-pw > pw
cryptsetup luksDump -q --dump-volume-key --volume-key-file vk --key-file=pw secret.img > /dev/null",
            );
            check_decrypted(d, size, what);
        },
    };
    assert_eq!(crash_matrix(d, &sc), sc.points.len() + CRYPT_POINTS.len());
    drop(tpm.borrow_mut().take());
}
