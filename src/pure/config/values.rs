//! Value syntaxes shared by several `[Partition]` keys (spec §1.5): booleans, C-style
//! integers, word splitting with quotes and C escapes, path and name checks, `cescape`.
//!
//! Pure functions; the callers turn the errors into upstream's messages.

/// An errno-like reason, printed with upstream's `strerror()` text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Errno {
    /// EINVAL.
    Invalid,
    /// ERANGE.
    Range,
}

impl Errno {
    /// The `strerror()` text (`%m`).
    pub fn text(self) -> &'static str {
        match self {
            Errno::Invalid => "Invalid argument",
            Errno::Range => "Numerical result out of range",
        }
    }
}

/// systemd's `parse_boolean()`: case-insensitive `1 yes y true t on` / `0 no n false f off`.
/// The one boolean parser: repart.d keys, command-line options and environment
/// variables (`SYSTEMD_UTF8`, `SYSTEMD_COLORS`, `SYSTEMD_LOG_COLOR`, ...) all use it.
pub fn parse_boolean(text: &str) -> Option<bool> {
    const YES: [&str; 6] = ["1", "yes", "y", "true", "t", "on"];
    const NO: [&str; 6] = ["0", "no", "n", "false", "f", "off"];
    if YES.iter().any(|y| y.eq_ignore_ascii_case(text)) {
        Some(true)
    } else if NO.iter().any(|n| n.eq_ignore_ascii_case(text)) {
        Some(false)
    } else {
        None
    }
}

/// Splits an optional sign and a base prefix like `strtoul(…, 0)` plus systemd's `0o`/`0b`.
fn split_number(text: &str) -> (bool, u32, &str) {
    let s = text.trim_start_matches([' ', '\t', '\n', '\r']);
    let (negative, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = s.get(..2).map(str::to_ascii_lowercase);
    match lower.as_deref() {
        Some("0x") => (negative, 16, &s[2..]),
        // systemd strips these prefixes itself and hands the rest to strtoull(), which
        // skips whitespace (and a plus sign) again: `0b 1` is 1.
        Some("0o") => (negative, 8, after_own_prefix(&s[2..])),
        Some("0b") => (negative, 2, after_own_prefix(&s[2..])),
        _ if s.len() > 1 && s.starts_with('0') => (negative, 8, &s[1..]),
        _ => (negative, 10, s),
    }
}

fn after_own_prefix(rest: &str) -> &str {
    let rest = rest.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    rest.strip_prefix('+').unwrap_or(rest)
}

fn parse_magnitude(digits: &str, radix: u32) -> Result<u128, Errno> {
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(Errno::Invalid);
    }
    u128::from_str_radix(digits, radix).map_err(|_| Errno::Range)
}

/// `safe_atou64()`: unsigned, base prefixes, leading whitespace; a minus sign is ERANGE.
pub fn parse_u64(text: &str) -> Result<u64, Errno> {
    let (negative, radix, digits) = split_number(text);
    let value = parse_magnitude(digits, radix)?;
    if negative {
        return Err(Errno::Range);
    }
    u64::try_from(value).map_err(|_| Errno::Range)
}

/// `safe_atou32()`.
pub fn parse_u32(text: &str) -> Result<u32, Errno> {
    parse_u64(text).and_then(|v| u32::try_from(v).map_err(|_| Errno::Range))
}

/// `safe_atoi32()`.
pub fn parse_i32(text: &str) -> Result<i32, Errno> {
    let (negative, radix, digits) = split_number(text);
    let value = i128::try_from(parse_magnitude(digits, radix)?).map_err(|_| Errno::Range)?;
    let value = if negative { -value } else { value };
    i32::try_from(value).map_err(|_| Errno::Range)
}

/// `string_is_safe()`: no control characters, no quotes, no backslash.
pub fn string_is_safe(text: &str) -> bool {
    !text
        .chars()
        .any(|c| c < ' ' || c == '\u{7f}' || matches!(c, '\\' | '"' | '\''))
}

/// `filename_is_valid()`: non-empty, not `.`/`..`, no `/`, at most 255 bytes.
pub fn filename_is_valid(text: &str) -> bool {
    !text.is_empty() && text != "." && text != ".." && !text.contains('/') && text.len() <= 255
}

