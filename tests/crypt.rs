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

/// A dry run with `Encrypt=key-file` partitions to add leaves an existing image byte for
/// byte as it was, with and without `--empty=force`, and `--empty=create` refuses a file
/// that exists (goldens luks-dry-run-existing, luks-empty-force-dry-run,
/// luks-empty-create-exists show the output). Checked for our binary and for the oracle.
/// (`--empty=create` on a new file is not a dry run, upstream writes the image:
/// golden luks-empty-create-dry-run.)
#[test]
fn dry_run_with_encrypt_leaves_the_target_untouched() {
    for bin in
        crate::common::binaries_with_oracle("dry_run_with_encrypt_leaves_the_target_untouched")
    {
        let t = TempDir::new("repart-crypt");
        let dir = &t.path;
        std::fs::create_dir(dir.join("d")).unwrap();
        std::fs::write(
            dir.join("d/10-data.conf"),
            "[Partition]\nType=srv\nFormat=ext4\nEncrypt=key-file\n",
        )
        .unwrap();
        std::fs::write(dir.join("key"), "correct horse battery staple").unwrap();
        let setup = "truncate -s 200M img.raw && chmod 0600 key && \
                     printf 'label: gpt\\nsize=10M, type=L\\n' | sfdisk -q img.raw && \
                     printf 'not zero' | dd of=img.raw bs=1 seek=5242880 conv=notrunc status=none";
        let env = crate::common::child_env(crate::common::fs_path());
        let out = crate::common::bash(dir, setup, &env);
        assert_eq!(
            out.status,
            0,
            "setup: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let before = std::fs::read(dir.join("img.raw")).unwrap();
        for (empty, status) in [
            (None, 0),
            (Some("--empty=force"), 0),
            (Some("--empty=create"), 1),
        ] {
            let mut args: Vec<OsString> = vec![
                "--definitions=d".into(),
                "--dry-run=yes".into(),
                "--offline=yes".into(),
                "--seed=e2a40bf9-73f1-4278-9160-49c031e7aedd".into(),
            ];
            args.push(format!("--key-file={}", dir.join("key").display()).into());
            if let Some(e) = empty {
                args.push(e.into());
            }
            if empty == Some("--empty=create") {
                // (--size=auto on an existing image grows the file even in a dry run,
                // as upstream does: not what this test is about)
                args.push("--size=auto".into());
            }
            args.push(dir.join("img.raw").into());
            let out = run(&bin, &args, dir, &env, Duration::from_secs(300));
            assert_eq!(
                out.status,
                status,
                "{} {empty:?}: {}",
                bin.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                std::fs::read(dir.join("img.raw")).unwrap() == before,
                "{} {empty:?}: the dry run changed the image",
                bin.display()
            );
        }
    }
}
