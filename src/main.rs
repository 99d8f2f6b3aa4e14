//! The `repart` binary: parse the command line, run, turn the outcome into an exit code.

use std::process::ExitCode;

use repart::pure::cli::CommandLine;

fn main() -> ExitCode {
    let colors = repart::shell::log::log_colors(
        repart::shell::log::detect_color_mode(),
        std::env::var("SYSTEMD_LOG_COLOR").ok().as_deref(),
    );
    repart::shell::log::init(
        repart::shell::log::level_from_env(std::env::var("SYSTEMD_LOG_LEVEL").ok().as_deref()),
        colors,
    );
    let program = std::env::args().next().unwrap_or_else(|| "repart".into());
    let program = program.rsplit('/').next().unwrap_or("repart").to_string();
    let line = match CommandLine::parse_from(std::env::args_os()) {
        Ok(line) => line,
        Err(e) => {
            eprintln!("{}", repart::shell::run::clap_error_message(&program, &e));
            return ExitCode::from(1);
        }
    };
    let code = repart::shell::run::run(&program, &line);
    ExitCode::from(code)
}
