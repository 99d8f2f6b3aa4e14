//! Byte-exact rendering tests; every expected string was produced by upstream 257.
//! Golden tests: every expected string is verbatim output of upstream
//! systemd-repart 257 (captures in `shared/oracle/captures/257`, spec Appendix A,
//! or runs of the reference binary recorded while writing this module).

use super::*;
use crate::pure::gpt_types::PartitionType;
use crate::pure::plan::PlannedPartition;
use std::path::PathBuf;
use uuid::Uuid;

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
        label: label.to_string(),
        uuid: Uuid::parse_str(uuid).expect("test uuid"),
        partno,
        offset,
        old_size: size.0,
        new_size: size.1,
        old_padding: padding.0,
        new_padding: padding.1,
        attrs: 0,
        init_uuid: false,
        init_label: false,
        split_path: None,
        roothash: None,
        fs_uuid_key: None,
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
    let expected = concat!(
        "TYPE          LABEL     UUID                                 PARTNO FILE               RAW SIZE       SIZE PADDING\n",
        "esp           boot      ff9eb88e-a039-4c50-85cc-da11523d8eaf 0      10-esp.conf       209715200     → 200M → 0B\n",
        "linux-generic nix-store 06f284a2-3466-41ea-9c52-29f357f53ace 1      20-nix-store.conf   3600384     → 3.4M → 0B\n",
        "                                                                                                Σ = 203.4M Σ = 0B\n",
        "\n",
        " ▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒░\n",
        " │                                                                           └─ 20-nix-store.conf\n",
        " └─ 10-esp.conf                                                                \n",
        "\n",
    );
    assert_eq!(table_and_bar(&cap_created(), &opts("image.raw")), expected);
    let expected = concat!(
        "TYPE          LABEL     UUID                                 PARTNO FILE               RAW SIZE       SIZE PADDING\n",
        "esp           boot      ff9eb88e-a039-4c50-85cc-da11523d8eaf 0      10-esp.conf       209715200     → 200M → 0B\n",
        "linux-generic nix-store 06f284a2-3466-41ea-9c52-29f357f53ace 1      20-nix-store.conf   3600384     → 3.4M → 0B\n",
        "                                                                                                Σ = 203.4M Σ = 0B\n",
        "\n",
        " ▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒░\n",
        " │                                                                           └─ 20-nix-store.conf\n",
        " └─ 10-esp.conf                                                                \n",
        "\n",
    );
    assert_eq!(table_and_bar(&cap_created(), &opts("image.raw")), expected);
}

#[test]
fn capture_02_03_create_json() {
    let expected = concat!(
        "[\n",
        "\t{\n",
        "\t\t\"type\" : \"esp\",\n",
        "\t\t\"label\" : \"boot\",\n",
        "\t\t\"uuid\" : \"ff9eb88e-a039-4c50-85cc-da11523d8eaf\",\n",
        "\t\t\"partno\" : 0,\n",
        "\t\t\"file\" : \"/tmp/repart-oracle-test/repart.d/10-esp.conf\",\n",
        "\t\t\"node\" : \"image.raw1\",\n",
        "\t\t\"offset\" : 1048576,\n",
        "\t\t\"old_size\" : 0,\n",
        "\t\t\"raw_size\" : 209715200,\n",
        "\t\t\"old_padding\" : 0,\n",
        "\t\t\"raw_padding\" : 0,\n",
        "\t\t\"activity\" : \"create\"\n",
        "\t},\n",
        "\t{\n",
        "\t\t\"type\" : \"linux-generic\",\n",
        "\t\t\"label\" : \"nix-store\",\n",
        "\t\t\"uuid\" : \"06f284a2-3466-41ea-9c52-29f357f53ace\",\n",
        "\t\t\"partno\" : 1,\n",
        "\t\t\"file\" : \"/tmp/repart-oracle-test/repart.d/20-nix-store.conf\",\n",
        "\t\t\"node\" : \"image.raw2\",\n",
        "\t\t\"offset\" : 210763776,\n",
        "\t\t\"old_size\" : 0,\n",
        "\t\t\"raw_size\" : 3600384,\n",
        "\t\t\"old_padding\" : 0,\n",
        "\t\t\"raw_padding\" : 0,\n",
        "\t\t\"activity\" : \"create\"\n",
        "\t}\n",
        "]\n",
    );
    assert_eq!(json(&cap_created(), &opts("image.raw"), true), expected);
    let expected = "[{\"type\":\"esp\",\"label\":\"boot\",\"uuid\":\"ff9eb88e-a039-4c50-85cc-da11523d8eaf\",\"partno\":0,\"file\":\"/tmp/repart-oracle-test/repart.d/10-esp.conf\",\"node\":\"image.raw1\",\"offset\":1048576,\"old_size\":0,\"raw_size\":209715200,\"old_padding\":0,\"raw_padding\":0,\"activity\":\"create\"},{\"type\":\"linux-generic\",\"label\":\"nix-store\",\"uuid\":\"06f284a2-3466-41ea-9c52-29f357f53ace\",\"partno\":1,\"file\":\"/tmp/repart-oracle-test/repart.d/20-nix-store.conf\",\"node\":\"image.raw2\",\"offset\":210763776,\"old_size\":0,\"raw_size\":3600384,\"old_padding\":0,\"raw_padding\":0,\"activity\":\"create\"}]\n";
    assert_eq!(json(&cap_created(), &opts("image.raw"), false), expected);
}

#[test]
fn capture_05_create_tty_colors() {
    let expected = concat!(
        "\x1b[4mTYPE         \x1b[0m\x1b[4m \x1b[0m\x1b[4mLABEL    \x1b[0m\x1b[4m \x1b[0m\x1b[4mUUID                                \x1b[0m\x1b[4m \x1b[0m\x1b[4mPARTNO\x1b[0m\x1b[4m \x1b[0m\x1b[4mFILE             \x1b[0m\x1b[4m \x1b[0m\x1b[4m RAW SIZE\x1b[0m\x1b[4m \x1b[0m\x1b[4m      SIZE\x1b[0m\x1b[4m \x1b[0m\x1b[4mPADDING\x1b[0m\n",
        "esp           boot      ff9eb88e-a039-4c50-85cc-da11523d8eaf 0      10-esp.conf       209715200     → 200M → 0B\n",
        "linux-generic nix-store 06f284a2-3466-41ea-9c52-29f357f53ace 1      20-nix-store.conf   3600384 \x1b[0;4m    → 3.4M\x1b[0m → 0B\n",
        "\x1b[0;38:5:245m             \x1b[0m \x1b[0;38:5:245m         \x1b[0m \x1b[0;38:5:245m                                    \x1b[0m \x1b[0;38:5:245m      \x1b[0m \x1b[0;38:5:245m                 \x1b[0m \x1b[0;38:5:245m         \x1b[0m Σ = 203.4M Σ = 0B\n",
        "\n",
        " \x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;33m▒\x1b[0m░\x1b[0m\n",
        " │                                                                                                                   └─ 20-nix-store.conf\n",
        " └─ 10-esp.conf                                                                                                        \n",
        "\n",
    );
    assert_eq!(
        table_and_bar(&cap_created(), &tty("image.raw", 120, true)),
        expected
    );
}

#[test]
fn capture_11_firstboot_foreign_legend() {
    let expected = concat!(
        "TYPE          LABEL     UUID                                 PARTNO FILE           RAW SIZE      SIZE PADDING\n",
        "home          home      6608ec57-916f-4103-9b82-5c054341b92d 2      30-home.conf 7158276096    → 6.6G → 0B\n",
        "var           var       fb2077c2-75f6-4137-88d2-917d9361973b 3      40-var.conf  3579142144    → 3.3G → 0B\n",
        "esp           boot      ff9eb88e-a039-4c50-85cc-da11523d8eaf 0                    209715200      200M 0B\n",
        "linux-generic nix-store 06f284a2-3466-41ea-9c52-29f357f53ace 1                      3600384      3.4M 10G → 0B\n",
        "                                                                                            Σ = 10.1G Σ = 0B\n",
        "\n",
        " ▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒░\n",
        " │                                                   │                         \n",
        " └─ boot                                             │                         \n",
        "  │                                                  └─ 40-var.conf            \n",
        "  └─ 30-home.conf                                                              \n",
        "\n",
    );
    let node = format!("{CAP_ROOT}/257/11/image.raw");
    assert_eq!(table_and_bar(&cap_firstboot(false), &opts(&node)), expected);
}

#[test]
fn capture_12_rerun_unchanged() {
    let expected = concat!(
        "TYPE          LABEL     UUID                                 PARTNO FILE           RAW SIZE      SIZE PADDING\n",
        "home          home      6608ec57-916f-4103-9b82-5c054341b92d 2      30-home.conf 7158276096      6.6G 0B\n",
        "var           var       fb2077c2-75f6-4137-88d2-917d9361973b 3      40-var.conf  3579142144      3.3G 0B\n",
        "esp           boot      ff9eb88e-a039-4c50-85cc-da11523d8eaf 0                    209715200      200M 0B\n",
        "linux-generic nix-store 06f284a2-3466-41ea-9c52-29f357f53ace 1                      3600384      3.4M 0B\n",
        "                                                                                            Σ = 10.1G Σ = 0B\n",
        "\n",
        " ▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒░\n",
        " │                                                   │                         \n",
        " └─ boot                                             │                         \n",
        "  │                                                  └─ 40-var.conf            \n",
        "  └─ 30-home.conf                                                              \n",
        "\n",
    );
    let node = format!("{CAP_ROOT}/257/11/image.raw");
    assert_eq!(table_and_bar(&cap_firstboot(true), &opts(&node)), expected);
}

#[test]
fn capture_15_firstboot_json_null_file() {
    let expected = concat!(
        "[\n",
        "\t{\n",
        "\t\t\"type\" : \"home\",\n",
        "\t\t\"label\" : \"home\",\n",
        "\t\t\"uuid\" : \"6608ec57-916f-4103-9b82-5c054341b92d\",\n",
        "\t\t\"partno\" : 2,\n",
        "\t\t\"file\" : \"/tmp/repart-oracle-test/repart2.d/30-home.conf\",\n",
        "\t\t\"node\" : \"/tmp/repart-oracle-test/257/15/image.raw3\",\n",
        "\t\t\"offset\" : 214364160,\n",
        "\t\t\"old_size\" : 0,\n",
        "\t\t\"raw_size\" : 7158276096,\n",
        "\t\t\"old_padding\" : 0,\n",
        "\t\t\"raw_padding\" : 0,\n",
        "\t\t\"activity\" : \"create\"\n",
        "\t},\n",
        "\t{\n",
        "\t\t\"type\" : \"var\",\n",
        "\t\t\"label\" : \"var\",\n",
        "\t\t\"uuid\" : \"fb2077c2-75f6-4137-88d2-917d9361973b\",\n",
        "\t\t\"partno\" : 3,\n",
        "\t\t\"file\" : \"/tmp/repart-oracle-test/repart2.d/40-var.conf\",\n",
        "\t\t\"node\" : \"/tmp/repart-oracle-test/257/15/image.raw4\",\n",
        "\t\t\"offset\" : 7372640256,\n",
        "\t\t\"old_size\" : 0,\n",
        "\t\t\"raw_size\" : 3579142144,\n",
        "\t\t\"old_padding\" : 0,\n",
        "\t\t\"raw_padding\" : 0,\n",
        "\t\t\"activity\" : \"create\"\n",
        "\t},\n",
        "\t{\n",
        "\t\t\"type\" : \"esp\",\n",
        "\t\t\"label\" : \"boot\",\n",
        "\t\t\"uuid\" : \"ff9eb88e-a039-4c50-85cc-da11523d8eaf\",\n",
        "\t\t\"partno\" : 0,\n",
        "\t\t\"file\" : null,\n",
        "\t\t\"node\" : \"/tmp/repart-oracle-test/257/15/image.raw1\",\n",
        "\t\t\"offset\" : 1048576,\n",
        "\t\t\"old_size\" : 209715200,\n",
        "\t\t\"raw_size\" : 209715200,\n",
        "\t\t\"old_padding\" : 0,\n",
        "\t\t\"raw_padding\" : 0,\n",
        "\t\t\"activity\" : \"unchanged\"\n",
        "\t},\n",
        "\t{\n",
        "\t\t\"type\" : \"linux-generic\",\n",
        "\t\t\"label\" : \"nix-store\",\n",
        "\t\t\"uuid\" : \"06f284a2-3466-41ea-9c52-29f357f53ace\",\n",
        "\t\t\"partno\" : 1,\n",
        "\t\t\"file\" : null,\n",
        "\t\t\"node\" : \"/tmp/repart-oracle-test/257/15/image.raw2\",\n",
        "\t\t\"offset\" : 210763776,\n",
        "\t\t\"old_size\" : 3600384,\n",
        "\t\t\"raw_size\" : 3600384,\n",
        "\t\t\"old_padding\" : 10737418240,\n",
        "\t\t\"raw_padding\" : 0,\n",
        "\t\t\"activity\" : \"unchanged\"\n",
        "\t}\n",
        "]\n",
    );
    let node = format!("{CAP_ROOT}/257/15/image.raw");
    assert_eq!(json(&cap_firstboot(false), &opts(&node), true), expected);
}

