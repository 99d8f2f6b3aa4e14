//! The `--help` text, rendered from the option table.
//!
//! The text is repart's own (not upstream's wording; it says which options repart only
//! checks and which it does not support yet). Its layout: the option in the first
//! column (`-X ` for options with a short form), the description from column 26, or on
//! the next line when the option does not fit.

use super::table::{Help, OPTIONS, OptionSpec};

/// Where descriptions start.
const TEXT_COLUMN: usize = 26;
/// The option column: after the short form (`  -h ` or five spaces).
const OPTION_INDENT: usize = 5;

/// What the help says about the options the table marks [`Help::Unsupported`] and the
/// values that are accepted but refused when used (kept in words; a test checks that
/// every unsupported option is named here).
const FOOTER: &str = "Accepted, but fail with a clear error when a partition needs them: Encrypt=,
key or certificate sources other than 'file'.
Not supported yet (they fail with a clear error): --image=.
";

/// Our `--help` text.
pub fn help_text(program: &str) -> String {
    let mut out = format!(
        "{program} [OPTIONS...] [DEVICE]

Grow and add partitions to a partition table, following the definitions in
repart.d/ drop-in files. A drop-in replacement for systemd-repart 257.

Options:
"
    );
    let mut run = String::new();
    for spec in OPTIONS {
        match spec.help {
            Help::Line { usage, text } => {
                let first = format!("{}{run}{usage}", prefix(spec, run.is_empty()));
                run.clear();
                if first.len() < TEXT_COLUMN {
                    out += &format!("{first:<width$}{text}\n", width = TEXT_COLUMN);
                } else {
                    out += &format!("{first}\n{:TEXT_COLUMN$}{text}\n", "");
                }
            }
            Help::Usage(usage) => out += &format!("{}{usage}\n", prefix(spec, true)),
            Help::Run { usage, break_after } => {
                if run.is_empty() {
                    run += &prefix(spec, true);
                }
                run += usage;
                run.push(',');
                if break_after {
                    out += &run;
                    out.push('\n');
                    run.clear();
                } else {
                    run.push(' ');
                }
            }
            Help::Unsupported => {}
        }
    }
    out += "\n";
    out += FOOTER;
    out += "\nSee repart(8) and repart.d(5) for details.\n";
    out
}

/// The start of an option's first line: its short form, or spaces.
fn prefix(spec: &OptionSpec, first_of_line: bool) -> String {
    match spec.short {
        Some(c) if first_of_line => format!("  -{c} "),
        _ if first_of_line => " ".repeat(OPTION_INDENT),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pure::cli::table::spec;

    /// Our help as rendered before the table existed (repart's own text, not upstream's).
    const EXPECTED: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/cli/help.txt"
    ));

    #[test]
    fn help_text_is_unchanged() {
        assert_eq!(help_text("repart"), EXPECTED);
    }

    #[test]
    fn every_listed_option_is_in_the_help_and_the_rest_in_the_footer() {
        let help = help_text("repart");
        for s in OPTIONS {
            let shown = match s.help {
                Help::Line { usage, .. } | Help::Usage(usage) | Help::Run { usage, .. } => usage,
                Help::Unsupported => {
                    let name = match (s.long, s.short) {
                        (Some(long), _) => format!("--{long}="),
                        (None, Some(c)) => format!("-{c}"),
                        (None, None) => unreachable!(),
                    };
                    assert!(FOOTER.contains(&name), "{name} is not named in the footer");
                    continue;
                }
            };
            let Some(long) = s.long else {
                // -S/-C/-P: a short form only.
                let c = s.short.expect("an option has a long or a short name");
                assert!(
                    help.contains(&format!("\n  -{c} ")),
                    "-{c} missing from --help"
                );
                continue;
            };
            assert!(
                shown.starts_with(&format!("--{long}")),
                "{shown} does not show --{long}"
            );
            assert!(help.contains(shown), "{shown} missing from --help");
            if let Some(c) = s.short {
                assert!(help.contains(&format!("  -{c} {shown}")), "-{c} not shown");
            }
        }
        assert_eq!(spec(crate::pure::cli::table::Opt::Help).short, Some('h'));
    }
}
