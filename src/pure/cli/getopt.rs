//! A `getopt_long` work-alike (glibc's rules and messages) for the option table.
//!
//! Upstream parses its command line with glibc's `getopt_long(argc, argv, "hs:SCP", …)`
//! and handles each option as it is returned, so a syntax error is reported only when
//! the scan reaches it: the options before it have been applied (their errors and
//! notices come first, `--help` before it wins). [`scan`] therefore returns the options
//! up to the first syntax error together with that error.
//!
//! glibc's rules reproduced here:
//! * non-options (`-` and words without a leading dash) may come anywhere and are
//!   collected in order (glibc permutes them to the end), unless `$POSIXLY_CORRECT` is
//!   set ([`ArgOrder::RequireOrder`]): then the first one ends the options; `--` ends
//!   the options;
//! * `--name` is a long option; `--name=value` attaches a value; an option that needs a
//!   value takes the next argument whatever it looks like (`--size --foo`);
//! * a name that is a prefix of exactly one long option means that option; a prefix of
//!   several is ambiguous, unless one of them is spelled exactly so;
//! * `-abc` is a cluster of short options; a short option that takes a value takes the
//!   rest of the cluster, or else the next argument.

use super::table::{GETOPT_ORDER, Opt, OptionSpec, spec};

/// One option occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Given {
    /// Which option.
    pub opt: Opt,
    /// Its value (`None` for options without one).
    pub value: Option<String>,
}

/// A syntax error, worded as glibc's `getopt_long` prints it after `PROGRAM: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyntaxError {
    /// `--de`: a prefix of several long options (as typed, with any `=value`).
    #[error("option '--{typed}' is ambiguous; possibilities:{}", possibilities(.candidates))]
    Ambiguous {
        /// What followed the `--`.
        typed: String,
        /// The long names it abbreviates, in upstream's table order.
        candidates: Vec<&'static str>,
    },
    /// `--foo`: no long option of that name (as typed, with any `=value`).
    #[error("unrecognized option '--{0}'")]
    UnknownLong(String),
    /// `-x`: no such short option. glibc scans the cluster byte by byte, so this is one
    /// byte, which need not be a character of its own (see [`SyntaxError::to_bytes`]).
    #[error("invalid option -- '{}'", char::from(*.0))]
    UnknownShort(u8),
    /// `--size` as the last argument (the option's full name).
    #[error("option '--{0}' requires an argument")]
    LongNeedsValue(&'static str),
    /// `-s` as the last argument.
    #[error("option requires an argument -- '{0}'")]
    ShortNeedsValue(char),
    /// `--no-pager=yes` (the option's full name).
    #[error("option '--{0}' doesn't allow an argument")]
    LongTakesNoValue(&'static str),
}

impl SyntaxError {
    /// The message as glibc writes it (byte for byte: an invalid short option's byte
    /// goes out as it is, e.g. the first byte of `-é`).
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            SyntaxError::UnknownShort(b) => {
                [b"invalid option -- '".as_slice(), &[*b], b"'"].concat()
            }
            other => other.to_string().into_bytes(),
        }
    }
}

fn possibilities(candidates: &[&str]) -> String {
    candidates.iter().map(|c| format!(" '--{c}'")).collect()
}

/// Where the options may be (glibc's orderings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ArgOrder {
    /// Options and non-options mixed (the default).
    #[default]
    Permute,
    /// The first non-option ends the options (`$POSIXLY_CORRECT` set).
    RequireOrder,
}

/// The result of scanning the arguments (without the program name).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scan {
    /// The options, in command-line order, up to the first syntax error.
    pub given: Vec<Given>,
    /// The non-option arguments, in order.
    pub positional: Vec<String>,
    /// The first syntax error, which ended the scan.
    pub error: Option<SyntaxError>,
}

