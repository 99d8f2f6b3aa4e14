//! Command-line behaviour that golden cases cannot pin down byte for byte.
//!
//! * `--version` deliberately differs from upstream's text (it names repart), but
//!   mkosi reads the systemd version from it: the third whitespace-separated word of
//!   the output, parentheses stripped, must compare as a systemd version ≥ 257.

use std::process::{Command, Stdio};

use crate::common::{base_path, repart_under_test};

/// mkosi's rule (`systemd_tool_version()`): third word of the output, `()` stripped.
fn mkosi_version_word(output: &str) -> String {
    let word = output.split_whitespace().nth(2).unwrap_or_default();
    word.trim_matches(|c| c == '(' || c == ')').to_string()
}

/// systemd's version comparison for the leading numeric fields, which is all that
/// decides `257.13+repart…` against a plain release such as `257` or `254`.
fn leading_numbers(version: &str) -> Vec<u64> {
    let mut out = Vec::new();
    for field in version.split('.') {
        let digits: String = field.chars().take_while(char::is_ascii_digit).collect();
        let Ok(n) = digits.parse() else { break };
        out.push(n);
        if digits.len() != field.len() {
            break;
        }
    }
    out
}

#[test]
fn version_satisfies_mkosi() {
    let o = Command::new(repart_under_test())
        .arg("--version")
        .env_clear()
        .env("PATH", base_path())
        .stdin(Stdio::null())
        .output()
        .expect("run --version");
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    let word = mkosi_version_word(&text);
    let numbers = leading_numbers(&word);
    assert!(
        !numbers.is_empty() && numbers >= vec![257],
        "mkosi reads {word:?} from {text:?}"
    );
    let first = text.lines().next().unwrap_or_default();
    assert!(first.starts_with("systemd 257 ("), "{first}");
    if std::env::var_os("REPART_UNDER_TEST").is_none() {
        assert!(first.contains("repart"), "{first}");
    }
    // Sanity of the rule itself: the old first line is refused by it.
    assert!(leading_numbers(&mkosi_version_word("systemd 257 (repart 0.1.0)")).is_empty());
}
