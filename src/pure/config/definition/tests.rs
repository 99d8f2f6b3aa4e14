//! Unit tests of `definition`: implied values, the validation steps of spec §2.2 and
//! the cross-definition checks, with the message texts checked against the oracle.

use super::super::keys::tests::sys;
use super::super::{Level, PartitionFilter, UuidSetting};
use super::*;

fn opts() -> LoadOptions {
    LoadOptions {
        utf8: true,
        running_as_root: true,
        ..LoadOptions::default()
    }
}

fn parse_with(
    o: &LoadOptions,
    name: &str,
    text: &str,
) -> (Result<Option<Definition>, String>, Vec<Diagnostic>) {
    let path = PathBuf::from(format!("/d/{name}"));
    let files = [SourceFile {
        path: path.clone(),
        content: text.as_bytes().to_vec(),
    }];
    let mut diags = Vec::new();
    let r = parse_definition(path, &files, Vec::new(), o, &sys(), &mut diags);
    (r.map_err(|e| e.message), diags)
}

fn def(text: &str) -> Definition {
    let (r, _) = parse_with(&opts(), "10-x.conf", &format!("[Partition]\n{text}"));
    r.unwrap().unwrap()
}

fn refused(o: &LoadOptions, text: &str) -> String {
    let (r, _) = parse_with(o, "10-x.conf", &format!("[Partition]\n{text}"));
    r.unwrap_err()
}

fn at1(m: &str) -> String {
    format!("/d/10-x.conf:1: {m}")
}

#[test]
fn defaults() {
    let d = def("Type=linux-generic\n");
    assert_eq!(d.weight, 1000);
    assert_eq!(d.format, None);
    assert_eq!(d.split_name.as_deref(), Some("%t"));
    assert_eq!((d.read_only, d.growfs), (None, None));
    let d = def("Type=linux-generic\nSplitName=-\n");
    assert_eq!(d.split_name, None);
    let d = def("Type=linux-generic\nSplitName=%t.raw\n");
    assert_eq!(d.split_name.as_deref(), Some("%t.raw"));
}

#[test]
fn validation_messages_in_order() {
    let o = opts();
    let t = "Type=linux-generic\n";
    assert_eq!(
        refused(&o, &format!("{t}SizeMinBytes=10M\nSizeMaxBytes=5M\n")),
        at1("SizeMinBytes= larger than SizeMaxBytes=, refusing.")
    );
    assert_eq!(
        refused(&o, &format!("{t}PaddingMinBytes=10M\nPaddingMaxBytes=5M\n")),
        at1("PaddingMinBytes= larger than PaddingMaxBytes=, refusing.")
    );
    assert_eq!(
        refused(&o, "Label=x\n"),
        at1("Type= not defined, refusing.")
    );
    // Size checks come before the Type= check.
    assert_eq!(
        refused(&o, "SizeMinBytes=10M\nSizeMaxBytes=5M\n"),
        at1("SizeMinBytes= larger than SizeMaxBytes=, refusing.")
    );
    let combo = "Format=/CopyFiles=/MakeDirectories=/MakeSymlinks= and CopyBlocks= cannot be combined, refusing.";
    assert_eq!(
        refused(&o, &format!("{t}CopyBlocks=/dev/zero\nFormat=ext4\n")),
        at1(combo)
    );
    assert_eq!(
        refused(&o, &format!("{t}CopyBlocks=auto\nMakeDirectories=/a\n")),
        at1(combo)
    );
    assert_eq!(
        refused(&o, &format!("{t}Format=swap\nCopyFiles=/tmp\n")),
        at1(
            "Format=swap and CopyFiles=/MakeDirectories=/MakeSymlinks= cannot be combined, refusing."
        )
    );
    assert_eq!(
        refused(&o, &format!("{t}Minimize=guess\n")),
        at1("Minimize= can only be enabled if Format= or Verity=hash are set.")
    );
    assert_eq!(
        refused(&o, &format!("{t}Format=ext4\nMinimize=yes\n")),
        at1("Minimize=best can only be used with read-only filesystems or Verity=hash.")
    );
    assert_eq!(
        refused(&o, &format!("{t}Format=squashfs\n")),
        at1("Cannot format squashfs filesystem without source files, refusing.")
    );
    assert_eq!(
        refused(&o, &format!("{t}Verity=signature\nVerityMatchKey=k\n")),
        at1("Verity signature partition requested but no private key provided (--private-key=).")
    );
    // Encryption is accepted with every mode, also with block copies and Minimize=
    // (and without Format=: ext4 is implied).
    for mode in ["key-file", "tpm2", "key-file+tpm2"] {
        for extra in [
            "",
            "CopyBlocks=/dev/zero\n",
            "Format=ext4\nMinimize=guess\nCopyFiles=/tmp\n",
        ] {
            let text = format!("[Partition]\n{t}Encrypt={mode}\n{extra}");
            let (r, _) = parse_with(&o, "10-x.conf", &text);
            let defs = vec![r.expect("accepted").expect("a definition")];
            assert!(check_set(&defs).is_ok(), "{mode} {extra}");
        }
    }
    assert_eq!(
        refused(&o, &format!("{t}Encrypt=tpm2\nSupplementFor=foo\n")),
        at1("SupplementFor= cannot be combined with CopyBlocks=/Encrypt=/Verity=")
    );
    // Verity=data/hash need no external library.
    assert_eq!(
        refused(&o, &format!("{t}Verity=data\n")),
        at1("VerityMatchKey= must be set if Verity=data.")
    );
    assert_eq!(
        refused(&o, &format!("{t}VerityMatchKey=foo\n")),
        at1("VerityMatchKey= can only be set if Verity= is not \"off\".")
    );
    assert_eq!(
        refused(&o, &format!("{t}DefaultSubvolume=/a\n")),
        at1("DefaultSubvolume= must be one of the paths in Subvolumes=.")
    );
    assert_eq!(
        refused(&o, &format!("{t}SupplementFor=a/b\n")),
        at1("SupplementFor= is an invalid filename: a/b")
    );
    assert_eq!(
        refused(&o, &format!("{t}SupplementFor=foo\nCopyBlocks=/dev/zero\n")),
        at1("SupplementFor= cannot be combined with CopyBlocks=/Encrypt=/Verity=")
    );
    // Subvolumes= with --offline=yes is accepted by 257.13.
    let off = LoadOptions {
        offline: Some(true),
        ..opts()
    };
    let (r, _) = parse_with(
        &off,
        "10-x.conf",
        "[Partition]\nType=linux-generic\nFormat=btrfs\nSubvolumes=/a\nDefaultSubvolume=/a\n",
    );
    assert!(r.unwrap().is_some());
}