/// Scans `args` (the arguments after the program name) like `getopt_long`.
pub fn scan(args: &[String], order: ArgOrder) -> Scan {
    let mut out = Scan::default();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let step = if arg == "--" {
            out.positional.extend(rest.by_ref().cloned());
            break;
        } else if let Some(long) = arg.strip_prefix("--") {
            long_option(long, &mut rest).map(|g| out.given.push(g))
        } else if let Some(cluster) = arg.strip_prefix('-').filter(|c| !c.is_empty()) {
            short_cluster(cluster, &mut rest, &mut out.given)
        } else {
            out.positional.push(arg.clone());
            if order == ArgOrder::RequireOrder {
                out.positional.extend(rest.by_ref().cloned());
                break;
            }
            Ok(())
        };
        if let Err(e) = step {
            out.error = Some(e);
            break;
        }
    }
    out
}

/// The entry of a long option spelled `name` or abbreviated to it.
fn find_long(name: &str) -> Result<&'static OptionSpec, Vec<&'static str>> {
    let long_name = |opt: &Opt| spec(*opt).long.expect("GETOPT_ORDER lists long options");
    if let Some(opt) = GETOPT_ORDER.iter().find(|o| long_name(o) == name) {
        return Ok(spec(*opt));
    }
    let matches: Vec<&'static Opt> = GETOPT_ORDER
        .iter()
        .filter(|o| long_name(o).starts_with(name))
        .collect();
    match matches.as_slice() {
        [one] => Ok(spec(**one)),
        several => Err(several.iter().map(|o| long_name(o)).collect()),
    }
}

/// `--name`, `--name=value` or `--name value` (`long` is what follows the dashes).
fn long_option<'a>(
    long: &str,
    rest: &mut impl Iterator<Item = &'a String>,
) -> Result<Given, SyntaxError> {
    let (name, attached) = match long.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (long, None),
    };
    let s = find_long(name).map_err(|candidates| match candidates.as_slice() {
        [] => SyntaxError::UnknownLong(long.to_string()),
        _ => SyntaxError::Ambiguous {
            typed: long.to_string(),
            candidates,
        },
    })?;
    let full = s.long.expect("found by its long name");
    let value = match (s.takes_value, attached) {
        (false, None) => None,
        (false, Some(_)) => return Err(SyntaxError::LongTakesNoValue(full)),
        (true, Some(v)) => Some(v.to_string()),
        (true, None) => Some(
            rest.next()
                .ok_or(SyntaxError::LongNeedsValue(full))?
                .clone(),
        ),
    };
    Ok(Given { opt: s.opt, value })
}

