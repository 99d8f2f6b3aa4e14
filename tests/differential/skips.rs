//! Skip list: known divergences, either deliberate (listed in
//! testdata/golden/KNOWN-DIFFERENCES: upstream is not reproducible there) or
//! temporary, whose fixes are in progress (the item names it). A mismatching case that has one of these tags
//! (set by the generators) is reported as "known (item)" and does not fail
//! the test; everything else still does. Remove an entry as soon as its fix
//! has landed (`DIFF_NO_SKIPS=1` runs without the list, to check that).
//! New root causes go to docs/divergences.md, not here, unless their
//! fix is being worked on.

/// One known divergence: cases with all of `tags` whose mismatch report
/// contains `report` ("" = any) are known.
pub struct Skip {
    /// The item of the fix in progress (helper, issue item, title).
    pub item: &'static str,
    /// Tags the generators set (all must be present).
    pub tags: &'static [&'static str],
    /// A piece of the mismatch report that identifies the divergence.
    pub report: &'static str,
    /// A piece of the report that means another divergence ("" = none).
    pub unless: &'static str,
}

const fn skip(
    item: &'static str,
    tags: &'static [&'static str],
    report: &'static str,
    unless: &'static str,
) -> Skip {
    Skip {
        item,
        tags,
        report,
        unless,
    }
}

/// The skip list (shrinks as fixes land).
pub const SKIPS: &[Skip] = &[
    skip(
        "plan #9 residual, divergences.md D4: a dry run whose --size=auto grows an image with a 4096-byte-sector GPT: upstream's 512-byte view of the table rewrites the protective MBR and primary header differently (output now matches)",
        &["dry-existing", "size-on-existing"],
        "what the dry run did to the target differs",
        "",
    ),
    skip(
        "deliberate (KNOWN-DIFFERENCES fs-root): without SOURCE_DATE_EPOCH upstream stamps the squashfs root directory with the build time (not reproducible)",
        &["tree", "no-sde"],
        "{now} squashfs-root\n",
        "",
    ),
    skip(
        "deliberate (KNOWN-DIFFERENCES fs-root): without SOURCE_DATE_EPOCH upstream stamps a directory a later CopyFiles= writes into with the build time (not reproducible)",
        &["tree", "dup-source", "no-sde"],
        "--- contents",
        "",
    ),
];

/// The item of the first skip-list entry matching the case.
pub fn known(tags: &[&str], report: &str) -> Option<&'static str> {
    if std::env::var_os("DIFF_NO_SKIPS").is_some() {
        return None;
    }
    SKIPS
        .iter()
        .find(|s| {
            s.tags.iter().all(|t| tags.contains(t))
                && report.contains(s.report)
                && (s.unless.is_empty() || !report.contains(s.unless))
        })
        .map(|s| s.item)
}
