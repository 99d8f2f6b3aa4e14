//! A small table formatter with upstream's layout rules (spec §7.3): column widths by
//! Unicode display width, single-space separators, per-column alignment, multi-line
//! cells, trailing spaces stripped only in the last column, and — on a terminal —
//! narrowing to the terminal width with `…` ellipsizing and ANSI colors.

/// Grey: `-` labels and empty cells.
pub const GREY: &str = "\x1b[0;38:5:245m";
/// Underline (SIZE/PADDING of the last partition row when the Σ is non-zero).
pub(crate) const UNDERLINE: &str = "\x1b[0;4m";
/// Underline added to the header row and its separators.
const ADD_UNDERLINE: &str = "\x1b[4m";
/// Reset.
pub(crate) const NORMAL: &str = "\x1b[0m";

/// Horizontal alignment of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    /// Pad on the right.
    Left,
    /// Pad on the left.
    Right,
}

/// One cell: its text (lines separated by `\n`) and an explicit color.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cell {
    /// Content; empty cells print as nothing (grey padding with colors).
    pub text: String,
    /// ANSI sequence printed before the padded text when colors are on.
    pub color: Option<&'static str>,
}

/// A table ready for layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Table {
    /// Header texts, `None` when the header row is not shown.
    pub header: Option<Vec<String>>,
    /// Alignment per column.
    pub align: Vec<Align>,
    /// Data rows (each with `align.len()` cells).
    pub rows: Vec<Vec<Cell>>,
}

/// How the table is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Style {
    /// Terminal width when stdout is a terminal; `None` never narrows.
    pub max_width: Option<usize>,
    /// ANSI colors.
    pub colors: bool,
    /// The grey of this color mode (replaces [`GREY`] in cells).
    pub grey: &'static str,
    /// Underlining is available (not on the Linux console).
    pub underline: bool,
    /// UTF-8 locale (selects `…` vs `...` for ASCII strings).
    pub utf8: bool,
}

/// Display width of one line.
fn width(s: &str) -> usize {
    super::width::str_width(s)
}

/// Display width of one character (a TAB counts 8).
fn char_width(c: char) -> usize {
    super::width::char_width(c)
}

/// Shortens `s` to at most `new_width` columns, ellipsis at the end like upstream's
/// `ellipsize(…, 100)`. ASCII strings use `...` outside UTF-8 mode; others always `…`.
pub(crate) fn ellipsize(s: &str, new_width: usize, utf8: bool) -> String {
    if s.is_ascii() {
        if s.len() <= new_width {
            return s.to_string();
        }
        match new_width {
            0 => return String::new(),
            1 => return if utf8 { "…" } else { "." }.to_string(),
            2 if !utf8 => return "..".to_string(),
            _ => {}
        }
        let (need, ellipsis) = if utf8 { (1, "…") } else { (3, "...") };
        let keep = new_width - need;
        return format!("{}{ellipsis}", &s[..keep]);
    }
    if new_width == 0 {
        return String::new();
    }
    let budget = new_width - 1;
    let mut used = 0;
    let mut prefix_end = 0;
    for (i, c) in s.char_indices() {
        let w = char_width(c);
        if used + w > budget {
            break;
        }
        used += w;
        prefix_end = i + c.len_utf8();
    }
    let mut suffix_start = s.len();
    for (i, c) in s.char_indices().rev() {
        if i < prefix_end {
            break;
        }
        let w = char_width(c);
        if used + w > budget {
            break;
        }
        used += w;
        suffix_start = i;
    }
    if prefix_end >= suffix_start {
        return s.to_string();
    }
    format!("{}…{}", &s[..prefix_end], &s[suffix_start..])
}

/// Distributes `available` columns (separators excluded) like upstream when the table
/// does not fit: every column first gets 1, columns whose equal share covers their
/// request are settled (restarting each time), the rest share what remains.
fn compress(requested: &[usize], available: usize) -> Vec<usize> {
    let n = requested.len();
    let minimum = 1usize;
    let mut extra = available.saturating_sub(n * minimum);
    let mut widths: Vec<Option<usize>> = vec![None; n];
    let mut unassigned = n;
    let mut finalize = false;
    loop {
        let mut restart = false;
        for j in 0..n {
            if widths[j].is_some() {
                continue;
            }
            let mut w = minimum + extra / unassigned.max(1);
            if w >= requested[j] {
                w = requested[j].max(minimum);
                restart = true;
            } else if !finalize {
                continue;
            }
            widths[j] = Some(w);
            extra = extra.saturating_sub(w - minimum);
            unassigned -= 1;
            if restart && !finalize {
                break;
            }
        }
        if finalize {
            break;
        }
        if !restart {
            finalize = true;
        }
    }
    widths.into_iter().map(|w| w.unwrap_or(minimum)).collect()
}

