//! Rendering a [`Plan`]: the table with its Σ row, the bar diagram
//! with legend, and JSON — byte for byte as upstream 257 prints them (spec §7).
//!
//! Pure: strings out, no I/O and no environment reads; everything that depends on the
//! terminal comes in through [`RenderOptions`].
//!
//! * `cells`: columns, their visibility and the text of every cell (§7.2, §7.4).
//! * `table`: the generic table layout (widths, alignment, ellipsizing, colors; §7.3).
//! * `bar`: the bar diagram and its legend (§7.6).
//! * `json`: `--json=pretty` / `--json=short` (§7.5).

mod bar;
mod cells;
mod colors;
mod json;
mod table;
mod tpm2_devices;
mod width;

use crate::pure::plan::Plan;

pub use cells::partition_node_name;
pub use colors::{ColorMode, TerminalFacts};
pub use table::GREY;
pub use tpm2_devices::{Tpm2Device, tpm2_device_table};

/// Everything about the environment that changes the rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOptions {
    /// UTF-8 glyphs (`→ Σ ▒ ░ │ ├─ └─`) or the ASCII fallbacks.
    pub utf8: bool,
    /// Terminal width (`$COLUMNS`, TIOCGWINSZ, else 80); the bar uses `columns - 2` cells.
    pub columns: usize,
    /// Print the header row (`--no-legend` turns it off).
    pub header: bool,
    /// Debug log level: all 17 columns.
    pub debug: bool,
    /// The target node as stored (for NODE and legend hints), e.g. `image.raw`.
    pub node: String,
    /// stdout is a terminal (and no pager is used): the table is narrowed to `columns`,
    /// cells are ellipsized with `…`.
    pub tty: bool,
    /// ANSI colors are enabled (upstream: stdout *and* stderr are terminals, `TERM` is not
    /// dumb, and neither `NO_COLOR` nor `SYSTEMD_COLORS=0` disables them). Also colors
    /// `--json=pretty`.
    pub colors: bool,
    /// Which colors (16-color mode has another grey).
    pub color_mode: ColorMode,
    /// Underlining (upstream turns it off for `TERM=linux`, the Linux console).
    pub underline: bool,
}

impl Default for RenderOptions {
    /// Non-terminal stdout, 80 columns, UTF-8, header shown, info log level.
    fn default() -> Self {
        RenderOptions {
            utf8: true,
            columns: 80,
            header: true,
            debug: false,
            node: String::new(),
            tty: false,
            colors: false,
            color_mode: ColorMode::Ansi256,
            underline: true,
        }
    }
}

/// The early dump: table (unless there are no rows), empty line, bar, legend, empty line.
///
/// With zero partitions only the empty line, an all-free bar and an empty line are
/// returned (the caller logs `Empty partition table.` itself).
pub fn table_and_bar(plan: &Plan, opts: &RenderOptions) -> String {
    let mut out = String::new();
    out.push_str(&text_table(plan, opts));
    out.push('\n');
    out.push_str(&bar::bar_and_legend(plan, opts));
    out.push('\n');
    out
}

/// Only the table (header unless `header=false`, rows, Σ row), as printed by the late
/// dump when verity root hashes exist. Empty string for zero partitions.
pub fn text_table(plan: &Plan, opts: &RenderOptions) -> String {
    if plan.partitions.is_empty() && plan.dropped == 0 {
        return String::new();
    }
    let t = cells::build_text_table(plan, opts);
    let style = table::Style {
        max_width: opts.tty.then_some(opts.columns),
        colors: opts.colors,
        grey: opts.color_mode.grey(),
        underline: opts.underline,
        utf8: opts.utf8,
    };
    table::render(&t, &style)
}

/// JSON output (`--json=pretty` when `pretty`, else `short`), with trailing newline.
pub fn json(plan: &Plan, opts: &RenderOptions, pretty: bool) -> String {
    json::render(plan, opts, pretty)
}

#[cfg(test)]
mod tests;
