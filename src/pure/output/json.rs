//! JSON output (spec §7.5): an array with one object per partition, keys in column
//! order. `pretty` indents with tabs and writes `"key" : value` (colored on a terminal);
//! `short` is one line without spaces. Both end with a newline.

use crate::pure::output::RenderOptions;
use crate::pure::output::cells::{COLUMNS, Value, rows, visible_columns};
use crate::pure::output::table::NORMAL;
use crate::pure::plan::Plan;

/// Strings and keys.
const STRING_COLOR: &str = "\x1b[0;32m";
/// Numbers.
const NUMBER_COLOR: &str = "\x1b[0;1;34m";
/// `null`.
const NULL_COLOR: &str = "\x1b[0;1;39m";

/// Appends `s` as a JSON string literal (quotes included).
fn push_string(out: &mut String, s: &str, color: bool) {
    out.push('"');
    if color {
        out.push_str(STRING_COLOR);
    }
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    if color {
        out.push_str(NORMAL);
    }
    out.push('"');
}

/// Appends a value; `indent` is the tab depth of the line holding it (pretty only).
fn push_value(out: &mut String, v: &Value, pretty: bool, color: bool, indent: usize) {
    match v {
        Value::Str(s) => push_string(out, s, color),
        Value::Num(n) => {
            if color {
                out.push_str(NUMBER_COLOR);
            }
            out.push_str(&n.to_string());
            if color {
                out.push_str(NORMAL);
            }
        }
        Value::Null => {
            if color {
                out.push_str(NULL_COLOR);
            }
            out.push_str("null");
            if color {
                out.push_str(NORMAL);
            }
        }
        Value::Strv(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if pretty {
                    out.push('\n');
                    out.push_str(&"\t".repeat(indent + 1));
                }
                push_string(out, item, color);
            }
            if pretty {
                out.push('\n');
                out.push_str(&"\t".repeat(indent));
            }
            out.push(']');
        }
    }
}

/// The JSON document for `plan`.
pub(crate) fn render(plan: &Plan, opts: &RenderOptions, pretty: bool) -> String {
    let color = pretty && opts.colors;
    let rows = rows(plan, opts, true);
    let cols = visible_columns(&rows, opts.debug, true);

    let mut out = String::from("[");
    for (r, row) in rows.iter().enumerate() {
        if r > 0 {
            out.push(',');
        }
        if pretty {
            out.push_str("\n\t");
        }
        out.push('{');
        for (k, &c) in cols.iter().enumerate() {
            if k > 0 {
                out.push(',');
            }
            if pretty {
                out.push_str("\n\t\t");
            }
            push_string(&mut out, COLUMNS[c].json, color);
            out.push_str(if pretty { " : " } else { ":" });
            push_value(&mut out, &row[c], pretty, color, 2);
        }
        if pretty {
            out.push_str("\n\t");
        }
        out.push('}');
    }
    if pretty && !rows.is_empty() {
        out.push('\n');
    }
    out.push_str("]\n");
    out
}
