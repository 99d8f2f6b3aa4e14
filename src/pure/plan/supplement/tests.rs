//! Tests of `SupplementFor=` planning: upstream TEST-58's fallback-partition flow,
//! the merge rules observed with the oracle, and properties over random sizes.

use std::path::PathBuf;

use proptest::prelude::*;
use uuid::Uuid;

use crate::pure::config::{Definition, Level};
use crate::pure::gpt_types::PartitionType;
use crate::pure::model::{DiskState, ExistingPartition, ExistingTable, Label};
use crate::pure::plan::testing::{PlanInput, compute, minimal_disk_size};
use crate::pure::plan::{Plan, PlanError};

const MIB: u64 = 1 << 20;

fn def(name: &str, ty: &str) -> Definition {
    Definition::new(
        PathBuf::from(format!("/defs/{name}.conf")),
        PartitionType::parse(ty).unwrap(),
    )
}

/// TEST-58's definitions: a 10M ESP and a 100M XBOOTLDR supplementing it.
fn esp_and_xbootldr() -> Vec<Definition> {
    let mut esp = def("10-esp", "esp");
    esp.size_min = Some(10 * MIB);
    let mut xbootldr = def("20-xbootldr", "xbootldr");
    xbootldr.size_min = Some(100 * MIB);
    xbootldr.supplement_for = Some("10-esp".into());
    vec![esp, xbootldr]
}

fn input<'a>(defs: &'a [Definition], disk: &'a DiskState) -> PlanInput<'a> {
    PlanInput {
        definitions: defs,
        disk,
        from_scratch: !matches!(disk.label, Label::Gpt(_)),
        seed: Uuid::parse_str("750b6cd5c4ae4012a15e7be3c29e6a47").unwrap(),
        copy_sizes: &[],
        minimized_sizes: &[],
        root_hashes: &[],
        extend_table: true,
        fallback_uuids: &[],
    }
}

fn blank(bytes: u64) -> DiskState {
    DiskState {
        sector_size: 512,
        total_bytes: bytes,
        label: Label::None,
    }
}

/// A GPT disk of `bytes` with partitions of (type, sectors) packed from sector 2048.
fn with_table(bytes: u64, parts: &[(&str, u64)]) -> DiskState {
    let mut offset = 2048 * 512;
    let partitions = parts
        .iter()
        .enumerate()
        .map(|(i, &(ty, sectors))| {
            let p = ExistingPartition {
                partno: i as u32,
                type_uuid: PartitionType::parse(ty).unwrap().uuid,
                uuid: Uuid::from_u128(0x9fee7aa3_1957_084d_b969_ba09be67ab00 + i as u128),
                label: String::new(),
                offset,
                size: sectors * 512,
                attrs: 0,
            };
            offset += sectors * 512;
            p
        })
        .collect();
    let table = ExistingTable {
        disk_guid: Uuid::from_u128(1),
        first_lba: 2048,
        last_lba: bytes / 512 - 34,
        entry_count: 128,
        partitions,
        backup_at_end: true,
    };
    DiskState {
        sector_size: 512,
        total_bytes: bytes,
        label: Label::Gpt(table),
    }
}

/// (type name, start sector, sectors) of every row, in table order.
fn rows(plan: &Plan) -> Vec<(&'static str, u64, u64)> {
    let mut rows: Vec<_> = plan
        .partitions
        .iter()
        .map(|p| {
            let name = p.partition_type.name.unwrap_or("?");
            (name, p.offset / 512, p.new_size / 512)
        })
        .collect();
    rows.sort_by_key(|r| r.1);
    rows
}

fn infos(diags: &[crate::pure::config::Diagnostic]) -> Vec<&str> {
    diags
        .iter()
        .filter(|d| d.level == Level::Info)
        .map(|d| d.message.as_str())
        .collect()
}

/// TEST-58 step 1: on a blank image the supplement is merged; `--size=auto` only
/// counts the merged ESP.
#[test]
fn blank_disk_merges_the_supplement() {
    let defs = esp_and_xbootldr();
    let size = minimal_disk_size(&input(&defs, &blank(0)));
    assert_eq!(size, 1_069_056 + 100 * MIB);
    let disk = blank(size);
    let (plan, diags) = compute(&input(&defs, &disk)).unwrap();
    assert_eq!(rows(&plan), vec![("esp", 2048, 204800)]);
    assert_eq!(plan.dropped, 1);
    assert!(infos(&diags).is_empty());
    assert!(diags.iter().any(|d| d.level == Level::Debug
        && d.message
            == "Partition /defs/20-xbootldr.conf can be merged into /defs/10-esp.conf, suppressing supplement."));
}

/// TEST-58 step 2: an existing small ESP grows to the merged minimum.
#[test]
fn existing_target_grows_to_the_merged_minimum() {
    let defs = esp_and_xbootldr();
    let disk = with_table(1_069_056 + 100 * MIB, &[("esp", 20480)]);
    let (plan, _) = compute(&input(&defs, &disk)).unwrap();
    assert_eq!(rows(&plan), vec![("esp", 2048, 204800)]);
}

