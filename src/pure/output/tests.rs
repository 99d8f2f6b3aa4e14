//! Byte-exact rendering tests; every expected output is verbatim output of upstream
//! systemd-repart 257, kept in `testdata/output/NAME.txt` (named after the test, `-K`
//! for the K-th expectation of a test). `testdata/output/SOURCES` says where each one
//! comes from (a capture in `shared/oracle/captures/257`, a block of the spec's
//! Appendix A, or an oracle run recorded while writing this module);
//! `tools/output-expectations.pl` checks the first two kinds against their sources and
//! regenerates them from there (never from repart's output).

use super::*;
use crate::pure::gpt_types::PartitionType;
use crate::pure::plan::PlannedPartition;
use std::path::PathBuf;
use uuid::Uuid;

/// The expected output `testdata/output/NAME.txt` (read at compile time).
macro_rules! expected {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/output/",
            $name,
            ".txt"
        ))
    };
}

/// Every expectation file has a source in `SOURCES`, and every listed file exists.
#[test]
fn every_expectation_has_an_upstream_source() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/output");
    let sources = std::fs::read_to_string(dir.join("SOURCES")).expect("SOURCES");
    let listed: std::collections::BTreeSet<String> = sources
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut words = l.split(' ');
            let name = words.next().unwrap_or_default().to_string();
            let kind = words.next().unwrap_or_default();
            assert!(
                ["capture", "capture-tty", "spec", "oracle-run"].contains(&kind),
                "{l}"
            );
            name
        })
        .collect();
    let files: std::collections::BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("testdata/output")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    assert_eq!(listed, files);
}

fn ty(name: &'static str) -> PartitionType {
    PartitionType {
        uuid: Uuid::nil(),
        name: Some(name),
        designator: None,
        arch: None,
    }
}

fn unknown_ty(uuid: &str) -> PartitionType {
    PartitionType {
        uuid: Uuid::parse_str(uuid).expect("test uuid"),
        name: None,
        designator: None,
        arch: None,
    }
}

/// A row; `path: None` makes a foreign partition, `size`/`padding` are (old, new).
#[allow(clippy::too_many_arguments)]
fn pp(
    t: PartitionType,
    label: &str,
    uuid: &str,
    partno: u32,
    path: Option<&str>,
    offset: u64,
    size: (Option<u64>, u64),
    padding: (Option<u64>, u64),
) -> PlannedPartition {
    PlannedPartition {
        definition: path.map(|_| 0),
        path: path.map(PathBuf::from),
        dropins: Vec::new(),
        partition_type: t,
        identity: crate::pure::plan::Identity {
            label: label.to_string(),
            uuid: Uuid::parse_str(uuid).expect("test uuid"),
            ..Default::default()
        },
        partno,
        offset,
        old_size: size.0,
        new_size: size.1,
        old_padding: padding.0,
        new_padding: padding.1,
        attrs: 0,
        split_path: None,
        roothash: None,
    }
}

fn with_dropins(mut p: PlannedPartition, dropins: &[&str]) -> PlannedPartition {
    p.dropins = dropins.iter().map(PathBuf::from).collect();
    p
}

fn plan(total: u64, partitions: Vec<PlannedPartition>) -> Plan {
    Plan {
        sector_size: 512,
        grain: 4096,
        total_bytes: total,
        first_lba: 2048,
        last_lba: 0,
        disk_guid: Uuid::nil(),
        from_scratch: true,
        dropped: 0,
        entry_count: 128,
        partitions,
    }
}

fn opts(node: &str) -> RenderOptions {
    RenderOptions {
        node: node.to_string(),
        ..RenderOptions::default()
    }
}

fn tty(node: &str, columns: usize, colors: bool) -> RenderOptions {
    RenderOptions {
        node: node.to_string(),
        columns,
        tty: true,
        colors,
        ..RenderOptions::default()
    }
}

fn ascii(mut o: RenderOptions) -> RenderOptions {
    o.utf8 = false;
    o
}

fn debug(mut o: RenderOptions) -> RenderOptions {
    o.debug = true;
    o
}

const NEW0: (Option<u64>, u64) = (None, 0);

// ---- captures/257 (repart.d: esp + nix-store; repart2.d: home + var) ----

const CAP_ROOT: &str = "/tmp/repart-oracle-test";

