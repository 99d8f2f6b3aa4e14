//! Planner tests: upstream's documented layouts, and properties over random input.

use std::path::PathBuf;

use proptest::prelude::*;
use uuid::Uuid;

use crate::pure::config::{Definition, Level};
use crate::pure::gpt_types::PartitionType;
use crate::pure::model::{DiskState, ExistingPartition, ExistingTable, Label};
use crate::pure::plan::testing::{
    PlanInput, compute, identities, minimal_disk_size, new_partition_identities,
};

const SEED: &str = "750b6cd5c4ae4012a15e7be3c29e6a47";

fn ty(uuid: &str, name: &'static str) -> PartitionType {
    PartitionType {
        uuid: Uuid::parse_str(uuid).unwrap(),
        name: Some(name),
        designator: None,
        arch: None,
    }
}

fn home() -> PartitionType {
    ty("933ac7e1-2eb4-4f13-b844-0e14e2aef915", "home")
}
fn swap() -> PartitionType {
    ty("0657fd6d-a4ab-43c4-84e5-0933c84b4f4f", "swap")
}
fn generic() -> PartitionType {
    ty("0fc63daf-8483-4772-8e79-3d69d8477de4", "linux-generic")
}

fn def(name: &str, t: PartitionType) -> Definition {
    Definition::new(PathBuf::from(format!("/defs/{name}")), t)
}

fn input<'a>(defs: &'a [Definition], disk: &'a DiskState) -> PlanInput<'a> {
    PlanInput {
        definitions: defs,
        disk,
        from_scratch: !matches!(disk.label, Label::Gpt(_)),
        seed: Uuid::parse_str(SEED).unwrap(),
        copy_sizes: &[],
        minimized_sizes: &[],
        root_hashes: &[],
        extend_table: true,
        fallback_uuids: &[],
    }
}

fn blank(bytes: u64, sector_size: u64) -> DiskState {
    DiskState {
        sector_size,
        total_bytes: bytes,
        label: Label::None,
    }
}

/// Spec §5.11 worked example (upstream TEST-58): home + swap on 1 GiB.
#[test]
fn home_and_swap_on_one_gib() {
    let mut sw = def("20-swap.conf", swap());
    sw.size_max = Some(64 << 20);
    sw.padding_min = Some(92 << 20);
    let defs = vec![def("10-home.conf", home()), sw];
    let disk = blank(1 << 30, 512);
    let (plan, _) = compute(&input(&defs, &disk)).unwrap();
    let sectors: Vec<(u64, u64)> = plan
        .partitions
        .iter()
        .map(|p| (p.offset / 512, p.new_size / 512))
        .collect();
    assert_eq!(sectors, vec![(2048, 1775576), (1777624, 131072)]);
    assert_eq!(plan.partitions[1].new_padding, 96468992);
    assert_eq!(
        plan.partitions[0].identity.uuid,
        Uuid::parse_str("4980595d-d74a-483a-aa9e-9903879a0ee5").unwrap()
    );
}

/// Spec A.8: a 4K partition in an automatically sized image starts at byte 20480.
#[test]
fn tiny_image_layout() {
    let mut a = def("10-a.conf", generic());
    a.size_min = Some(4096);
    a.size_max = Some(4096);
    let defs = vec![a];
    let wanted = minimal_disk_size(&input(&defs, &blank(0, 512)));
    // 1044 KiB of GPT metadata plus the 4 KiB partition; upstream prints it as "1M".
    assert_eq!(wanted, 1073152);
    let disk = blank(wanted, 512);
    let (plan, _) = compute(&input(&defs, &disk)).unwrap();
    assert_eq!(plan.partitions[0].offset, 20480);
    assert_eq!(plan.first_lba, 34);
}