#[test]
fn not_root_and_crypto_checks() {
    let user = LoadOptions {
        running_as_root: false,
        ..opts()
    };
    assert_eq!(
        refused(&user, "Type=linux-generic\nFormat=foo\nCopyFiles=/tmp\n"),
        at1(
            "Need to be root to populate foo filesystems with CopyFiles=/MakeDirectories=/MakeSymlinks=."
        )
    );
    let (r, _) = parse_with(
        &user,
        "10-x.conf",
        "[Partition]\nType=linux-generic\nFormat=ext4\nCopyFiles=/tmp\n",
    );
    assert!(r.is_ok());
    let c = opts();
    let t = "Type=linux-generic\n";
    assert_eq!(
        refused(&c, &format!("{t}Verity=data\n")),
        at1("VerityMatchKey= must be set if Verity=data.")
    );
    assert_eq!(
        refused(
            &c,
            &format!("{t}Verity=hash\nVerityMatchKey=k\nFormat=ext4\n")
        ),
        at1(
            "CopyBlocks=/CopyFiles=/Format=/MakeDirectories=/MakeSymlinks= cannot be used with Verity=hash."
        )
    );
    assert_eq!(
        refused(
            &c,
            &format!("{t}Verity=data\nVerityMatchKey=k\nEncrypt=yes\n")
        ),
        at1("Encrypting verity hash/data partitions is not supported.")
    );
    assert_eq!(
        refused(&c, &format!("{t}Verity=signature\nVerityMatchKey=k\n")),
        at1("Verity signature partition requested but no private key provided (--private-key=).")
    );
    let k = LoadOptions {
        have_private_key: true,
        ..c.clone()
    };
    assert_eq!(
        refused(&k, &format!("{t}Verity=signature\nVerityMatchKey=k\n")),
        at1(
            "Verity signature partition requested but no PEM certificate provided (--certificate=)."
        )
    );
    let kc = LoadOptions {
        have_certificate: true,
        ..k
    };
    assert_eq!(
        refused(
            &kc,
            &format!("{t}Verity=signature\nVerityMatchKey=k\nSizeMaxBytes=16K\n")
        ),
        at1("SizeMinBytes=/SizeMaxBytes= cannot be used with Verity=signature.")
    );
}