#[test]
fn capture_16_firstboot_tty_colors() {
    let expected = concat!(
        "\x1b[4mTYPE         \x1b[0m\x1b[4m \x1b[0m\x1b[4mLABEL    \x1b[0m\x1b[4m \x1b[0m\x1b[4mUUID                                \x1b[0m\x1b[4m \x1b[0m\x1b[4mPARTNO\x1b[0m\x1b[4m \x1b[0m\x1b[4mFILE        \x1b[0m\x1b[4m \x1b[0m\x1b[4m  RAW SIZE\x1b[0m\x1b[4m \x1b[0m\x1b[4m     SIZE\x1b[0m\x1b[4m \x1b[0m\x1b[4mPADDING \x1b[0m\n",
        "home          home      6608ec57-916f-4103-9b82-5c054341b92d 2      30-home.conf 7158276096    → 6.6G → 0B\n",
        "var           var       fb2077c2-75f6-4137-88d2-917d9361973b 3      40-var.conf  3579142144    → 3.3G → 0B\n",
        "esp           boot      ff9eb88e-a039-4c50-85cc-da11523d8eaf 0      \x1b[0;38:5:245m            \x1b[0m  209715200      200M 0B\n",
        "linux-generic nix-store 06f284a2-3466-41ea-9c52-29f357f53ace 1      \x1b[0;38:5:245m            \x1b[0m    3600384 \x1b[0;4m     3.4M\x1b[0m 10G → 0B\n",
        "\x1b[0;38:5:245m             \x1b[0m \x1b[0;38:5:245m         \x1b[0m \x1b[0;38:5:245m                                    \x1b[0m \x1b[0;38:5:245m      \x1b[0m \x1b[0;38:5:245m            \x1b[0m \x1b[0;38:5:245m          \x1b[0m Σ = 10.1G Σ = 0B\n",
        "\n",
        " \x1b[0;32m▒\x1b[0;32m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0m░\x1b[0m\n",
        " │ ├─ nix-store                                                                 │                                      \n",
        " └─ boot                                                                        │                                      \n",
        "   │                                                                            └─ 40-var.conf                         \n",
        "   └─ 30-home.conf                                                                                                     \n",
        "\n",
    );
    let node = format!("{CAP_ROOT}/257/16/image.raw");
    assert_eq!(
        table_and_bar(&cap_firstboot(false), &tty(&node, 120, true)),
        expected
    );
}

#[test]
fn capture_17_existing_grown() {
    let expected = concat!(
        "TYPE          LABEL     UUID                                 PARTNO FILE                RAW SIZE        SIZE PADDING\n",
        "esp           boot      ff9eb88e-a039-4c50-85cc-da11523d8eaf 0      10-esp.conf        209715200        200M 0B\n",
        "linux-generic nix-store 06f284a2-3466-41ea-9c52-29f357f53ace 1      20-nix-store.conf 2685251584 3.4M → 2.5G 10G → 0B\n",
        "home          home      6608ec57-916f-4103-9b82-5c054341b92d 2      30-home.conf      5370511360        → 5G → 0B\n",
        "var           var       fb2077c2-75f6-4137-88d2-917d9361973b 3      40-var.conf       2685255680      → 2.5G → 0B\n",
        "                                                                                                   Σ = 10.1G Σ = 0B\n",
        "\n",
        " ▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒░\n",
        " │                   │                                     └─ 40-var.conf      \n",
        " │                   └─ 30-home.conf                                           \n",
        " │                                                                             \n",
        " └─ 10-esp.conf                                                                \n",
        "\n",
    );
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
    let expected = concat!(
        "TYPE        LABEL       UUID                                 PARTNO FILE         RAW SIZE     SIZE PADDING\n",
        "esp         esp         39107b09-615d-48fb-ba37-c663885fce67 0      10-esp.conf  67108864    → 64M → 0B\n",
        "root-x86-64 root-x86-64 60f33797-1d71-4dcb-aa6f-20564f036cd0 1      20-root.conf 33554432    → 32M → 0B\n",
        "home        home        4980595d-d74a-483a-aa9e-9903879a0ee5 2      30-home.conf 33554432    → 32M → 0B\n",
        "                                                                                          Σ = 128M Σ = 0B\n",
        "\n",
        " ▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒░\n",
        " │                                      │                  └─ 30-home.conf     \n",
        " │                                      └─ 20-root.conf                        \n",
        " └─ 10-esp.conf                                                                \n",
        "\n",
    );
    assert_eq!(table_and_bar(&spec_a1(false), &opts("img.raw")), expected);
}

#[test]
fn spec_a2_ascii() {
    let expected = concat!(
        "TYPE        LABEL       UUID                                 PARTNO FILE         RAW SIZE     SIZE PADDING\n",
        "esp         esp         39107b09-615d-48fb-ba37-c663885fce67 0      10-esp.conf  67108864   -> 64M -> 0B\n",
        "root-x86-64 root-x86-64 60f33797-1d71-4dcb-aa6f-20564f036cd0 1      20-root.conf 33554432   -> 32M -> 0B\n",
        "home        home        4980595d-d74a-483a-aa9e-9903879a0ee5 2      30-home.conf 33554432   -> 32M -> 0B\n",
        "                                                                                          S = 128M S = 0B\n",
        "\n",
        " XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX-\n",
        " |                                      |                  `- 30-home.conf     \n",
        " |                                      `- 20-root.conf                        \n",
        " `- 10-esp.conf                                                                \n",
        "\n",
    );
    assert_eq!(
        table_and_bar(&spec_a1(false), &ascii(opts("img.raw"))),
        expected
    );
}

#[test]
fn spec_a3_a4_json() {
    let expected = concat!(
        "[\n",
        "\t{\n",
        "\t\t\"type\" : \"esp\",\n",
        "\t\t\"label\" : \"esp\",\n",
        "\t\t\"uuid\" : \"39107b09-615d-48fb-ba37-c663885fce67\",\n",
        "\t\t\"partno\" : 0,\n",
        "\t\t\"file\" : \"/tmp/g257/s1/defs/10-esp.conf\",\n",
        "\t\t\"node\" : \"b.raw1\",\n",
        "\t\t\"offset\" : 1048576,\n",
        "\t\t\"old_size\" : 0,\n",
        "\t\t\"raw_size\" : 67108864,\n",
        "\t\t\"old_padding\" : 0,\n",
        "\t\t\"raw_padding\" : 0,\n",
        "\t\t\"activity\" : \"create\"\n",
        "\t},\n",
        "\t{\n",
        "\t\t\"type\" : \"root-x86-64\",\n",
        "\t\t\"label\" : \"root-x86-64\",\n",
        "\t\t\"uuid\" : \"60f33797-1d71-4dcb-aa6f-20564f036cd0\",\n",
        "\t\t\"partno\" : 1,\n",
        "\t\t\"file\" : \"/tmp/g257/s1/defs/20-root.conf\",\n",
        "\t\t\"node\" : \"b.raw2\",\n",
        "\t\t\"offset\" : 68157440,\n",
        "\t\t\"old_size\" : 0,\n",
        "\t\t\"raw_size\" : 33554432,\n",
        "\t\t\"old_padding\" : 0,\n",
        "\t\t\"raw_padding\" : 0,\n",
        "\t\t\"activity\" : \"create\"\n",
        "\t},\n",
        "\t{\n",
        "\t\t\"type\" : \"home\",\n",
        "\t\t\"label\" : \"home\",\n",
        "\t\t\"uuid\" : \"4980595d-d74a-483a-aa9e-9903879a0ee5\",\n",
        "\t\t\"partno\" : 2,\n",
        "\t\t\"file\" : \"/tmp/g257/s1/defs/30-home.conf\",\n",
        "\t\t\"node\" : \"b.raw3\",\n",
        "\t\t\"offset\" : 101711872,\n",
        "\t\t\"old_size\" : 0,\n",
        "\t\t\"raw_size\" : 33554432,\n",
        "\t\t\"old_padding\" : 0,\n",
        "\t\t\"raw_padding\" : 0,\n",
        "\t\t\"activity\" : \"create\"\n",
        "\t}\n",
        "]\n",
    );
    assert_eq!(json(&spec_a1(false), &opts("b.raw"), true), expected);
    let expected = "[{\"type\":\"esp\",\"label\":\"esp\",\"uuid\":\"39107b09-615d-48fb-ba37-c663885fce67\",\"partno\":0,\"file\":\"/tmp/g257/s1/defs/10-esp.conf\",\"node\":\"c.raw1\",\"offset\":1048576,\"old_size\":0,\"raw_size\":67108864,\"old_padding\":0,\"raw_padding\":0,\"activity\":\"create\"},{\"type\":\"root-x86-64\",\"label\":\"root-x86-64\",\"uuid\":\"60f33797-1d71-4dcb-aa6f-20564f036cd0\",\"partno\":1,\"file\":\"/tmp/g257/s1/defs/20-root.conf\",\"node\":\"c.raw2\",\"offset\":68157440,\"old_size\":0,\"raw_size\":33554432,\"old_padding\":0,\"raw_padding\":0,\"activity\":\"create\"},{\"type\":\"home\",\"label\":\"home\",\"uuid\":\"4980595d-d74a-483a-aa9e-9903879a0ee5\",\"partno\":2,\"file\":\"/tmp/g257/s1/defs/30-home.conf\",\"node\":\"c.raw3\",\"offset\":101711872,\"old_size\":0,\"raw_size\":33554432,\"old_padding\":0,\"raw_padding\":0,\"activity\":\"create\"}]\n";
    assert_eq!(json(&spec_a1(false), &opts("c.raw"), false), expected);
}

#[test]
fn spec_a5_rerun() {
    let expected = concat!(
        "TYPE        LABEL       UUID                                 PARTNO FILE         RAW SIZE     SIZE PADDING\n",
        "esp         esp         39107b09-615d-48fb-ba37-c663885fce67 0      10-esp.conf  67108864      64M 0B\n",
        "root-x86-64 root-x86-64 60f33797-1d71-4dcb-aa6f-20564f036cd0 1      20-root.conf 33554432      32M 0B\n",
        "home        home        4980595d-d74a-483a-aa9e-9903879a0ee5 2      30-home.conf 33554432      32M 0B\n",
        "                                                                                          Σ = 128M Σ = 0B\n",
        "\n",
        " ▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒░\n",
        " │                                      │                  └─ 30-home.conf     \n",
        " │                                      └─ 20-root.conf                        \n",
        " └─ 10-esp.conf                                                                \n",
        "\n",
    );
    assert_eq!(table_and_bar(&spec_a1(true), &opts("img.raw")), expected);
}