fn cap_created() -> Plan {
    plan(
        214384640,
        vec![
            pp(
                ty("esp"),
                "boot",
                "ff9eb88e-a039-4c50-85cc-da11523d8eaf",
                0,
                Some("/tmp/repart-oracle-test/repart.d/10-esp.conf"),
                1048576,
                (None, 209715200),
                NEW0,
            ),
            pp(
                ty("linux-generic"),
                "nix-store",
                "06f284a2-3466-41ea-9c52-29f357f53ace",
                1,
                Some("/tmp/repart-oracle-test/repart.d/20-nix-store.conf"),
                210763776,
                (None, 3600384),
                NEW0,
            ),
        ],
    )
}

/// First boot: home and var added, esp and nix-store foreign. `rerun`: after applying.
fn cap_firstboot(rerun: bool) -> Plan {
    let old = |v: u64| if rerun { Some(v) } else { None };
    let nix_pad = if rerun { 0 } else { 10737418240 };
    plan(
        10951802880,
        vec![
            pp(
                ty("home"),
                "home",
                "6608ec57-916f-4103-9b82-5c054341b92d",
                2,
                Some("/tmp/repart-oracle-test/repart2.d/30-home.conf"),
                214364160,
                (old(7158276096), 7158276096),
                (old(0), 0),
            ),
            pp(
                ty("var"),
                "var",
                "fb2077c2-75f6-4137-88d2-917d9361973b",
                3,
                Some("/tmp/repart-oracle-test/repart2.d/40-var.conf"),
                7372640256,
                (old(3579142144), 3579142144),
                (old(0), 0),
            ),
            pp(
                ty("esp"),
                "boot",
                "ff9eb88e-a039-4c50-85cc-da11523d8eaf",
                0,
                None,
                1048576,
                (Some(209715200), 209715200),
                (Some(0), 0),
            ),
            pp(
                ty("linux-generic"),
                "nix-store",
                "06f284a2-3466-41ea-9c52-29f357f53ace",
                1,
                None,
                210763776,
                (Some(3600384), 3600384),
                (Some(nix_pad), 0),
            ),
        ],
    )
}

#[test]
fn capture_01_04_create_table() {
    let expected = expected!("capture_01_04_create_table-1");
    assert_eq!(table_and_bar(&cap_created(), &opts("image.raw")), expected);
    let expected = expected!("capture_01_04_create_table-2");
    assert_eq!(table_and_bar(&cap_created(), &opts("image.raw")), expected);
}

#[test]
fn capture_02_03_create_json() {
    let expected = expected!("capture_02_03_create_json-1");
    assert_eq!(json(&cap_created(), &opts("image.raw"), true), expected);
    let expected = expected!("capture_02_03_create_json-2");
    assert_eq!(json(&cap_created(), &opts("image.raw"), false), expected);
}

#[test]
fn capture_05_create_tty_colors() {
    let expected = expected!("capture_05_create_tty_colors");
    assert_eq!(
        table_and_bar(&cap_created(), &tty("image.raw", 120, true)),
        expected
    );
}

#[test]
fn capture_11_firstboot_foreign_legend() {
    let expected = expected!("capture_11_firstboot_foreign_legend");
    let node = format!("{CAP_ROOT}/257/11/image.raw");
    assert_eq!(table_and_bar(&cap_firstboot(false), &opts(&node)), expected);
}

#[test]
fn capture_12_rerun_unchanged() {
    let expected = expected!("capture_12_rerun_unchanged");
    let node = format!("{CAP_ROOT}/257/11/image.raw");
    assert_eq!(table_and_bar(&cap_firstboot(true), &opts(&node)), expected);
}

#[test]
fn capture_15_firstboot_json_null_file() {
    let expected = expected!("capture_15_firstboot_json_null_file");
    let node = format!("{CAP_ROOT}/257/15/image.raw");
    assert_eq!(json(&cap_firstboot(false), &opts(&node), true), expected);
}

#[test]
fn capture_16_firstboot_tty_colors() {
    let expected = expected!("capture_16_firstboot_tty_colors");
    let node = format!("{CAP_ROOT}/257/16/image.raw");
    assert_eq!(
        table_and_bar(&cap_firstboot(false), &tty(&node, 120, true)),
        expected
    );
}

