//! Upstream's color modes (`get_color_mode()`) and the sequences that depend on them.
//! Pure: the facts about the environment come in as [`TerminalFacts`].

/// How many colors upstream would use (`get_color_mode()`); `Off` = no ANSI sequences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorMode {
    /// No colors.
    #[default]
    Off,
    /// The 16 base colors (`SYSTEMD_COLORS=16`): grey is bright black.
    Ansi16,
    /// 256 colors, the default on a terminal.
    Ansi256,
    /// 24-bit colors (`COLORTERM=truecolor`, `SYSTEMD_COLORS=24bit` or a true boolean);
    /// the sequences repart prints are the same as with 256 colors.
    Ansi24Bit,
}

/// The environment and terminal facts the color mode depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TerminalFacts {
    /// `$SYSTEMD_COLORS`.
    pub systemd_colors: Option<String>,
    /// `$NO_COLOR` is set (any value).
    pub no_color: bool,
    /// `$TERM`.
    pub term: Option<String>,
    /// `$COLORTERM`.
    pub colorterm: Option<String>,
    /// stdout and stderr are both terminals.
    pub on_tty: bool,
    /// stdout and stderr are both /dev/null.
    pub on_dev_null: bool,
}

impl ColorMode {
    /// Upstream's rules: `SYSTEMD_COLORS` (`off`/`16`/`256`/`24bit` or a boolean, other
    /// values ignored) wins; then `NO_COLOR`; then no colors unless stdout and stderr
    /// are terminals (or both /dev/null) and `TERM` is set and not `dumb`.
    pub fn from_facts(f: &TerminalFacts) -> ColorMode {
        if let Some(v) = &f.systemd_colors {
            match v.as_str() {
                "off" => return ColorMode::Off,
                "16" => return ColorMode::Ansi16,
                "256" => return ColorMode::Ansi256,
                "24bit" => return ColorMode::Ansi24Bit,
                other => match crate::pure::config::values::parse_boolean(other) {
                    Some(true) => return ColorMode::Ansi24Bit,
                    Some(false) => return ColorMode::Off,
                    None => {}
                },
            }
        }
        if f.no_color {
            return ColorMode::Off;
        }
        let dumb = (!f.on_tty && !f.on_dev_null) || f.term.as_deref().is_none_or(|t| t == "dumb");
        if dumb {
            return ColorMode::Off;
        }
        match f.colorterm.as_deref() {
            Some("truecolor" | "24bit") => ColorMode::Ansi24Bit,
            _ => ColorMode::Ansi256,
        }
    }

    /// Any colors at all.
    pub fn enabled(self) -> bool {
        self != ColorMode::Off
    }

    /// Upstream's grey (empty cells, debug lines).
    pub fn grey(self) -> &'static str {
        match self {
            ColorMode::Ansi16 => "\x1b[0;90m",
            _ => "\x1b[0;38:5:245m",
        }
    }

    /// Upstream's highlighted yellow (warnings).
    pub fn highlight_yellow(self) -> &'static str {
        match self {
            ColorMode::Ansi16 => "\x1b[0;1;33m",
            _ => "\x1b[0;1;38:5:185m",
        }
    }
}
