//! Terminal column widths the way upstream counts them: every code point takes one
//! column, two when it is "wide", eight for a TAB. Upstream's wide table predates emoji
//! presentation, so the emoticons block (U+1F5FB–U+1F64F) counts as narrow there
//! (its own test suite notes this), and combining marks count as one column.

use unicode_width::UnicodeWidthChar;

/// Columns one character takes.
pub fn char_width(c: char) -> usize {
    // Upstream assumes a tab stop of 8; other control characters count one column.
    if c == '\t' {
        return 8;
    }
    let code = u32::from(c);
    if (0x1F5FB..=0x1F64F).contains(&code) {
        return 1;
    }
    match UnicodeWidthChar::width(c) {
        Some(2) => 2,
        _ => 1,
    }
}

/// Columns a string takes.
pub fn str_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_like_upstream() {
        assert_eq!(str_width("abc"), 3);
        // Observed in upstream 257's table: the label "Wurzel-äöü-€-😀" is 14 columns.
        assert_eq!(str_width("Wurzel-äöü-€-😀"), 14);
        assert_eq!(str_width("日本"), 4);
        assert_eq!(str_width("🐱"), 2);
        // Seen in upstream 257's LABEL column: a TAB is 8 columns, other controls 1.
        assert_eq!(str_width("a\tb"), 10);
        assert_eq!(str_width("x\u{1}y"), 3);
        assert_eq!(str_width("x\u{7f}y"), 3);
    }
}