#[test]
fn capture_17_existing_grown() {
    let expected = expected!("capture_17_existing_grown");
    let p = plan(
        10951802880,
        vec![
            pp(
                ty("esp"),
                "boot",
                "ff9eb88e-a039-4c50-85cc-da11523d8eaf",
                0,
                Some("/tmp/repart-oracle-test/repart2-full.d/10-esp.conf"),
                1048576,
                (Some(209715200), 209715200),
                (Some(0), 0),
            ),
            pp(
                ty("linux-generic"),
                "nix-store",
                "06f284a2-3466-41ea-9c52-29f357f53ace",
                1,
                Some("/tmp/repart-oracle-test/repart2-full.d/20-nix-store.conf"),
                210763776,
                (Some(3600384), 2685251584),
                (Some(10737418240), 0),
            ),
            pp(
                ty("home"),
                "home",
                "6608ec57-916f-4103-9b82-5c054341b92d",
                2,
                Some("/tmp/repart-oracle-test/repart2-full.d/30-home.conf"),
                2896015360,
                (None, 5370511360),
                NEW0,
            ),
            pp(
                ty("var"),
                "var",
                "fb2077c2-75f6-4137-88d2-917d9361973b",
                3,
                Some("/tmp/repart-oracle-test/repart2-full.d/40-var.conf"),
                8266526720,
                (None, 2685255680),
                NEW0,
            ),
        ],
    );
    assert_eq!(table_and_bar(&p, &opts("image.raw")), expected);
}

// ---- spec Appendix A ----

fn spec_a1(existing: bool) -> Plan {
    let old = |v: u64| if existing { Some(v) } else { None };
    plan(
        135286784,
        vec![
            pp(
                ty("esp"),
                "esp",
                "39107b09-615d-48fb-ba37-c663885fce67",
                0,
                Some("/tmp/g257/s1/defs/10-esp.conf"),
                1048576,
                (old(67108864), 67108864),
                (old(0), 0),
            ),
            pp(
                ty("root-x86-64"),
                "root-x86-64",
                "60f33797-1d71-4dcb-aa6f-20564f036cd0",
                1,
                Some("/tmp/g257/s1/defs/20-root.conf"),
                68157440,
                (old(33554432), 33554432),
                (old(0), 0),
            ),
            pp(
                ty("home"),
                "home",
                "4980595d-d74a-483a-aa9e-9903879a0ee5",
                2,
                Some("/tmp/g257/s1/defs/30-home.conf"),
                101711872,
                (old(33554432), 33554432),
                (old(0), 0),
            ),
        ],
    )
}

#[test]
fn spec_a1_create() {
    let expected = expected!("spec_a1_create");
    assert_eq!(table_and_bar(&spec_a1(false), &opts("img.raw")), expected);
}

#[test]
fn spec_a2_ascii() {
    let expected = expected!("spec_a2_ascii");
    assert_eq!(
        table_and_bar(&spec_a1(false), &ascii(opts("img.raw"))),
        expected
    );
}

#[test]
fn spec_a3_a4_json() {
    let expected = expected!("spec_a3_a4_json-1");
    assert_eq!(json(&spec_a1(false), &opts("b.raw"), true), expected);
    let expected = expected!("spec_a3_a4_json-2");
    assert_eq!(json(&spec_a1(false), &opts("c.raw"), false), expected);
}

#[test]
fn spec_a5_rerun() {
    let expected = expected!("spec_a5_rerun");
    assert_eq!(table_and_bar(&spec_a1(true), &opts("img.raw")), expected);
}

#[test]
fn spec_a6_grown() {
    let expected = expected!("spec_a6_grown");
    let mut p = spec_a1(true);
    p.total_bytes = 268435456;
    p.partitions[2].new_size = 166703104;
    p.partitions[2].old_padding = Some(133149696);
    assert_eq!(table_and_bar(&p, &opts("/tmp/g257/s1/g2.raw")), expected);
}

fn spec_a7() -> Plan {
    plan(
        419430400,
        vec![
            pp(
                ty("root-x86-64"),
                "root-x86-64",
                "60f33797-1d71-4dcb-aa6f-20564f036cd0",
                1,
                Some("/tmp/g257/s2/defs/10-root-a.conf"),
                115859456,
                (None, 104857600),
                NEW0,
            ),
            pp(
                ty("root-x86-64"),
                "root-x86-64-2",
                "73a4ccd2-eaf5-44da-a366-f99188210fdc",
                2,
                Some("/tmp/g257/s2/defs/20-root-b.conf"),
                220717056,
                (None, 104857600),
                NEW0,
            ),
            pp(
                ty("swap"),
                "swap",
                "78c92db8-3d2b-4823-b0dc-792b78f66f1e",
                3,
                Some("/tmp/g257/s2/defs/30-swap.conf"),
                325574656,
                (None, 93835264),
                NEW0,
            ),
            pp(
                ty("linux-generic"),
                "foreign",
                "9fee7aa3-1957-084d-b969-ba09be67aba6",
                0,
                Some("/tmp/g257/s2/defs/40-data.conf"),
                1048576,
                (Some(20971520), 20971520),
                (Some(397389824), 93839360),
            ),
        ],
    )
}

