//! Crash safety in live mode: a first-boot run (new partitions added and formatted on
//! a grown image holding a partition with data) is killed with SIGKILL at every step
//! of applying the plan (`src/shell/fault.rs`, built with `--features fault-injection`).
//! After every kill the partition table is the old or the new one, the existing
//! partition's data is intact, and running repart again completes the job with the
//! same table as an uninterrupted run.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use crate::common::{TempDir, base_path, repart_under_test, run, sfdisk_dump};

const SEED: &str = "750b6cd5c4ae4012a15e7be3c29e6a47";
const POINTS: [&str; 6] = [
    "wiped",
    "copied",
    "formatted",
    "gpt-backup",
    "gpt-primary-entries",
    "gpt-primary",
];

fn sh(dir: &Path, script: &str) {
    let o = run(
        Path::new("/bin/sh"),
        &[OsString::from("-ec"), OsString::from(script)],
        dir,
        &[("PATH".into(), base_path())],
        Duration::from_secs(120),
    );
    assert_eq!(
        o.status,
        0,
        "{script}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn repart(dir: &Path, defs: &str, image: &str, fault: Option<&str>) -> i32 {
    let mut env = vec![
        ("PATH".to_string(), base_path()),
        ("TMPDIR".to_string(), dir.join("tmp").into_os_string()),
    ];
    if let Some(point) = fault {
        env.push(("REPART_FAULT_AT".into(), point.into()));
    }
    let args: Vec<OsString> = [
        format!("--definitions={defs}"),
        format!("--seed={SEED}"),
        "--dry-run=no".into(),
        image.into(),
    ]
    .into_iter()
    .map(OsString::from)
    .collect();
    run(
        &repart_under_test(),
        &args,
        dir,
        &env,
        Duration::from_secs(120),
    )
    .status
}

/// sha256 of the data partition (slot 0) of `image`.
fn data_digest(dir: &Path, image: &str) -> String {
    let o = run(
        Path::new("/bin/sh"),
        &[
            OsString::from("-ec"),
            OsString::from(format!(
                "dd if={image} bs=1M skip=1 count=8 status=none | sha256sum"
            )),
        ],
        dir,
        &[("PATH".into(), base_path())],
        Duration::from_secs(60),
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn table(dir: &Path, image: &str) -> String {
    String::from_utf8_lossy(&sfdisk_dump(&dir.join(image), dir)).replace(image, "IMG")
}

#[test]
fn killed_at_every_step_keeps_data_and_completes() {
    let t = TempDir::new("repart-crash");
    let d = &t.path;
    std::fs::create_dir(d.join("tmp")).unwrap();
    sh(
        d,
        "mkdir -p first.d second.d
printf '[Partition]\\nType=linux-generic\\nLabel=data\\nSizeMinBytes=8M\\nSizeMaxBytes=8M\\n' > first.d/10-data.conf
cp first.d/10-data.conf second.d/
printf '[Partition]\\nType=home\\nFormat=ext4\\nWeight=2000\\n' > second.d/20-home.conf
printf '[Partition]\\nType=var\\nWeight=1000\\n' > second.d/30-var.conf",
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
    // Data in the existing partition, then the "disk" grows behind it.
    sh(
        d,
        "head -c 8388608 /dev/urandom | dd of=base.raw bs=1M seek=1 conv=notrunc status=none
truncate -s +120M base.raw
cp --sparse=always base.raw ref.raw",
    );
    let data = data_digest(d, "base.raw");
    let old = table(d, "base.raw");
    assert_eq!(repart(d, "second.d", "ref.raw", None), 0);
    let new = table(d, "ref.raw");
    assert_ne!(old, new);
    assert_eq!(data_digest(d, "ref.raw"), data);

    for point in POINTS {
        let image = format!("{point}.raw");
        sh(d, &format!("cp --sparse=always base.raw {image}"));
        let status = repart(d, "second.d", &image, Some(point));
        assert_eq!(
            status,
            128 + 9,
            "{point}: expected SIGKILL (is the binary built with --features fault-injection?)"
        );
        let after = table(d, &image);
        assert!(
            after == old || after == new,
            "{point}: neither the old nor the new table:\n{after}"
        );
        assert_eq!(
            data_digest(d, &image),
            data,
            "{point}: data partition changed"
        );
        assert_eq!(
            repart(d, "second.d", &image, None),
            0,
            "{point}: rerun failed"
        );
        assert_eq!(table(d, &image), new, "{point}: rerun gave another table");
        assert_eq!(
            data_digest(d, &image),
            data,
            "{point}: data changed by the rerun"
        );
        eprintln!(
            "crash at {point}: table after kill was the {} one; rerun completed",
            if after == old { "old" } else { "new" }
        );
    }
}
