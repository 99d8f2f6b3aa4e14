//! The process environment and the terminal, read once in `main` into one value that
//! the rest of the run is handed (nothing after this reads an environment variable).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;

use tracing::Level as TraceLevel;

use crate::pure::output::{ColorMode, TerminalFacts};
use crate::shell::fs::FsEnv;

/// Everything repart takes from its environment.
#[derive(Debug, Clone)]
pub struct Environment {
    /// `$SYSTEMD_LOG_LEVEL` as a threshold (info unless set).
    pub log_level: TraceLevel,
    /// `$SYSTEMD_LOG_COLOR`, raw.
    pub log_color: Option<String>,
    /// Colors for the table and the log (`SYSTEMD_COLORS`, `NO_COLOR`, `TERM`, terminals).
    pub color_mode: ColorMode,
    /// stdout is a terminal.
    pub stdout_tty: bool,
    /// stdout and stderr are both terminals.
    pub both_tty: bool,
    /// Table width: `$COLUMNS`, else the terminal's, else 80.
    pub columns: usize,
    /// `$TERM` is not `linux` (whose console cannot underline).
    pub underline: bool,
    /// UTF-8 glyphs (`SYSTEMD_UTF8`, else the locale).
    pub utf8: bool,
    /// `$SYSTEMD_REPART_OVERRIDE_FSTYPE` when not empty.
    pub fstype_override: Option<String>,
    /// `$SYSTEMD_REPART_OVERRIDE_FSTYPE_<DESIGNATOR>`, by designator.
    pub fstype_override_by_designator: BTreeMap<String, String>,
    /// What the file-system tools see (SOURCE_DATE_EPOCH, mkfs options, TMPDIR, PATH).
    pub fs: FsEnv,
    /// The working directory (relative paths are taken from it).
    pub cwd: PathBuf,
    /// Running with effective UID 0.
    pub running_as_root: bool,
    /// Running in the initrd (`/etc/initrd-release` exists).
    pub in_initrd: bool,
    /// `$TMPDIR`, `$TEMP` and `$TMP` (the specifiers `%T` and `%V` name one of them).
    pub tmp_vars: [Option<String>; 3],
    /// `$SYSTEMD_TPM2_DEVICE`: the TPM for `--tpm2-device=auto` (or none given).
    pub tpm2_device: Option<String>,
    /// `$POSIXLY_CORRECT` is set (even empty): glibc's getopt then ends the options at
    /// the first non-option argument.
    pub posixly_correct: bool,
}

impl Environment {
    /// Reads the environment of this process and the state of its standard streams.
    pub fn read() -> Environment {
        let vars: BTreeMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let get = |k: &str| vars.get(k).cloned();
        let both_tty = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        let facts = TerminalFacts {
            systemd_colors: get("SYSTEMD_COLORS"),
            no_color: vars.contains_key("NO_COLOR"),
            term: get("TERM"),
            colorterm: get("COLORTERM"),
            on_tty: both_tty,
            on_dev_null: crate::shell::log::streams_on_dev_null(),
        };
        let prefix = "SYSTEMD_REPART_OVERRIDE_FSTYPE_";
        let mut fs = FsEnv::from_vars(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        fs.path = std::env::var_os("PATH");
        Environment {
            log_level: crate::shell::log::level_from_env(get("SYSTEMD_LOG_LEVEL").as_deref()),
            log_color: get("SYSTEMD_LOG_COLOR"),
            color_mode: ColorMode::from_facts(&facts),
            stdout_tty: std::io::stdout().is_terminal(),
            both_tty,
            columns: get("COLUMNS")
                .and_then(|c| c.trim().parse::<usize>().ok())
                .filter(|&c| c > 0)
                .or_else(terminal_width)
                .unwrap_or(80),
            underline: get("TERM").as_deref() != Some("linux"),
            utf8: utf8_wanted(&vars),
            fstype_override: get("SYSTEMD_REPART_OVERRIDE_FSTYPE").filter(|v| !v.is_empty()),
            fstype_override_by_designator: vars
                .iter()
                .filter_map(|(k, v)| k.strip_prefix(prefix).map(|s| (s.to_string(), v.clone())))
                .collect(),
            fs,
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
            // SAFETY: geteuid has no preconditions and cannot fail.
            running_as_root: unsafe { libc::geteuid() } == 0,
            in_initrd: crate::shell::root_device::in_initrd(),
            tmp_vars: [get("TMPDIR"), get("TEMP"), get("TMP")],
            tpm2_device: get("SYSTEMD_TPM2_DEVICE"),
            posixly_correct: std::env::var_os("POSIXLY_CORRECT").is_some(),
        }
    }

    /// Debug columns in the table (`SYSTEMD_LOG_LEVEL=debug`).
    pub fn debug(&self) -> bool {
        self.log_level == TraceLevel::DEBUG
    }
}

/// Width of the terminal on stdout, if it is one.
fn terminal_width() -> Option<usize> {
    use std::os::fd::AsRawFd;
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes a winsize into the struct we own.
    let r = unsafe { libc::ioctl(std::io::stdout().as_raw_fd(), libc::TIOCGWINSZ, &mut size) };
    (r == 0 && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

/// Upstream's rule: `SYSTEMD_UTF8` wins; else the locale's codeset, where a bare
/// environment (no LC_ALL/LC_CTYPE/LANG) counts as UTF-8.
fn utf8_wanted(vars: &BTreeMap<String, String>) -> bool {
    if let Some(b) = vars
        .get("SYSTEMD_UTF8")
        .and_then(|v| crate::pure::config::values::parse_boolean(v))
    {
        return b;
    }
    let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|k| vars.get(*k).filter(|v| !v.is_empty()));
    match locale {
        None => true,
        Some(l) => {
            let l = l.to_ascii_lowercase();
            l.contains("utf-8") || l.contains("utf8")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn utf8_follows_systemd_utf8_then_the_locale() {
        assert!(utf8_wanted(&vars(&[])));
        assert!(!utf8_wanted(&vars(&[("LANG", "C")])));
        assert!(utf8_wanted(&vars(&[("LANG", "C"), ("SYSTEMD_UTF8", "1")])));
        assert!(!utf8_wanted(&vars(&[("SYSTEMD_UTF8", "no")])));
        assert!(utf8_wanted(&vars(&[
            ("LC_ALL", ""),
            ("LANG", "de_DE.UTF-8")
        ])));
    }
}