#[test]
fn spec_a7_columns_100() {
    let expected = expected!("spec_a7_columns_100");
    let o = RenderOptions {
        columns: 100,
        ..opts("/tmp/g257/s2/x2.raw")
    };
    assert_eq!(table_and_bar(&spec_a7(), &o), expected);
}

#[test]
fn spec_a7_debug_columns() {
    let expected = expected!("spec_a7_debug_columns");
    assert_eq!(
        table_and_bar(&spec_a7(), &debug(opts("/tmp/g257/s2/x3.raw"))),
        expected
    );
}

#[test]
fn spec_a8_tiny_empty_bar_range() {
    let expected = expected!("spec_a8_tiny_empty_bar_range");
    let p = plan(
        1048576,
        vec![pp(
            ty("linux-generic"),
            "linux-generic",
            "df71f5e3-080a-4d16-824b-18591b881380",
            0,
            Some("/tmp/g257/s3/defs/10-a.conf"),
            20480,
            (None, 4096),
            NEW0,
        )],
    );
    assert_eq!(table_and_bar(&p, &opts("t.raw")), expected);
}

#[test]
fn spec_a9_no_partitions() {
    let expected = expected!("spec_a9_no_partitions");
    assert_eq!(
        table_and_bar(&plan(10485760, Vec::new()), &opts("i.raw")),
        expected
    );
    // Oracle: `--json=pretty` and `--json=short` both print `[]`.
    assert_eq!(
        json(&plan(10485760, Vec::new()), &opts("i.raw"), true),
        "[]\n"
    );
    assert_eq!(
        json(&plan(10485760, Vec::new()), &opts("i.raw"), false),
        "[]\n"
    );
}

#[test]
fn no_partitions_columns_30() {
    let expected = expected!("no_partitions_columns_30");
    let o = RenderOptions {
        columns: 30,
        ..opts("i.raw")
    };
    assert_eq!(table_and_bar(&plan(10485760, Vec::new()), &o), expected);
}

// ---- own oracle runs: drop-ins, empty label, padding (defs esp, root + 2 drop-ins, data) ----

fn dropins_plan() -> Plan {
    plan(
        204492800,
        vec![
            pp(
                ty("esp"),
                "esp",
                "ff9eb88e-a039-4c50-85cc-da11523d8eaf",
                0,
                Some("/tmp/o1/defs/10-esp.conf"),
                1048576,
                (None, 67108864),
                NEW0,
            ),
            with_dropins(
                pp(
                    ty("root-x86-64"),
                    "rootfs",
                    "5fa5c003-94a9-41e3-bbe5-e94e189126c3",
                    1,
                    Some("/tmp/o1/defs/20-root.conf"),
                    68157440,
                    (None, 104857600),
                    NEW0,
                ),
                &[
                    "/tmp/o1/defs/20-root.conf.d/a.conf",
                    "/tmp/o1/defs/20-root.conf.d/b.conf",
                ],
            ),
            pp(
                ty("linux-generic"),
                "",
                "06f284a2-3466-41ea-9c52-29f357f53ace",
                2,
                Some("/tmp/o1/defs/30-data.conf"),
                173015040,
                (None, 20971520),
                (None, 10485760),
            ),
        ],
    )
}

#[test]
fn oracle_dropins_text() {
    let p = dropins_plan();
    let expected = expected!("oracle_dropins_text-1");
    assert_eq!(table_and_bar(&p, &opts("img.raw")), expected);
    let expected = expected!("oracle_dropins_text-2");
    assert_eq!(table_and_bar(&p, &ascii(opts("img.raw"))), expected);
    let expected = expected!("oracle_dropins_text-3");
    let o = RenderOptions {
        header: false,
        ..opts("img.raw")
    };
    assert_eq!(table_and_bar(&p, &o), expected);
    let expected = expected!("oracle_dropins_text-4");
    let o = RenderOptions {
        columns: 100,
        ..opts("img.raw")
    };
    assert_eq!(table_and_bar(&p, &o), expected);
    let expected = expected!("oracle_dropins_text-5");
    assert_eq!(table_and_bar(&p, &debug(opts("img.raw"))), expected);
}