#[test]
fn spec_a6_grown() {
    let expected = concat!(
        "TYPE        LABEL       UUID                                 PARTNO FILE          RAW SIZE         SIZE PADDING\n",
        "esp         esp         39107b09-615d-48fb-ba37-c663885fce67 0      10-esp.conf   67108864          64M 0B\n",
        "root-x86-64 root-x86-64 60f33797-1d71-4dcb-aa6f-20564f036cd0 1      20-root.conf  33554432          32M 0B\n",
        "home        home        4980595d-d74a-483a-aa9e-9903879a0ee5 2      30-home.conf 166703104 32M → 158.9M 126.9M → 0B\n",
        "                                                                                             Σ = 254.9M Σ = 0B\n",
        "\n",
        " ▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒░\n",
        " │                  │         └─ 30-home.conf                                  \n",
        " │                  └─ 20-root.conf                                            \n",
        " └─ 10-esp.conf                                                                \n",
        "\n",
    );
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
    let expected = concat!(
        "TYPE          LABEL         UUID                                 PARTNO FILE            RAW SIZE       SIZE PADDING\n",
        "root-x86-64   root-x86-64   60f33797-1d71-4dcb-aa6f-20564f036cd0 1      10-root-a.conf 104857600     → 100M → 0B\n",
        "root-x86-64   root-x86-64-2 73a4ccd2-eaf5-44da-a366-f99188210fdc 2      20-root-b.conf 104857600     → 100M → 0B\n",
        "swap          swap          78c92db8-3d2b-4823-b0dc-792b78f66f1e 3      30-swap.conf    93835264    → 89.4M → 0B\n",
        "linux-generic foreign       9fee7aa3-1957-084d-b969-ba09be67aba6 0      40-data.conf    20971520        20M 378.9M → 89.4M\n",
        "                                                                                                 Σ = 309.4M Σ = 89.4M\n",
        "\n",
        " ▒▒▒▒▒░░░░░░░░░░░░░░░░░░░░░░▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒░\n",
        " └─ 40-data.conf            │                       │                        │                     \n",
        "                            │                       │                        └─ 30-swap.conf       \n",
        "                            │                       └─ 20-root-b.conf                              \n",
        "                            └─ 10-root-a.conf                                                      \n",
        "\n",
    );
    let o = RenderOptions {
        columns: 100,
        ..opts("/tmp/g257/s2/x2.raw")
    };
    assert_eq!(table_and_bar(&spec_a7(), &o), expected);
}

#[test]
fn spec_a7_debug_columns() {
    let expected = concat!(
        "TYPE          LABEL         UUID                                 PARTNO FILE                           NODE    OFFSET OLD SIZE  RAW SIZE       SIZE OLD PADDING RAW PADDING PADDING        ACTIVITY\n",
        "root-x86-64   root-x86-64   60f33797-1d71-4dcb-aa6f-20564f036cd0 1      10-root-a.conf /tmp/g257/s2/x3.raw2 115859456        0 104857600     → 100M           0           0 → 0B           create\n",
        "root-x86-64   root-x86-64-2 73a4ccd2-eaf5-44da-a366-f99188210fdc 2      20-root-b.conf /tmp/g257/s2/x3.raw3 220717056        0 104857600     → 100M           0           0 → 0B           create\n",
        "swap          swap          78c92db8-3d2b-4823-b0dc-792b78f66f1e 3      30-swap.conf   /tmp/g257/s2/x3.raw4 325574656        0  93835264    → 89.4M           0           0 → 0B           create\n",
        "linux-generic foreign       9fee7aa3-1957-084d-b969-ba09be67aba6 0      40-data.conf   /tmp/g257/s2/x3.raw1   1048576 20971520  20971520        20M   397389824    93839360 378.9M → 89.4M unchanged\n",
        "                                                                                                                                         Σ = 309.4M                         Σ = 89.4M      \n",
        "\n",
        " ▒▒▒▒░░░░░░░░░░░░░░░░░▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒░\n",
        " └─ 40-data.conf      │                   │                  │                 \n",
        "                      │                   │                  └─ 30-swap.conf   \n",
        "                      │                   └─ 20-root-b.conf                    \n",
        "                      └─ 10-root-a.conf                                        \n",
        "\n",
    );
    assert_eq!(
        table_and_bar(&spec_a7(), &debug(opts("/tmp/g257/s2/x3.raw"))),
        expected
    );
}

#[test]
fn spec_a8_tiny_empty_bar_range() {
    let expected = concat!(
        "TYPE          LABEL         UUID                                 PARTNO FILE      RAW SIZE   SIZE PADDING\n",
        "linux-generic linux-generic df71f5e3-080a-4d16-824b-18591b881380 0      10-a.conf     4096   → 4K → 0B\n",
        "                                                                                           Σ = 4K Σ = 0B\n",
        "\n",
        " ░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░\n",
        "  └─ 10-a.conf                                                                 \n",
        "\n",
    );
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
    let expected = concat!(
        "\n",
        " ░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░\n",
        "\n",
    );
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
    let expected = concat!("\n", " ░░░░░░░░░░░░░░░░░░░░░░░░░░░░\n", "\n",);
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
    let expected = concat!(
        "TYPE          LABEL  UUID                                 PARTNO FILE          RAW SIZE     SIZE PADDING DROP-IN FILES\n",
        "esp           esp    ff9eb88e-a039-4c50-85cc-da11523d8eaf 0      10-esp.conf   67108864    → 64M → 0B    \n",
        "root-x86-64   rootfs 5fa5c003-94a9-41e3-bbe5-e94e189126c3 1      20-root.conf 104857600   → 100M → 0B    /tmp/o1/defs/20-root.conf.d/a.conf\n",
        "                                                                                                         /tmp/o1/defs/20-root.conf.d/b.conf\n",
        "linux-generic -      06f284a2-3466-41ea-9c52-29f357f53ace 2      30-data.conf  20971520    → 20M → 10M   \n",
        "                                                                                        Σ = 184M Σ = 10M \n",
        "\n",
        " ▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒░░░░░\n",
        " │                        │                                       └─ 30-data.conf\n",
        " │                        └─ 20-root.conf                                      \n",
        " └─ 10-esp.conf                                                                \n",
        "\n",
    );
    assert_eq!(table_and_bar(&p, &opts("img.raw")), expected);
    let expected = concat!(
        "TYPE          LABEL  UUID                                 PARTNO FILE          RAW SIZE     SIZE PADDING DROP-IN FILES\n",
        "esp           esp    ff9eb88e-a039-4c50-85cc-da11523d8eaf 0      10-esp.conf   67108864   -> 64M -> 0B   \n",
        "root-x86-64   rootfs 5fa5c003-94a9-41e3-bbe5-e94e189126c3 1      20-root.conf 104857600  -> 100M -> 0B   /tmp/o1/defs/20-root.conf.d/a.conf\n",
        "                                                                                                         /tmp/o1/defs/20-root.conf.d/b.conf\n",
        "linux-generic -      06f284a2-3466-41ea-9c52-29f357f53ace 2      30-data.conf  20971520   -> 20M -> 10M  \n",
        "                                                                                        S = 184M S = 10M \n",
        "\n",
        " XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX-----\n",
        " |                        |                                       `- 30-data.conf\n",
        " |                        `- 20-root.conf                                      \n",
        " `- 10-esp.conf                                                                \n",
        "\n",
    );
    assert_eq!(table_and_bar(&p, &ascii(opts("img.raw"))), expected);
    let expected = concat!(
        "esp           esp    ff9eb88e-a039-4c50-85cc-da11523d8eaf 0 10-esp.conf   67108864    → 64M → 0B    \n",
        "root-x86-64   rootfs 5fa5c003-94a9-41e3-bbe5-e94e189126c3 1 20-root.conf 104857600   → 100M → 0B    /tmp/o1/defs/20-root.conf.d/a.conf\n",
        "                                                                                                    /tmp/o1/defs/20-root.conf.d/b.conf\n",
        "linux-generic -      06f284a2-3466-41ea-9c52-29f357f53ace 2 30-data.conf  20971520    → 20M → 10M   \n",
        "                                                                                   Σ = 184M Σ = 10M \n",
        "\n",
        " ▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒░░░░░\n",
        " │                        │                                       └─ 30-data.conf\n",
        " │                        └─ 20-root.conf                                      \n",
        " └─ 10-esp.conf                                                                \n",
        "\n",
    );
    let o = RenderOptions {
        header: false,
        ..opts("img.raw")
    };
    assert_eq!(table_and_bar(&p, &o), expected);
    let expected = concat!(
        "TYPE          LABEL  UUID                                 PARTNO FILE          RAW SIZE     SIZE PADDING DROP-IN FILES\n",
        "esp           esp    ff9eb88e-a039-4c50-85cc-da11523d8eaf 0      10-esp.conf   67108864    → 64M → 0B    \n",
        "root-x86-64   rootfs 5fa5c003-94a9-41e3-bbe5-e94e189126c3 1      20-root.conf 104857600   → 100M → 0B    /tmp/o1/defs/20-root.conf.d/a.conf\n",
        "                                                                                                         /tmp/o1/defs/20-root.conf.d/b.conf\n",
        "linux-generic -      06f284a2-3466-41ea-9c52-29f357f53ace 2      30-data.conf  20971520    → 20M → 10M   \n",
        "                                                                                        Σ = 184M Σ = 10M \n",
        "\n",
        " ▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒░░░░░░\n",
        " │                               │                                                 └─ 30-data.conf \n",
        " │                               └─ 20-root.conf                                                   \n",
        " └─ 10-esp.conf                                                                                    \n",
        "\n",
    );
    let o = RenderOptions {
        columns: 100,
        ..opts("img.raw")
    };
    assert_eq!(table_and_bar(&p, &o), expected);
    let expected = concat!(
        "TYPE          LABEL  UUID                                 PARTNO FILE             NODE    OFFSET OLD SIZE  RAW SIZE     SIZE OLD PADDING RAW PADDING PADDING ACTIVITY DROP-IN FILES\n",
        "esp           esp    ff9eb88e-a039-4c50-85cc-da11523d8eaf 0      10-esp.conf  img.raw1   1048576        0  67108864    → 64M           0           0 → 0B    create   \n",
        "root-x86-64   rootfs 5fa5c003-94a9-41e3-bbe5-e94e189126c3 1      20-root.conf img.raw2  68157440        0 104857600   → 100M           0           0 → 0B    create   /tmp/o1/defs/20-root.conf.d/a.conf\n",
        "                                                                                                                                                                      /tmp/o1/defs/20-root.conf.d/b.conf\n",
        "linux-generic -      06f284a2-3466-41ea-9c52-29f357f53ace 2      30-data.conf img.raw3 173015040        0  20971520    → 20M           0    10485760 → 10M   create   \n",
        "                                                                                                                    Σ = 184M                         Σ = 10M          \n",
        "\n",
        " ▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒░░░░░\n",
        " │                        │                                       └─ 30-data.conf\n",
        " │                        └─ 20-root.conf                                      \n",
        " └─ 10-esp.conf                                                                \n",
        "\n",
    );
    assert_eq!(table_and_bar(&p, &debug(opts("img.raw"))), expected);
}