/// Final column widths for the visible rows.
fn column_widths(rows: &[Vec<&str>], n: usize, max_width: Option<usize>) -> Vec<usize> {
    // Every column is at least one column wide, even when all its cells are empty and
    // there is no header (upstream 257 with --no-legend and no FILE names).
    let mut requested = vec![1usize; n];
    for row in rows {
        for (j, text) in row.iter().enumerate().take(n) {
            let w = text.split('\n').map(width).max().unwrap_or(0);
            requested[j] = requested[j].max(w);
        }
    }
    let separators = n.saturating_sub(1);
    let total: usize = requested.iter().sum::<usize>() + separators;
    match max_width {
        Some(limit) if total > limit => {
            let minimum_total = n + separators;
            let effective = limit.max(minimum_total);
            compress(&requested, effective - separators)
        }
        _ => requested,
    }
}

/// Pads `field` (of display width `w`) to `target` columns.
fn pad(field: &str, w: usize, target: usize, align: Align) -> String {
    let fill = " ".repeat(target.saturating_sub(w));
    match align {
        Align::Left => format!("{field}{fill}"),
        Align::Right => format!("{fill}{field}"),
    }
}

/// Lays the table out; every physical line ends with `\n`.
pub(crate) fn render(table: &Table, style: &Style) -> String {
    let n = table.align.len();
    let mut texts: Vec<Vec<&str>> = Vec::new();
    if let Some(h) = &table.header {
        texts.push(h.iter().map(String::as_str).collect());
    }
    for row in &table.rows {
        texts.push(row.iter().map(|c| c.text.as_str()).collect());
    }
    let widths = column_widths(&texts, n, style.max_width);

    let mut out = String::new();
    let header_rows = usize::from(table.header.is_some());
    for (r, row) in texts.iter().enumerate() {
        let is_header = r < header_rows;
        let colors: Vec<Option<&'static str>> = (0..n)
            .map(|j| {
                if !style.colors {
                    None
                } else if is_header {
                    style.underline.then_some(ADD_UNDERLINE)
                } else {
                    let cell = &table.rows[r - header_rows][j];
                    match cell.color.or_else(|| cell.text.is_empty().then_some(GREY)) {
                        Some(GREY) => Some(style.grey),
                        Some(UNDERLINE) if !style.underline => None,
                        other => other,
                    }
                }
            })
            .collect();
        let lines: Vec<Vec<&str>> = row.iter().map(|t| t.split('\n').collect()).collect();
        let height = lines.iter().map(Vec::len).max().unwrap_or(1);
        for l in 0..height {
            for j in 0..n {
                if j > 0 {
                    if style.colors && style.underline && is_header {
                        out.push_str(ADD_UNDERLINE);
                        out.push(' ');
                        out.push_str(NORMAL);
                    } else {
                        out.push(' ');
                    }
                }
                let field = lines[j].get(l).copied().unwrap_or("");
                let w = width(field);
                let mut text = if w > widths[j] {
                    let e = ellipsize(field, widths[j], style.utf8);
                    let ew = width(&e);
                    pad(&e, ew, widths[j], table.align[j])
                } else {
                    pad(field, w, widths[j], table.align[j])
                };
                if j + 1 == n && colors[j].is_none() {
                    text.truncate(text.trim_end_matches(' ').len());
                }
                match colors[j] {
                    Some(color) => {
                        out.push_str(color);
                        out.push_str(&text);
                        out.push_str(NORMAL);
                    }
                    None => out.push_str(&text),
                }
            }
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    //! Expected values are cells and widths seen in reference-repart 257 output on a
    //! narrow terminal (see the golden tests in `output::tests`).

    use super::*;

    #[test]
    fn ellipsize_like_upstream() {
        assert_eq!(ellipsize("root-x86-64", 9, true), "root-x86…");
        assert_eq!(ellipsize("RAW SIZE", 7, true), "RAW SI…");
        assert_eq!(ellipsize("30M → 33.8M", 10, true), "30M → 33.…");
        assert_eq!(ellipsize("Hömé 日本", 6, true), "Hömé …");
        assert_eq!(ellipsize("Hömé 日本", 10, true), "Hömé 日本");
        // ASCII mode: `...` for ASCII strings, still `…` for others.
        assert_eq!(ellipsize("30M -> 33.8M", 7, false), "30M ...");
        assert_eq!(ellipsize("root-x86-64", 6, false), "roo...");
        assert_eq!(ellipsize("Hömé 日本", 6, false), "Hömé …");
    }

    #[test]
    fn compress_like_upstream() {
        // TYPE LABEL UUID PARTNO FILE RAW-SIZE SIZE PADDING on 60 and 80 columns.
        let requested = [13, 13, 36, 6, 12, 8, 11, 10];
        assert_eq!(compress(&requested, 60 - 7), [6, 6, 7, 6, 7, 7, 7, 7]);
        assert_eq!(compress(&requested, 80 - 7), [9, 10, 10, 6, 10, 8, 10, 10]);
    }

    #[test]
    fn last_column_trailing_spaces() {
        let t = Table {
            header: Some(vec!["A".into(), "PADDING".into()]),
            align: vec![Align::Left, Align::Left],
            rows: vec![vec![
                Cell {
                    text: "x".into(),
                    color: None,
                },
                Cell {
                    text: "0B".into(),
                    color: None,
                },
            ]],
        };
        let style = Style {
            max_width: None,
            colors: false,
            grey: GREY,
            underline: true,
            utf8: true,
        };
        assert_eq!(render(&t, &style), "A PADDING\nx 0B\n");
    }
}
