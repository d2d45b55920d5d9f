//! The `pier` binary: parse arguments, run, print the error once, exit with its code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = pier::cli::publish_after_run(std::env::args_os().collect());
    let cli = pier::cli::Cli::parse_from(args);
    // With `--progress json` every line on stderr is a JSON object, the error too.
    let json = cli.global.progress == pier::cli::Progress::Json;
    let mut stdout = std::io::stdout().lock();
    match pier::commands::run(cli, &mut stdout) {
        Ok(code) => ExitCode::from(code as u8),
        Err(err) if err.is_broken_pipe() => ExitCode::from(err.exit_code() as u8),
        Err(err) => {
            match json {
                true => eprintln!("{}", pier::render_error_json(&err)),
                false => eprintln!("{}", pier::render_error(&err)),
            }
            ExitCode::from(err.exit_code() as u8)
        }
    }
}