/// `filename_part_is_valid()`: like [`filename_is_valid`] but `.` and `..` are fine.
pub fn filename_part_is_valid(text: &str) -> bool {
    !text.is_empty() && !text.contains('/') && text.len() <= 255
}

/// `cescape()`: C escapes for quotes, backslash and controls; other non-ASCII bytes octal.
pub fn cescape(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x0b => out.push_str("\\v"),
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\'' => out.push_str("\\'"),
            b if !(b' '..0x7f).contains(&b) => out.push_str(&format!("\\{b:03o}")),
            b => out.push(char::from(b)),
        }
    }
    out
}

/// Why a path was rejected by [`check_path`] (the caller words the warning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathProblem {
    /// Not starting with `/`.
    NotAbsolute,
    /// Too long, or a component longer than 255 bytes.
    InvalidLength(usize),
    /// Contains a `..` component.
    NotNormalized,
}

/// `path_simplify_and_warn(…, PATH_CHECK_ABSOLUTE)`: requires an absolute path, drops
/// duplicate slashes and `.` components (and the trailing slash unless `keep_trailing`),
/// then refuses `..`. Returns the simplified path.
pub fn check_path(path: &str, keep_trailing: bool) -> Result<String, PathProblem> {
    if !path.starts_with('/') {
        return Err(PathProblem::NotAbsolute);
    }
    // Fast path (thousands of CopyFiles= lines): already normalized.
    if path.len() > 1
        && path.len() <= 4095
        && !path.ends_with('/')
        && !path.contains("//")
        && !path.contains("/./")
        && !path.ends_with("/.")
        && !path.contains("..")
        && path.split('/').all(|c| c.len() <= 255)
    {
        return Ok(path.to_owned());
    }
    let parts: Vec<&str> = path
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    let mut simplified = format!("/{}", parts.join("/"));
    if keep_trailing && path.ends_with('/') && simplified != "/" {
        simplified.push('/');
    }
    if simplified.len() > 4095 || parts.iter().any(|c| c.len() > 255) {
        return Err(PathProblem::InvalidLength(simplified.len()));
    }
    if parts.contains(&"..") {
        return Err(PathProblem::NotNormalized);
    }
    Ok(simplified)
}

/// The warning text for a [`PathProblem`] of key `key` (`CopyFiles= path is not …`).
pub fn path_problem_message(key: &str, path: &str, problem: &PathProblem) -> String {
    match problem {
        PathProblem::NotAbsolute => format!("{key}= path is not absolute, ignoring: {path}"),
        PathProblem::InvalidLength(n) => {
            format!("{key}= path has invalid length ({n} bytes), ignoring.")
        }
        PathProblem::NotNormalized => format!("{key}= path is not normalized, ignoring: {path}"),
    }
}

/// Flags for [`extract_first_word`], after upstream's `EXTRACT_*`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extract {
    /// Remove `'…'` and `"…"` quoting.
    pub unquote: bool,
    /// Decode C escapes (`\n`, `\x3a`, `\073`, …) instead of taking the next char literally.
    pub cunescape: bool,
    /// Every separator ends a (possibly empty) word; no skipping of separator runs.
    pub dont_coalesce: bool,
}

/// An unterminated quote or a trailing lone backslash (upstream EINVAL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntaxError;

/// The rest of the input after a word: `None` once everything was consumed.
pub type Rest<'a> = Option<&'a str>;

/// What follows a separator: the rest of the input, with further separators skipped
/// unless `dont_coalesce`; nothing left means no more words.
fn rest_after<'a>(after: &'a str, separators: &str, flags: Extract) -> Rest<'a> {
    if flags.dont_coalesce {
        return Some(after);
    }
    let rest = after.trim_start_matches(|c| separators.contains(c));
    (!rest.is_empty()).then_some(rest)
}

