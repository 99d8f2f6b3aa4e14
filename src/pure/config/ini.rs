//! The unit-file dialect of repart.d files (spec §1.4): physical lines, comments,
//! continuations, sections and `Key=value` assignments.
//!
//! Pure: bytes in, an ordered list of assignments and diagnostics out. Which keys exist
//! is decided by the caller (`known_keys`), so "Unknown key" warnings come out here in
//! line order, interleaved with the assignments.

use nom::IResult;
use nom::Parser;
use nom::bytes::complete::take_till;
use nom::character::complete::char;
use nom::combinator::rest;
use nom::sequence::separated_pair;

use super::{ConfigError, Diagnostic, Level};

/// Longest accepted physical line in bytes (upstream `LONG_LINE_MAX` minus the NUL).
pub const LINE_MAX: usize = 1024 * 1024 - 1;

/// One `Key=value` line inside the wanted section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// 1-based line number (the last physical line of a continued line).
    pub line: u32,
    /// Key, whitespace-stripped, case-sensitive.
    pub key: String,
    /// Value, whitespace-stripped, not unquoted.
    pub value: String,
}

/// What a file contributes, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// An assignment of a known key in the wanted section.
    Assignment(Assignment),
    /// A warning (or an error logged before a fatal stop).
    Diagnostic(Diagnostic),
}

/// The result of splitting one file: everything up to the first fatal problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// Assignments and diagnostics in line order.
    pub items: Vec<Item>,
    /// The fatal error that stopped parsing, if any (printed after the items).
    pub error: Option<ConfigError>,
}

/// Longest log line upstream emits: `LINE_MAX` (2048) minus the NUL and `MESSAGE=`.
pub const LOG_LINE_MAX: usize = 2039;

/// Formats `path:line: message` the way upstream's `log_syntax()` does, including its
/// truncation of overlong lines (cut back to a character boundary).
pub fn located(path: &str, line: u32, message: &str) -> String {
    let mut text = format!("{path}:{line}: {message}");
    if text.len() > LOG_LINE_MAX {
        let mut cut = LOG_LINE_MAX;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

/// Splits `content` (the file named `path`) into assignments of `section`.
///
/// `known_keys` are the keys of `section`; other keys get the "Unknown key" warning
/// unless they start with `X-`.
pub fn parse(path: &str, content: &[u8], section: &str, known_keys: &[&str]) -> Parsed {
    let content = content.strip_prefix(b"\xef\xbb\xbf").unwrap_or(content);
    let lines = physical_lines(content);
    // Sized once: files with thousands of CopyFiles= lines are common (NixOS).
    let mut state = State {
        path,
        section,
        known_keys,
        current: Current::None,
        items: Vec::with_capacity(lines.len()),
    };
    let mut continuation: Option<Vec<u8>> = None;
    let mut line_no: u32 = 0;
    for physical in lines {
        if physical.len() > LINE_MAX {
            return state.fail(line_no, None, "Line too long".to_string());
        }
        line_no = line_no.saturating_add(1);
        let trimmed = trim_start(physical);
        if matches!(trimmed.first(), Some(b'#' | b';')) {
            continue;
        }
        if continuation.is_none() && !ends_with_odd_backslash(physical) {
            // The common case: a complete line, parsed without copying it.
            if let Err(fatal) = state.logical_line(line_no, physical) {
                return state.finish(Some(fatal));
            }
            continue;
        }
        let mut joined = match continuation.take() {
            Some(mut c) => {
                c.extend_from_slice(physical);
                c
            }
            None => physical.to_vec(),
        };
        if ends_with_odd_backslash(&joined) {
            if let Some(last) = joined.last_mut() {
                *last = b' ';
            }
            continuation = Some(joined);
            continue;
        }
        if let Err(fatal) = state.logical_line(line_no, &joined) {
            return state.finish(Some(fatal));
        }
    }
    if let Some(pending) = continuation
        && let Err(fatal) = state.logical_line(line_no, &pending)
    {
        return state.finish(Some(fatal));
    }
    state.finish(None)
}

/// Which section the parser is in.
enum Current {
    /// Before the first section header.
    None,
    /// Inside the wanted section.
    Wanted,
    /// Inside another section (its keys are skipped silently).
    Ignored,
}

struct State<'a> {
    path: &'a str,
    section: &'a str,
    known_keys: &'a [&'a str],
    current: Current,
    items: Vec<Item>,
}

