//! Unit tests of `keys`: every key's parse rules and message texts (out of line in
//! `keys/tests.rs` so `keys.rs` stays short). Expected texts were checked against the v257 oracle.

use super::super::specifier::{OsRelease, SystemInfo};
use super::super::{Diagnostic, Level, LoadOptions};
use super::*;

pub(crate) fn sys() -> SystemInfo {
    SystemInfo {
        machine_id: Some("0123456789abcdef0123456789abcdef".into()),
        boot_id: Some("fedcba9876543210fedcba9876543210".into()),
        hostname: "host".into(),
        short_hostname: "host".into(),
        pretty_hostname: None,
        os_release: Some(OsRelease::default()),
        kernel_arch: "x86-64".into(),
        kernel_release: "6.1".into(),
        tmp_dir: "/tmp".into(),
        var_tmp_dir: "/var/tmp".into(),
    }
}

fn opts() -> LoadOptions {
    LoadOptions {
        utf8: true,
        running_as_root: true,
        ..LoadOptions::default()
    }
}

/// Applies `lines` (key, value) in order; returns the draft, messages and the error.
fn run_with(
    o: &LoadOptions,
    lines: &[(&str, &str)],
) -> (Draft, Vec<Diagnostic>, Option<ConfigError>) {
    let s = sys();
    let ctx = Ctx {
        path: "/d/x.conf",
        opts: o,
        sys: &s,
    };
    let mut draft = Draft::new("/d/x.conf".into());
    let mut diags = Vec::new();
    for (i, (k, v)) in lines.iter().enumerate() {
        let a = Assignment {
            line: u32::try_from(i).unwrap() + 1,
            key: k.to_string(),
            value: v.to_string(),
        };
        if let Err(e) = apply(&mut draft, &a, ctx, &mut diags) {
            return (draft, diags, Some(e));
        }
    }
    (draft, diags, None)
}

fn run(lines: &[(&str, &str)]) -> (Draft, Vec<String>, Option<String>) {
    let (d, diags, e) = run_with(&opts(), lines);
    let msgs = diags.into_iter().map(|d| d.message).collect();
    (d, msgs, e.map(|e| e.message))
}

fn at(line: usize, m: &str) -> String {
    format!("/d/x.conf:{line}: {m}")
}

#[test]
fn type_key() {
    let (d, m, e) = run(&[("Type", "root")]);
    assert!(d.has_type && m.is_empty() && e.is_none());
    assert_eq!(d.def.partition_type.display_name(), "root-x86-64");
    let (_, m, e) = run(&[("Type", "bogus")]);
    assert_eq!(m, vec![at(1, "Failed to parse partition type: bogus")]);
    assert_eq!(e.unwrap(), at(1, "Failed to parse file: Invalid argument"));
    let o = LoadOptions {
        architecture: Some("arm64"),
        ..opts()
    };
    let (d, _, _) = run_with(&o, &[("Type", "root-verity")]);
    assert_eq!(d.def.partition_type.display_name(), "root-arm64-verity");
}

#[test]
fn label_key() {
    let (d, m, _) = run(&[
        ("Label", "ok %%"),
        ("Label", "%z"),
        ("Label", &"a".repeat(37)),
    ]);
    assert_eq!(d.def.label.as_deref(), Some("ok %"));
    assert_eq!(
        m,
        vec![
            at(2, "Failed to expand specifiers in Label=, ignoring: %z"),
            at(
                3,
                &format!(
                    "Failed to expand specifiers in Label=, ignoring: {}",
                    "a".repeat(37)
                )
            ),
        ]
    );
    let (d, _, _) = run(&[("Label", "x"), ("Label", "")]);
    assert_eq!(d.def.label.as_deref(), Some(""));
    let (d, _, _) = run(&[("Label", "%a-%H")]);
    assert_eq!(d.def.label.as_deref(), Some("x86-64-host"));
}