#[test]
fn oracle_dropins_json() {
    let p = dropins_plan();
    let expected = concat!(
        "[\n",
        "\t{\n",
        "\t\t\"type\" : \"esp\",\n",
        "\t\t\"label\" : \"esp\",\n",
        "\t\t\"uuid\" : \"ff9eb88e-a039-4c50-85cc-da11523d8eaf\",\n",
        "\t\t\"partno\" : 0,\n",
        "\t\t\"file\" : \"/tmp/o1/defs/10-esp.conf\",\n",
        "\t\t\"node\" : \"img.raw1\",\n",
        "\t\t\"offset\" : 1048576,\n",
        "\t\t\"old_size\" : 0,\n",
        "\t\t\"raw_size\" : 67108864,\n",
        "\t\t\"old_padding\" : 0,\n",
        "\t\t\"raw_padding\" : 0,\n",
        "\t\t\"activity\" : \"create\",\n",
        "\t\t\"drop-in_files\" : []\n",
        "\t},\n",
        "\t{\n",
        "\t\t\"type\" : \"root-x86-64\",\n",
        "\t\t\"label\" : \"rootfs\",\n",
        "\t\t\"uuid\" : \"5fa5c003-94a9-41e3-bbe5-e94e189126c3\",\n",
        "\t\t\"partno\" : 1,\n",
        "\t\t\"file\" : \"/tmp/o1/defs/20-root.conf\",\n",
        "\t\t\"node\" : \"img.raw2\",\n",
        "\t\t\"offset\" : 68157440,\n",
        "\t\t\"old_size\" : 0,\n",
        "\t\t\"raw_size\" : 104857600,\n",
        "\t\t\"old_padding\" : 0,\n",
        "\t\t\"raw_padding\" : 0,\n",
        "\t\t\"activity\" : \"create\",\n",
        "\t\t\"drop-in_files\" : [\n",
        "\t\t\t\"/tmp/o1/defs/20-root.conf.d/a.conf\",\n",
        "\t\t\t\"/tmp/o1/defs/20-root.conf.d/b.conf\"\n",
        "\t\t]\n",
        "\t},\n",
        "\t{\n",
        "\t\t\"type\" : \"linux-generic\",\n",
        "\t\t\"label\" : \"-\",\n",
        "\t\t\"uuid\" : \"06f284a2-3466-41ea-9c52-29f357f53ace\",\n",
        "\t\t\"partno\" : 2,\n",
        "\t\t\"file\" : \"/tmp/o1/defs/30-data.conf\",\n",
        "\t\t\"node\" : \"img.raw3\",\n",
        "\t\t\"offset\" : 173015040,\n",
        "\t\t\"old_size\" : 0,\n",
        "\t\t\"raw_size\" : 20971520,\n",
        "\t\t\"old_padding\" : 0,\n",
        "\t\t\"raw_padding\" : 10485760,\n",
        "\t\t\"activity\" : \"create\",\n",
        "\t\t\"drop-in_files\" : []\n",
        "\t}\n",
        "]\n",
    );
    assert_eq!(json(&p, &opts("img.raw"), true), expected);
    let expected = "[{\"type\":\"esp\",\"label\":\"esp\",\"uuid\":\"ff9eb88e-a039-4c50-85cc-da11523d8eaf\",\"partno\":0,\"file\":\"/tmp/o1/defs/10-esp.conf\",\"node\":\"img.raw1\",\"offset\":1048576,\"old_size\":0,\"raw_size\":67108864,\"old_padding\":0,\"raw_padding\":0,\"activity\":\"create\",\"drop-in_files\":[]},{\"type\":\"root-x86-64\",\"label\":\"rootfs\",\"uuid\":\"5fa5c003-94a9-41e3-bbe5-e94e189126c3\",\"partno\":1,\"file\":\"/tmp/o1/defs/20-root.conf\",\"node\":\"img.raw2\",\"offset\":68157440,\"old_size\":0,\"raw_size\":104857600,\"old_padding\":0,\"raw_padding\":0,\"activity\":\"create\",\"drop-in_files\":[\"/tmp/o1/defs/20-root.conf.d/a.conf\",\"/tmp/o1/defs/20-root.conf.d/b.conf\"]},{\"type\":\"linux-generic\",\"label\":\"-\",\"uuid\":\"06f284a2-3466-41ea-9c52-29f357f53ace\",\"partno\":2,\"file\":\"/tmp/o1/defs/30-data.conf\",\"node\":\"img.raw3\",\"offset\":173015040,\"old_size\":0,\"raw_size\":20971520,\"old_padding\":0,\"raw_padding\":10485760,\"activity\":\"create\",\"drop-in_files\":[]}]\n";
    assert_eq!(json(&p, &opts("img.raw"), false), expected);
    let expected = concat!(
        "[\n",
        "\t{\n",
        "\t\t\"type\" : \"esp\",\n",
        "\t\t\"label\" : \"esp\",\n",
        "\t\t\"uuid\" : \"ff9eb88e-a039-4c50-85cc-da11523d8eaf\",\n",
        "\t\t\"partno\" : 0,\n",
        "\t\t\"file\" : \"/tmp/o1/defs/10-esp.conf\",\n",
        "\t\t\"node\" : \"img.raw1\",\n",
        "\t\t\"offset\" : 1048576,\n",
        "\t\t\"old_size\" : 0,\n",
        "\t\t\"raw_size\" : 67108864,\n",
        "\t\t\"size\" : \"→ 64M\",\n",
        "\t\t\"old_padding\" : 0,\n",
        "\t\t\"raw_padding\" : 0,\n",
        "\t\t\"padding\" : \"→ 0B\",\n",
        "\t\t\"activity\" : \"create\",\n",
        "\t\t\"drop-in_files\" : []\n",
        "\t},\n",
        "\t{\n",
        "\t\t\"type\" : \"root-x86-64\",\n",
        "\t\t\"label\" : \"rootfs\",\n",
        "\t\t\"uuid\" : \"5fa5c003-94a9-41e3-bbe5-e94e189126c3\",\n",
        "\t\t\"partno\" : 1,\n",
        "\t\t\"file\" : \"/tmp/o1/defs/20-root.conf\",\n",
        "\t\t\"node\" : \"img.raw2\",\n",
        "\t\t\"offset\" : 68157440,\n",
        "\t\t\"old_size\" : 0,\n",
        "\t\t\"raw_size\" : 104857600,\n",
        "\t\t\"size\" : \"→ 100M\",\n",
        "\t\t\"old_padding\" : 0,\n",
        "\t\t\"raw_padding\" : 0,\n",
        "\t\t\"padding\" : \"→ 0B\",\n",
        "\t\t\"activity\" : \"create\",\n",
        "\t\t\"drop-in_files\" : [\n",
        "\t\t\t\"/tmp/o1/defs/20-root.conf.d/a.conf\",\n",
        "\t\t\t\"/tmp/o1/defs/20-root.conf.d/b.conf\"\n",
        "\t\t]\n",
        "\t},\n",
        "\t{\n",
        "\t\t\"type\" : \"linux-generic\",\n",
        "\t\t\"label\" : \"-\",\n",
        "\t\t\"uuid\" : \"06f284a2-3466-41ea-9c52-29f357f53ace\",\n",
        "\t\t\"partno\" : 2,\n",
        "\t\t\"file\" : \"/tmp/o1/defs/30-data.conf\",\n",
        "\t\t\"node\" : \"img.raw3\",\n",
        "\t\t\"offset\" : 173015040,\n",
        "\t\t\"old_size\" : 0,\n",
        "\t\t\"raw_size\" : 20971520,\n",
        "\t\t\"size\" : \"→ 20M\",\n",
        "\t\t\"old_padding\" : 0,\n",
        "\t\t\"raw_padding\" : 10485760,\n",
        "\t\t\"padding\" : \"→ 10M\",\n",
        "\t\t\"activity\" : \"create\",\n",
        "\t\t\"drop-in_files\" : []\n",
        "\t}\n",
        "]\n",
    );
    assert_eq!(json(&p, &debug(opts("img.raw")), true), expected);
    let expected = "[{\"type\":\"esp\",\"label\":\"esp\",\"uuid\":\"ff9eb88e-a039-4c50-85cc-da11523d8eaf\",\"partno\":0,\"file\":\"/tmp/o1/defs/10-esp.conf\",\"node\":\"img.raw1\",\"offset\":1048576,\"old_size\":0,\"raw_size\":67108864,\"size\":\"→ 64M\",\"old_padding\":0,\"raw_padding\":0,\"padding\":\"→ 0B\",\"activity\":\"create\",\"drop-in_files\":[]},{\"type\":\"root-x86-64\",\"label\":\"rootfs\",\"uuid\":\"5fa5c003-94a9-41e3-bbe5-e94e189126c3\",\"partno\":1,\"file\":\"/tmp/o1/defs/20-root.conf\",\"node\":\"img.raw2\",\"offset\":68157440,\"old_size\":0,\"raw_size\":104857600,\"size\":\"→ 100M\",\"old_padding\":0,\"raw_padding\":0,\"padding\":\"→ 0B\",\"activity\":\"create\",\"drop-in_files\":[\"/tmp/o1/defs/20-root.conf.d/a.conf\",\"/tmp/o1/defs/20-root.conf.d/b.conf\"]},{\"type\":\"linux-generic\",\"label\":\"-\",\"uuid\":\"06f284a2-3466-41ea-9c52-29f357f53ace\",\"partno\":2,\"file\":\"/tmp/o1/defs/30-data.conf\",\"node\":\"img.raw3\",\"offset\":173015040,\"old_size\":0,\"raw_size\":20971520,\"size\":\"→ 20M\",\"old_padding\":0,\"raw_padding\":10485760,\"padding\":\"→ 10M\",\"activity\":\"create\",\"drop-in_files\":[]}]\n";
    assert_eq!(json(&p, &debug(opts("img.raw")), false), expected);
    // On a terminal: pretty is colored, short is not.
    let expected = concat!(
        "[\n",
        "\t{\n",
        "\t\t\"\x1b[0;32mtype\x1b[0m\" : \"\x1b[0;32mesp\x1b[0m\",\n",
        "\t\t\"\x1b[0;32mlabel\x1b[0m\" : \"\x1b[0;32mesp\x1b[0m\",\n",
        "\t\t\"\x1b[0;32muuid\x1b[0m\" : \"\x1b[0;32mff9eb88e-a039-4c50-85cc-da11523d8eaf\x1b[0m\",\n",
        "\t\t\"\x1b[0;32mpartno\x1b[0m\" : \x1b[0;1;34m0\x1b[0m,\n",
        "\t\t\"\x1b[0;32mfile\x1b[0m\" : \"\x1b[0;32m/tmp/o1/defs/10-esp.conf\x1b[0m\",\n",
        "\t\t\"\x1b[0;32mnode\x1b[0m\" : \"\x1b[0;32mimg.raw1\x1b[0m\",\n",
        "\t\t\"\x1b[0;32moffset\x1b[0m\" : \x1b[0;1;34m1048576\x1b[0m,\n",
        "\t\t\"\x1b[0;32mold_size\x1b[0m\" : \x1b[0;1;34m0\x1b[0m,\n",
        "\t\t\"\x1b[0;32mraw_size\x1b[0m\" : \x1b[0;1;34m67108864\x1b[0m,\n",
        "\t\t\"\x1b[0;32mold_padding\x1b[0m\" : \x1b[0;1;34m0\x1b[0m,\n",
        "\t\t\"\x1b[0;32mraw_padding\x1b[0m\" : \x1b[0;1;34m0\x1b[0m,\n",
        "\t\t\"\x1b[0;32mactivity\x1b[0m\" : \"\x1b[0;32mcreate\x1b[0m\",\n",
        "\t\t\"\x1b[0;32mdrop-in_files\x1b[0m\" : []\n",
        "\t},\n",
        "\t{\n",
        "\t\t\"\x1b[0;32mtype\x1b[0m\" : \"\x1b[0;32mroot-x86-64\x1b[0m\",\n",
        "\t\t\"\x1b[0;32mlabel\x1b[0m\" : \"\x1b[0;32mrootfs\x1b[0m\",\n",
        "\t\t\"\x1b[0;32muuid\x1b[0m\" : \"\x1b[0;32m5fa5c003-94a9-41e3-bbe5-e94e189126c3\x1b[0m\",\n",
        "\t\t\"\x1b[0;32mpartno\x1b[0m\" : \x1b[0;1;34m1\x1b[0m,\n",
        "\t\t\"\x1b[0;32mfile\x1b[0m\" : \"\x1b[0;32m/tmp/o1/defs/20-root.conf\x1b[0m\",\n",
        "\t\t\"\x1b[0;32mnode\x1b[0m\" : \"\x1b[0;32mimg.raw2\x1b[0m\",\n",
        "\t\t\"\x1b[0;32moffset\x1b[0m\" : \x1b[0;1;34m68157440\x1b[0m,\n",
        "\t\t\"\x1b[0;32mold_size\x1b[0m\" : \x1b[0;1;34m0\x1b[0m,\n",
        "\t\t\"\x1b[0;32mraw_size\x1b[0m\" : \x1b[0;1;34m104857600\x1b[0m,\n",
        "\t\t\"\x1b[0;32mold_padding\x1b[0m\" : \x1b[0;1;34m0\x1b[0m,\n",
        "\t\t\"\x1b[0;32mraw_padding\x1b[0m\" : \x1b[0;1;34m0\x1b[0m,\n",
        "\t\t\"\x1b[0;32mactivity\x1b[0m\" : \"\x1b[0;32mcreate\x1b[0m\",\n",
        "\t\t\"\x1b[0;32mdrop-in_files\x1b[0m\" : [\n",
        "\t\t\t\"\x1b[0;32m/tmp/o1/defs/20-root.conf.d/a.conf\x1b[0m\",\n",
        "\t\t\t\"\x1b[0;32m/tmp/o1/defs/20-root.conf.d/b.conf\x1b[0m\"\n",
        "\t\t]\n",
        "\t},\n",
        "\t{\n",
        "\t\t\"\x1b[0;32mtype\x1b[0m\" : \"\x1b[0;32mlinux-generic\x1b[0m\",\n",
        "\t\t\"\x1b[0;32mlabel\x1b[0m\" : \"\x1b[0;32m-\x1b[0m\",\n",
        "\t\t\"\x1b[0;32muuid\x1b[0m\" : \"\x1b[0;32m06f284a2-3466-41ea-9c52-29f357f53ace\x1b[0m\",\n",
        "\t\t\"\x1b[0;32mpartno\x1b[0m\" : \x1b[0;1;34m2\x1b[0m,\n",
        "\t\t\"\x1b[0;32mfile\x1b[0m\" : \"\x1b[0;32m/tmp/o1/defs/30-data.conf\x1b[0m\",\n",
        "\t\t\"\x1b[0;32mnode\x1b[0m\" : \"\x1b[0;32mimg.raw3\x1b[0m\",\n",
        "\t\t\"\x1b[0;32moffset\x1b[0m\" : \x1b[0;1;34m173015040\x1b[0m,\n",
        "\t\t\"\x1b[0;32mold_size\x1b[0m\" : \x1b[0;1;34m0\x1b[0m,\n",
        "\t\t\"\x1b[0;32mraw_size\x1b[0m\" : \x1b[0;1;34m20971520\x1b[0m,\n",
        "\t\t\"\x1b[0;32mold_padding\x1b[0m\" : \x1b[0;1;34m0\x1b[0m,\n",
        "\t\t\"\x1b[0;32mraw_padding\x1b[0m\" : \x1b[0;1;34m10485760\x1b[0m,\n",
        "\t\t\"\x1b[0;32mactivity\x1b[0m\" : \"\x1b[0;32mcreate\x1b[0m\",\n",
        "\t\t\"\x1b[0;32mdrop-in_files\x1b[0m\" : []\n",
        "\t}\n",
        "]\n",
    );
    assert_eq!(json(&p, &tty("img.raw", 120, true), true), expected);
    let expected = "[{\"type\":\"esp\",\"label\":\"esp\",\"uuid\":\"ff9eb88e-a039-4c50-85cc-da11523d8eaf\",\"partno\":0,\"file\":\"/tmp/o1/defs/10-esp.conf\",\"node\":\"img.raw1\",\"offset\":1048576,\"old_size\":0,\"raw_size\":67108864,\"old_padding\":0,\"raw_padding\":0,\"activity\":\"create\",\"drop-in_files\":[]},{\"type\":\"root-x86-64\",\"label\":\"rootfs\",\"uuid\":\"5fa5c003-94a9-41e3-bbe5-e94e189126c3\",\"partno\":1,\"file\":\"/tmp/o1/defs/20-root.conf\",\"node\":\"img.raw2\",\"offset\":68157440,\"old_size\":0,\"raw_size\":104857600,\"old_padding\":0,\"raw_padding\":0,\"activity\":\"create\",\"drop-in_files\":[\"/tmp/o1/defs/20-root.conf.d/a.conf\",\"/tmp/o1/defs/20-root.conf.d/b.conf\"]},{\"type\":\"linux-generic\",\"label\":\"-\",\"uuid\":\"06f284a2-3466-41ea-9c52-29f357f53ace\",\"partno\":2,\"file\":\"/tmp/o1/defs/30-data.conf\",\"node\":\"img.raw3\",\"offset\":173015040,\"old_size\":0,\"raw_size\":20971520,\"old_padding\":0,\"raw_padding\":10485760,\"activity\":\"create\",\"drop-in_files\":[]}]\n";
    assert_eq!(json(&p, &tty("img.raw", 120, true), false), expected);
}

