//! `units/repart.service` is upstream 257's `systemd-repart.service` with another
//! `ExecStart=`, name and documentation: every other directive (conditions, ordering,
//! the modules it pulls in, accepted exit codes) must be upstream's, read from the
//! oracle's installed unit.

use std::collections::BTreeSet;
use std::path::Path;

use crate::common::{manifest_dir, oracle_available};

/// The directives that may differ: what runs, and how the unit describes itself.
const OURS_ONLY: [&str; 3] = ["ExecStart", "Description", "Documentation"];

/// `(section, key, value)` for every assignment, with space-separated lists split so
/// that `SuccessExitStatus=76 77` equals two lines of one value each.
fn directives(text: &str) -> BTreeSet<(String, String, String)> {
    let mut section = String::new();
    let mut out = BTreeSet::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if section == "Install" || OURS_ONLY.contains(&key) {
            continue;
        }
        for word in value.split_whitespace() {
            out.insert((section.clone(), key.to_string(), word.to_string()));
        }
    }
    out
}

#[test]
fn unit_matches_upstreams_directives() {
    let cache =
        std::env::var("REPART_ORACLE_CACHE").unwrap_or_else(|_| "/var/cache/repart-oracle".into());
    // The chroot oracle, or the ldso tree (which keeps the package's files under root/).
    let candidates = ["trixie", "trixie-ldso/root"].map(|tree| {
        Path::new(&cache)
            .join(tree)
            .join("usr/lib/systemd/system/systemd-repart.service")
    });
    let upstream = candidates
        .iter()
        .find(|p| p.exists())
        .unwrap_or(&candidates[0])
        .clone();
    if let Err(why) = oracle_available().and_then(|()| {
        upstream
            .exists()
            .then_some(())
            .ok_or_else(|| format!("{} is missing", upstream.display()))
    }) {
        assert!(
            std::env::var_os("REPART_REQUIRE_ORACLE").is_none(),
            "oracle required: {why}"
        );
        eprintln!("unit_file: skipped ({why})");
        return;
    }
    let theirs = std::fs::read_to_string(&upstream).expect("upstream unit");
    let ours =
        std::fs::read_to_string(manifest_dir().join("units/repart.service")).expect("our unit");
    let (theirs, ours) = (directives(&theirs), directives(&ours));
    let missing: Vec<_> = theirs.difference(&ours).collect();
    let extra: Vec<_> = ours.difference(&theirs).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "units/repart.service differs from upstream's systemd-repart.service\n\
         missing: {missing:?}\nextra: {extra:?}"
    );
}