#[test]
fn uuid_key() {
    let (d, m, _) = run(&[
        ("UUID", "abc"),
        ("UUID", "NULL"),
        ("UUID", "{12345678-1234-1234-1234-123456789abc}"),
        ("UUID", "12345678123412341234123456789ABC"),
    ]);
    assert_eq!(
        m,
        vec![
            at(1, "Failed to parse 128-bit ID/UUID, ignoring: abc"),
            at(2, "Failed to parse 128-bit ID/UUID, ignoring: NULL"),
            at(
                3,
                "Failed to parse 128-bit ID/UUID, ignoring: {12345678-1234-1234-1234-123456789abc}"
            ),
        ]
    );
    let expected = Uuid::parse_str("12345678-1234-1234-1234-123456789abc").unwrap();
    assert_eq!(d.def.uuid, Some(UuidSetting::Explicit(expected)));
    let (d, _, _) = run(&[("UUID", "null")]);
    assert_eq!(d.def.uuid, Some(UuidSetting::Null));
    let (d, _, _) = run(&[("UUID", "null"), ("UUID", "")]);
    assert_eq!(d.def.uuid, None);
}

#[test]
fn priority_weight_flags() {
    let (d, m, _) = run(&[
        ("Priority", "abc"),
        ("Priority", "0x10"),
        ("Priority", "99999999999"),
        ("Priority", "1.5"),
    ]);
    assert_eq!(d.def.priority, 16);
    assert_eq!(
        m,
        vec![
            at(
                1,
                "Failed to parse Priority=abc, ignoring: Invalid argument"
            ),
            at(
                3,
                "Failed to parse Priority=99999999999, ignoring: Numerical result out of range"
            ),
            at(
                4,
                "Failed to parse Priority=1.5, ignoring: Invalid argument"
            ),
        ]
    );
    let (d, m, _) = run(&[
        ("Weight", "abc"),
        ("Weight", "1000001"),
        ("Weight", "0x10"),
        ("PaddingWeight", "-1"),
        ("PaddingWeight", "2000000"),
        ("PaddingWeight", "010"),
    ]);
    assert_eq!((d.def.weight, d.def.padding_weight), (16, 8));
    assert_eq!(
        m,
        vec![
            at(1, "Failed to parse weight value, ignoring: abc"),
            at(
                2,
                "Weight needs to be in range 0…10000000, ignoring: 1000001"
            ),
            at(4, "Failed to parse weight value, ignoring: -1"),
            at(
                5,
                "Weight needs to be in range 0…10000000, ignoring: 2000000"
            ),
        ]
    );
    let (d, m, _) = run(&[("Flags", "0x8000000000000000"), ("Flags", "-1")]);
    assert_eq!(d.def.flags, 1 << 63);
    assert_eq!(m, vec![at(2, "Failed to parse Flags= value, ignoring: -1")]);
}

#[test]
fn sizes_round_with_notice() {
    let (d, m, _) = run(&[
        ("SizeMinBytes", "20971521"),
        ("SizeMaxBytes", "20971521"),
        ("PaddingMinBytes", "5000"),
        ("PaddingMaxBytes", "5000"),
    ]);
    assert_eq!(d.def.size_min, Some(20971520));
    assert_eq!(d.def.size_max, Some(20975616));
    assert_eq!(d.def.padding_min, Some(4096));
    assert_eq!(d.def.padding_max, Some(8192));
    assert_eq!(
        m,
        vec![
            at(
                1,
                "Rounded SizeMinBytes= size 20971521 → 20971520, a multiple of 4096."
            ),
            at(
                2,
                "Rounded SizeMaxBytes= size 20971521 → 20975616, a multiple of 4096."
            ),
            at(
                3,
                "Rounded PaddingMinBytes= size 5000 → 4096, a multiple of 4096."
            ),
            at(
                4,
                "Rounded PaddingMaxBytes= size 5000 → 8192, a multiple of 4096."
            ),
        ]
    );
    let o = LoadOptions {
        utf8: false,
        ..opts()
    };
    let (_, diags, _) = run_with(&o, &[("SizeMinBytes", "5000")]);
    assert_eq!(diags[0].level, Level::Notice);
    assert!(diags[0].message.contains("5000 -> 4096"));
    let (d, m, _) = run(&[("SizeMaxBytes", "18446744073709551615")]);
    assert_eq!((d.def.size_max, m.len()), (Some(u64::MAX), 0));
    for (v, errno) in [
        ("abc", "Invalid argument"),
        ("", "Invalid argument"),
        ("-1", "Numerical result out of range"),
        ("16E", "Numerical result out of range"),
    ] {
        let (_, m, e) = run(&[("PaddingMinBytes", v)]);
        assert_eq!(m, vec![at(1, &format!("Failed to parse size value: {v}"))]);
        assert_eq!(e.unwrap(), at(1, &format!("Failed to parse file: {errno}")));
    }
}