#[test]
fn oracle_dropins_tty() {
    let p = dropins_plan();
    let expected = concat!(
        "\x1b[4mTYPE         \x1b[0m\x1b[4m \x1b[0m\x1b[4mLABEL \x1b[0m\x1b[4m \x1b[0m\x1b[4mUUID                     \x1b[0m\x1b[4m \x1b[0m\x1b[4mPARTNO\x1b[0m\x1b[4m \x1b[0m\x1b[4mFILE        \x1b[0m\x1b[4m \x1b[0m\x1b[4m RAW SIZE\x1b[0m\x1b[4m \x1b[0m\x1b[4m    SIZE\x1b[0m\x1b[4m \x1b[0m\x1b[4mPADDING\x1b[0m\x1b[4m \x1b[0m\x1b[4mDROP-IN FILES             \x1b[0m\n",
        "esp           esp    ff9eb88e-a039-4c50-85cc-… 0      10-esp.conf   67108864    → 64M → 0B    \x1b[0;38:5:245m                          \x1b[0m\n",
        "root-x86-64   rootfs 5fa5c003-94a9-41e3-bbe5-… 1      20-root.conf 104857600   → 100M → 0B    /tmp/o1/defs/20-root.conf…\n",
        "                                                                                              /tmp/o1/defs/20-root.conf…\n",
        "linux-generic \x1b[0;38:5:245m-     \x1b[0m 06f284a2-3466-41ea-9c52-… 2      30-data.conf  20971520 \x1b[0;4m   → 20M\x1b[0m \x1b[0;4m→ 10M  \x1b[0m \x1b[0;38:5:245m                          \x1b[0m\n",
        "\x1b[0;38:5:245m             \x1b[0m \x1b[0;38:5:245m      \x1b[0m \x1b[0;38:5:245m                         \x1b[0m \x1b[0;38:5:245m      \x1b[0m \x1b[0;38:5:245m            \x1b[0m \x1b[0;38:5:245m         \x1b[0m Σ = 184M Σ = 10M \x1b[0;38:5:245m                          \x1b[0m\n",
        "\n",
        " \x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m\n",
        " │                                      │                                                           └─ 30-data.conf    \n",
        " │                                      └─ 20-root.conf                                                                \n",
        " └─ 10-esp.conf                                                                                                        \n",
        "\n",
    );
    assert_eq!(table_and_bar(&p, &tty("img.raw", 120, true)), expected);
    let expected = concat!(
        "\x1b[4mTYPE   \x1b[0m\x1b[4m \x1b[0m\x1b[4mLABEL \x1b[0m\x1b[4m \x1b[0m\x1b[4mUUID   \x1b[0m\x1b[4m \x1b[0m\x1b[4mPARTNO\x1b[0m\x1b[4m \x1b[0m\x1b[4mFILE   \x1b[0m\x1b[4m \x1b[0m\x1b[4mRAW SI…\x1b[0m\x1b[4m \x1b[0m\x1b[4m   SIZE\x1b[0m\x1b[4m \x1b[0m\x1b[4mPADDING\x1b[0m\x1b[4m \x1b[0m\x1b[4mDROP-IN…\x1b[0m\n",
        "esp     esp    ff9eb8… 0      10-esp… 671088…   → 64M → 0B    \x1b[0;38:5:245m        \x1b[0m\n",
        "root-x… rootfs 5fa5c0… 1      20-roo… 104857…  → 100M → 0B    /tmp/o1…\n",
        "                                                              /tmp/o1…\n",
        "linux-… \x1b[0;38:5:245m-     \x1b[0m 06f284… 2      30-dat… 209715… \x1b[0;4m  → 20M\x1b[0m \x1b[0;4m→ 10M  \x1b[0m \x1b[0;38:5:245m        \x1b[0m\n",
        "\x1b[0;38:5:245m       \x1b[0m \x1b[0;38:5:245m      \x1b[0m \x1b[0;38:5:245m       \x1b[0m \x1b[0;38:5:245m      \x1b[0m \x1b[0;38:5:245m       \x1b[0m \x1b[0;38:5:245m       \x1b[0m Σ = 18… Σ = 10M \x1b[0;38:5:245m        \x1b[0m\n",
        "\n",
        " \x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m\n",
        " │                     │                                  └─ 30-data.conf\n",
        " │                     └─ 20-root.conf                               \n",
        " └─ 10-esp.conf                                                      \n",
        "\n",
    );
    assert_eq!(table_and_bar(&p, &tty("img.raw", 70, true)), expected);
    let expected = concat!(
        "TYPE    LABEL  UUID    PARTNO FILE    RAW SI…    SIZE PADDING DROP-IN…\n",
        "esp     esp    ff9eb8… 0      10-esp… 671088…   → 64M → 0B    \n",
        "root-x… rootfs 5fa5c0… 1      20-roo… 104857…  → 100M → 0B    /tmp/o1…\n",
        "                                                              /tmp/o1…\n",
        "linux-… -      06f284… 2      30-dat… 209715…   → 20M → 10M   \n",
        "                                              Σ = 18… Σ = 10M \n",
        "\n",
        " ▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒░░░░\n",
        " │                     │                                  └─ 30-data.conf\n",
        " │                     └─ 20-root.conf                               \n",
        " └─ 10-esp.conf                                                      \n",
        "\n",
    );
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
    let expected = concat!(
        "TYPE          LABEL UUID                                 PARTNO FILE         RAW SIZE    SIZE PADDING DROP-IN FILES\n",
        "esp           esp   ff9eb88e-a039-4c50-85cc-da11523d8eaf 0      10-esp.conf  67108864   → 64M → 0B    \n",
        "linux-generic -     06f284a2-3466-41ea-9c52-29f357f53ace 1      30-data.conf 20971520   → 20M → 10M   /tmp/o4/defs/30-data.conf.d/x.conf\n",
        "                                                                                                      /tmp/o4/defs/30-data.conf.d/y.conf\n",
        "                                                                                      Σ = 84M Σ = 10M \n",
        "\n",
        " ▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒░░░░░░░░░\n",
        " │                                                    └─ 30-data.conf          \n",
        " └─ 10-esp.conf                                                                \n",
        "\n",
    );
    assert_eq!(table_and_bar(&p, &opts("img.raw")), expected);
    let expected = concat!(
        "\x1b[4mTYPE         \x1b[0m\x1b[4m \x1b[0m\x1b[4mLABEL\x1b[0m\x1b[4m \x1b[0m\x1b[4mUUID                                \x1b[0m\x1b[4m \x1b[0m\x1b[4mPARTNO\x1b[0m\x1b[4m \x1b[0m\x1b[4mFILE        \x1b[0m\x1b[4m \x1b[0m\x1b[4mRAW SIZE\x1b[0m\x1b[4m \x1b[0m\x1b[4m   SIZE\x1b[0m\x1b[4m \x1b[0m\x1b[4mPADDING\x1b[0m\x1b[4m \x1b[0m\x1b[4mDROP-IN FILES                     \x1b[0m\n",
        "esp           esp   ff9eb88e-a039-4c50-85cc-da11523d8eaf 0      10-esp.conf  67108864   → 64M → 0B    \x1b[0;38:5:245m                                  \x1b[0m\n",
        "linux-generic \x1b[0;38:5:245m-    \x1b[0m 06f284a2-3466-41ea-9c52-29f357f53ace 1      30-data.conf 20971520 \x1b[0;4m  → 20M\x1b[0m \x1b[0;4m→ 10M  \x1b[0m /tmp/o4/defs/30-data.conf.d/x.conf\n",
        "              \x1b[0;38:5:245m     \x1b[0m                                                                   \x1b[0;4m       \x1b[0m \x1b[0;4m       \x1b[0m /tmp/o4/defs/30-data.conf.d/y.conf\n",
        "\x1b[0;38:5:245m             \x1b[0m \x1b[0;38:5:245m     \x1b[0m \x1b[0;38:5:245m                                    \x1b[0m \x1b[0;38:5:245m      \x1b[0m \x1b[0;38:5:245m            \x1b[0m \x1b[0;38:5:245m        \x1b[0m Σ = 84M Σ = 10M \x1b[0;38:5:245m                                  \x1b[0m\n",
        "\n",
        " \x1b[0m░\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m\n",
        "  │                                                                                                   └─ 30-data.conf                                \n",
        "  └─ 10-esp.conf                                                                                                                                     \n",
        "\n",
    );
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
    let expected = concat!(
        "TYPE          LABEL         UUID                                 PARTNO FILE         RAW SIZE        SIZE PADDING\n",
        "root-x86-64   myroot        aaaaaaaa-0000-0000-0000-000000000002 1      20-root.conf 35471360 30M → 33.8M 37.6M → 0B\n",
        "home          Hömé 日本     6608ec57-916f-4103-9b82-5c054341b92d 2      30-home.conf 35471360     → 33.8M → 0B\n",
        "linux-generic linux-generic aaaaaaaa-0000-0000-0000-000000000001 0                   20971520         20M 9M\n",
        "swap          swapp         aaaaaaaa-0000-0000-0000-000000000004 3                   10485760         10M 192.3M\n",
        "                                                                                                Σ = 97.6M Σ = 201.3M\n",
        "\n",
        " ▒▒▒▒▒░░▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░\n",
        " │      │        │        └─ swapp                                             \n",
        " └─ linux-generic│                                                             \n",
        "        │        └─ 30-home.conf                                               \n",
        "        └─ 20-root.conf                                                        \n",
        "\n",
    );
    assert_eq!(table_and_bar(&p, &opts(O2)), expected);
    let expected = concat!(
        "TYPE          LABEL         UUID                                 PARTNO FILE         RAW SIZE         SIZE PADDING\n",
        "root-x86-64   myroot        aaaaaaaa-0000-0000-0000-000000000002 1      20-root.conf 35471360 30M -> 33.8M 37.6M -> 0B\n",
        "home          Hömé 日本     6608ec57-916f-4103-9b82-5c054341b92d 2      30-home.conf 35471360     -> 33.8M -> 0B\n",
        "linux-generic linux-generic aaaaaaaa-0000-0000-0000-000000000001 0                   20971520          20M 9M\n",
        "swap          swapp         aaaaaaaa-0000-0000-0000-000000000004 3                   10485760          10M 192.3M\n",
        "                                                                                                 S = 97.6M S = 201.3M\n",
        "\n",
        " XXXXX--XXXXXXXXXXXXXXXXXXXX---------------------------------------------------\n",
        " |      |        |        `- swapp                                             \n",
        " `- linux-generic|                                                             \n",
        "        |        `- 30-home.conf                                               \n",
        "        `- 20-root.conf                                                        \n",
        "\n",
    );
    assert_eq!(table_and_bar(&p, &ascii(opts(O2))), expected);
    let expected = concat!(
        "TYPE          LABEL         UUID                                 PARTNO FILE                     NODE    OFFSET OLD SIZE RAW SIZE        SIZE OLD PADDING RAW PADDING PADDING    ACTIVITY\n",
        "root-x86-64   myroot        aaaaaaaa-0000-0000-0000-000000000002 1      20-root.conf /tmp/o2/img.raw2  31457280 31457280 35471360 30M → 33.8M    39485440           0 37.6M → 0B resize\n",
        "home          Hömé 日本     6608ec57-916f-4103-9b82-5c054341b92d 2      30-home.conf /tmp/o2/img.raw3  66928640        0 35471360     → 33.8M           0           0 → 0B       create\n",
        "linux-generic linux-generic aaaaaaaa-0000-0000-0000-000000000001 0                   /tmp/o2/img.raw1   1048576 20971520 20971520         20M     9437184     9437184 9M         unchanged\n",
        "swap          swapp         aaaaaaaa-0000-0000-0000-000000000004 3                   /tmp/o2/img.raw4 102400000 10485760 10485760         10M   201666560   201666560 192.3M     unchanged\n",
        "                                                                                                                                    Σ = 97.6M                         Σ = 201.3M \n",
        "\n",
        " ▒▒▒▒▒░░▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░\n",
        " │      │        │        └─ swapp                                             \n",
        " └─ linux-generic│                                                             \n",
        "        │        └─ 30-home.conf                                               \n",
        "        └─ 20-root.conf                                                        \n",
        "\n",
    );
    assert_eq!(table_and_bar(&p, &debug(opts(O2))), expected);
}

