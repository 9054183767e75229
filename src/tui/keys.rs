//! `tloom keys`: the terminal UI's key bindings, with the config's overrides, as a list or
//! as the Markdown of docs/keybindings.md.

use crate::cli::args::KeysArgs;
use crate::cli::error::{CliError, CliResult, code};
use std::path::Path;

pub fn keys_command(args: KeysArgs, explicit: Option<&Path>) -> CliResult {
    use crate::app::keymap::{KeyContext, Keymap, keybindings_markdown};
    let (config, warnings) =
        crate::session::config::load(explicit).map_err(|e| CliError::new(code::CONFIG, e))?;
    let (keymap, key_warnings) = Keymap::with_overrides(&config.keys);
    for w in warnings.iter().chain(&key_warnings) {
        eprintln!("tloom: {w}");
    }
    if args.markdown {
        print!("{}", keybindings_markdown(&keymap));
        return Ok(());
    }
    for context in KeyContext::ALL {
        println!("[{}]", context.name());
        for (action, keys) in keymap.bindings(*context) {
            let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
            println!(
                "  {:<22} {:<18} {}",
                keys.join(" "),
                action.name(),
                action.doc()
            );
        }
    }
    Ok(())
}
