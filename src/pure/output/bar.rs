//! The bar diagram and its legend (spec §7.6): one line of `columns - 2` cells showing
//! which part of the device each partition covers, then one legend line per partition
//! (the last partition is labelled first).

use crate::pure::output::RenderOptions;
use crate::pure::output::cells::{glyphs, hint};
use crate::pure::output::table::NORMAL;
use crate::pure::plan::Plan;

/// Green used-cell color.
const GREEN: &str = "\x1b[0;32m";
/// Yellow used-cell color.
const YELLOW: &str = "\x1b[0;33m";

/// Maps a byte position to a bar cell: `pos · cells / total`, integer division.
fn cell_of(pos: u64, cells: usize, total: u64) -> usize {
    if total == 0 {
        return 0;
    }
    let v = u128::from(pos) * cells as u128 / u128::from(total);
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// The bar line and the legend lines, each ending with `\n`.
pub(crate) fn bar_and_legend(plan: &Plan, opts: &RenderOptions) -> String {
    let g = glyphs(opts.utf8);
    let c = opts.columns.saturating_sub(2);
    let mut owner: Vec<Option<usize>> = vec![None; c];
    let mut starts: Vec<usize> = Vec::with_capacity(plan.partitions.len());
    for (i, p) in plan.partitions.iter().enumerate() {
        let from = cell_of(p.offset, c, plan.total_bytes);
        let to = cell_of(p.offset.saturating_add(p.new_size), c, plan.total_bytes);
        for cell in owner.iter_mut().take(to.min(c)).skip(from) {
            *cell = Some(i);
        }
        starts.push(from);
    }

    let mut out = String::from(" ");
    let mut green = false;
    let mut last: Option<usize> = None;
    for &cell in &owner {
        match cell {
            Some(_) => {
                if opts.colors {
                    if cell != last {
                        green = !green;
                    }
                    out.push_str(if green { GREEN } else { YELLOW });
                }
                out.push_str(g.dark);
            }
            None => {
                if opts.colors {
                    out.push_str(NORMAL);
                }
                out.push_str(g.light);
            }
        }
        last = cell;
    }
    if opts.colors {
        out.push_str(NORMAL);
    }
    out.push('\n');

    let n = plan.partitions.len();
    for line_no in 0..n {
        let mut line: Vec<Option<String>> = vec![None; c];
        for (idx, p) in plan.partitions.iter().enumerate() {
            let j = idx + 1;
            if c == 0 {
                break;
            }
            let x = starts[idx].min(c - 1);
            if j < n - line_no {
                line[x] = Some(g.vertical.to_string());
            } else if j == n - line_no {
                let glyph = if line[x].is_some() { g.branch } else { g.right };
                line[x] = Some(format!("{glyph} {}", hint(p, &opts.node)));
            }
        }
        out.push(' ');
        let mut k = 0;
        while k < c {
            match &line[k] {
                Some(s) => {
                    out.push_str(s);
                    k += super::width::str_width(s.as_str()).max(1);
                }
                None => {
                    out.push(' ');
                    k += 1;
                }
            }
        }
        out.push('\n');
    }
    out
}