impl State<'_> {
    fn warn(&mut self, line: u32, message: &str) {
        self.items.push(Item::Diagnostic(Diagnostic {
            level: Level::Warning,
            message: located(self.path, line, message),
        }));
    }

    /// Logs `first` (if any) and stops with `error` at `line`.
    fn fail(self, line: u32, first: Option<(Level, String)>, error: String) -> Parsed {
        let mut this = self;
        if let Some((level, message)) = first {
            this.items.push(Item::Diagnostic(Diagnostic {
                level,
                message: located(this.path, line, &message),
            }));
        }
        let error = ConfigError {
            message: located(this.path, line, &error),
        };
        this.finish(Some(error))
    }

    fn finish(self, error: Option<ConfigError>) -> Parsed {
        Parsed {
            items: self.items,
            error,
        }
    }

    /// Handles one logical (joined) line; `Err` is a fatal stop.
    fn logical_line(&mut self, line: u32, raw: &[u8]) -> Result<(), ConfigError> {
        let Ok(text) = std::str::from_utf8(raw) else {
            let shown = escape_invalid_utf8(trim(raw));
            self.items.push(Item::Diagnostic(Diagnostic {
                level: Level::Warning,
                message: located(
                    self.path,
                    line,
                    &format!("String is not UTF-8 clean, ignoring assignment: {shown}"),
                ),
            }));
            return Err(self.error(line, "Failed to parse file: Invalid argument"));
        };
        let text = text.trim_matches(is_ws);
        if text.is_empty() || text.starts_with(['#', ';']) {
            return Ok(());
        }
        if text.starts_with('[') {
            return self.section_header(line, text);
        }
        match self.current {
            Current::Ignored => return Ok(()),
            Current::None => {
                self.warn(line, "Assignment outside of section. Ignoring.");
                return Ok(());
            }
            Current::Wanted => {}
        }
        let Ok((_, (key, value))) = split_assignment(text) else {
            self.warn(line, "Missing '=', ignoring line.");
            return Ok(());
        };
        let key = key.trim_matches(is_ws);
        if key.is_empty() {
            self.warn(line, "Missing key name before '=', ignoring line.");
            return Ok(());
        }
        if self.known_keys.contains(&key) {
            self.items.push(Item::Assignment(Assignment {
                line,
                key: key.to_string(),
                value: value.trim_matches(is_ws).to_string(),
            }));
        } else if !key.starts_with("X-") {
            let message = format!(
                "Unknown key '{key}' in section [{}], ignoring.",
                self.section
            );
            self.warn(line, &message);
        }
        Ok(())
    }

    fn section_header(&mut self, line: u32, text: &str) -> Result<(), ConfigError> {
        let Some(name) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) else {
            return Err(self.logged_error(line, format!("Invalid section header '{text}'")));
        };
        if !super::values::string_is_safe(name) {
            let message = format!("Bad characters in section header '{text}'");
            return Err(self.logged_error(line, message));
        }
        if name == self.section {
            self.current = Current::Wanted;
        } else {
            if !name.starts_with("X-") {
                self.warn(line, &format!("Unknown section '{name}'. Ignoring."));
            }
            self.current = Current::Ignored;
        }
        Ok(())
    }

    /// Logs `message` at error level and returns the EBADMSG "Failed to parse file".
    fn logged_error(&mut self, line: u32, message: String) -> ConfigError {
        self.items.push(Item::Diagnostic(Diagnostic {
            level: Level::Error,
            message: located(self.path, line, &message),
        }));
        self.error(line, "Failed to parse file: Bad message")
    }

    fn error(&self, line: u32, message: &str) -> ConfigError {
        ConfigError {
            message: located(self.path, line, message),
        }
    }
}

