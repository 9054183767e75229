//! The imperative shell around the app: threads for input and the engine feed one channel;
//! the loop updates the app, performs its effects and draws once per burst of messages.

use super::{effects, startup, terminal};
use crate::app::keymap::Keymap;
use crate::app::msg::{Effect, Msg};
use crate::app::state::{App, EngineState, Level};
use crate::app::update;
use crate::engine::{EngineEvent, EngineHandle};
use crate::session::backends::{BackendChoice, loader_for};
use crate::session::config;
use crate::store::Journal;
use crate::tree::system_clock;
use crossterm::event::{self, Event};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

/// What the loop hears.
enum Incoming {
    Term(Event),
    /// An engine event, tagged with the engine it came from (stale ones are dropped).
    Engine(u64, EngineEvent),
}

/// Options for the UI from the command line.
pub struct Options {
    pub file: Option<PathBuf>,
    pub read_only: bool,
    pub config: Option<PathBuf>,
    pub threads: Option<usize>,
    /// A model for the config's backend: a GGUF path or built-in name for the local one.
    pub model: Option<String>,
}

/// Run the terminal UI until the user quits. Errors before the UI starts are returned as
/// text for stderr.
pub fn run(options: Options) -> Result<(), String> {
    let log_path = super::logger::init();
    let (mut config, mut notes) = config::load(options.config.as_deref())?;
    config.ui.theme = startup::theme(&config);
    let (keymap, key_warnings) = Keymap::with_overrides(&config.keys);
    notes.extend(key_warnings);
    let opened = startup::open(options.file.as_deref(), options.read_only, &config)?;
    notes.extend(opened.notes);
    let _lock = opened.lock;
    let mut journal = opened.journal;
    let choice = BackendChoice {
        threads: options.threads,
        model: options.model.clone(),
        ..BackendChoice::default()
    };
    let backend = config.backend.clone();
    let mouse = config.ui.mouse;
    let mut app = App::new(
        opened.loom,
        opened.file,
        config,
        keymap,
        backend,
        system_clock() as u64,
    );
    for note in &notes {
        log::warn!("{note}");
    }
    if let Some(first) = notes.first() {
        app.say(Level::Warning, first.clone());
    }
    terminal::install_panic_hook();
    let mut term =
        terminal::enter(mouse).map_err(|e| format!("cannot start the terminal UI: {e}"))?;
    let _guard = terminal::Guard;
    let size = term.size().map_err(|e| e.to_string())?;
    app.screen = (size.width, size.height);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        event_loop(&mut app, &mut term, &choice, journal.as_mut())
    }));
    match outcome {
        Ok(result) => {
            effects::save(&mut app, journal.as_mut());
            result
        }
        Err(_) => Err(rescue(&app, log_path)),
    }
}

/// After a crash: write the loom next to its file (never over it) and say where.
fn rescue(app: &App, log_path: Option<PathBuf>) -> String {
    terminal::restore();
    let log = log_path.map_or("no log".into(), |p| p.display().to_string());
    if app.loom.check_invariants().is_err() || app.file.read_only.is_some() {
        return format!("tloom crashed; the file on disk is as last saved. Details: {log}");
    }
    let rescue = app
        .file
        .path
        .with_extension(format!("crash-{}.json", system_clock()));
    match crate::store::save(&rescue, &app.loom) {
        Ok(()) => format!(
            "tloom crashed; the loom as it was is saved in {}. Details: {log}",
            rescue.display()
        ),
        Err(e) => format!(
            "tloom crashed and the rescue copy failed ({e}); the file on disk is as last saved. Details: {log}"
        ),
    }
}

struct EngineSlot {
    handle: Option<EngineHandle>,
    generation: u64,
}

fn start_engine(
    app: &mut App,
    slot: &mut EngineSlot,
    choice: &BackendChoice,
    tx: &Sender<Incoming>,
) {
    slot.generation += 1;
    let generation = slot.generation;
    app.jobs.clear();
    app.engine = EngineState::Loading {
        progress: 0.0,
        step: "starting".into(),
    };
    let (name, loader) = match loader_for(&app.config, choice) {
        Ok(x) => x,
        Err(e) => {
            app.engine = EngineState::Failed(e.clone());
            return app.say(Level::Error, e);
        }
    };
    app.backend_name = name;
    let tx = tx.clone();
    let sink = Box::new(move |e| drop(tx.send(Incoming::Engine(generation, e))));
    slot.handle = match EngineHandle::spawn(loader, sink) {
        Ok(h) => Some(h),
        Err(e) => {
            app.engine = EngineState::Failed(e.to_string());
            None
        }
    };
}

