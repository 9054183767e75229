//! The `tloom` binary: parse the command line and run a subcommand or the terminal UI.

use clap::Parser;
use std::process::ExitCode;
use tloom::cli::args::{BenchKind, Cli, Command};
use tloom::cli::{self, error::code};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Not for the TUI (it owns the terminal) nor the weave (it writes to the user's scorer,
    // which may exit without reading: that is an error value there, not a signal).
    if cli
        .command
        .as_ref()
        .is_some_and(|c| !matches!(c, Command::Weave(_)))
    {
        quiet_on_closed_pipe();
    }
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

/// Output into a closed pipe (`tloom keys | head`) ends a command quietly, as it does for
/// other Unix tools. Rust ignores SIGPIPE, which turns such a write into an error that every
/// `println!` would panic on; the default action ends the process instead.
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restoring a signal's default action, before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