/// Extracts the next word from `input`, split at any char in `separators`.
///
/// Returns `Ok(None)` when there are no more words, [`SyntaxError`] for an
/// unterminated quote or a trailing lone backslash.
pub fn extract_first_word<'a>(
    input: Rest<'a>,
    separators: &str,
    flags: Extract,
) -> Result<Option<(String, Rest<'a>)>, SyntaxError> {
    let Some(mut s) = input else {
        return Ok(None);
    };
    if !flags.dont_coalesce {
        s = s.trim_start_matches(|c| separators.contains(c));
        if s.is_empty() {
            return Ok(None);
        }
    }
    // Fast path: a plain word (no quotes or backslashes before the first separator)
    // is a slice of the input.
    if let Some(end) =
        s.find(|c: char| separators.contains(c) || c == '\\' || c == '\'' || c == '"')
    {
        let Some(c) = s[end..].chars().next() else {
            return Ok(Some((s.to_owned(), None)));
        };
        if separators.contains(c) && !(c == '\\' || ((c == '\'' || c == '"') && flags.unquote)) {
            let word = s[..end].to_owned();
            let after = &s[end + c.len_utf8()..];
            return Ok(Some((word, rest_after(after, separators, flags))));
        }
    } else {
        return Ok(Some((s.to_owned(), None)));
    }
    let mut word = String::with_capacity(s.len());
    let mut quote: Option<char> = None;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            let Some((_, next)) = chars.next() else {
                return Err(SyntaxError);
            };
            if flags.cunescape {
                let unescaped = cunescape_one(next, &mut chars).ok_or(SyntaxError)?;
                word.push(unescaped);
            } else {
                word.push(next);
            }
            continue;
        }
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.push(c),
            None if flags.unquote && (c == '\'' || c == '"') => quote = Some(c),
            None if separators.contains(c) => {
                let after = &s[i + c.len_utf8()..];
                return Ok(Some((word, rest_after(after, separators, flags))));
            }
            None => word.push(c),
        }
    }
    if quote.is_some() {
        return Err(SyntaxError);
    }
    Ok(Some((word, None)))
}

/// Decodes one C escape whose first char after the backslash is `c`.
fn cunescape_one(
    c: char,
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
) -> Option<char> {
    let mut take_digits = |n: usize, radix: u32| -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            let (_, d) = chars.next()?;
            v = v * radix + d.to_digit(radix)?;
        }
        Some(v)
    };
    let simple = match c {
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        'f' => Some('\u{c}'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\u{b}'),
        's' => Some(' '),
        '\\' | '"' | '\'' => Some(c),
        _ => None,
    };
    if simple.is_some() {
        return simple;
    }
    let code = match c {
        'x' => take_digits(2, 16)?,
        'u' => take_digits(4, 16)?,
        'U' => take_digits(8, 16)?,
        '0'..='7' => {
            let rest = take_digits(2, 8)?;
            c.to_digit(8)? * 64 + rest
        }
        _ => return None,
    };
    if code == 0 {
        return None;
    }
    char::from_u32(code)
}

