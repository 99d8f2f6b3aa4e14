//! Splitting `argv` into options and positional arguments, with a clap command built
//! from the option table.
//!
//! Upstream handles each option when `getopt_long` returns it, so the order on the
//! command line decides which of two bad values is reported, and a later value replaces
//! (or adds to) an earlier one. clap keeps every occurrence with its position here
//! (every option is "append"), and [`CommandLine::given`] lists them in command-line
//! order for [`super::Options::resolve`] to apply one by one.

use clap::{Arg, ArgAction, Command};

use super::table::{OPTIONS, Opt, id};

/// One option occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Given {
    /// Which option.
    pub opt: Opt,
    /// Its value (`None` for options without one).
    pub value: Option<String>,
}

/// The command line, split.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommandLine {
    /// The options, in command-line order.
    pub given: Vec<Given>,
    /// The positional arguments (the device), in order.
    pub positional: Vec<String>,
}

/// The clap id of the positional arguments.
const POSITIONAL: &str = "DEVICE";

/// The clap command of the table. Options without a value are "append" with no values,
/// so that clap records every occurrence (a plain flag keeps only the last position).
pub fn command() -> Command {
    let mut cmd = Command::new("repart")
        .disable_help_flag(true)
        .disable_version_flag(true)
        .infer_long_args(true);
    for s in OPTIONS {
        let mut arg = Arg::new(id(s)).action(ArgAction::Append);
        if let Some(long) = s.long {
            arg = arg.long(long);
        }
        if let Some(c) = s.short {
            arg = arg.short(c);
        }
        arg = if s.takes_value {
            arg.num_args(1)
        } else {
            arg.num_args(0).default_missing_value("")
        };
        cmd = cmd.arg(arg);
    }
    cmd.arg(
        Arg::new(POSITIONAL)
            .value_name(POSITIONAL)
            .action(ArgAction::Append)
            .num_args(1..),
    )
}

impl CommandLine {
    /// Splits `argv` (with the program name first).
    pub fn parse_from<I, T>(argv: I) -> Result<CommandLine, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = command().try_get_matches_from(argv)?;
        let mut indexed: Vec<(usize, Given)> = Vec::new();
        for s in OPTIONS {
            let Some(values) = matches.get_many::<String>(id(s)) else {
                continue;
            };
            let indices = matches.indices_of(id(s)).into_iter().flatten();
            for (index, value) in indices.zip(values) {
                let value = s.takes_value.then(|| value.clone());
                indexed.push((index, Given { opt: s.opt, value }));
            }
        }
        indexed.sort_by_key(|(index, _)| *index);
        Ok(CommandLine {
            given: indexed.into_iter().map(|(_, g)| g).collect(),
            positional: matches
                .get_many::<String>(POSITIONAL)
                .map(|v| v.cloned().collect())
                .unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(argv: &[&str]) -> CommandLine {
        CommandLine::parse_from(std::iter::once("repart").chain(argv.iter().copied())).unwrap()
    }

    fn given(opt: Opt, value: Option<&str>) -> Given {
        Given {
            opt,
            value: value.map(str::to_string),
        }
    }

    #[test]
    fn occurrences_in_command_line_order() {
        let line = parse(&[
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
            line.given,
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
        assert_eq!(line.positional, vec!["a", "b"]);
    }

    #[test]
    fn values_may_be_empty_and_dash_dash_ends_options() {
        let line = parse(&["--seed=", "--", "--size=1"]);
        assert_eq!(line.given, vec![given(Opt::Seed, Some(""))]);
        assert_eq!(line.positional, vec!["--size=1"]);
    }

    #[test]
    fn syntax_errors() {
        use clap::error::ErrorKind;
        let kind = |argv: &[&str]| {
            CommandLine::parse_from(std::iter::once("repart").chain(argv.iter().copied()))
                .unwrap_err()
                .kind()
        };
        assert_eq!(kind(&["--foo"]), ErrorKind::UnknownArgument);
        assert_eq!(kind(&["--size"]), ErrorKind::InvalidValue);
        assert_eq!(kind(&["--no-pager=yes"]), ErrorKind::TooManyValues);
    }
}
