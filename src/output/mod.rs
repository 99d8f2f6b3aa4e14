//! Rendering a [`Plan`](crate::plan::Plan): the table with its Σ row, the bar diagram
//! with legend, and JSON — byte for byte as upstream 257 prints them (spec §7).
//!
//! Pure: strings out, no I/O. STUB: owned by the output helper.

use crate::plan::Plan;

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
}

/// The early dump: table (unless there are no rows), empty line, bar, legend, empty line.
pub fn table_and_bar(_plan: &Plan, _opts: &RenderOptions) -> String {
    todo!()
}

/// JSON output (`--json=pretty` when `pretty`, else `short`), with trailing newline.
pub fn json(_plan: &Plan, _opts: &RenderOptions, _pretty: bool) -> String {
    todo!()
}
