//! Columns, their visibility, and the content of every cell of the partition table
//! (spec §7.2–§7.4): glyph sets, size change strings, node names, legend hints.

use std::path::Path;

use crate::pure::output::RenderOptions;
use crate::pure::output::table::{Align, Cell, GREY, Table, UNDERLINE};
use crate::pure::plan::{Plan, PlannedPartition};
use crate::pure::size::format_bytes;

/// Column index of ROOTHASH (shown only when some row has a value).
pub(crate) const COL_ROOTHASH: usize = 14;
/// Column index of DROP-IN FILES (shown only when some row has drop-ins).
pub(crate) const COL_DROPINS: usize = 15;
/// Column index of SPLIT PATH (shown only when some row has a value).
pub(crate) const COL_SPLIT_PATH: usize = 16;
/// Column index of SIZE.
const COL_SIZE: usize = 9;
/// Column index of PADDING.
const COL_PADDING: usize = 12;

/// One column: header text, JSON field name, right alignment.
pub(crate) struct Column {
    /// Upper-case header.
    pub header: &'static str,
    /// JSON object key.
    pub json: &'static str,
    /// Right-aligned in text mode.
    pub right: bool,
}

/// All 17 columns in upstream order.
pub(crate) const COLUMNS: [Column; 17] = [
    col("TYPE", "type", false),
    col("LABEL", "label", false),
    col("UUID", "uuid", false),
    col("PARTNO", "partno", false),
    col("FILE", "file", false),
    col("NODE", "node", true),
    col("OFFSET", "offset", true),
    col("OLD SIZE", "old_size", true),
    col("RAW SIZE", "raw_size", true),
    col("SIZE", "size", true),
    col("OLD PADDING", "old_padding", true),
    col("RAW PADDING", "raw_padding", true),
    col("PADDING", "padding", false),
    col("ACTIVITY", "activity", false),
    col("ROOTHASH", "roothash", false),
    col("DROP-IN FILES", "drop-in_files", false),
    col("SPLIT PATH", "split_path", false),
];

const fn col(header: &'static str, json: &'static str, right: bool) -> Column {
    Column {
        header,
        json,
        right,
    }
}

/// The glyphs that differ between UTF-8 and ASCII mode.
pub(crate) struct Glyphs {
    /// `→` / `->`
    pub arrow: &'static str,
    /// `Σ` / `S`
    pub sigma: &'static str,
    /// Used bar cell: `▒` / `X`
    pub dark: &'static str,
    /// Free bar cell: `░` / `-`
    pub light: &'static str,
    /// Legend continuation: `│ ` / `| `
    pub vertical: &'static str,
    /// Legend label sharing a start cell: `├─` / `|-`
    pub branch: &'static str,
    /// Legend label: `└─` / `` `- ``
    pub right: &'static str,
}

/// The glyph set for `utf8`.
pub(crate) fn glyphs(utf8: bool) -> Glyphs {
    if utf8 {
        Glyphs {
            arrow: "→",
            sigma: "Σ",
            dark: "▒",
            light: "░",
            vertical: "│ ",
            branch: "├─",
            right: "└─",
        }
    } else {
        Glyphs {
            arrow: "->",
            sigma: "S",
            dark: "X",
            light: "-",
            vertical: "| ",
            branch: "|-",
            right: "`-",
        }
    }
}

/// A cell value before it is turned into text or JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    /// A string (JSON string).
    Str(String),
    /// An unsigned number (JSON number).
    Num(u64),
    /// An empty cell (JSON `null`).
    Null,
    /// A list of strings: one line each in text mode, a JSON array.
    Strv(Vec<String>),
}

impl Value {
    /// The text-mode content (lines separated by `\n`).
    pub(crate) fn text(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Num(n) => n.to_string(),
            Value::Null => String::new(),
            Value::Strv(v) => v.join("\n"),
        }
    }
    /// Whether the cell has any content (decides ROOTHASH/DROP-IN/SPLIT visibility).
    fn has_value(&self) -> bool {
        match self {
            Value::Str(s) => !s.is_empty(),
            Value::Num(_) => true,
            Value::Null => false,
            Value::Strv(v) => !v.is_empty(),
        }
    }
}