#[test]
fn booleans_and_tristates() {
    let (d, m, _) = run(&[
        ("FactoryReset", "yes"),
        ("FactoryReset", ""),
        ("ReadOnly", "maybe"),
        ("NoAuto", "on"),
        ("GrowFileSystem", "0"),
        ("ReadOnly", "1"),
        ("ReadOnly", ""),
    ]);
    assert!(d.def.factory_reset);
    assert_eq!(
        (d.def.read_only, d.def.no_auto, d.def.growfs),
        (None, Some(true), Some(false))
    );
    assert_eq!(
        m,
        vec![
            at(
                2,
                "Failed to parse FactoryReset=, ignoring: Invalid argument"
            ),
            at(
                3,
                "Failed to parse ReadOnly=maybe, ignoring: Invalid argument"
            ),
        ]
    );
}

#[test]
fn enums() {
    let (d, m, _) = run(&[
        ("Encrypt", "maybe"),
        ("Encrypt", "yes"),
        ("Verity", "no"),
        ("Verity", "hash"),
        ("Minimize", "x"),
        ("Minimize", "yes"),
    ]);
    assert_eq!(d.def.encrypt, EncryptMode::KeyFile);
    assert_eq!(d.def.verity, VerityMode::Hash);
    assert_eq!(d.def.minimize, Minimize::Best);
    assert_eq!(
        m,
        vec![
            at(
                1,
                "Failed to parse Encrypt=maybe, ignoring: Invalid argument"
            ),
            at(3, "Failed to parse Verity=no, ignoring: Invalid argument"),
            at(5, "Failed to parse Minimize=x, ignoring: Invalid argument"),
        ]
    );
    let (d, _, _) = run(&[
        ("Encrypt", "key-file+tpm2"),
        ("Minimize", "guess"),
        ("Verity", "signature"),
    ]);
    assert_eq!(
        (d.def.encrypt, d.def.minimize, d.def.verity),
        (
            EncryptMode::KeyFileTpm2,
            Minimize::Guess,
            VerityMode::Signature
        )
    );
    let (d, _, _) = run(&[
        ("Encrypt", "tpm2"),
        ("Encrypt", ""),
        ("Minimize", "best"),
        ("Minimize", "no"),
        ("Verity", "data"),
        ("Verity", ""),
    ]);
    assert_eq!(
        (d.def.encrypt, d.def.minimize, d.def.verity),
        (EncryptMode::Off, Minimize::Off, VerityMode::Off)
    );
}

#[test]
fn copy_blocks_and_format() {
    let (d, m, _) = run(&[
        ("CopyBlocks", "relative"),
        ("CopyBlocks", "%z"),
        ("CopyBlocks", "/a/../b"),
        ("CopyBlocks", "/a//b/"),
    ]);
    assert_eq!(d.def.copy_blocks, Some(CopyBlocks::Path("/a/b".into())));
    assert_eq!(
        m,
        vec![
            at(1, "CopyBlocks= path is not absolute, ignoring: relative"),
            at(
                2,
                "Failed to expand specifiers in CopyBlocks= source path, ignoring: %z"
            ),
            at(3, "CopyBlocks= path is not normalized, ignoring: /a/../b"),
        ]
    );
    let (d, _, _) = run(&[("CopyBlocks", "auto")]);
    assert_eq!(d.def.copy_blocks, Some(CopyBlocks::Auto));
    let (d, _, _) = run(&[("CopyBlocks", "auto"), ("CopyBlocks", "")]);
    assert_eq!(d.def.copy_blocks, None);

    let (d, diags, e) = run_with(
        &opts(),
        &[
            ("Format", "a/b"),
            ("Format", ".."),
            ("Format", "ext4"),
            ("Format", ""),
        ],
    );
    assert!(e.is_none());
    assert_eq!(d.def.format.as_ref().map(FileSystem::name), Some("ext4"));
    assert_eq!(diags[0].level, Level::Error);
    assert_eq!(
        diags[0].message,
        at(1, "File system type is not valid, refusing: a/b")
    );
    assert_eq!(
        diags[2].message,
        at(4, "File system type is not valid, refusing: ")
    );
    let o = LoadOptions {
        fstype_override: Some("xfs".into()),
        ..opts()
    };
    let (d, diags, _) = run_with(&o, &[("Format", "ext4"), ("Format", "xfs")]);
    assert_eq!(d.def.format.as_ref().map(FileSystem::name), Some("xfs"));
    assert_eq!(diags.len(), 1);
    assert_eq!(
        diags[0].message,
        at(1, "Overriding defined file system type 'ext4' with 'xfs'.")
    );
}