fn spawn_input(tx: Sender<Incoming>, paused: Arc<AtomicBool>) {
    let _ = std::thread::Builder::new()
        .name("tloom-input".into())
        .spawn(move || {
            loop {
                if paused.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
                match event::poll(Duration::from_millis(100)) {
                    Ok(true) => match event::read() {
                        Ok(e) => {
                            if tx.send(Incoming::Term(e)).is_err() {
                                return;
                            }
                        }
                        Err(_) => return,
                    },
                    Ok(false) => {}
                    Err(_) => return,
                }
            }
        });
}

fn event_loop(
    app: &mut App,
    term: &mut terminal::Term,
    choice: &BackendChoice,
    mut journal: Option<&mut Journal>,
) -> Result<(), String> {
    let (tx, rx): (Sender<Incoming>, Receiver<Incoming>) = mpsc::channel();
    let paused = Arc::new(AtomicBool::new(false));
    spawn_input(tx.clone(), paused.clone());
    let mut slot = EngineSlot {
        handle: None,
        generation: 0,
    };
    start_engine(app, &mut slot, choice, &tx);
    let mut choice = choice.clone();
    let mut journal_flushed = 0;
    loop {
        let mut msgs = Vec::new();
        match rx.recv_timeout(Duration::from_millis(if app.jobs.is_busy() {
            100
        } else {
            250
        })) {
            Ok(first) => msgs.push(first),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Err("the input thread stopped".into()),
        }
        msgs.extend(rx.try_iter().take(2048));
        let mut effects = update::update(app, Msg::Tick(system_clock() as u64));
        for incoming in msgs {
            let msg = match incoming {
                Incoming::Term(Event::Key(k)) => Msg::Key(k),
                Incoming::Term(Event::Mouse(m)) => Msg::Mouse(m),
                Incoming::Term(Event::Paste(p)) => Msg::Paste(p),
                Incoming::Term(Event::Resize(w, h)) => Msg::Resize(w, h),
                Incoming::Term(_) => continue,
                Incoming::Engine(generation, e) if generation == slot.generation => Msg::Engine(e),
                Incoming::Engine(..) => continue,
            };
            effects.extend(update::update(app, msg));
        }
        for effect in effects {
            match effect {
                Effect::Engine(request) => {
                    if !slot.handle.as_ref().is_some_and(|h| h.send(request)) {
                        app.say(
                            Level::Error,
                            "the engine is not running: :backend NAME starts one",
                        );
                    }
                }
                Effect::Save => effects::save(app, journal.as_deref_mut()),
                Effect::Quit => return Ok(()),
                Effect::OpenEditor { target, text } => {
                    paused.store(true, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(150));
                    let msg = effects::external_editor(target, &text, term);
                    paused.store(false, Ordering::SeqCst);
                    let more = update::update(app, msg);
                    debug_assert!(more.is_empty());
                    let _ = term.clear();
                }
                Effect::SwitchBackend(name) => {
                    if app.config.backends.contains_key(&name) {
                        choice.name = Some(name);
                        start_engine(app, &mut slot, &choice, &tx);
                    } else {
                        let known: Vec<_> = app.config.backends.keys().cloned().collect();
                        app.say(
                            Level::Warning,
                            format!("no backend {name:?} (known: {})", known.join(", ")),
                        );
                    }
                }
                Effect::SwitchModel(model) => {
                    app.say(Level::Info, format!("loading {model}"));
                    choice.model = Some(model);
                    start_engine(app, &mut slot, &choice, &tx);
                }
                Effect::Import { path, parent } => effects::import(app, &path, parent),
                Effect::Export { format, path, node } => effects::export(app, &format, &path, node),
            }
        }
        if app.quit {
            return Ok(());
        }
        // At most one fsync'ed journal append a second, between the debounced saves.
        if let Some(j) = journal.as_deref_mut()
            && app.now >= journal_flushed + 1000
        {
            journal_flushed = app.now;
            effects::flush_journal(app, j);
        }
        term.draw(|f| crate::ui::draw(f, app))
            .map_err(|e| format!("drawing failed: {e}"))?;
    }
}