/// Canonical type name, or the lowercase type UUID for unknown types.
pub(crate) fn type_name(p: &PlannedPartition) -> String {
    match p.partition_type.name {
        Some(name) => name.to_string(),
        None => p.partition_type.uuid.hyphenated().to_string(),
    }
}

/// The partition device/file name like libfdisk's `fdisk_partname()`: `node` followed by
/// `partno + 1`, with a `p` separator when `node` ends in a digit, and `-part` for
/// `/dev/mapper/`, `/dev/disk/by-id/` and `/dev/disk/by-path/` names.
pub fn partition_node_name(node: &str, partno: u32) -> String {
    let number = u64::from(partno) + 1;
    let sep = if ["/dev/mapper/", "/dev/disk/by-id/", "/dev/disk/by-path/"]
        .iter()
        .any(|prefix| node.starts_with(prefix))
    {
        "-part"
    } else if node.ends_with(|c: char| c.is_ascii_digit()) {
        "p"
    } else {
        ""
    };
    format!("{node}{sep}{number}")
}

/// The SIZE/PADDING change string: `<old>`, `<old> → <new>` or `→ <new>`.
pub(crate) fn change_string(old: Option<u64>, new: u64, arrow: &str) -> String {
    match old {
        Some(old) if old == new => format_bytes(old),
        Some(old) => format!("{} {arrow} {}", format_bytes(old), format_bytes(new)),
        None => format!("{arrow} {}", format_bytes(new)),
    }
}

/// The legend hint: definition basename, else label, else partition node name.
pub(crate) fn hint(p: &PlannedPartition, node: &str) -> String {
    if let Some(name) = p.path.as_deref().and_then(Path::file_name) {
        return name.to_string_lossy().into_owned();
    }
    if !p.identity.label.is_empty() {
        return p.identity.label.clone();
    }
    partition_node_name(node, p.partno)
}