#[test]
fn oracle_dropins_json() {
    let p = dropins_plan();
    let expected = expected!("oracle_dropins_json-1");
    assert_eq!(json(&p, &opts("img.raw"), true), expected);
    let expected = expected!("oracle_dropins_json-2");
    assert_eq!(json(&p, &opts("img.raw"), false), expected);
    let expected = expected!("oracle_dropins_json-3");
    assert_eq!(json(&p, &debug(opts("img.raw")), true), expected);
    let expected = expected!("oracle_dropins_json-4");
    assert_eq!(json(&p, &debug(opts("img.raw")), false), expected);
    // On a terminal: pretty is colored, short is not.
    let expected = expected!("oracle_dropins_json-5");
    assert_eq!(json(&p, &tty("img.raw", 120, true), true), expected);
    let expected = expected!("oracle_dropins_json-6");
    assert_eq!(json(&p, &tty("img.raw", 120, true), false), expected);
}

#[test]
fn oracle_dropins_tty() {
    let p = dropins_plan();
    let expected = expected!("oracle_dropins_tty-1");
    assert_eq!(table_and_bar(&p, &tty("img.raw", 120, true)), expected);
    let expected = expected!("oracle_dropins_tty-2");
    assert_eq!(table_and_bar(&p, &tty("img.raw", 70, true)), expected);
    let expected = expected!("oracle_dropins_tty-3");
    assert_eq!(table_and_bar(&p, &tty("img.raw", 70, false)), expected);
}

#[test]
fn oracle_grey_label_multiline_underline() {
    let p = plan(
        99635200,
        vec![
            pp(
                ty("esp"),
                "esp",
                "ff9eb88e-a039-4c50-85cc-da11523d8eaf",
                0,
                Some("/tmp/o4/defs/10-esp.conf"),
                1048576,
                (None, 67108864),
                NEW0,
            ),
            with_dropins(
                pp(
                    ty("linux-generic"),
                    "",
                    "06f284a2-3466-41ea-9c52-29f357f53ace",
                    1,
                    Some("/tmp/o4/defs/30-data.conf"),
                    68157440,
                    (None, 20971520),
                    (None, 10485760),
                ),
                &[
                    "/tmp/o4/defs/30-data.conf.d/x.conf",
                    "/tmp/o4/defs/30-data.conf.d/y.conf",
                ],
            ),
        ],
    );
    let expected = expected!("oracle_grey_label_multiline_underline-1");
    assert_eq!(table_and_bar(&p, &opts("img.raw")), expected);
    let expected = expected!("oracle_grey_label_multiline_underline-2");
    assert_eq!(table_and_bar(&p, &tty("img.raw", 150, true)), expected);
}

// ---- own oracle runs: foreign partitions, resize, wide label (sfdisk-made 300M image) ----

fn foreign_plan() -> Plan {
    plan(
        314572800,
        vec![
            pp(
                ty("root-x86-64"),
                "myroot",
                "aaaaaaaa-0000-0000-0000-000000000002",
                1,
                Some("/tmp/o2/defs/20-root.conf"),
                31457280,
                (Some(31457280), 35471360),
                (Some(39485440), 0),
            ),
            pp(
                ty("home"),
                "Hömé 日本",
                "6608ec57-916f-4103-9b82-5c054341b92d",
                2,
                Some("/tmp/o2/defs/30-home.conf"),
                66928640,
                (None, 35471360),
                NEW0,
            ),
            pp(
                ty("linux-generic"),
                "linux-generic",
                "aaaaaaaa-0000-0000-0000-000000000001",
                0,
                None,
                1048576,
                (Some(20971520), 20971520),
                (Some(9437184), 9437184),
            ),
            pp(
                ty("swap"),
                "swapp",
                "aaaaaaaa-0000-0000-0000-000000000004",
                3,
                None,
                102400000,
                (Some(10485760), 10485760),
                (Some(201666560), 201666560),
            ),
        ],
    )
}

const O2: &str = "/tmp/o2/img.raw";

