//! The `tloom` binary: parse the command line and run a subcommand or the terminal UI.

use clap::Parser;
use std::process::ExitCode;
use tloom::cli::args::{BenchKind, Cli, Command};
use tloom::cli::{self, error::code};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        // The two commands about the terminal UI itself.
        Some(Command::Keys(a)) => tloom::tui::keys_command(a, cli.config.as_deref()),
        Some(Command::Bench(a)) if a.kind == BenchKind::Ui => tloom::tui::bench_ui::run(a.json),
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