/// `key=value`, split at the first `=`.
fn split_assignment(text: &str) -> IResult<&str, (&str, &str)> {
    separated_pair(take_till(|c| c == '='), char('='), rest).parse(text)
}

/// Upstream's WHITESPACE set: space, tab, newline, carriage return.
fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !is_ws(char::from(*b)))
        .unwrap_or(bytes.len());
    &bytes[start..]
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = trim_start(bytes);
    let end = start
        .iter()
        .rposition(|b| !is_ws(char::from(*b)))
        .map_or(0, |p| p + 1);
    &start[..end]
}

/// Whether the line ends in an unescaped backslash (an odd run of backslashes).
fn ends_with_odd_backslash(line: &[u8]) -> bool {
    line.iter().rev().take_while(|b| **b == b'\\').count() % 2 == 1
}

/// Splits at `\n`, `\r\n`, `\r` and NUL like upstream's `read_line()`; a final
/// unterminated line is returned too.
fn physical_lines(content: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::with_capacity(content.iter().filter(|&&b| b == b'\n').count() + 1);
    let mut start = 0;
    let mut i = 0;
    while i < content.len() {
        match content[i] {
            b'\n' | b'\0' => {
                lines.push(&content[start..i]);
                start = i + 1;
            }
            b'\r' => {
                lines.push(&content[start..i]);
                if content.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < content.len() {
        lines.push(&content[start..]);
    }
    lines
}

/// Replaces every byte that does not start a valid UTF-8 sequence with U+FFFD,
/// one replacement per byte, like upstream's `utf8_escape_invalid()`.
pub fn escape_invalid_utf8(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                out.push_str(valid);
                break;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                out.push('\u{fffd}');
                rest = after.get(1..).unwrap_or_default();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: &[&str] = &["Type", "Label"];

    fn run(text: &[u8]) -> Parsed {
        parse("/d/x.conf", text, "Partition", KEYS)
    }

    fn assignments(p: &Parsed) -> Vec<(u32, &str, &str)> {
        p.items
            .iter()
            .filter_map(|i| match i {
                Item::Assignment(a) => Some((a.line, a.key.as_str(), a.value.as_str())),
                Item::Diagnostic(_) => None,
            })
            .collect()
    }

    fn messages(p: &Parsed) -> Vec<&str> {
        p.items
            .iter()
            .filter_map(|i| match i {
                Item::Diagnostic(d) => Some(d.message.as_str()),
                Item::Assignment(_) => None,
            })
            .collect()
    }

    #[test]
    fn basic_assignments_are_stripped() {
        let p = run(b"[Partition]\nType=esp\n Label = spaced \nLabel=a # not a comment\n");
        assert_eq!(
            assignments(&p),
            vec![
                (2, "Type", "esp"),
                (3, "Label", "spaced"),
                (4, "Label", "a # not a comment")
            ]
        );
        assert!(p.error.is_none());
        assert!(messages(&p).is_empty());
    }

    #[test]
    fn warnings_match_upstream_text() {
        // Same input as the oracle run `ini1`.
        let p = run(b"Foo=bar\n[Partition]\nType=linux-generic\nnoequals\n=value\n  # comment\n; other\n[Other]\nFoo=1\n[X-Foo]\nBar=1\n[Partition]\nX-Key=1\nUnknown=2\n Label = spaced \n");
        assert_eq!(
            messages(&p),
            vec![
                "/d/x.conf:1: Assignment outside of section. Ignoring.",
                "/d/x.conf:4: Missing '=', ignoring line.",
                "/d/x.conf:5: Missing key name before '=', ignoring line.",
                "/d/x.conf:8: Unknown section 'Other'. Ignoring.",
                "/d/x.conf:14: Unknown key 'Unknown' in section [Partition], ignoring.",
            ]
        );
        assert_eq!(
            assignments(&p),
            vec![(3, "Type", "linux-generic"), (15, "Label", "spaced")]
        );
    }

    #[test]
    fn missing_equals_before_section_is_outside_section() {
        let p = run(b"noequals\n");
        assert_eq!(
            messages(&p),
            vec!["/d/x.conf:1: Assignment outside of section. Ignoring."]
        );
    }

    #[test]
    fn section_names_are_exact() {
        for header in ["[partition]", "[]", "[ Partition ]"] {
            let text = format!("{header}\nType=esp\n");
            let p = run(text.as_bytes());
            let name = &header[1..header.len() - 1];
            assert_eq!(
                messages(&p),
                vec![format!("/d/x.conf:1: Unknown section '{name}'. Ignoring.")]
            );
            assert!(assignments(&p).is_empty());
        }
    }

    #[test]
    fn bad_section_headers_are_fatal() {
        let p = run(b"[Partition\nType=esp\n");
        assert_eq!(
            messages(&p),
            vec!["/d/x.conf:1: Invalid section header '[Partition'"]
        );
        assert_eq!(
            p.error.unwrap().message,
            "/d/x.conf:1: Failed to parse file: Bad message"
        );
        let p = run(b"[Part\"ition]\nType=esp\n");
        assert_eq!(
            messages(&p),
            vec!["/d/x.conf:1: Bad characters in section header '[Part\"ition]'"]
        );
        assert!(p.error.is_some());
    }

    #[test]
    fn continuation_lines() {
        // Oracle: `Type=linux-\` + comment + `generic` is parsed as "linux- generic" at line 4.
        let p = run(b"\xef\xbb\xbf[Partition]\nType=linux-\\\n# comment inside\ngeneric\n");
        assert_eq!(assignments(&p), vec![(4, "Type", "linux- generic")]);
        // Pending continuation at EOF.
        let p = run(b"[Partition]\nLabel=foo\\");
        assert_eq!(assignments(&p), vec![(2, "Label", "foo")]);
        // Even number of backslashes: no continuation.
        let p = run(b"[Partition]\nLabel=a\\\\\nType=esp\n");
        assert_eq!(
            assignments(&p),
            vec![(2, "Label", "a\\\\"), (3, "Type", "esp")]
        );
    }

    #[test]
    fn line_endings() {
        let p = run(b"[Partition]\r\nType=esp\rLabel=x");
        assert_eq!(assignments(&p), vec![(2, "Type", "esp"), (3, "Label", "x")]);
    }

    #[test]
    fn invalid_utf8_is_fatal() {
        let p = run(b"[Partition]\nType=linux-generic\nLabel=a\xffb\xc3\n");
        assert_eq!(
            messages(&p),
            vec![
                "/d/x.conf:3: String is not UTF-8 clean, ignoring assignment: Label=a\u{fffd}b\u{fffd}"
            ]
        );
        assert_eq!(
            p.error.unwrap().message,
            "/d/x.conf:3: Failed to parse file: Invalid argument"
        );
        // Invalid bytes in comments are fine, even inside continuations.
        let p = run(b"[Partition]\n# a\xffb\nLabel=a\\\n# \xff\nb\n");
        assert!(p.error.is_none());
        assert_eq!(assignments(&p), vec![(5, "Label", "a b")]);
        // Also in ignored sections' headers.
        let p = run(b"[Partition]\n[X-\xff]\n");
        assert!(p.error.is_some());
    }

    #[test]
    fn long_lines() {
        let ok = format!(
            "[Partition]\nType=esp\nLabel={}\n",
            "a".repeat(LINE_MAX - 6)
        );
        assert!(run(ok.as_bytes()).error.is_none());
        let long = format!(
            "[Partition]\nType=esp\nLabel={}\n",
            "a".repeat(LINE_MAX - 5)
        );
        let p = run(long.as_bytes());
        assert_eq!(
            p.error.clone().unwrap().message,
            "/d/x.conf:2: Line too long"
        );
        assert_eq!(assignments(&p), vec![(2, "Type", "esp")]);
    }

    #[test]
    fn escapes_invalid_bytes_one_by_one() {
        assert_eq!(escape_invalid_utf8(b"a\xe2\x82b"), "a\u{fffd}\u{fffd}b");
        assert_eq!(escape_invalid_utf8("ä".as_bytes()), "ä");
    }
}