#[test]
fn oracle_foreign_json() {
    let p = foreign_plan();
    let expected = concat!(
        "[\n",
        "\t{\n",
        "\t\t\"type\" : \"root-x86-64\",\n",
        "\t\t\"label\" : \"myroot\",\n",
        "\t\t\"uuid\" : \"aaaaaaaa-0000-0000-0000-000000000002\",\n",
        "\t\t\"partno\" : 1,\n",
        "\t\t\"file\" : \"/tmp/o2/defs/20-root.conf\",\n",
        "\t\t\"node\" : \"/tmp/o2/img.raw2\",\n",
        "\t\t\"offset\" : 31457280,\n",
        "\t\t\"old_size\" : 31457280,\n",
        "\t\t\"raw_size\" : 35471360,\n",
        "\t\t\"old_padding\" : 39485440,\n",
        "\t\t\"raw_padding\" : 0,\n",
        "\t\t\"activity\" : \"resize\"\n",
        "\t},\n",
        "\t{\n",
        "\t\t\"type\" : \"home\",\n",
        "\t\t\"label\" : \"Hömé 日本\",\n",
        "\t\t\"uuid\" : \"6608ec57-916f-4103-9b82-5c054341b92d\",\n",
        "\t\t\"partno\" : 2,\n",
        "\t\t\"file\" : \"/tmp/o2/defs/30-home.conf\",\n",
        "\t\t\"node\" : \"/tmp/o2/img.raw3\",\n",
        "\t\t\"offset\" : 66928640,\n",
        "\t\t\"old_size\" : 0,\n",
        "\t\t\"raw_size\" : 35471360,\n",
        "\t\t\"old_padding\" : 0,\n",
        "\t\t\"raw_padding\" : 0,\n",
        "\t\t\"activity\" : \"create\"\n",
        "\t},\n",
        "\t{\n",
        "\t\t\"type\" : \"linux-generic\",\n",
        "\t\t\"label\" : \"linux-generic\",\n",
        "\t\t\"uuid\" : \"aaaaaaaa-0000-0000-0000-000000000001\",\n",
        "\t\t\"partno\" : 0,\n",
        "\t\t\"file\" : null,\n",
        "\t\t\"node\" : \"/tmp/o2/img.raw1\",\n",
        "\t\t\"offset\" : 1048576,\n",
        "\t\t\"old_size\" : 20971520,\n",
        "\t\t\"raw_size\" : 20971520,\n",
        "\t\t\"old_padding\" : 9437184,\n",
        "\t\t\"raw_padding\" : 9437184,\n",
        "\t\t\"activity\" : \"unchanged\"\n",
        "\t},\n",
        "\t{\n",
        "\t\t\"type\" : \"swap\",\n",
        "\t\t\"label\" : \"swapp\",\n",
        "\t\t\"uuid\" : \"aaaaaaaa-0000-0000-0000-000000000004\",\n",
        "\t\t\"partno\" : 3,\n",
        "\t\t\"file\" : null,\n",
        "\t\t\"node\" : \"/tmp/o2/img.raw4\",\n",
        "\t\t\"offset\" : 102400000,\n",
        "\t\t\"old_size\" : 10485760,\n",
        "\t\t\"raw_size\" : 10485760,\n",
        "\t\t\"old_padding\" : 201666560,\n",
        "\t\t\"raw_padding\" : 201666560,\n",
        "\t\t\"activity\" : \"unchanged\"\n",
        "\t}\n",
        "]\n",
    );
    assert_eq!(json(&p, &opts(O2), true), expected);
    let expected = concat!(
        "[\n",
        "\t{\n",
        "\t\t\"type\" : \"root-x86-64\",\n",
        "\t\t\"label\" : \"myroot\",\n",
        "\t\t\"uuid\" : \"aaaaaaaa-0000-0000-0000-000000000002\",\n",
        "\t\t\"partno\" : 1,\n",
        "\t\t\"file\" : \"/tmp/o2/defs/20-root.conf\",\n",
        "\t\t\"node\" : \"/tmp/o2/img.raw2\",\n",
        "\t\t\"offset\" : 31457280,\n",
        "\t\t\"old_size\" : 31457280,\n",
        "\t\t\"raw_size\" : 35471360,\n",
        "\t\t\"size\" : \"30M → 33.8M\",\n",
        "\t\t\"old_padding\" : 39485440,\n",
        "\t\t\"raw_padding\" : 0,\n",
        "\t\t\"padding\" : \"37.6M → 0B\",\n",
        "\t\t\"activity\" : \"resize\"\n",
        "\t},\n",
        "\t{\n",
        "\t\t\"type\" : \"home\",\n",
        "\t\t\"label\" : \"Hömé 日本\",\n",
        "\t\t\"uuid\" : \"6608ec57-916f-4103-9b82-5c054341b92d\",\n",
        "\t\t\"partno\" : 2,\n",
        "\t\t\"file\" : \"/tmp/o2/defs/30-home.conf\",\n",
        "\t\t\"node\" : \"/tmp/o2/img.raw3\",\n",
        "\t\t\"offset\" : 66928640,\n",
        "\t\t\"old_size\" : 0,\n",
        "\t\t\"raw_size\" : 35471360,\n",
        "\t\t\"size\" : \"→ 33.8M\",\n",
        "\t\t\"old_padding\" : 0,\n",
        "\t\t\"raw_padding\" : 0,\n",
        "\t\t\"padding\" : \"→ 0B\",\n",
        "\t\t\"activity\" : \"create\"\n",
        "\t},\n",
        "\t{\n",
        "\t\t\"type\" : \"linux-generic\",\n",
        "\t\t\"label\" : \"linux-generic\",\n",
        "\t\t\"uuid\" : \"aaaaaaaa-0000-0000-0000-000000000001\",\n",
        "\t\t\"partno\" : 0,\n",
        "\t\t\"file\" : null,\n",
        "\t\t\"node\" : \"/tmp/o2/img.raw1\",\n",
        "\t\t\"offset\" : 1048576,\n",
        "\t\t\"old_size\" : 20971520,\n",
        "\t\t\"raw_size\" : 20971520,\n",
        "\t\t\"size\" : \"20M\",\n",
        "\t\t\"old_padding\" : 9437184,\n",
        "\t\t\"raw_padding\" : 9437184,\n",
        "\t\t\"padding\" : \"9M\",\n",
        "\t\t\"activity\" : \"unchanged\"\n",
        "\t},\n",
        "\t{\n",
        "\t\t\"type\" : \"swap\",\n",
        "\t\t\"label\" : \"swapp\",\n",
        "\t\t\"uuid\" : \"aaaaaaaa-0000-0000-0000-000000000004\",\n",
        "\t\t\"partno\" : 3,\n",
        "\t\t\"file\" : null,\n",
        "\t\t\"node\" : \"/tmp/o2/img.raw4\",\n",
        "\t\t\"offset\" : 102400000,\n",
        "\t\t\"old_size\" : 10485760,\n",
        "\t\t\"raw_size\" : 10485760,\n",
        "\t\t\"size\" : \"10M\",\n",
        "\t\t\"old_padding\" : 201666560,\n",
        "\t\t\"raw_padding\" : 201666560,\n",
        "\t\t\"padding\" : \"192.3M\",\n",
        "\t\t\"activity\" : \"unchanged\"\n",
        "\t}\n",
        "]\n",
    );
    assert_eq!(json(&p, &debug(opts(O2)), true), expected);
    let expected = concat!(
        "[\n",
        "\t{\n",
        "\t\t\"\x1b[0;32mtype\x1b[0m\" : \"\x1b[0;32mroot-x86-64\x1b[0m\",\n",
        "\t\t\"\x1b[0;32mlabel\x1b[0m\" : \"\x1b[0;32mmyroot\x1b[0m\",\n",
        "\t\t\"\x1b[0;32muuid\x1b[0m\" : \"\x1b[0;32maaaaaaaa-0000-0000-0000-000000000002\x1b[0m\",\n",
        "\t\t\"\x1b[0;32mpartno\x1b[0m\" : \x1b[0;1;34m1\x1b[0m,\n",
        "\t\t\"\x1b[0;32mfile\x1b[0m\" : \"\x1b[0;32m/tmp/o2/defs/20-root.conf\x1b[0m\",\n",
        "\t\t\"\x1b[0;32mnode\x1b[0m\" : \"\x1b[0;32m/tmp/o2/img.raw2\x1b[0m\",\n",
        "\t\t\"\x1b[0;32moffset\x1b[0m\" : \x1b[0;1;34m31457280\x1b[0m,\n",
        "\t\t\"\x1b[0;32mold_size\x1b[0m\" : \x1b[0;1;34m31457280\x1b[0m,\n",
        "\t\t\"\x1b[0;32mraw_size\x1b[0m\" : \x1b[0;1;34m35471360\x1b[0m,\n",
        "\t\t\"\x1b[0;32mold_padding\x1b[0m\" : \x1b[0;1;34m39485440\x1b[0m,\n",
        "\t\t\"\x1b[0;32mraw_padding\x1b[0m\" : \x1b[0;1;34m0\x1b[0m,\n",
        "\t\t\"\x1b[0;32mactivity\x1b[0m\" : \"\x1b[0;32mresize\x1b[0m\"\n",
        "\t},\n",
        "\t{\n",
        "\t\t\"\x1b[0;32mtype\x1b[0m\" : \"\x1b[0;32mhome\x1b[0m\",\n",
        "\t\t\"\x1b[0;32mlabel\x1b[0m\" : \"\x1b[0;32mHömé 日本\x1b[0m\",\n",
        "\t\t\"\x1b[0;32muuid\x1b[0m\" : \"\x1b[0;32m6608ec57-916f-4103-9b82-5c054341b92d\x1b[0m\",\n",
        "\t\t\"\x1b[0;32mpartno\x1b[0m\" : \x1b[0;1;34m2\x1b[0m,\n",
        "\t\t\"\x1b[0;32mfile\x1b[0m\" : \"\x1b[0;32m/tmp/o2/defs/30-home.conf\x1b[0m\",\n",
        "\t\t\"\x1b[0;32mnode\x1b[0m\" : \"\x1b[0;32m/tmp/o2/img.raw3\x1b[0m\",\n",
        "\t\t\"\x1b[0;32moffset\x1b[0m\" : \x1b[0;1;34m66928640\x1b[0m,\n",
        "\t\t\"\x1b[0;32mold_size\x1b[0m\" : \x1b[0;1;34m0\x1b[0m,\n",
        "\t\t\"\x1b[0;32mraw_size\x1b[0m\" : \x1b[0;1;34m35471360\x1b[0m,\n",
        "\t\t\"\x1b[0;32mold_padding\x1b[0m\" : \x1b[0;1;34m0\x1b[0m,\n",
        "\t\t\"\x1b[0;32mraw_padding\x1b[0m\" : \x1b[0;1;34m0\x1b[0m,\n",
        "\t\t\"\x1b[0;32mactivity\x1b[0m\" : \"\x1b[0;32mcreate\x1b[0m\"\n",
        "\t},\n",
        "\t{\n",
        "\t\t\"\x1b[0;32mtype\x1b[0m\" : \"\x1b[0;32mlinux-generic\x1b[0m\",\n",
        "\t\t\"\x1b[0;32mlabel\x1b[0m\" : \"\x1b[0;32mlinux-generic\x1b[0m\",\n",
        "\t\t\"\x1b[0;32muuid\x1b[0m\" : \"\x1b[0;32maaaaaaaa-0000-0000-0000-000000000001\x1b[0m\",\n",
        "\t\t\"\x1b[0;32mpartno\x1b[0m\" : \x1b[0;1;34m0\x1b[0m,\n",
        "\t\t\"\x1b[0;32mfile\x1b[0m\" : \x1b[0;1;39mnull\x1b[0m,\n",
        "\t\t\"\x1b[0;32mnode\x1b[0m\" : \"\x1b[0;32m/tmp/o2/img.raw1\x1b[0m\",\n",
        "\t\t\"\x1b[0;32moffset\x1b[0m\" : \x1b[0;1;34m1048576\x1b[0m,\n",
        "\t\t\"\x1b[0;32mold_size\x1b[0m\" : \x1b[0;1;34m20971520\x1b[0m,\n",
        "\t\t\"\x1b[0;32mraw_size\x1b[0m\" : \x1b[0;1;34m20971520\x1b[0m,\n",
        "\t\t\"\x1b[0;32mold_padding\x1b[0m\" : \x1b[0;1;34m9437184\x1b[0m,\n",
        "\t\t\"\x1b[0;32mraw_padding\x1b[0m\" : \x1b[0;1;34m9437184\x1b[0m,\n",
        "\t\t\"\x1b[0;32mactivity\x1b[0m\" : \"\x1b[0;32munchanged\x1b[0m\"\n",
        "\t},\n",
        "\t{\n",
        "\t\t\"\x1b[0;32mtype\x1b[0m\" : \"\x1b[0;32mswap\x1b[0m\",\n",
        "\t\t\"\x1b[0;32mlabel\x1b[0m\" : \"\x1b[0;32mswapp\x1b[0m\",\n",
        "\t\t\"\x1b[0;32muuid\x1b[0m\" : \"\x1b[0;32maaaaaaaa-0000-0000-0000-000000000004\x1b[0m\",\n",
        "\t\t\"\x1b[0;32mpartno\x1b[0m\" : \x1b[0;1;34m3\x1b[0m,\n",
        "\t\t\"\x1b[0;32mfile\x1b[0m\" : \x1b[0;1;39mnull\x1b[0m,\n",
        "\t\t\"\x1b[0;32mnode\x1b[0m\" : \"\x1b[0;32m/tmp/o2/img.raw4\x1b[0m\",\n",
        "\t\t\"\x1b[0;32moffset\x1b[0m\" : \x1b[0;1;34m102400000\x1b[0m,\n",
        "\t\t\"\x1b[0;32mold_size\x1b[0m\" : \x1b[0;1;34m10485760\x1b[0m,\n",
        "\t\t\"\x1b[0;32mraw_size\x1b[0m\" : \x1b[0;1;34m10485760\x1b[0m,\n",
        "\t\t\"\x1b[0;32mold_padding\x1b[0m\" : \x1b[0;1;34m201666560\x1b[0m,\n",
        "\t\t\"\x1b[0;32mraw_padding\x1b[0m\" : \x1b[0;1;34m201666560\x1b[0m,\n",
        "\t\t\"\x1b[0;32mactivity\x1b[0m\" : \"\x1b[0;32munchanged\x1b[0m\"\n",
        "\t}\n",
        "]\n",
    );
    assert_eq!(json(&p, &tty(O2, 120, true), true), expected);
}

