//! libcryptsetup is loaded on demand (like upstream's dlopen): the binary does not link
//! it, runs everything that does not encrypt without it, and with `Encrypt=` fails with
//! a message naming the library before it writes anything.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::{TempDir, readelf_dynamic, run};

/// `readelf -d` of our binary lists no libcryptsetup among its NEEDED libraries (and the
/// check itself works: libc is found there).
#[test]
fn binary_does_not_link_libcryptsetup() {
    let text = readelf_dynamic();
    let needed: Vec<&str> = text.lines().filter(|l| l.contains("(NEEDED)")).collect();
    assert!(
        needed.iter().any(|l| l.contains("libc.so")),
        "no NEEDED libc in readelf output:\n{text}"
    );
    assert!(
        !needed.iter().any(|l| l.contains("libcryptsetup")),
        "the binary links libcryptsetup:\n{}",
        needed.join("\n")
    );
}

/// The installed libcryptsetup.so.12 (the file `dlopen()` would find), if any.
fn installed_library() -> Option<std::path::PathBuf> {
    let out = Command::new("/sbin/ldconfig").arg("-p").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter(|l| l.contains("libcryptsetup.so.12 ") && l.contains("x86-64"))
        .filter_map(|l| l.rsplit(" => ").next())
        .map(|p| std::fs::canonicalize(p.trim()).unwrap_or_else(|_| p.trim().into()))
        .next()
}

/// Runs repart in a private mount namespace where the library file is replaced by an
/// empty file (dlopen then fails as if it were not installed).
fn run_without_library(lib: &Path, dir: &Path, args: &[&str]) -> crate::common::Output {
    let bin = env!("CARGO_BIN_EXE_repart");
    let script = format!(
        "mount --bind /dev/null '{}' && exec '{bin}' \"$@\"",
        lib.display()
    );
    let mut argv: Vec<OsString> = vec!["-m".into(), "sh".into(), "-c".into(), script.into()];
    argv.push("sh".into());
    argv.extend(args.iter().map(OsString::from));
    let env = vec![("PATH".to_string(), crate::common::fs_path())];
    run(
        Path::new("/usr/bin/unshare"),
        &argv,
        dir,
        &env,
        Duration::from_secs(120),
    )
}

#[test]
fn missing_libcryptsetup_is_named_before_anything_is_written() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root for a private mount namespace");
        return;
    }
    let Some(lib) = installed_library() else {
        eprintln!("skipped: libcryptsetup.so.12 is not installed, nothing to hide");
        return;
    };
    let t = TempDir::new("repart-crypt");
    let dir = &t.path;
    std::fs::create_dir(dir.join("plain")).unwrap();
    std::fs::write(
        dir.join("plain/10-a.conf"),
        "[Partition]\nType=linux-generic\nSizeMinBytes=16M\nSizeMaxBytes=16M\n",
    )
    .unwrap();
    std::fs::create_dir(dir.join("enc")).unwrap();
    std::fs::write(
        dir.join("enc/20-b.conf"),
        "[Partition]\nType=srv\nFormat=ext4\nEncrypt=key-file\n",
    )
    .unwrap();
    let common = [
        "--empty=allow",
        "--seed=e2a40bf9-73f1-4278-9160-49c031e7aedd",
        "--dry-run=no",
        "--offline=yes",
    ];
    // Without the library, everything that does not encrypt still works.
    let img = dir.join("img.raw");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(128 << 20)
        .unwrap();
    let mut args = vec!["--definitions=plain"];
    args.extend(common);
    args.push("img.raw");
    let out = run_without_library(&lib, dir, &args);
    assert_eq!(
        out.status,
        0,
        "a run without Encrypt= failed without libcryptsetup:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let before = std::fs::read(&img).unwrap();
    // A dry run with Encrypt= needs no library either.
    let dry: Vec<&str> = args
        .iter()
        .map(|a| match *a {
            "--dry-run=no" => "--dry-run=yes",
            "--definitions=plain" => "--definitions=enc",
            other => other,
        })
        .collect();
    let out = run_without_library(&lib, dir, &dry);
    assert_eq!(out.status, 0, "{}", String::from_utf8_lossy(&out.stderr));
    // Writing an encrypted partition fails, naming the library, with the image untouched.
    let mut args = vec!["--definitions=plain", "--definitions=enc"];
    args.extend(common);
    args.push("img.raw");
    let out = run_without_library(&lib, dir, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status, 1, "{stderr}");
    assert!(
        stderr.contains("libcryptsetup not found, cannot encrypt: libcryptsetup.so.12"),
        "the error does not name the library:\n{stderr}"
    );
    assert!(
        std::fs::read(&img).unwrap() == before,
        "the image was changed"
    );
}