/// Capture 11: home (2000) and var (1000) fill a disk grown by 10 GiB behind two
/// existing partitions, which become foreign rows.
#[test]
fn first_boot_weights_match_upstream() {
    let var = ty("4d21b016-b534-45c2-a9fb-5c16e091fd2d", "var");
    let esp = ty("c12a7328-f81f-11d2-ba4b-00a0c93ec93b", "esp");
    let mut h = def("30-home.conf", home());
    h.weight = 2000;
    let v = def("40-var.conf", var);
    let defs = vec![h, v];
    let table = ExistingTable {
        disk_guid: Uuid::parse_str(SEED).unwrap(),
        first_lba: 2048,
        last_lba: 418686,
        entry_count: 128,
        partitions: vec![
            ExistingPartition {
                partno: 0,
                type_uuid: esp.uuid,
                uuid: Uuid::parse_str("ff9eb88e-a039-4c50-85cc-da11523d8eaf").unwrap(),
                label: "boot".into(),
                offset: 2048 * 512,
                size: 409600 * 512,
                attrs: 0,
            },
            ExistingPartition {
                partno: 1,
                type_uuid: generic().uuid,
                uuid: Uuid::parse_str("06f284a2-3466-41ea-9c52-29f357f53ace").unwrap(),
                label: "nix-store".into(),
                offset: 411648 * 512,
                size: 3600384,
                attrs: 0,
            },
        ],
        // The image grew by 10G: the backup header is no longer at the end.
        backup_at_end: false,
    };
    let disk = DiskState {
        sector_size: 512,
        total_bytes: 214384640 + (10 << 30),
        label: Label::Gpt(table),
    };
    let mut inp = input(&defs, &disk);
    inp.seed = Uuid::parse_str("e2a40bf9-73f1-4278-9160-49c031e7aedd").unwrap();
    let (plan, _) = compute(&inp).unwrap();
    let rows: Vec<(u64, u64, u32)> = plan
        .partitions
        .iter()
        .map(|p| (p.offset / 512, p.new_size / 512, p.partno))
        .collect();
    assert_eq!(
        rows,
        vec![
            (418680, 13981008, 2),
            (14399688, 6990512, 3),
            (2048, 409600, 0),
            (411648, 7032, 1)
        ]
    );
    assert_eq!(
        plan.partitions[0].identity.uuid.to_string(),
        "6608ec57-916f-4103-9b82-5c054341b92d"
    );
    assert_eq!(plan.last_lba, 21390206);
}