/// All 17 values of a row. `json` selects the full definition path (else the basename)
/// for FILE.
pub(crate) fn row_values(p: &PlannedPartition, opts: &RenderOptions, json: bool) -> Vec<Value> {
    let g = glyphs(opts.utf8);
    let label = if p.identity.label.is_empty() {
        "-".to_string()
    } else {
        p.identity.label.clone()
    };
    let file = match &p.path {
        None => Value::Null,
        Some(path) if json => Value::Str(path.to_string_lossy().into_owned()),
        Some(path) => Value::Str(
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
    };
    vec![
        Value::Str(type_name(p)),
        Value::Str(label),
        Value::Str(p.identity.uuid.hyphenated().to_string()),
        Value::Num(u64::from(p.partno)),
        file,
        Value::Str(partition_node_name(&opts.node, p.partno)),
        Value::Num(p.offset),
        Value::Num(p.old_size.unwrap_or(0)),
        Value::Num(p.new_size),
        Value::Str(change_string(p.old_size, p.new_size, g.arrow)),
        Value::Num(p.old_padding.unwrap_or(0)),
        Value::Num(p.new_padding),
        Value::Str(change_string(p.old_padding, p.new_padding, g.arrow)),
        Value::Str(p.activity().to_string()),
        p.roothash
            .map_or(Value::Null, |r| Value::Str(r.to_string())),
        Value::Strv(
            p.dropins
                .iter()
                .map(|d| d.to_string_lossy().into_owned())
                .collect(),
        ),
        p.split_path.clone().map_or(Value::Null, Value::Str),
    ]
}

/// Indices of the visible columns, in order.
pub(crate) fn visible_columns(rows: &[Vec<Value>], debug: bool, json: bool) -> Vec<usize> {
    let base: &[usize] = match (debug, json) {
        (true, _) => &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
        (false, false) => &[0, 1, 2, 3, 4, 8, 9, 12],
        (false, true) => &[0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 13],
    };
    let mut cols = base.to_vec();
    for extra in [COL_ROOTHASH, COL_DROPINS, COL_SPLIT_PATH] {
        if rows
            .iter()
            .any(|r| r.get(extra).is_some_and(Value::has_value))
        {
            cols.push(extra);
        }
    }
    cols
}

/// The cells of every row of `plan`.
pub(crate) fn rows(plan: &Plan, opts: &RenderOptions, json: bool) -> Vec<Vec<Value>> {
    let mut rows: Vec<Vec<Value>> = plan
        .partitions
        .iter()
        .map(|p| row_values(p, opts, json))
        .collect();
    // Upstream shows the SPLIT PATH column only when some partition has a split path;
    // the others then read "-".
    if rows
        .iter()
        .any(|r| r.get(COL_SPLIT_PATH).is_some_and(Value::has_value))
    {
        for cell in rows.iter_mut().filter_map(|r| r.get_mut(COL_SPLIT_PATH)) {
            if *cell == Value::Null {
                *cell = Value::Str("-".to_string());
            }
        }
    }
    rows
}

/// Builds the text-mode table: header, one row per partition, and the Σ row.
pub(crate) fn build_text_table(plan: &Plan, opts: &RenderOptions) -> Table {
    let g = glyphs(opts.utf8);
    let values = rows(plan, opts, false);
    let cols = visible_columns(&values, opts.debug, false);

    let sum_size = plan
        .partitions
        .iter()
        .fold(0u64, |acc, p| acc.saturating_add(p.new_size));
    let sum_padding = plan
        .partitions
        .iter()
        .fold(0u64, |acc, p| acc.saturating_add(p.new_padding));

    let last = values.len().saturating_sub(1);
    let mut rows: Vec<Vec<Cell>> = Vec::with_capacity(values.len() + 1);
    for (i, row) in values.iter().enumerate() {
        let cells = cols
            .iter()
            .map(|&c| {
                let text = row[c].text();
                let color = if c == 1 && plan.partitions[i].identity.label.is_empty() {
                    Some(GREY)
                } else if i == last
                    && ((c == COL_SIZE && sum_size > 0) || (c == COL_PADDING && sum_padding > 0))
                {
                    Some(UNDERLINE)
                } else {
                    None
                };
                Cell { text, color }
            })
            .collect();
        rows.push(cells);
    }
    if sum_size > 0 || sum_padding > 0 {
        let cells = cols
            .iter()
            .map(|&c| {
                let text = match c {
                    COL_SIZE => format!("{} = {}", g.sigma, format_bytes(sum_size)),
                    COL_PADDING => format!("{} = {}", g.sigma, format_bytes(sum_padding)),
                    _ => String::new(),
                };
                Cell { text, color: None }
            })
            .collect();
        rows.push(cells);
    }

    Table {
        header: opts.header.then(|| {
            cols.iter()
                .map(|&c| COLUMNS[c].header.to_string())
                .collect()
        }),
        align: cols
            .iter()
            .map(|&c| {
                if COLUMNS[c].right {
                    Align::Right
                } else {
                    Align::Left
                }
            })
            .collect(),
        rows,
    }
}

#[cfg(test)]
mod tests {
    //! Expected strings are SIZE/PADDING cells of captures 11, 17 and spec A.2/A.6.

    use super::*;

    #[test]
    fn change_strings() {
        assert_eq!(change_string(None, 209715200, "→"), "→ 200M");
        assert_eq!(change_string(Some(3600384), 2685251584, "→"), "3.4M → 2.5G");
        assert_eq!(change_string(Some(10737418240), 0, "→"), "10G → 0B");
        assert_eq!(change_string(Some(209715200), 209715200, "→"), "200M");
        assert_eq!(
            change_string(Some(33554432), 166703104, "→"),
            "32M → 158.9M"
        );
        assert_eq!(change_string(None, 67108864, "->"), "-> 64M");
    }

    #[test]
    fn node_names_follow_libfdisk() {
        assert_eq!(partition_node_name("image.raw", 0), "image.raw1");
        assert_eq!(
            partition_node_name("/tmp/repart-oracle-test/257/15/image.raw", 3),
            "/tmp/repart-oracle-test/257/15/image.raw4"
        );
        assert_eq!(partition_node_name("disk2", 0), "disk2p1");
    }
}
