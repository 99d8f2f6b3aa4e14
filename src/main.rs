//! The `repart` binary: parse the command line, run, turn the outcome into an exit code.

use std::process::ExitCode;

use repart::pure::cli::CommandLine;

fn main() -> ExitCode {
    // The environment is read once, here; the run is handed this value.
    let env = repart::shell::environment::Environment::read();
    let colors = repart::shell::log::log_colors(env.color_mode, env.log_color.as_deref());
    repart::shell::log::init(env.log_level, colors);
    let program = std::env::args().next().unwrap_or_else(|| "repart".into());
    let program = program.rsplit('/').next().unwrap_or("repart").to_string();
    let line = match CommandLine::parse_from(std::env::args_os()) {
        Ok(line) => line,
        Err(e) => {
            eprintln!("{}", repart::shell::run::clap_error_message(&program, &e));
            return ExitCode::from(1);
        }
    };
    let code = repart::shell::run::run(&program, &line, &env);
    ExitCode::from(code)
}