#[test]
fn oracle_foreign_tty_narrowing() {
    let p = foreign_plan();
    // stderr redirected: a terminal without colors.
    let expected = concat!(
        "TYPE          LABEL         UUID                                 PARTNO FILE         RAW SIZE        SIZE PADDING\n",
        "root-x86-64   myroot        aaaaaaaa-0000-0000-0000-000000000002 1      20-root.conf 35471360 30M → 33.8M 37.6M → 0B\n",
        "home          Hömé 日本     6608ec57-916f-4103-9b82-5c054341b92d 2      30-home.conf 35471360     → 33.8M → 0B\n",
        "linux-generic linux-generic aaaaaaaa-0000-0000-0000-000000000001 0                   20971520         20M 9M\n",
        "swap          swapp         aaaaaaaa-0000-0000-0000-000000000004 3                   10485760         10M 192.3M\n",
        "                                                                                                Σ = 97.6M Σ = 201.3M\n",
        "\n",
        " ▒▒▒▒▒▒▒▒░░░▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░\n",
        " │          │             │            └─ swapp                                                                        \n",
        " └─ linux-generic         │                                                                                            \n",
        "            │             └─ 30-home.conf                                                                              \n",
        "            └─ 20-root.conf                                                                                            \n",
        "\n",
    );
    assert_eq!(table_and_bar(&p, &tty(O2, 120, false)), expected);
    let expected = concat!(
        "TYPE      LABEL      UUID       PARTNO FILE       RAW SIZE       SIZE PADDING\n",
        "root-x86… myroot     aaaaaaaa-… 1      20-root.c… 35471360 30M → 33.… 37.6M → 0B\n",
        "home      Hömé 日本  6608ec57-… 2      30-home.c… 35471360    → 33.8M → 0B\n",
        "linux-ge… linux-gen… aaaaaaaa-… 0                 20971520        20M 9M\n",
        "swap      swapp      aaaaaaaa-… 3                 10485760        10M 192.3M\n",
        "                                                            Σ = 97.6M Σ = 201.3M\n",
        "\n",
        " ▒▒▒▒▒░░▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░\n",
        " │      │        │        └─ swapp                                             \n",
        " └─ linux-generic│                                                             \n",
        "        │        └─ 30-home.conf                                               \n",
        "        └─ 20-root.conf                                                        \n",
        "\n",
    );
    assert_eq!(table_and_bar(&p, &tty(O2, 80, false)), expected);
    let expected = concat!(
        "TYPE   LABEL  UUID    PARTNO FILE    RAW SI…    SIZE PADDING\n",
        "root-… myroot aaaaaa… 1      20-roo… 354713… 30M → … 37.6M …\n",
        "home   Hömé … 6608ec… 2      30-hom… 354713… → 33.8M → 0B\n",
        "linux… linux… aaaaaa… 0              209715…     20M 9M\n",
        "swap   swapp  aaaaaa… 3              104857…     10M 192.3M\n",
        "                                             Σ = 97… Σ = 20…\n",
        "\n",
        " ▒▒▒▒░▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░\n",
        " │    │      │     └─ swapp                                \n",
        " └─ linux-generic                                          \n",
        "      │      └─ 30-home.conf                               \n",
        "      └─ 20-root.conf                                      \n",
        "\n",
    );
    assert_eq!(table_and_bar(&p, &tty(O2, 60, false)), expected);
    let expected = concat!(
        "TYPE LAB… UUID PART… FILE   NODE OFFS… OLD … RAW …  SIZE OLD … RAW … PADD… ACTI…\n",
        "roo… myr… aaa… 1     20-r… /tmp… 3145… 3145… 3547… 30M … 3948…     0 37.6… resi…\n",
        "home Höm… 660… 2     30-h… /tmp… 6692…     0 3547… → 33…     0     0 → 0B  crea…\n",
        "lin… lin… aaa… 0           /tmp… 1048… 2097… 2097…   20M 9437… 9437… 9M    unch…\n",
        "swap swa… aaa… 3           /tmp… 1024… 1048… 1048…   10M 2016… 2016… 192.… unch…\n",
        "                                                   Σ = …             Σ = … \n",
        "\n",
        " ▒▒▒▒▒░░▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░\n",
        " │      │        │        └─ swapp                                             \n",
        " └─ linux-generic│                                                             \n",
        "        │        └─ 30-home.conf                                               \n",
        "        └─ 20-root.conf                                                        \n",
        "\n",
    );
    assert_eq!(table_and_bar(&p, &debug(tty(O2, 80, false))), expected);
}

