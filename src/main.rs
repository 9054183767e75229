//! The `tloom` binary: parse the command line and run a subcommand or the terminal UI.

use clap::Parser;
use std::process::ExitCode;
use tloom::cli::{self, args::Cli, error::code};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(command) => cli::run(command, cli.threads, cli.config.as_deref()),
        None => match cli.file.as_deref().map(cli::check_ui_file) {
            Some(Err(e)) => Err(e),
            _ => tloom::tui::run(tloom::tui::Options {
                file: cli.file,
                read_only: cli.read_only,
                config: cli.config,
                threads: cli.threads,
                model: cli.model,
            })
            .map_err(|e| cli::error::CliError::new(code::FAILURE, e)),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tloom: {e}");
            ExitCode::from(e.code)
        }
    }
}
