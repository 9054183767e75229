//! Performing the app's effects: saving, the external editor, import and export.

use super::terminal;
use crate::app::msg::Msg;
use crate::app::state::{App, EditTarget, Level};
use crate::store::{self, Journal};
use crate::tree::NodeId;
use std::io::Write;
use std::path::Path;
use std::process::Command;

/// Save the loom if it may be written. The app hears how it went; after a good save the
/// journal of unsaved changes is removed.
pub fn save(app: &mut App, journal: Option<&mut Journal>) {
    if app.file.read_only.is_some() {
        return;
    }
    crate::app::settings::remember(app);
    let bytes = store::to_bytes(&app.loom);
    let mut result = store::save_bytes(&app.file.path, &bytes).map_err(|e| e.to_string());
    if result.is_ok()
        && let Some(journal) = journal
        && let Err(e) = journal.saved(&mut app.loom, store::Base::of(&bytes))
    {
        // The file is saved; a journal left behind is set aside as stale at the next start.
        log::warn!("{e}");
    }
    match &result {
        Ok(()) => log::info!(
            "saved {} ({} nodes)",
            app.file.path.display(),
            app.loom.len()
        ),
        Err(e) => log::error!("save failed: {e}"),
    }
    if let Err(e) = &mut result {
        e.push_str(" — the file on disk is unchanged");
    }
    app.saved(result);
}

/// Append unsaved changes to the journal (the runtime calls this at most once a second).
pub fn flush_journal(app: &mut App, journal: &mut Journal) {
    if app.file.read_only.is_some() {
        return;
    }
    match journal.flush(&mut app.loom) {
        Ok(0) => {}
        Ok(n) => log::debug!("journal: {n} changed nodes"),
        Err(e) => log::error!("journal: {e}"),
    }
}

/// Edit text in $VISUAL / $EDITOR (default vi) on a temporary file, with the terminal
/// handed over to it meanwhile.
pub fn external_editor(target: EditTarget, text: &str, term: &mut terminal::Term) -> Msg {
    terminal::restore();
    let result = run_editor(text);
    let entered = terminal::enter(true).map(|t| *term = t);
    let result = match (result, entered) {
        (r, Ok(())) => r,
        (_, Err(e)) => Err(format!("cannot return to the terminal UI: {e}")),
    };
    Msg::EditorClosed { target, result }
}

fn run_editor(text: &str) -> Result<String, String> {
    let editor = std::env::var("VISUAL")
        .ok()
        .filter(|e| !e.is_empty())
        .or_else(|| std::env::var("EDITOR").ok().filter(|e| !e.is_empty()))
        .unwrap_or_else(|| "vi".into());
    let dir = std::env::temp_dir();
    let path = dir.join(format!(
        "tloom-edit-{}-{}.txt",
        std::process::id(),
        crate::tree::system_clock()
    ));
    let mut file = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    file.write_all(text.as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    drop(file);
    // Through the shell, so EDITOR may carry arguments ("code --wait").
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("tloom-editor")
        .arg(&path)
        .status()
        .map_err(|e| format!("cannot run {editor:?}: {e}"));
    let edited = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()));
    let _ = std::fs::remove_file(&path);
    match status? {
        s if s.success() => {}
        s => return Err(format!("{editor} exited with {s}; nothing changed")),
    }
    let mut edited = edited?;
    // Editors add a final newline; drop it unless the text had one.
    if !text.ends_with('\n') && edited.ends_with('\n') {
        edited.pop();
        if edited.ends_with('\r') {
            edited.pop();
        }
    }
    Ok(edited)
}

/// Graft every tree in another loom's file under `parent`.
pub fn import(app: &mut App, path: &Path, parent: NodeId) {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            return app.say(
                Level::Error,
                format!("{}: cannot read: {e}", path.display()),
            );
        }
    };
    let trees = match store::import::import(&bytes, None) {
        Ok(t) => t,
        Err(e) => return app.say(Level::Error, format!("{}: {e}", path.display())),
    };
    let mut grafted = 0;
    app.loom.begin_batch("import");
    for tree in &trees {
        for w in &tree.warnings {
            log::warn!("import {}: {w}", path.display());
        }
        match app.loom.graft(parent, &tree.loom) {
            Ok(_) => grafted += tree.loom.len(),
            Err(e) => app.say(Level::Error, e.to_string()),
        }
    }
    app.loom.end_batch();
    if grafted > 0 {
        app.touch();
        app.say(
            Level::Info,
            format!(
                "imported {grafted} nodes from {} under node {parent} (u undoes)",
                path.display()
            ),
        );
    }
}

/// Export the loom (the path to `node`, or the tree) to `path`.
pub fn export(app: &mut App, format: &str, path: &Path, node: NodeId) {
    let format: store::export::Format = match format.parse() {
        Ok(f) => f,
        Err(e) => return app.say(Level::Warning, e),
    };
    let options = store::export::ExportOptions {
        node: Some(node),
        ..Default::default()
    };
    let bytes = match store::export::export(&app.loom, format, &options) {
        Ok(b) => b,
        Err(e) => return app.say(Level::Error, e.to_string()),
    };
    match store::atomic::write_atomic(path, &bytes, false) {
        Ok(()) => app.say(
            Level::Info,
            format!("exported {format} to {}", path.display()),
        ),
        Err((what, e)) => app.say(
            Level::Error,
            format!("{}: cannot {what}: {e}", path.display()),
        ),
    }
}
