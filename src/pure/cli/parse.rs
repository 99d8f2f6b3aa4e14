//! Splitting `argv` into options and positional arguments ([`super::getopt`]).
//!
//! Upstream handles each option when `getopt_long` returns it, so the order on the
//! command line decides which of two bad values is reported, a later value replaces
//! (or adds to) an earlier one, and a syntax error counts only once the options before
//! it have been handled. [`CommandLine::given`] lists the options in command-line order
//! for [`super::Options::resolve`] to apply one by one, then the syntax error if any.

pub use super::getopt::{ArgOrder, Given, SyntaxError};

/// The command line, split.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommandLine {
    /// `argv[0]` as invoked (glibc's messages start with it, unshortened).
    pub program: String,
    /// The options, in command-line order (up to the syntax error).
    pub given: Vec<Given>,
    /// The positional arguments (the device), in order.
    pub positional: Vec<String>,
    /// The first syntax error, which ended the scan after `given`.
    pub syntax_error: Option<SyntaxError>,
}

impl CommandLine {
    /// Splits `argv` (with the program name first), options and non-options mixed.
    pub fn parse_from<I, T>(argv: I) -> CommandLine
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString>,
    {
        Self::parse_in_order(argv, ArgOrder::Permute)
    }

    /// Splits `argv` (with the program name first) with glibc's ordering `order`.
    /// Arguments that are not UTF-8 are taken with their bad bytes replaced.
    pub fn parse_in_order<I, T>(argv: I, order: ArgOrder) -> CommandLine
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString>,
    {
        let mut argv = argv
            .into_iter()
            .map(|a| a.into().to_string_lossy().into_owned());
        let program = argv.next().unwrap_or_default();
        let args: Vec<String> = argv.collect();
        let scan = super::getopt::scan(&args, order);
        CommandLine {
            program,
            given: scan.given,
            positional: scan.positional,
            syntax_error: scan.error,
        }
    }

    /// The program's name without its directory (for `--help`).
    pub fn short_program(&self) -> &str {
        self.program.rsplit('/').next().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pure::cli::table::Opt;

    #[test]
    fn the_program_name_is_kept_as_invoked() {
        let line = CommandLine::parse_from(["/usr/bin/systemd-repart", "--no-pager", "x", "-q"]);
        assert_eq!(line.program, "/usr/bin/systemd-repart");
        assert_eq!(line.short_program(), "systemd-repart");
        assert_eq!(
            line.given,
            vec![Given {
                opt: Opt::NoPager,
                value: None
            }]
        );
        assert_eq!(line.positional, vec!["x"]);
        assert_eq!(line.syntax_error, Some(SyntaxError::UnknownShort(b'q')));
    }
}