#[test]
fn copy_files() {
    let (d, m, e) = run(&[
        ("CopyFiles", "rel"),
        ("CopyFiles", "/tmp:rel"),
        ("CopyFiles", ""),
        ("CopyFiles", "%z:/x"),
        ("CopyFiles", "/tmp:%z"),
        ("CopyFiles", "/tmp:/a/../b"),
        ("CopyFiles", "/tmp/./:/x//y/"),
        ("CopyFiles", "/tmp:"),
        ("CopyFiles", "/src"),
        ("CopyFiles", "/tmp/a\\x3ab:/y"),
    ]);
    assert!(e.is_none());
    assert_eq!(
        m,
        vec![
            at(1, "CopyFiles= path is not absolute, ignoring: rel"),
            at(2, "CopyFiles= path is not absolute, ignoring: rel"),
            at(3, "CopyFiles= path is not absolute, ignoring: "),
            at(
                4,
                "Failed to expand specifiers in CopyFiles= source, ignoring: %z:/x"
            ),
            at(
                5,
                "Failed to expand specifiers in CopyFiles= target, ignoring: (null)"
            ),
            at(6, "CopyFiles= path is not normalized, ignoring: /a/../b"),
            at(8, "CopyFiles= path is not absolute, ignoring: "),
        ]
    );
    let pairs: Vec<(&str, &str)> = d
        .def
        .copy_files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        pairs,
        vec![("/tmp", "/x/y"), ("/src", "/src"), ("/tmp/a:b", "/y")]
    );
    let (_, m, e) = run(&[("CopyFiles", "/tmp/a:/b:/c")]);
    assert_eq!(m, vec![at(1, "Too many arguments: /tmp/a:/b:/c")]);
    assert_eq!(e.unwrap(), at(1, "Failed to parse file: Invalid argument"));
}

#[test]
fn exclude_files() {
    let (d, m, _) = run(&[
        ("ExcludeFiles", "rel /a \"/b c\" '/d/'"),
        ("ExcludeFiles", "%z"),
        ("ExcludeFilesTarget", "x /t/"),
        ("ExcludeFiles", "/a/../b"),
        ("ExcludeFiles", "\"unterminated"),
    ]);
    assert_eq!(d.def.exclude_files, vec!["/a", "/b c", "/d/"]);
    assert_eq!(d.def.exclude_files_target, vec!["/t/"]);
    assert_eq!(
        m,
        vec![
            at(1, "ExcludeFiles= path is not absolute, ignoring: rel"),
            at(
                2,
                "Failed to expand specifiers in ExcludeFiles path, ignoring: %z"
            ),
            at(3, "ExcludeFilesTarget= path is not absolute, ignoring: x"),
            at(4, "ExcludeFiles= path is not normalized, ignoring: /a/../b"),
            at(5, "Invalid syntax, ignoring: "),
        ]
    );
    let (d, _, _) = run(&[("ExcludeFiles", "/a"), ("ExcludeFiles", "")]);
    assert!(d.def.exclude_files.is_empty());
}

#[test]
fn make_directories_and_symlinks() {
    let (d, m, _) = run(&[
        ("MakeDirectories", "rel /a /a /b/"),
        ("MakeDirectories", "%z /a/../c"),
        ("MakeDirectories", "/c \"unterm"),
    ]);
    assert_eq!(d.def.make_directories, vec!["/a", "/b", "/c"]);
    assert_eq!(
        m,
        vec![
            at(1, "MakeDirectories= path is not absolute, ignoring: rel"),
            at(
                2,
                "Failed to expand specifiers in MakeDirectories= parameter, ignoring: %z"
            ),
            at(
                2,
                "MakeDirectories= path is not normalized, ignoring: /a/../c"
            ),
            at(3, "Invalid syntax, ignoring: /c \"unterm"),
        ]
    );
    let (d, m, _) = run(&[
        ("MakeSymlinks", "/a"),
        ("MakeSymlinks", "rel:/x"),
        ("MakeSymlinks", "/a:b:c"),
        ("MakeSymlinks", "%z:x"),
        ("MakeSymlinks", "/l:%z /m:"),
        ("MakeSymlinks", "%a:x"),
    ]);
    let links: Vec<(&str, &str)> = d
        .def
        .make_symlinks
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(links, vec![("/a", "b"), ("/l", "%z"), ("/m", "")]);
    assert_eq!(
        m,
        vec![
            at(1, "Missing source or target in /a, ignoring"),
            at(2, "MakeSymlinks= path is not absolute, ignoring: rel"),
            at(
                4,
                "Failed to expand specifiers in Subvolumes= parameter, ignoring: %z"
            ),
            at(6, "MakeSymlinks= path is not absolute, ignoring: x86-64"),
        ]
    );
}

