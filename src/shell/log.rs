//! Log lines on stderr, plain like upstream's when stderr is not the journal:
//! one message per line, no level, no prefix. `SYSTEMD_LOG_LEVEL` sets the threshold.
//! With colors (see [`ColorMode`]) errors, warnings, notices and debug lines are
//! wrapped in upstream's highlight sequences (`SYSTEMD_LOG_COLOR=0` turns that off).
//!
//! The subscriber is global state by necessity (tracing's dispatcher); it is set once
//! in `main` and only read afterwards.

use tracing::Level as TraceLevel;

use crate::pure::config::{Diagnostic, Level};
pub use crate::pure::output::{ColorMode, TerminalFacts};

/// Maps `SYSTEMD_LOG_LEVEL` (name or number) to a tracing level; default info.
pub fn level_from_env(value: Option<&str>) -> TraceLevel {
    match value.map(str::trim) {
        Some("debug" | "7") => TraceLevel::DEBUG,
        Some("warning" | "4") => TraceLevel::WARN,
        Some("err" | "crit" | "alert" | "emerg" | "3" | "2" | "1" | "0") => TraceLevel::ERROR,
        _ => TraceLevel::INFO,
    }
}

/// The tracing target of notice-level messages (tracing has no notice level).
pub const NOTICE: &str = "repart::notice";

/// Logs a message at upstream's notice level (highlighted when colors are on).
pub fn notice(message: &str) {
    tracing::info!(target: "repart::notice", "{message}");
}

/// Whether stdout and stderr are both /dev/null (upstream then keeps colors on, as for
/// a terminal).
pub fn streams_on_dev_null() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let dev_null = std::fs::metadata("/dev/null").ok();
    let is_dev_null = |fd: std::os::fd::BorrowedFd<'_>| {
        let Ok(f) = fd.try_clone_to_owned().map(std::fs::File::from) else {
            return false;
        };
        match (f.metadata(), &dev_null) {
            (Ok(m), Some(n)) => m.rdev() == n.rdev() && m.ino() == n.ino(),
            _ => false,
        }
    };
    is_dev_null(std::io::stdout().as_fd()) && is_dev_null(std::io::stderr().as_fd())
}

/// Whether log lines get colors: `SYSTEMD_LOG_COLOR` (boolean) may turn them off.
pub fn log_colors(mode: ColorMode, systemd_log_color: Option<&str>) -> ColorMode {
    match systemd_log_color.and_then(crate::pure::config::values::parse_boolean) {
        Some(false) => ColorMode::Off,
        _ => mode,
    }
}

/// The sequence before a log line of `level` (notice when `notice`), if any.
fn log_color(mode: ColorMode, level: &TraceLevel, notice: bool) -> Option<&'static str> {
    if !mode.enabled() {
        return None;
    }
    match *level {
        TraceLevel::ERROR => Some("\x1b[0;1;31m"),
        TraceLevel::WARN => Some(mode.highlight_yellow()),
        TraceLevel::INFO if notice => Some("\x1b[0;1;39m"),
        TraceLevel::INFO => None,
        _ => Some(mode.grey()),
    }
}

/// One message per line, colored by level like upstream's console log.
struct PlainLines {
    colors: ColorMode,
}

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for PlainLines
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let meta = event.metadata();
        let color = log_color(self.colors, meta.level(), meta.target() == NOTICE);
        if let Some(c) = color {
            writer.write_str(c)?;
        }
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        if color.is_some() {
            writer.write_str("\x1b[0m")?;
        }
        writeln!(writer)
    }
}

/// Installs the stderr subscriber; `colors` is the mode for log lines.
pub fn init(level: TraceLevel, colors: ColorMode) {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .event_format(PlainLines { colors })
        .try_init();
}

/// Emits a diagnostic from the pure core at its level.
pub fn emit(diag: &Diagnostic) {
    let m = &diag.message;
    match diag.level {
        Level::Debug => tracing::debug!("{m}"),
        Level::Info => tracing::info!("{m}"),
        Level::Notice => notice(m),
        Level::Warning => tracing::warn!("{m}"),
        Level::Error => tracing::error!("{m}"),
    }
}

/// Emits every diagnostic in order.
pub fn emit_all(diags: &[Diagnostic]) {
    diags.iter().for_each(emit);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn color_modes_like_upstream() {
        let pipe = TerminalFacts::default();
        let with = |v: &str| TerminalFacts {
            systemd_colors: Some(v.to_string()),
            ..TerminalFacts::default()
        };
        assert_eq!(ColorMode::from_facts(&pipe), ColorMode::Off);
        for (v, m) in [
            ("1", ColorMode::Ansi24Bit),
            ("yes", ColorMode::Ansi24Bit),
            ("true", ColorMode::Ansi24Bit),
            ("16", ColorMode::Ansi16),
            ("256", ColorMode::Ansi256),
            ("24bit", ColorMode::Ansi24Bit),
            ("0", ColorMode::Off),
            ("off", ColorMode::Off),
            ("false", ColorMode::Off),
            ("auto-16", ColorMode::Off),
            ("bogus", ColorMode::Off),
            ("", ColorMode::Off),
        ] {
            assert_eq!(ColorMode::from_facts(&with(v)), m, "{v:?}");
        }
        let tty = TerminalFacts {
            on_tty: true,
            term: Some("xterm".into()),
            ..TerminalFacts::default()
        };
        assert_eq!(ColorMode::from_facts(&tty), ColorMode::Ansi256);
        let no_color = TerminalFacts {
            no_color: true,
            ..tty.clone()
        };
        assert_eq!(ColorMode::from_facts(&no_color), ColorMode::Off);
        let forced = TerminalFacts {
            systemd_colors: Some("1".into()),
            ..no_color
        };
        assert_eq!(ColorMode::from_facts(&forced), ColorMode::Ansi24Bit);
        let dumb = TerminalFacts {
            term: Some("dumb".into()),
            ..tty.clone()
        };
        assert_eq!(ColorMode::from_facts(&dumb), ColorMode::Off);
        assert_eq!(log_colors(ColorMode::Ansi256, Some("0")), ColorMode::Off);
        assert_eq!(
            log_colors(ColorMode::Ansi256, Some("x")),
            ColorMode::Ansi256
        );
    }

    #[test]
    fn systemd_level_names() {
        assert_eq!(level_from_env(Some("debug")), TraceLevel::DEBUG);
        assert_eq!(level_from_env(Some("7")), TraceLevel::DEBUG);
        assert_eq!(level_from_env(Some("warning")), TraceLevel::WARN);
        assert_eq!(level_from_env(None), TraceLevel::INFO);
    }
}