/// `-abc` (`cluster` is what follows the dash). The options before an error in the
/// cluster count (glibc returns them one by one), so each goes to `given` as it comes.
fn short_cluster<'a>(
    cluster: &str,
    rest: &mut impl Iterator<Item = &'a String>,
    given: &mut Vec<Given>,
) -> Result<(), SyntaxError> {
    for (at, &b) in cluster.as_bytes().iter().enumerate() {
        let c = char::from(b);
        let s = super::table::OPTIONS
            .iter()
            .find(|s| s.short == Some(c) && b.is_ascii())
            .ok_or(SyntaxError::UnknownShort(b))?;
        if !s.takes_value {
            given.push(Given {
                opt: s.opt,
                value: None,
            });
            continue;
        }
        // An option letter is ASCII, so the tail starts at a character boundary.
        let tail = &cluster[at + 1..];
        let value = if tail.is_empty() {
            rest.next().ok_or(SyntaxError::ShortNeedsValue(c))?.clone()
        } else {
            tail.to_string()
        };
        given.push(Given {
            opt: s.opt,
            value: Some(value),
        });
        break;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_of(args: &[&str]) -> Scan {
        scan_in(args, ArgOrder::Permute)
    }

    fn scan_in(args: &[&str], order: ArgOrder) -> Scan {
        scan(
            &args.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            order,
        )
    }

    fn error(args: &[&str]) -> String {
        scan_of(args).error.expect("a syntax error").to_string()
    }

    fn given(opt: Opt, value: Option<&str>) -> Given {
        Given {
            opt,
            value: value.map(str::to_string),
        }
    }

    #[test]
    fn occurrences_in_command_line_order() {
        let s = scan_of(&[
            "-h",
            "--size=1",
            "a",
            "--help",
            "--no-pager",
            "--size",
            "2",
            "-sfoo",
            "-SS",
            "--si=3",
            "b",
        ]);
        assert_eq!(
            s.given,
            vec![
                given(Opt::Help, None),
                given(Opt::Size, Some("1")),
                given(Opt::Help, None),
                given(Opt::NoPager, None),
                given(Opt::Size, Some("2")),
                given(Opt::CopySource, Some("foo")),
                given(Opt::Sysext, None),
                given(Opt::Sysext, None),
                given(Opt::Size, Some("3")),
            ]
        );
        assert_eq!(s.positional, vec!["a", "b"]);
        assert_eq!(s.error, None);
    }

    #[test]
    fn values_may_be_empty_and_dash_dash_ends_options() {
        let s = scan_of(&["--seed=", "-", "--", "--size=1", "-x"]);
        assert_eq!(s.given, vec![given(Opt::Seed, Some(""))]);
        assert_eq!(s.positional, vec!["-", "--size=1", "-x"]);
    }

    #[test]
    fn a_value_is_taken_whatever_it_looks_like() {
        let s = scan_of(&["--size", "--foo", "-s", "--", "-Ss=x"]);
        assert_eq!(
            s.given,
            vec![
                given(Opt::Size, Some("--foo")),
                given(Opt::CopySource, Some("--")),
                given(Opt::Sysext, None),
                given(Opt::CopySource, Some("=x")),
            ]
        );
    }

    #[test]
    fn posixly_correct_ends_the_options_at_the_first_non_option() {
        let s = scan_in(&["--size=1", "x", "--foo", "-x"], ArgOrder::RequireOrder);
        assert_eq!(s.given, vec![given(Opt::Size, Some("1"))]);
        assert_eq!(s.positional, vec!["x", "--foo", "-x"]);
        assert_eq!(s.error, None);
    }

    #[test]
    fn unique_abbreviations_and_exact_names() {
        let s = scan_of(&["--defin=d", "--no-p", "--image", "x", "--tpm2-device=t"]);
        assert_eq!(
            s.given,
            vec![
                given(Opt::Definitions, Some("d")),
                given(Opt::NoPager, None),
                given(Opt::Image, Some("x")),
                given(Opt::Tpm2Device, Some("t")),
            ]
        );
    }

    // The messages below are the oracle's (systemd-repart 257.13 with glibc 2.41).
    #[test]
    fn glibc_messages() {
        assert_eq!(
            error(&["--de=x"]),
            "option '--de=x' is ambiguous; possibilities: '--definitions' '--defer-partitions'"
        );
        assert_eq!(
            error(&["--s=1"]),
            "option '--s=1' is ambiguous; possibilities: '--seed' '--size' '--split' '--sector-size'"
        );
        assert_eq!(error(&["--foo"]), "unrecognized option '--foo'");
        assert_eq!(error(&["--foo=bar"]), "unrecognized option '--foo=bar'");
        assert_eq!(error(&["---x"]), "unrecognized option '---x'");
        assert_eq!(error(&["-x"]), "invalid option -- 'x'");
        assert_eq!(error(&["-S=x"]), "invalid option -- '='");
        let e = scan_of(&["-\u{e9}"]).error.expect("a syntax error");
        assert_eq!(e.to_bytes(), b"invalid option -- '\xc3'");
        assert_eq!(error(&["-s"]), "option requires an argument -- 's'");
        assert_eq!(error(&["--size"]), "option '--size' requires an argument");
        assert_eq!(error(&["--siz"]), "option '--size' requires an argument");
        assert_eq!(
            error(&["--no-pager=yes"]),
            "option '--no-pager' doesn't allow an argument"
        );
        assert_eq!(
            error(&["--he="]),
            "option '--help' doesn't allow an argument"
        );
        let all = error(&["--=x"]);
        assert!(
            all.starts_with("option '--=x' is ambiguous; possibilities: '--help' '--version' ")
        );
        assert!(all.ends_with(" '--generate-crypttab' '--list-devices'"));
    }

    #[test]
    fn the_options_before_an_error_count() {
        let s = scan_of(&["--size=1", "a", "-Sx", "--foo"]);
        assert_eq!(
            s.given,
            vec![given(Opt::Size, Some("1")), given(Opt::Sysext, None)]
        );
        assert_eq!(s.positional, vec!["a"]);
        assert_eq!(s.error, Some(SyntaxError::UnknownShort(b'x')));
    }
}