fn arb_definition() -> impl Strategy<Value = Definition> {
    (
        0usize..3,
        proptest::option::of(0u64..(1 << 34)),
        proptest::option::of(0u64..(1 << 34)),
        0u32..3000,
        0u32..3000,
        proptest::option::of(0u64..(1 << 30)),
        -2i32..3,
    )
        .prop_map(|(t, min, max, w, pw, pmin, prio)| {
            let t = [home(), swap(), generic()][t];
            let mut d = def("x.conf", t);
            d.size_min = min.map(|v| v / 4096 * 4096);
            d.size_max = max.map(|v| v.div_ceil(4096) * 4096);
            if let (Some(a), Some(b)) = (d.size_min, d.size_max)
                && a > b
            {
                d.size_max = Some(a);
            }
            d.weight = w;
            d.padding_weight = pw;
            d.padding_min = pmin.map(|v| v / 4096 * 4096);
            d.priority = prio;
            d
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Whatever the input, a plan has no overlaps, stays in the usable window and is
    /// aligned to the grain; and planning never panics, whatever the disk size.
    #[test]
    fn plans_are_sound(
        defs in proptest::collection::vec(arb_definition(), 0..6),
        total in 0u64..u64::MAX,
        big in any::<bool>(),
        sector_size in prop_oneof![Just(512u64), Just(4096u64)],
    ) {
        let total = if big { total } else { total % (64 << 30) };
        let disk = blank(total / sector_size * sector_size, sector_size);
        if let Ok((plan, _)) = compute(&input(&defs, &disk)) {
            let start = plan.first_lba * sector_size;
            let end = (plan.last_lba + 1) * sector_size;
            let mut extents: Vec<(u64, u64)> = plan
                .partitions
                .iter()
                .map(|p| (p.offset, p.offset + p.new_size))
                .collect();
            extents.sort();
            for (i, &(from, to)) in extents.iter().enumerate() {
                prop_assert!(from >= start && to <= end, "{from}..{to} outside {start}..{end}");
                prop_assert_eq!(from % plan.grain, 0);
                prop_assert_eq!((to - from) % plan.grain, 0);
                if i > 0 {
                    prop_assert!(extents[i - 1].1 <= from, "overlap");
                }
            }
            for p in &plan.partitions {
                let d = &defs[p.definition.unwrap()];
                if let Some(max) = d.size_max {
                    prop_assert!(p.new_size <= max.max(d.size_min.unwrap_or(0)).max(10 << 20));
                }
            }
        }
    }

    /// With equal constraints, a larger weight never gets a smaller partition.
    #[test]
    fn weights_are_respected(w1 in 1u32..5000, w2 in 1u32..5000, gib in 1u64..64) {
        let mut a = def("10-a.conf", generic());
        a.weight = w1;
        let mut b = def("20-b.conf", generic());
        b.weight = w2;
        let defs = vec![a, b];
        let disk = blank(gib << 30, 512);
        let (plan, _) = compute(&input(&defs, &disk)).unwrap();
        let (sa, sb) = (plan.partitions[0].new_size, plan.partitions[1].new_size);
        if w1 > w2 {
            prop_assert!(sa + 4096 >= sb);
        }
        if w1 < w2 {
            prop_assert!(sb + 4096 >= sa);
        }
    }
}

/// Fuzzing found: with `extend_table` and a header whose entry array is larger than
/// what fits behind the device end, the recomputed end was smaller than the header's
/// and new partitions were placed outside the usable area. The end never shrinks.
#[test]
fn extending_never_shrinks_the_usable_area() {
    let table = ExistingTable {
        disk_guid: Uuid::parse_str(SEED).unwrap(),
        first_lba: 2048,
        last_lba: 200_000,
        entry_count: 60_000,
        partitions: vec![],
        backup_at_end: false,
    };
    let disk = DiskState {
        sector_size: 512,
        total_bytes: 200_034 * 512,
        label: Label::Gpt(table),
    };
    let defs = vec![def("10-a.conf", generic())];
    let (plan, _) = compute(&input(&defs, &disk)).unwrap();
    assert_eq!(plan.last_lba, 200_000);
    let p = &plan.partitions[0];
    assert!(p.offset + p.new_size <= (plan.last_lba + 1) * 512);
}

/// A disk whose only partition (swap, slot 0) has the UUID the seed derives for the
/// first linux-generic partition.
fn disk_with_taken_uuid() -> DiskState {
    let table = ExistingTable {
        disk_guid: Uuid::parse_str("f3da61f7-07b5-cb41-8e84-74166a5c0b57").unwrap(),
        first_lba: 2048,
        last_lba: 524254,
        entry_count: 128,
        partitions: vec![ExistingPartition {
            partno: 0,
            type_uuid: swap().uuid,
            uuid: crate::pure::plan::ids::partition_uuid(
                Uuid::parse_str(SEED).unwrap(),
                generic().uuid,
                0,
            ),
            label: String::new(),
            offset: 2048 * 512,
            size: 8 << 20,
            attrs: 0,
        }],
        backup_at_end: true,
    };
    DiskState {
        sector_size: 512,
        total_bytes: 256 << 20,
        label: Label::Gpt(table),
    }
}

/// On a collision every planner entry point takes the UUID the shell drew for that
/// definition (upstream draws one random UUID per run), and logs upstream's warning
/// with the unset partition number of a new partition.
#[test]
fn taken_seed_uuid_falls_back_to_the_given_uuid_everywhere() {
    let defs = vec![def("10-a.conf", generic()), def("20-b.conf", generic())];
    let disk = disk_with_taken_uuid();
    let fallback = [
        Uuid::parse_str("9e2dd57a-ec84-4c1e-86b3-03d7a40853b9").unwrap(),
        Uuid::parse_str("11111111-2222-4333-8444-555555555555").unwrap(),
    ];
    let mut inp = input(&defs, &disk);
    inp.fallback_uuids = &fallback;
    let (plan, diags) = compute(&inp).unwrap();
    // Logged once, by `new_partition_identities` (upstream logs it before Minimize=).
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(plan.partitions[0].identity.uuid, fallback[0]);
    // The second linux-generic partition derives with k=1, which is free.
    let second = crate::pure::plan::ids::partition_uuid(inp.seed, generic().uuid, 1);
    assert_eq!(plan.partitions[1].identity.uuid, second);
    let ids: Vec<Uuid> = identities(&inp).into_iter().map(|i| i.unwrap().0).collect();
    assert_eq!(ids, vec![fallback[0], second]);
    let (new, diags) = new_partition_identities(&inp);
    let new: Vec<Uuid> = new.into_iter().map(|i| i.unwrap().0).collect();
    assert_eq!(new, ids);
    assert_eq!(
        diags
            .iter()
            .map(|d| (d.level, d.message.as_str()))
            .collect::<Vec<_>>(),
        vec![(
            Level::Warning,
            "Partition UUID calculated from seed for partition 18446744073709551615 already used, reverting to randomized UUID."
        )]
    );
    // The same input plans the same UUIDs again: nothing in the planner is random.
    assert_eq!(compute(&inp).unwrap().0, plan);
}

/// Without a collision the fallback UUIDs are not used.
#[test]
fn free_seed_uuid_ignores_the_fallback() {
    let defs = vec![def("10-a.conf", generic())];
    let disk = blank(256 << 20, 512);
    let fallback = [Uuid::parse_str("9e2dd57a-ec84-4c1e-86b3-03d7a40853b9").unwrap()];
    let mut inp = input(&defs, &disk);
    inp.fallback_uuids = &fallback;
    let (plan, _) = compute(&inp).unwrap();
    assert_eq!(
        plan.partitions[0].identity.uuid,
        crate::pure::plan::ids::partition_uuid(inp.seed, generic().uuid, 0)
    );
    assert!(new_partition_identities(&inp).1.is_empty());
}

/// Another definition's `UUID=` does not make a derived UUID taken (upstream gives
/// both partitions the same UUID; golden uuid-explicit-equals-derived).
#[test]
fn explicit_uuid_of_another_definition_is_not_a_collision() {
    let seed = Uuid::parse_str(SEED).unwrap();
    let derived = crate::pure::plan::ids::partition_uuid(seed, generic().uuid, 0);
    let mut b = def("05-b.conf", home());
    b.uuid = Some(crate::pure::config::UuidSetting::Explicit(derived));
    let defs = vec![b, def("10-a.conf", generic())];
    let disk = blank(256 << 20, 512);
    let fallback = [Uuid::nil(), Uuid::parse_str(SEED).unwrap()];
    let mut inp = input(&defs, &disk);
    inp.fallback_uuids = &fallback;
    let (plan, _) = compute(&inp).unwrap();
    assert_eq!(plan.partitions[0].identity.uuid, derived);
    assert_eq!(plan.partitions[1].identity.uuid, derived);
    assert!(new_partition_identities(&inp).1.is_empty());
}

/// Upstream 257 reserves the hash tree of the data partition's `SizeMaxBytes=` for a
/// new verity hash partition only (goldens verity-hash-derived-size,
/// verity-hash-existing-rerun).
#[test]
fn verity_hash_reservation_only_for_new_partitions() {
    use crate::pure::config::VerityMode;
    use crate::pure::plan::Draft;
    let usr = ty("8484680c-9521-48c6-9c11-b0720656f69e", "usr-x86-64");
    let usr_verity = ty("77ff5f63-e7b6-4633-acf4-1565b864c0e6", "usr-x86-64-verity");
    let mut data = def("a.conf", usr);
    data.verity = VerityMode::Data;
    data.size_max = Some(1 << 30);
    let mut hash = def("b.conf", usr_verity);
    hash.verity = VerityMode::Hash;
    let defs = vec![data, hash];
    let seed = Uuid::parse_str(SEED).unwrap();
    let disk = blank(1 << 30, 512);
    let (mut fresh, _) = Draft::new(&defs, &disk, true, seed).identify(&[]);
    let diags = fresh.reserve_verity_hash_sizes(4096);
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].level, Level::Debug);
    assert!(
        diags[0]
            .message
            .starts_with("Derived size 8M of verity hash partition /defs/b.conf")
    );
    let hash_part = ExistingPartition {
        partno: 1,
        type_uuid: usr_verity.uuid,
        uuid: Uuid::nil(),
        label: "usr-x86-64-verity".into(),
        offset: 1 << 20,
        size: 1 << 20,
        attrs: 0,
    };
    let mut on_disk = blank(1 << 30, 512);
    on_disk.label = Label::Gpt(ExistingTable {
        disk_guid: seed,
        first_lba: 34,
        last_lba: (1 << 21) - 34,
        entry_count: 128,
        partitions: vec![hash_part],
        backup_at_end: true,
    });
    let (mut again, _) = Draft::new(&defs, &on_disk, false, seed).identify(&[]);
    assert!(again.reserve_verity_hash_sizes(4096).is_empty());
}
