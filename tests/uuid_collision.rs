//! `uuid_collision`: when the partition UUID derived from the seed is already taken
//! by an existing partition, upstream logs a warning and draws one random UUID for
//! the run. Whatever is drawn, the file-system UUID derived from it must be the same
//! in `--generate-fstab=`, in the formatted file system (read back with `blkid -p`),
//! and must derive from the partition UUID `--json` shows; with `Minimize=guess`
//! the file system is made before the plan, so every planner call has to agree.
//! The warning comes before `fstab written.`, as upstream logs it.
//!
//! Runs our binary, and the oracle too when it is installed (the same property
//! holds upstream). Needs the mkfs tools (`REPART_FS_TOOLS`, see tests/common.rs);
//! skipped without them unless `REPART_REQUIRE_ORACLE=1`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use uuid::Uuid;

use crate::common::*;

const SEED: &str = "750b6cd5c4ae4012a15e7be3c29e6a47";
const LINUX_GENERIC: &str = "0fc63daf-8483-4772-8e79-3d69d8477de4";
const SWAP: &str = "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F";
/// The exact line (with upstream's partition number) is compared by the golden
/// case uuid-collision-seed-taken; here it only proves the collision happened.
const WARNING: &str = "already used, reverting to randomized UUID.";

fn binaries() -> Vec<PathBuf> {
    binaries_with_oracle("uuid_collision")
}

fn env() -> Vec<(String, OsString)> {
    child_env(fs_path())
}

fn sh(dir: &Path, script: &str) -> String {
    let o = bash(dir, script, &env());
    assert_eq!(
        o.status,
        0,
        "{script}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The image: one swap partition whose UUID is the one the seed derives for the
/// first linux-generic partition, and a definition of such a partition.
fn prepare(dir: &Path, taken: Uuid) {
    std::fs::create_dir_all(dir.join("repart.d")).unwrap();
    std::fs::create_dir_all(dir.join("src/sub")).unwrap();
    std::fs::write(dir.join("src/sub/file"), "hello\n").unwrap();
    std::fs::write(
        dir.join("repart.d/10-data.conf"),
        format!(
            "[Partition]\nType=linux-generic\nFormat=ext4\nMinimize=guess\nMountPoint=/data\nCopyFiles={}:/\n",
            dir.join("src").display()
        ),
    )
    .unwrap();
    sh(
        dir,
        &format!(
            "truncate -s 256M img.raw\nprintf 'label: gpt\\nsize=8M, type={SWAP}, uuid={taken}\\n' | sfdisk -q img.raw"
        ),
    );
}

fn check(bin: &Path) {
    let seed = Uuid::parse_str(SEED).unwrap();
    let taken =
        repart::pure::plan::ids::partition_uuid(seed, Uuid::parse_str(LINUX_GENERIC).unwrap(), 0);
    let tmp = TempDir::new("repart-uuid-collision");
    let dir = &tmp.path;
    prepare(dir, taken);
    let args: Vec<OsString> = [
        "--definitions=repart.d".to_string(),
        format!("--seed={SEED}"),
        "--dry-run=no".into(),
        "--offline=yes".into(),
        "--generate-fstab=fstab".into(),
        "--json=short".into(),
        "img.raw".into(),
    ]
    .into_iter()
    .map(OsString::from)
    .collect();
    let o = run(bin, &args, dir, &env(), Duration::from_secs(300));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let who = bin.display();
    assert_eq!(o.status, 0, "{who}: {stderr}");
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let row = json
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "linux-generic")
        .unwrap_or_else(|| panic!("{who}: no linux-generic row: {json}"));
    let part_uuid = Uuid::parse_str(row["uuid"].as_str().unwrap()).unwrap();
    assert_ne!(part_uuid, taken, "{who}: the taken UUID was used again");
    let offset = row["offset"].as_u64().unwrap();
    let derived_fs = repart::pure::plan::ids::fs_uuid(part_uuid);

    let fstab = std::fs::read_to_string(dir.join("fstab")).unwrap();
    let fstab_uuid = fstab
        .lines()
        .find_map(|l| l.strip_prefix("UUID=")?.split_whitespace().next())
        .unwrap_or_else(|| panic!("{who}: no UUID= line in fstab: {fstab}"))
        .to_string();
    let blkid = sh(
        dir,
        &format!("blkid -p -O {offset} -s UUID -o value img.raw"),
    );
    let sfdisk = sh(dir, "sfdisk -d img.raw");

    assert_eq!(
        fstab_uuid,
        derived_fs.to_string(),
        "{who}: fstab and JSON disagree"
    );
    assert_eq!(
        blkid.trim(),
        derived_fs.to_string(),
        "{who}: file system and JSON disagree"
    );
    assert!(
        sfdisk.contains(&format!("uuid={}", part_uuid.to_string().to_uppercase())),
        "{who}: the partition table has another UUID than JSON: {sfdisk}"
    );
    // Logged when the UUIDs are decided, before the fstab is written (upstream's order).
    let warned = stderr.find(WARNING);
    let written = stderr.find("fstab written.");
    assert!(
        warned.is_some() && warned < written,
        "{who}: no collision warning before the fstab is written: {stderr}"
    );
}

#[test]
fn uuid_collision_fallback_is_the_same_everywhere() {
    match fs_tools_available() {
        Ok(()) => {}
        Err(why) if std::env::var("REPART_REQUIRE_ORACLE").as_deref() == Ok("1") => {
            panic!("uuid_collision: mkfs tools required: {why}")
        }
        Err(why) => {
            eprintln!("uuid_collision: SKIPPED: {why}");
            return;
        }
    }
    for bin in binaries() {
        check(&bin);
    }
}
