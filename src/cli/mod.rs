//! Headless subcommands: everything that runs without the terminal UI.

pub mod args;
pub mod bench;
pub mod bench_kernels;
pub mod bench_session;
pub mod bench_shapes;
pub mod bench_tree;
pub mod bench_weave;
mod convert_cmds;
mod engine_cmds;
pub mod error;
mod generate;
pub mod model;
mod path_metrics;
pub mod session;
mod tree_cmds;
mod weave;

pub use engine_cmds::spec as local_spec;

use args::{Cli, Command};
use clap::CommandFactory;
use error::CliResult;

/// Run a subcommand. `threads` and `config` are the global --threads and --config options.
pub fn run(
    command: Command,
    threads: Option<usize>,
    config: Option<&std::path::Path>,
) -> CliResult {
    match command {
        Command::Generate(a) => generate::generate(a, threads, config),
        Command::Weave(a) => weave::weave(a, threads, config),
        Command::Config(a) => config_command(a, config),
        // The keymap is the terminal UI's: the binary runs `tui::keys_command` instead.
        Command::Keys(_) => Err(error::CliError::usage(
            "tloom keys lists the terminal UI's keys: run it through the binary",
        )),
        Command::New(a) => tree_cmds::new(a),
        Command::Show(a) => tree_cmds::show(a),
        Command::Tree(a) => tree_cmds::tree(a),
        Command::Stats(a) => tree_cmds::stats(a, threads),
        Command::Add(a) => tree_cmds::add(a),
        Command::Edit(a) => tree_cmds::edit(a),
        Command::Split(a) => tree_cmds::split(a),
        Command::Merge(a) => tree_cmds::merge(a),
        Command::Delete(a) => tree_cmds::delete(a),
        Command::Archive(a) => tree_cmds::archive(a),
        Command::Bookmark(a) => tree_cmds::bookmark(a),
        Command::Move(a) => tree_cmds::move_node(a),
        Command::Clone(a) => tree_cmds::clone(a),
        Command::Search(a) => tree_cmds::search(a),
        Command::Bench(a) => engine_cmds::bench_command(a, threads),
        Command::Model(m) => engine_cmds::model_command(m, threads),
        Command::Import(a) => convert_cmds::import(a),
        Command::Export(a) => convert_cmds::export(a),
        Command::Completions(a) => {
            clap_complete::generate(
                a.shell,
                &mut Cli::command(),
                "tloom",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    }
}

/// Refuse a UI file argument that is most likely a mistyped subcommand: a bare word that
/// names no existing file. New looms are created from names with an extension or a path
/// (`tloom story.json`, `tloom ./drafts/story`).
pub fn check_ui_file(file: &std::path::Path) -> CliResult {
    let bare_word = file.components().count() == 1 && file.extension().is_none();
    if bare_word && !file.exists() {
        return Err(error::CliError::usage(format!(
            "'{}' is not a command and no such file exists; see `tloom --help`, \
             or name a new loom with an extension (e.g. {}.json)",
            file.display(),
            file.display()
        )));
    }
    Ok(())
}

fn config_command(args: args::ConfigArgs, explicit: Option<&std::path::Path>) -> CliResult {
    if args.print_default {
        print!("{}", crate::session::config::DEFAULT_CONFIG);
        return Ok(());
    }
    match crate::session::config::config_path(explicit) {
        Some(p) => println!("{}", p.display()),
        None => {
            return Err(error::CliError::new(
                error::code::FAILURE,
                "no config directory could be found; set TLOOM_CONFIG",
            ));
        }
    }
    Ok(())
}