#[test]
fn oracle_foreign_text() {
    let p = foreign_plan();
    let expected = expected!("oracle_foreign_text-1");
    assert_eq!(table_and_bar(&p, &opts(O2)), expected);
    let expected = expected!("oracle_foreign_text-2");
    assert_eq!(table_and_bar(&p, &ascii(opts(O2))), expected);
    let expected = expected!("oracle_foreign_text-3");
    assert_eq!(table_and_bar(&p, &debug(opts(O2))), expected);
}

#[test]
fn oracle_foreign_json() {
    let p = foreign_plan();
    let expected = expected!("oracle_foreign_json-1");
    assert_eq!(json(&p, &opts(O2), true), expected);
    let expected = expected!("oracle_foreign_json-2");
    assert_eq!(json(&p, &debug(opts(O2)), true), expected);
    let expected = expected!("oracle_foreign_json-3");
    assert_eq!(json(&p, &tty(O2, 120, true), true), expected);
}

#[test]
fn oracle_foreign_tty_narrowing() {
    let p = foreign_plan();
    // stderr redirected: a terminal without colors.
    let expected = expected!("oracle_foreign_tty_narrowing-1");
    assert_eq!(table_and_bar(&p, &tty(O2, 120, false)), expected);
    let expected = expected!("oracle_foreign_tty_narrowing-2");
    assert_eq!(table_and_bar(&p, &tty(O2, 80, false)), expected);
    let expected = expected!("oracle_foreign_tty_narrowing-3");
    assert_eq!(table_and_bar(&p, &tty(O2, 60, false)), expected);
    let expected = expected!("oracle_foreign_tty_narrowing-4");
    assert_eq!(table_and_bar(&p, &debug(tty(O2, 80, false))), expected);
}

#[test]
fn oracle_foreign_tty_colors() {
    let p = foreign_plan();
    let expected = expected!("oracle_foreign_tty_colors-1");
    assert_eq!(table_and_bar(&p, &tty(O2, 120, true)), expected);
    let expected = expected!("oracle_foreign_tty_colors-2");
    assert_eq!(table_and_bar(&p, &tty(O2, 80, true)), expected);
    let expected = expected!("oracle_foreign_tty_colors-3");
    assert_eq!(table_and_bar(&p, &ascii(tty(O2, 60, true))), expected);
    let expected = expected!("oracle_foreign_tty_colors-4");
    assert_eq!(table_and_bar(&p, &debug(tty(O2, 100, true))), expected);
}

#[test]
fn oracle_unknown_type_unnamed_foreign() {
    let p = plan(
        104857600,
        vec![
            pp(
                ty("linux-generic"),
                "linux-generic",
                "06f284a2-3466-41ea-9c52-29f357f53ace",
                1,
                Some("/tmp/o3/defs/10-a.conf"),
                94351360,
                (None, 10485760),
                NEW0,
            ),
            pp(
                unknown_ty("12345678-1234-1234-1234-123456789abc"),
                "",
                "aaaaaaaa-0000-0000-0000-000000000001",
                0,
                None,
                1048576,
                (Some(10485760), 10485760),
                (Some(93302784), 82817024),
            ),
        ],
    );
    let expected = expected!("oracle_unknown_type_unnamed_foreign-1");
    assert_eq!(table_and_bar(&p, &opts("/tmp/o3/img.raw")), expected);
    let expected = expected!("oracle_unknown_type_unnamed_foreign-2");
    assert_eq!(json(&p, &debug(opts("/tmp/o3/img.raw")), false), expected);
}

#[test]
fn node_names() {
    assert_eq!(partition_node_name("image.raw", 0), "image.raw1");
    assert_eq!(partition_node_name("/dev/loop0", 1), "/dev/loop0p2");
    assert_eq!(partition_node_name("/dev/nvme0n1", 0), "/dev/nvme0n1p1");
    assert_eq!(partition_node_name("/dev/sda", 2), "/dev/sda3");
}

/// Rows without a split artifact read "-" once some row has one (the column is shown),
/// and stay null while none has (it is not).
#[test]
fn split_path_dashes_only_next_to_a_split_path() {
    let mut p = cap_created();
    let json = |p: &Plan| crate::pure::output::json(p, &opts("img.raw"), false);
    assert!(!json(&p).contains("split_path"));
    p.partitions[0].split_path = Some("img.esp.raw".to_string());
    let text = json(&p);
    assert!(text.contains(r#""split_path":"img.esp.raw""#), "{text}");
    assert_eq!(
        text.matches(r#""split_path":"-""#).count(),
        p.partitions.len() - 1
    );
}