#[test]
fn subvolumes() {
    let (d, m, _) = run(&[
        (
            "Subvolumes",
            "rel /a:ro /b:rw,ro /c:foo /d:ro,ro %z /e/../f /a",
        ),
        ("Subvolumes", "\"unterminated"),
        ("DefaultSubvolume", "rel"),
        ("DefaultSubvolume", "%z"),
        ("DefaultSubvolume", "/a/../b"),
        ("DefaultSubvolume", "/d/"),
    ]);
    assert_eq!(
        d.def.subvolumes,
        vec![("/a".to_string(), false), ("/d".to_string(), true)]
    );
    assert_eq!(d.def.default_subvolume.as_deref(), Some("/d"));
    assert_eq!(
        m,
        vec![
            at(1, "Subvolumes= path is not absolute, ignoring: rel"),
            at(1, "Unknown subvolume flag in subvolume, ignoring: rw,ro"),
            at(1, "Unknown subvolume flag in subvolume, ignoring: foo"),
            at(
                1,
                "Failed to expand specifiers in Subvolumes= parameter, ignoring: %z"
            ),
            at(1, "Subvolumes= path is not normalized, ignoring: /e/../f"),
            at(2, "Invalid syntax, ignoring: \"unterminated"),
            at(3, "DefaultSubvolume= path is not absolute, ignoring: rel"),
            at(
                4,
                "Failed to expand specifiers in DefaultSubvolume= parameter, ignoring: %z"
            ),
            at(
                5,
                "DefaultSubvolume= path is not normalized, ignoring: /a/../b"
            ),
        ]
    );
    let (d, _, _) = run(&[("DefaultSubvolume", "/d"), ("DefaultSubvolume", "")]);
    assert_eq!(d.def.default_subvolume, None);
}

#[test]
fn mount_points_and_encrypted_volume() {
    let (d, m, _) = run(&[
        ("MountPoint", "rel"),
        ("MountPoint", "/a:opts:extra"),
        ("MountPoint", "%a"),
        ("MountPoint", "\"unterminated"),
        ("MountPoint", "/a:"),
        ("MountPoint", "\"/b c\":ro"),
    ]);
    assert_eq!(
        d.def.mount_points,
        vec![
            ("/a".to_string(), Some(String::new())),
            ("/b c".to_string(), Some("ro".to_string()))
        ]
    );
    assert_eq!(
        m,
        vec![
            at(1, "MountPoint= path is not absolute, ignoring: rel"),
            at(
                2,
                "Too many arguments in MountPoint=, ignoring: /a:opts:extra"
            ),
            at(3, "MountPoint= path is not absolute, ignoring: %a"),
            at(4, "Invalid syntax in MountPoint=, ignoring: \"unterminated"),
        ]
    );
    let (d, _, _) = run(&[("MountPoint", "/a"), ("MountPoint", "")]);
    assert!(d.def.mount_points.is_empty());
    let (d, m, _) = run(&[
        ("EncryptedVolume", "a/b"),
        ("EncryptedVolume", "n:k:o:x"),
        ("EncryptedVolume", "\"x"),
        ("EncryptedVolume", ":k"),
        ("EncryptedVolume", "n:k:o"),
    ]);
    assert_eq!(
        d.def.encrypted_volume,
        Some(("n".into(), Some("k".into()), Some("o".into())))
    );
    assert_eq!(
        m,
        vec![
            at(1, "Volume name a/b is not valid, ignoring"),
            at(
                2,
                "Too many arguments in EncryptedVolume=, ignoring: n:k:o:x"
            ),
            at(3, "Invalid syntax in EncryptedVolume=, ignoring: \"x"),
            at(4, "Volume name  is not valid, ignoring"),
        ]
    );
    let (d, _, _) = run(&[("EncryptedVolume", "n::"), ("EncryptedVolume", "")]);
    assert_eq!(d.def.encrypted_volume, None);
    let (d, _, _) = run(&[("EncryptedVolume", "n::")]);
    assert_eq!(d.def.encrypted_volume, Some(("n".into(), None, None)));
}