/// TEST-58 step 3: an ESP that cannot grow un-merges the supplement.
#[test]
fn target_that_cannot_grow_unmerges() {
    let defs = esp_and_xbootldr();
    let disk = with_table(150 * MIB, &[("esp", 20480), ("root-x86-64", 20480)]);
    let (plan, diags) = compute(&input(&defs, &disk)).unwrap();
    assert_eq!(
        rows(&plan),
        vec![
            ("esp", 2048, 20480),
            ("root-x86-64", 22528, 20480),
            ("xbootldr", 43008, 264152)
        ]
    );
    assert_eq!(
        infos(&diags),
        vec![
            "Couldn't allocate partitions with /defs/20-xbootldr.conf merged into /defs/10-esp.conf, using supplement verbatim."
        ]
    );
}

/// TEST-58 step 4: an existing supplement is used verbatim, never merged.
#[test]
fn existing_supplement_is_used_verbatim() {
    let defs = esp_and_xbootldr();
    let disk = with_table(150 * MIB, &[("xbootldr", 20480)]);
    let (plan, diags) = compute(&input(&defs, &disk)).unwrap();
    assert_eq!(
        rows(&plan),
        vec![("xbootldr", 2048, 204800), ("esp", 206848, 100312)]
    );
    assert_eq!(
        infos(&diags),
        vec!["Partition /defs/20-xbootldr.conf already exists on disk, using supplement verbatim."]
    );
}

/// Observed with 257.13: "unset" compares as the largest value when merging, so a
/// supplement without SizeMinBytes=/PaddingMinBytes= unsets the target's own.
#[test]
fn unset_supplement_minimums_unset_the_targets() {
    let mut defs = esp_and_xbootldr();
    defs[0].size_min = Some(50 * MIB);
    defs[0].padding_min = Some(5 * MIB);
    defs[1].size_min = None;
    assert_eq!(
        minimal_disk_size(&input(&defs, &blank(0))),
        1_069_056 + 10 * MIB
    );
    defs[1].size_min = Some(20 * MIB);
    defs[1].padding_min = Some(3 * MIB);
    assert_eq!(
        minimal_disk_size(&input(&defs, &blank(0))),
        1_069_056 + 55 * MIB
    );
}

/// A dropped supplement stops merging; a dropped target takes its merged supplement
/// with it.
#[test]
fn priorities_and_supplements() {
    let mut defs = esp_and_xbootldr();
    defs[1].priority = 1;
    let disk = blank(50 * MIB);
    let (plan, diags) = compute(&input(&defs, &disk)).unwrap();
    assert_eq!(rows(&plan), vec![("esp", 2048, 100312)]);
    assert_eq!(infos(&diags).len(), 2, "{diags:?}");

    let mut defs = esp_and_xbootldr();
    defs[0].priority = 1;
    defs[0].size_min = Some(60 * MIB);
    defs[1].size_min = Some(20 * MIB);
    let (plan, _) = compute(&input(&defs, &disk)).unwrap();
    assert!(plan.partitions.is_empty());
    assert_eq!(plan.dropped, 2);
}

/// The minimal size after a failed fit counts the supplement merged.
#[test]
fn does_not_fit_reports_the_merged_minimum() {
    let mut defs = esp_and_xbootldr();
    defs[0].size_min = Some(60 * MIB);
    let Err((
        PlanError::DoesNotFit {
            minimal_disk_size, ..
        },
        _,
    )) = compute(&input(&defs, &blank(50 * MIB)))
    else {
        panic!("fits");
    };
    assert_eq!(minimal_disk_size, 1_069_056 + 100 * MIB);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// On a blank disk a merged supplement is the same as a target configured with the
    /// merged settings (when both set them): same rows, same sizes and places.
    #[test]
    fn merging_equals_merged_settings(
        t_min in 1u64..400, s_min in 1u64..400,
        t_max in proptest::option::of(400u64..800), s_max in proptest::option::of(400u64..800),
        s_weight in 0u32..5000, other in any::<bool>(), mib in 1u64..2048,
    ) {
        let mut target = def("10-esp", "esp");
        target.size_min = Some(t_min * MIB);
        target.size_max = t_max.map(|m| m * MIB);
        let mut supplement = def("20-xbootldr", "xbootldr");
        supplement.size_min = Some(s_min * MIB);
        supplement.size_max = s_max.map(|m| m * MIB);
        supplement.weight = s_weight;
        supplement.supplement_for = Some("10-esp".into());
        let mut merged = target.clone();
        merged.size_min = Some(t_min.max(s_min) * MIB);
        merged.size_max = match (t_max, s_max) {
            (Some(a), Some(b)) => Some(a.min(b) * MIB),
            (a, b) => a.or(b).map(|m| m * MIB),
        };
        merged.weight = s_weight;
        let mut with = vec![target, supplement];
        let mut without = vec![merged];
        if other {
            with.push(def("30-data", "linux-generic"));
            without.push(def("30-data", "linux-generic"));
        }
        let disk = blank(mib * MIB);
        let a = compute(&input(&with, &disk));
        let b = compute(&input(&without, &disk));
        prop_assert_eq!(
            minimal_disk_size(&input(&with, &disk)),
            minimal_disk_size(&input(&without, &disk))
        );
        match (a, b) {
            (Ok((a, _)), Ok((b, _))) => {
                let sizes = |p: &Plan| p.partitions.iter().map(|r| (r.offset, r.new_size, r.new_padding)).collect::<Vec<_>>();
                prop_assert_eq!(sizes(&a), sizes(&b));
            }
            (Err(_), Err(_)) => {}
            (a, b) => prop_assert!(false, "{:?} vs {:?}", a.is_ok(), b.is_ok()),
        }
    }
}
