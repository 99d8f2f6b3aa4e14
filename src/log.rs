//! Log lines on stderr, plain like upstream's when stderr is not the journal:
//! one message per line, no level, no prefix. `SYSTEMD_LOG_LEVEL` sets the threshold.
//!
//! The subscriber is global state by necessity (tracing's dispatcher); it is set once
//! in `main` and only read afterwards.

use tracing::Level as TraceLevel;

use crate::config::{Diagnostic, Level};

/// Maps `SYSTEMD_LOG_LEVEL` (name or number) to a tracing level; default info.
pub fn level_from_env(value: Option<&str>) -> TraceLevel {
    match value.map(str::trim) {
        Some("debug" | "7") => TraceLevel::DEBUG,
        Some("warning" | "4") => TraceLevel::WARN,
        Some("err" | "crit" | "alert" | "emerg" | "3" | "2" | "1" | "0") => TraceLevel::ERROR,
        _ => TraceLevel::INFO,
    }
}

/// Installs the stderr subscriber.
pub fn init(level: TraceLevel) {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .without_time()
        .with_level(false)
        .with_target(false)
        .with_ansi(false)
        .try_init();
}

/// Emits a diagnostic from the pure core at its level.
pub fn emit(diag: &Diagnostic) {
    let m = &diag.message;
    match diag.level {
        Level::Debug => tracing::debug!("{m}"),
        Level::Info | Level::Notice => tracing::info!("{m}"),
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
    fn systemd_level_names() {
        assert_eq!(level_from_env(Some("debug")), TraceLevel::DEBUG);
        assert_eq!(level_from_env(Some("7")), TraceLevel::DEBUG);
        assert_eq!(level_from_env(Some("warning")), TraceLevel::WARN);
        assert_eq!(level_from_env(None), TraceLevel::INFO);
    }
}