#[test]
fn implied_format() {
    assert_eq!(
        def("Type=swap\n").format.as_ref().map(FileSystem::name),
        Some("swap")
    );
    assert_eq!(
        def("Type=esp\nCopyFiles=/tmp\n")
            .format
            .as_ref()
            .map(FileSystem::name),
        Some("vfat")
    );
    assert_eq!(
        def("Type=xbootldr\nMakeDirectories=/a\n")
            .format
            .as_ref()
            .map(FileSystem::name),
        Some("vfat")
    );
    assert_eq!(
        def("Type=home\nMakeSymlinks=/a:b\n")
            .format
            .as_ref()
            .map(FileSystem::name),
        Some("ext4")
    );
    assert_eq!(def("Type=home\n").format, None);
    let c = opts();
    let (r, _) = parse_with(&c, "10-x.conf", "[Partition]\nType=srv\nEncrypt=yes\n");
    assert_eq!(
        r.unwrap().unwrap().format.as_ref().map(FileSystem::name),
        Some("ext4")
    );
}

#[test]
fn implied_flags() {
    let d = def("Type=root\nGrowFileSystem=no\n");
    assert_eq!((d.read_only, d.growfs), (None, Some(true)));
    let d = def("Type=root\nReadOnly=yes\n");
    assert_eq!((d.read_only, d.growfs), (Some(true), None));
    let d = def("Type=root-verity\n");
    assert_eq!((d.read_only, d.growfs), (Some(true), None));
    let d = def("Type=usr-verity\nReadOnly=no\n");
    assert_eq!(d.read_only, Some(false));
    let d = def("Type=esp\nGrowFileSystem=yes\n");
    assert_eq!(d.growfs, Some(true));
    let d = def("Type=linux-generic\nReadOnly=yes\n");
    assert_eq!((d.read_only, d.growfs), (Some(true), None));
}

#[test]
fn filters_discard_silently() {
    let root = crate::pure::gpt_types::PartitionType::parse("root")
        .unwrap()
        .uuid;
    let o = LoadOptions {
        partition_filter: Some(PartitionFilter::Exclude(vec![root])),
        ..opts()
    };
    let (r, _) = parse_with(
        &o,
        "10-x.conf",
        "[Partition]\nType=root\nSizeMinBytes=10M\nSizeMaxBytes=1M\n",
    );
    assert_eq!(r, Ok(None));
    let o = LoadOptions {
        partition_filter: Some(PartitionFilter::Include(vec![root])),
        ..opts()
    };
    let (r, _) = parse_with(&o, "10-x.conf", "[Partition]\nType=esp\n");
    assert_eq!(r, Ok(None));
    let (r, _) = parse_with(&o, "10-x.conf", "[Partition]\nLabel=no-type\n");
    assert_eq!(r, Ok(None));
    let (r, _) = parse_with(&o, "10-x.conf", "[Partition]\nType=root\nUUID=null\n");
    assert_eq!(r.unwrap().unwrap().uuid, Some(UuidSetting::Null));
}

#[test]
fn designator_fstype_override() {
    let mut o = opts();
    o.fstype_override_by_designator
        .insert("ROOT".into(), "btrfs".into());
    o.fstype_override_by_designator
        .insert("LINUX_GENERIC".into(), "xfs".into());
    let (r, diags) = parse_with(&o, "10-x.conf", "[Partition]\nType=root\nFormat=ext4\n");
    assert_eq!(
        r.unwrap().unwrap().format.as_ref().map(FileSystem::name),
        Some("btrfs")
    );
    assert_eq!(diags[0].level, Level::Notice);
    assert_eq!(
        diags[0].message,
        at1("Overriding defined file system type 'ext4' for 'root' partition with 'btrfs'.")
    );
    let (_, diags) = parse_with(&o, "10-x.conf", "[Partition]\nType=root\n");
    assert_eq!(
        diags[0].message,
        at1("Overriding defined file system type '(null)' for 'root' partition with 'btrfs'.")
    );
    let (_, diags) = parse_with(&o, "10-x.conf", "[Partition]\nType=root\nFormat=btrfs\n");
    assert!(diags.is_empty());
    let (r, diags) = parse_with(
        &o,
        "10-x.conf",
        "[Partition]\nType=linux-generic\nFormat=ext4\n",
    );
    assert_eq!(
        r.unwrap().unwrap().format.as_ref().map(FileSystem::name),
        Some("ext4")
    );
    assert!(diags.is_empty());
}

#[test]
fn ini_errors_propagate_after_warnings() {
    let (r, diags) = parse_with(
        &opts(),
        "10-x.conf",
        "[Partition]\nFoo=1\nType=bogus\nBar=2\n",
    );
    assert_eq!(
        r.unwrap_err(),
        "/d/10-x.conf:3: Failed to parse file: Invalid argument"
    );
    let msgs: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        msgs,
        vec![
            "/d/10-x.conf:2: Unknown key 'Foo' in section [Partition], ignoring.",
            "/d/10-x.conf:3: Failed to parse partition type: bogus",
        ]
    );
    let (r, _) = parse_with(&opts(), "10-x.conf", "[Partition\n");
    assert_eq!(
        r.unwrap_err(),
        "/d/10-x.conf:1: Failed to parse file: Bad message"
    );
}