#[test]
fn strings() {
    let (d, m, _) = run(&[
        ("Compression", "a\"b"),
        ("CompressionLevel", "ä"),
        ("Compression", "a b"),
        ("CompressionLevel", "1\\\\2"),
        ("CompressionLevel", "3"),
    ]);
    assert_eq!(d.def.compression.as_deref(), Some("a b"));
    assert_eq!(d.def.compression_level.as_deref(), Some("3"));
    assert_eq!(
        m,
        vec![
            at(
                1,
                "Specified string contains unsafe characters, ignoring: a\\\"b"
            ),
            at(
                2,
                "Specified string contains invalid ASCII characters, ignoring: \\303\\244"
            ),
            at(
                4,
                "Specified string contains unsafe characters, ignoring: 1\\\\\\\\2"
            ),
        ]
    );
    let (d, _, _) = run(&[("Compression", "zstd"), ("Compression", "")]);
    assert_eq!(d.def.compression, None);
    let (d, m, _) = run(&[
        ("VerityMatchKey", "k"),
        ("SplitName", "%t-x"),
        ("SupplementFor", "10-esp"),
    ]);
    assert!(m.is_empty());
    assert_eq!(d.def.verity_match_key.as_deref(), Some("k"));
    assert_eq!(d.split_name.as_deref(), Some("%t-x"));
    assert_eq!(d.def.supplement_for.as_deref(), Some("10-esp"));
    let (d, _, _) = run(&[
        ("VerityMatchKey", "k"),
        ("VerityMatchKey", ""),
        ("SplitName", "x"),
        ("SplitName", ""),
        ("SupplementFor", "a"),
        ("SupplementFor", ""),
    ]);
    assert_eq!(
        (d.def.verity_match_key, d.split_name, d.def.supplement_for),
        (None, None, None)
    );
}

#[test]
fn verity_block_sizes() {
    let (d, m, e) = run(&[
        ("VerityDataBlockSizeBytes", "2048"),
        ("VerityHashBlockSizeBytes", "1K"),
    ]);
    assert!(m.is_empty() && e.is_none());
    assert_eq!(
        (d.def.verity_data_block_size, d.def.verity_hash_block_size),
        (Some(2048), Some(1024))
    );
    for (v, msg) in [
        ("1000", "Value not a power of 2: 1000"),
        ("8192", "Value not between 512 and 4096: 8192"),
        ("abc", "Failed to parse size value: abc"),
        ("", "Failed to parse size value: "),
    ] {
        let (_, m, e) = run(&[("VerityHashBlockSizeBytes", v)]);
        assert_eq!(m, vec![at(1, msg)]);
        assert_eq!(e.unwrap(), at(1, "Failed to parse file: Invalid argument"));
    }
}

#[test]
fn every_key_is_known() {
    assert_eq!(KEYS.len(), 36);
    for key in KEYS {
        let (_, _, _) = run(&[(key, "")]);
    }
}

/// The keys documented in the `[PARTITION] SECTION OPTIONS` section of man/repart.d.5
/// (the `.TP`/`.TQ` headings, e.g. `.BI SizeMinBytes= SIZE`).
fn documented_keys() -> std::collections::BTreeSet<String> {
    let page = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/man/repart.d.5"));
    let mut keys = std::collections::BTreeSet::new();
    let mut inside = false;
    let mut tag_next = false;
    for line in page.lines() {
        if let Some(title) = line.strip_prefix(".SH ") {
            inside = title == "[PARTITION] SECTION OPTIONS";
            continue;
        }
        if inside && tag_next && line.starts_with(".B") {
            let word = line.split_whitespace().nth(1).unwrap_or_default();
            if let Some((key, _)) = word.split_once('=') {
                keys.insert(key.to_string());
            }
        }
        tag_next = line == ".TP" || line == ".TQ";
    }
    keys
}

#[test]
fn the_man_page_documents_exactly_the_keys() {
    let known: std::collections::BTreeSet<String> = KEYS.iter().map(|k| k.to_string()).collect();
    assert_eq!(documented_keys(), known);
}
