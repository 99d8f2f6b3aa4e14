//! Fuzz target: the repart.d INI dialect and the definition loader.
//!
//! Input layout: byte 0 = option flags, then up to 4 files separated by the
//! marker `\0--\0` (first file = main definition, others = drop-ins, or with
//! flag 0x01 each file is its own definition and `cross_check` runs over all).
//! Everything must come back as `Ok`/`Err`, never a panic.

#![no_main]

use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use repart::pure::config::definition::{SourceFile, cross_check, parse_definition};
use repart::pure::config::ini;
use repart::pure::config::keys::KEYS;
use repart::pure::config::specifier::{OsRelease, SystemInfo};
use repart::shell::system_info::parse_os_release;
use repart::pure::config::{LoadOptions, PartitionFilter};

const MARKER: &[u8] = b"\0--\0";

fn split_files(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while out.len() < 3 {
        match rest.windows(MARKER.len()).position(|w| w == MARKER) {
            Some(i) => {
                out.push(&rest[..i]);
                rest = &rest[i + MARKER.len()..];
            }
            None => break,
        }
    }
    out.push(rest);
    out
}

fn sys(flags: u8) -> SystemInfo {
    SystemInfo {
        machine_id: (flags & 0x10 == 0).then(|| "0123456789abcdef0123456789abcdef".into()),
        boot_id: (flags & 0x10 == 0).then(|| "fedcba9876543210fedcba9876543210".into()),
        hostname: "host.example".into(),
        short_hostname: "host".into(),
        pretty_hostname: None,
        os_release: (flags & 0x20 == 0).then(|| OsRelease {
            image_version: Some("1.2".into()),
            id: Some("debian".into()),
            ..OsRelease::default()
        }),
        kernel_arch: "x86-64".into(),
        kernel_release: "6.1.0".into(),
        tmp_dir: "/tmp".into(),
        var_tmp_dir: "/var/tmp".into(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let opts = LoadOptions {
        running_as_root: flags & 0x02 != 0,
        have_private_key: flags & 0x08 != 0,
        have_certificate: flags & 0x08 != 0,
        utf8: flags & 0x40 != 0,
        architecture: (flags & 0x80 != 0).then_some("arm64"),
        partition_filter: (flags & 0x80 != 0).then(|| {
            PartitionFilter::Exclude(vec![uuid::Uuid::from_u128(
                0x0fc63daf_8483_4772_8e79_3d69d8477de4,
            )])
        }),
        ..LoadOptions::default()
    };
    let sys = sys(flags);
    let files: Vec<SourceFile> = split_files(rest)
        .into_iter()
        .enumerate()
        .map(|(i, c)| SourceFile {
            path: PathBuf::from(format!("/defs/{i:02}-part.conf")),
            content: c.to_vec(),
        })
        .collect();

    // The raw INI splitter, once per file, also for other sections.
    for f in &files {
        let _ = ini::parse("/defs/x.conf", &f.content, "Partition", &KEYS);
    }
    if let Ok(text) = std::str::from_utf8(rest) {
        let _ = parse_os_release(text);
    }

    let mut diags = Vec::new();
    if flags & 0x01 == 0 {
        let dropins = files[1..].iter().map(|f| f.path.clone()).collect();
        let _ = parse_definition(
            files[0].path.clone(),
            &files,
            dropins,
            &opts,
            &sys,
            &mut diags,
        );
    } else {
        let mut defs = Vec::new();
        for f in &files {
            if let Ok(Some(d)) = parse_definition(
                f.path.clone(),
                std::slice::from_ref(f),
                Vec::new(),
                &opts,
                &sys,
                &mut diags,
            ) {
                defs.push(d);
            }
        }
        let _ = cross_check(&defs);
    }
    // Diagnostics are printed by the shell; formatting them must not panic either.
    for d in &diags {
        let _ = d.message.len();
    }
});