fn named(name: &str, text: &str) -> Definition {
    let (r, _) = parse_with(
        &opts(),
        name,
        &format!("[Partition]\nType=linux-generic\n{text}"),
    );
    r.unwrap().unwrap()
}

#[test]
fn supplement_cross_checks() {
    let err = |defs: &[Definition]| cross_check(defs).unwrap_err().message;
    let ok = [
        named("10-a.conf", "SupplementFor=30-c\n"),
        named("30-c.conf", ""),
    ];
    assert!(cross_check(&ok).is_ok());
    assert_eq!(
        err(&[
            named("10-a.conf", "SupplementFor=20-b\n"),
            named("20-b.conf", "SupplementFor=10-a\n")
        ]),
        "/d/10-a.conf:1: SupplementFor= target is itself configured as a supplement."
    );
    assert_eq!(
        err(&[
            named("10-a.conf", "SupplementFor=30-c\n"),
            named("20-b.conf", "SupplementFor=30-c\n"),
            named("30-c.conf", "")
        ]),
        "/d/20-b.conf:1: SupplementFor= target already has a supplement defined: /d/10-a.conf"
    );
    assert_eq!(
        err(&[
            named("10-a.conf", "SupplementFor=30-c\n"),
            named("30-c.conf", "CopyBlocks=/dev/zero\n")
        ]),
        "/d/10-a.conf:1: SupplementFor= target uses CopyBlocks=/Encrypt=/Verity="
    );
    assert_eq!(
        err(&[
            named("10-a.conf", "SupplementFor=30-c\nSizeMinBytes=10M\n"),
            named("30-c.conf", "SizeMaxBytes=5M\n")
        ]),
        "/d/10-a.conf:1: SizeMinBytes= larger than SizeMaxBytes= when merged with SupplementFor= target."
    );
    assert_eq!(
        err(&[
            named("10-a.conf", "SupplementFor=30-c\nPaddingMinBytes=10M\n"),
            named("30-c.conf", "PaddingMaxBytes=5M\n")
        ]),
        "/d/10-a.conf:1: PaddingMinBytes= larger than PaddingMaxBytes= when merged with SupplementFor= target."
    );
    assert_eq!(
        err(&[
            named("10-a.conf", "SupplementFor=30-c.conf\n"),
            named("30-c.conf", "")
        ]),
        "/d/10-a.conf:1: Couldn't find target partition for SupplementFor=30-c.conf"
    );
    assert_eq!(
        err(&[named("10-a.conf", "SupplementFor=10-a\n")]),
        "/d/10-a.conf:1: Couldn't find target partition for SupplementFor=10-a"
    );
}

fn verity(name: &str, mode: VerityMode, key: &str, priority: i32) -> Definition {
    let mut d = named(name, "");
    d.verity = mode;
    d.verity_match_key = Some(key.to_string());
    d.priority = priority;
    d
}

#[test]
fn verity_cross_checks() {
    let err = |defs: &[Definition]| cross_check(defs).unwrap_err().message;
    let data = verity("10-data.conf", VerityMode::Data, "k", 0);
    let hash = verity("20-hash.conf", VerityMode::Hash, "k", 0);
    assert!(cross_check(&[data.clone(), hash.clone()]).is_ok());
    assert_eq!(
        err(std::slice::from_ref(&data)),
        "/d/10-data.conf:1: Missing verity hash partition for verity data partition with VerityMatchKey=k."
    );
    assert_eq!(
        err(std::slice::from_ref(&hash)),
        "/d/20-hash.conf:1: Missing verity data partition for verity hash partition with VerityMatchKey=k."
    );
    let hash2 = verity("30-hash.conf", VerityMode::Hash, "k", 0);
    assert_eq!(
        err(&[data.clone(), hash.clone(), hash2]),
        "/d/10-data.conf:1: Multiple verity hash partitions found for verity data partition with VerityMatchKey=k."
    );
    let hash_p = verity("20-hash.conf", VerityMode::Hash, "k", 5);
    assert_eq!(
        err(&[data.clone(), hash_p]),
        "/d/10-data.conf:1: Priority mismatch (0 != 5) for verity sibling partitions with VerityMatchKey=k."
    );
    let mut hash_min = hash.clone();
    hash_min.minimize = Minimize::Best;
    assert_eq!(
        err(&[data.clone(), hash_min.clone()]),
        "/d/20-hash.conf:1: Minimize= set for verity hash partition but data partition does not set CopyBlocks= or Minimize=."
    );
    let mut data_cb = data;
    data_cb.copy_blocks = Some(CopyBlocks::Auto);
    assert!(cross_check(&[data_cb, hash_min]).is_ok());
}
