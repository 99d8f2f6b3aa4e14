//! The `repart` binary: parse the command line, run, turn the outcome into an exit code.

use std::process::ExitCode;

use repart::pure::cli::{ArgOrder, CommandLine};

fn main() -> ExitCode {
    // The environment is read once, here; the run is handed this value.
    let env = repart::shell::environment::Environment::read();
    let colors = repart::shell::log::log_colors(env.color_mode, env.log_color.as_deref());
    repart::shell::log::init(env.log_level, colors);
    let order = if env.posixly_correct {
        ArgOrder::RequireOrder
    } else {
        ArgOrder::Permute
    };
    let line = CommandLine::parse_in_order(std::env::args_os(), order);
    let code = repart::shell::run::run(&line, &env);
    ExitCode::from(code)
}