#[test]
fn oracle_foreign_tty_colors() {
    let p = foreign_plan();
    let expected = concat!(
        "\x1b[4mTYPE         \x1b[0m\x1b[4m \x1b[0m\x1b[4mLABEL        \x1b[0m\x1b[4m \x1b[0m\x1b[4mUUID                                \x1b[0m\x1b[4m \x1b[0m\x1b[4mPARTNO\x1b[0m\x1b[4m \x1b[0m\x1b[4mFILE        \x1b[0m\x1b[4m \x1b[0m\x1b[4mRAW SIZE\x1b[0m\x1b[4m \x1b[0m\x1b[4m       SIZE\x1b[0m\x1b[4m \x1b[0m\x1b[4mPADDING   \x1b[0m\n",
        "root-x86-64   myroot        aaaaaaaa-0000-0000-0000-000000000002 1      20-root.conf 35471360 30M → 33.8M 37.6M → 0B\n",
        "home          Hömé 日本     6608ec57-916f-4103-9b82-5c054341b92d 2      30-home.conf 35471360     → 33.8M → 0B\n",
        "linux-generic linux-generic aaaaaaaa-0000-0000-0000-000000000001 0      \x1b[0;38:5:245m            \x1b[0m 20971520         20M 9M\n",
        "swap          swapp         aaaaaaaa-0000-0000-0000-000000000004 3      \x1b[0;38:5:245m            \x1b[0m 10485760 \x1b[0;4m        10M\x1b[0m \x1b[0;4m192.3M    \x1b[0m\n",
        "\x1b[0;38:5:245m             \x1b[0m \x1b[0;38:5:245m             \x1b[0m \x1b[0;38:5:245m                                    \x1b[0m \x1b[0;38:5:245m      \x1b[0m \x1b[0;38:5:245m            \x1b[0m \x1b[0;38:5:245m        \x1b[0m   Σ = 97.6M Σ = 201.3M\n",
        "\n",
        " \x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m\n",
        " │          │             │            └─ swapp                                                                        \n",
        " └─ linux-generic         │                                                                                            \n",
        "            │             └─ 30-home.conf                                                                              \n",
        "            └─ 20-root.conf                                                                                            \n",
        "\n",
    );
    assert_eq!(table_and_bar(&p, &tty(O2, 120, true)), expected);
    let expected = concat!(
        "\x1b[4mTYPE     \x1b[0m\x1b[4m \x1b[0m\x1b[4mLABEL     \x1b[0m\x1b[4m \x1b[0m\x1b[4mUUID      \x1b[0m\x1b[4m \x1b[0m\x1b[4mPARTNO\x1b[0m\x1b[4m \x1b[0m\x1b[4mFILE      \x1b[0m\x1b[4m \x1b[0m\x1b[4mRAW SIZE\x1b[0m\x1b[4m \x1b[0m\x1b[4m      SIZE\x1b[0m\x1b[4m \x1b[0m\x1b[4mPADDING   \x1b[0m\n",
        "root-x86… myroot     aaaaaaaa-… 1      20-root.c… 35471360 30M → 33.… 37.6M → 0B\n",
        "home      Hömé 日本  6608ec57-… 2      30-home.c… 35471360    → 33.8M → 0B\n",
        "linux-ge… linux-gen… aaaaaaaa-… 0      \x1b[0;38:5:245m          \x1b[0m 20971520        20M 9M\n",
        "swap      swapp      aaaaaaaa-… 3      \x1b[0;38:5:245m          \x1b[0m 10485760 \x1b[0;4m       10M\x1b[0m \x1b[0;4m192.3M    \x1b[0m\n",
        "\x1b[0;38:5:245m         \x1b[0m \x1b[0;38:5:245m          \x1b[0m \x1b[0;38:5:245m          \x1b[0m \x1b[0;38:5:245m      \x1b[0m \x1b[0;38:5:245m          \x1b[0m \x1b[0;38:5:245m        \x1b[0m  Σ = 97.6M Σ = 201.3M\n",
        "\n",
        " \x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0m░\x1b[0m░\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m\n",
        " │      │        │        └─ swapp                                             \n",
        " └─ linux-generic│                                                             \n",
        "        │        └─ 30-home.conf                                               \n",
        "        └─ 20-root.conf                                                        \n",
        "\n",
    );
    assert_eq!(table_and_bar(&p, &tty(O2, 80, true)), expected);
    let expected = concat!(
        "\x1b[4mTYPE  \x1b[0m\x1b[4m \x1b[0m\x1b[4mLABEL \x1b[0m\x1b[4m \x1b[0m\x1b[4mUUID   \x1b[0m\x1b[4m \x1b[0m\x1b[4mPARTNO\x1b[0m\x1b[4m \x1b[0m\x1b[4mFILE   \x1b[0m\x1b[4m \x1b[0m\x1b[4mRAW ...\x1b[0m\x1b[4m \x1b[0m\x1b[4m   SIZE\x1b[0m\x1b[4m \x1b[0m\x1b[4mPADDING\x1b[0m\n",
        "roo... myroot aaaa... 1      20-r... 3547... 30M ... 37.6...\n",
        "home   Hömé … 6608... 2      30-h... 3547... -> 3... -> 0B\n",
        "lin... lin... aaaa... 0      \x1b[0;38:5:245m       \x1b[0m 2097...     20M 9M\n",
        "swap   swapp  aaaa... 3      \x1b[0;38:5:245m       \x1b[0m 1048... \x1b[0;4m    10M\x1b[0m \x1b[0;4m192.3M \x1b[0m\n",
        "\x1b[0;38:5:245m      \x1b[0m \x1b[0;38:5:245m      \x1b[0m \x1b[0;38:5:245m       \x1b[0m \x1b[0;38:5:245m      \x1b[0m \x1b[0;38:5:245m       \x1b[0m \x1b[0;38:5:245m       \x1b[0m S = ... S = ...\n",
        "\n",
        " \x1b[0;32mX\x1b[0;32mX\x1b[0;32mX\x1b[0;32mX\x1b[0m-\x1b[0;33mX\x1b[0;33mX\x1b[0;33mX\x1b[0;33mX\x1b[0;33mX\x1b[0;33mX\x1b[0;33mX\x1b[0;32mX\x1b[0;32mX\x1b[0;32mX\x1b[0;32mX\x1b[0;32mX\x1b[0;32mX\x1b[0;33mX\x1b[0;33mX\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m-\x1b[0m\n",
        " |    |      |     `- swapp                                \n",
        " `- linux-generic                                          \n",
        "      |      `- 30-home.conf                               \n",
        "      `- 20-root.conf                                      \n",
        "\n",
    );
    assert_eq!(table_and_bar(&p, &ascii(tty(O2, 60, true))), expected);
    let expected = concat!(
        "\x1b[4mTYPE  \x1b[0m\x1b[4m \x1b[0m\x1b[4mLABEL \x1b[0m\x1b[4m \x1b[0m\x1b[4mUUID  \x1b[0m\x1b[4m \x1b[0m\x1b[4mPARTNO\x1b[0m\x1b[4m \x1b[0m\x1b[4mFILE  \x1b[0m\x1b[4m \x1b[0m\x1b[4m  NODE\x1b[0m\x1b[4m \x1b[0m\x1b[4mOFFSET\x1b[0m\x1b[4m \x1b[0m\x1b[4mOLD S…\x1b[0m\x1b[4m \x1b[0m\x1b[4mRAW S…\x1b[0m\x1b[4m \x1b[0m\x1b[4m  SIZE\x1b[0m\x1b[4m \x1b[0m\x1b[4mOLD P…\x1b[0m\x1b[4m \x1b[0m\x1b[4mRAW PA…\x1b[0m\x1b[4m \x1b[0m\x1b[4mPADDING\x1b[0m\x1b[4m \x1b[0m\x1b[4mACTIVI…\x1b[0m\n",
        "root-… myroot aaaaa… 1      20-ro… /tmp/… 31457… 31457… 35471… 30M →… 39485…       0 37.6M … resize\n",
        "home   Hömé … 6608e… 2      30-ho… /tmp/… 66928…      0 35471… → 33.…      0       0 → 0B    create\n",
        "linux… linux… aaaaa… 0      \x1b[0;38:5:245m      \x1b[0m /tmp/… 10485… 20971… 20971…    20M 94371… 9437184 9M      unchan…\n",
        "swap   swapp  aaaaa… 3      \x1b[0;38:5:245m      \x1b[0m /tmp/… 10240… 10485… 10485… \x1b[0;4m   10M\x1b[0m 20166… 201666… \x1b[0;4m192.3M \x1b[0m unchan…\n",
        "\x1b[0;38:5:245m      \x1b[0m \x1b[0;38:5:245m      \x1b[0m \x1b[0;38:5:245m      \x1b[0m \x1b[0;38:5:245m      \x1b[0m \x1b[0;38:5:245m      \x1b[0m \x1b[0;38:5:245m      \x1b[0m \x1b[0;38:5:245m      \x1b[0m \x1b[0;38:5:245m      \x1b[0m \x1b[0;38:5:245m      \x1b[0m Σ = 9… \x1b[0;38:5:245m      \x1b[0m \x1b[0;38:5:245m       \x1b[0m Σ = 20… \x1b[0;38:5:245m       \x1b[0m\n",
        "\n",
        " \x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;32m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0;33m▒\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m░\x1b[0m\n",
        " │        │          │          └─ swapp                                                           \n",
        " └─ linux-generic    │                                                                             \n",
        "          │          └─ 30-home.conf                                                               \n",
        "          └─ 20-root.conf                                                                          \n",
        "\n",
    );
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
    let expected = concat!(
        "TYPE                                 LABEL         UUID                                 PARTNO FILE      RAW SIZE    SIZE PADDING\n",
        "linux-generic                        linux-generic 06f284a2-3466-41ea-9c52-29f357f53ace 1      10-a.conf 10485760   → 10M → 0B\n",
        "12345678-1234-1234-1234-123456789abc -             aaaaaaaa-0000-0000-0000-000000000001 0                10485760     10M 88.9M → 78.9M\n",
        "                                                                                                                  Σ = 20M Σ = 78.9M\n",
        "\n",
        " ▒▒▒▒▒▒▒▒░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░▒▒▒▒▒▒▒░\n",
        " └─ /tmp/o3/img.raw1                                                   │       \n",
        "                                                                       └─ 10-a.conf\n",
        "\n",
    );
    assert_eq!(table_and_bar(&p, &opts("/tmp/o3/img.raw")), expected);
    let expected = "[{\"type\":\"linux-generic\",\"label\":\"linux-generic\",\"uuid\":\"06f284a2-3466-41ea-9c52-29f357f53ace\",\"partno\":1,\"file\":\"/tmp/o3/defs/10-a.conf\",\"node\":\"/tmp/o3/img.raw2\",\"offset\":94351360,\"old_size\":0,\"raw_size\":10485760,\"size\":\"→ 10M\",\"old_padding\":0,\"raw_padding\":0,\"padding\":\"→ 0B\",\"activity\":\"create\"},{\"type\":\"12345678-1234-1234-1234-123456789abc\",\"label\":\"-\",\"uuid\":\"aaaaaaaa-0000-0000-0000-000000000001\",\"partno\":0,\"file\":null,\"node\":\"/tmp/o3/img.raw1\",\"offset\":1048576,\"old_size\":10485760,\"raw_size\":10485760,\"size\":\"10M\",\"old_padding\":93302784,\"raw_padding\":82817024,\"padding\":\"88.9M → 78.9M\",\"activity\":\"unchanged\"}]\n";
    assert_eq!(json(&p, &debug(opts("/tmp/o3/img.raw")), false), expected);
}

#[test]
fn node_names() {
    assert_eq!(partition_node_name("image.raw", 0), "image.raw1");
    assert_eq!(partition_node_name("/dev/loop0", 1), "/dev/loop0p2");
    assert_eq!(partition_node_name("/dev/nvme0n1", 0), "/dev/nvme0n1p1");
    assert_eq!(partition_node_name("/dev/sda", 2), "/dev/sda3");
}