/// Splits `input` into up to `n` words (upstream `extract_many_words`), returning the
/// words found and the unconsumed rest.
pub fn extract_many<'a>(
    input: &'a str,
    separators: &str,
    flags: Extract,
    n: usize,
) -> Result<(Vec<String>, Rest<'a>), SyntaxError> {
    let mut rest = Some(input);
    let mut words = Vec::new();
    while words.len() < n {
        match extract_first_word(rest, separators, flags)? {
            Some((word, r)) => {
                words.push(word);
                rest = r;
            }
            None => break,
        }
    }
    Ok((words, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans() {
        for t in ["1", "yes", "Y", "TRUE", "t", "On"] {
            assert_eq!(parse_boolean(t), Some(true), "{t}");
        }
        for f in ["0", "no", "N", "false", "F", "off"] {
            assert_eq!(parse_boolean(f), Some(false), "{f}");
        }
        assert_eq!(parse_boolean(""), None);
        assert_eq!(parse_boolean("maybe"), None);
    }

    #[test]
    fn integers() {
        assert_eq!(parse_i32("0x10"), Ok(16));
        assert_eq!(parse_i32("-5"), Ok(-5));
        assert_eq!(parse_i32(" 010"), Ok(8));
        assert_eq!(parse_i32("0o7"), Ok(7));
        assert_eq!(parse_i32("0b11"), Ok(3));
        // Continuation lines join with a space: `Flags=0b\` + `1` is `0b 1` (upstream: 1).
        assert_eq!(parse_u64("0b 1"), Ok(1));
        assert_eq!(parse_u64("0o 7"), Ok(7));
        assert_eq!(parse_u64("0x 1"), Err(Errno::Invalid));
        assert_eq!(parse_i32("0"), Ok(0));
        assert_eq!(parse_i32("abc"), Err(Errno::Invalid));
        assert_eq!(parse_i32("1.5"), Err(Errno::Invalid));
        assert_eq!(parse_i32("99999999999"), Err(Errno::Range));
        assert_eq!(parse_i32(""), Err(Errno::Invalid));
        assert_eq!(parse_u32("-1"), Err(Errno::Range));
        assert_eq!(parse_u32("4294967296"), Err(Errno::Range));
        assert_eq!(parse_u64("0x8000000000000000"), Ok(1 << 63));
        assert_eq!(parse_u64("99999999999999999999"), Err(Errno::Range));
        assert_eq!(parse_u64("09"), Err(Errno::Invalid));
        assert_eq!(Errno::Range.text(), "Numerical result out of range");
    }

    #[test]
    fn safe_strings_and_escaping() {
        assert!(string_is_safe("a b"));
        assert!(string_is_safe("ä"));
        assert!(!string_is_safe("a\"b"));
        assert!(!string_is_safe("a\\b"));
        assert!(!string_is_safe("a\u{1}"));
        assert_eq!(cescape("a\"b"), "a\\\"b");
        assert_eq!(cescape("ä"), "\\303\\244");
        assert_eq!(cescape("1\\\\2"), "1\\\\\\\\2");
        assert_eq!(cescape("\n"), "\\n");
    }

    #[test]
    fn names() {
        assert!(filename_is_valid("foo"));
        assert!(!filename_is_valid("a/b"));
        assert!(!filename_is_valid(".."));
        assert!(!filename_is_valid("."));
        assert!(!filename_is_valid(""));
        assert!(filename_part_is_valid(".."));
        assert!(!filename_part_is_valid("a/b"));
    }

    #[test]
    fn paths() {
        assert_eq!(check_path("/a//b/./", false), Ok("/a/b".to_string()));
        assert_eq!(check_path("/a//b/", true), Ok("/a/b/".to_string()));
        assert_eq!(check_path("/", true), Ok("/".to_string()));
        assert_eq!(check_path("rel", false), Err(PathProblem::NotAbsolute));
        assert_eq!(check_path("", false), Err(PathProblem::NotAbsolute));
        assert_eq!(
            check_path("/a/../b", false),
            Err(PathProblem::NotNormalized)
        );
        let long = format!("/{}", "a".repeat(256));
        assert_eq!(
            check_path(&long, false),
            Err(PathProblem::InvalidLength(257))
        );
        assert_eq!(
            path_problem_message("CopyFiles", "rel", &PathProblem::NotAbsolute),
            "CopyFiles= path is not absolute, ignoring: rel"
        );
        assert_eq!(
            path_problem_message("X", "/a/../b", &PathProblem::NotNormalized),
            "X= path is not normalized, ignoring: /a/../b"
        );
        assert_eq!(
            path_problem_message("X", "", &PathProblem::InvalidLength(5)),
            "X= path has invalid length (5 bytes), ignoring."
        );
    }

    #[test]
    fn word_extraction() {
        let ws = " \t\n\r";
        let q = Extract {
            unquote: true,
            ..Extract::default()
        };
        let (words, rest) = extract_many("rel /a \"/b c\" '/d/'", ws, q, 10).unwrap();
        assert_eq!(words, vec!["rel", "/a", "/b c", "/d/"]);
        assert_eq!(rest, None);
        assert!(extract_many("/a \"unterm", ws, q, 10).is_err());
        assert_eq!(extract_first_word(Some("   "), ws, q), Ok(None));

        let colon = Extract {
            cunescape: true,
            dont_coalesce: true,
            ..Extract::default()
        };
        let (w, rest) = extract_many("/tmp/a\\x3ab:/y", ":", colon, 2).unwrap();
        assert_eq!(w, vec!["/tmp/a:b", "/y"]);
        assert_eq!(rest, None);
        let (w, rest) = extract_many("/tmp:", ":", colon, 2).unwrap();
        assert_eq!(w, vec!["/tmp", ""]);
        assert_eq!(rest, None);
        let (w, rest) = extract_many("/a:b:c", ":", colon, 2).unwrap();
        assert_eq!(w, vec!["/a", "b"]);
        assert_eq!(rest, Some("c"));
        let (w, _) = extract_many("", ":", colon, 2).unwrap();
        assert_eq!(w, vec![""]);
        assert!(extract_many("a\\", ":", colon, 2).is_err());
    }
}
