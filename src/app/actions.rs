//! Running an action from the keymap or the palette.

use super::action::Action;
use super::msg::Effect;
use super::state::{App, EditTarget, Level, LineInput, Mode, Pane};
use super::{curate, generate, multiverse, navigate, predictor, siblings};
use crate::engine::EngineRequest;

pub fn run(app: &mut App, action: Action, fx: &mut Vec<Effect>) {
    use Action::*;
    let cursor = app.loom.cursor();
    if let Some(i) = action.child_index() {
        return navigate::nth_child(app, i);
    }
    match action {
        Parent => navigate::parent(app),
        Child if app.mode == Mode::Triage => {
            if let Some(c) = app.selected_child() {
                navigate::go(app, c);
                generate::start_triage(app);
            }
        }
        Child => navigate::child(app),
        PrevSibling | NextSibling if app.mode == Mode::Triage => {
            let n = app.shown_children(cursor).len().max(1);
            let delta = if action == NextSibling { 1 } else { n - 1 };
            app.branch_sel = (app.branch_sel.min(n - 1) + delta) % n;
        }
        PrevSibling => navigate::sibling(app, -1),
        NextSibling => navigate::sibling(app, 1),
        Root => navigate::root(app),
        Generate => generate::generate(app, cursor, fx),
        GenerateSiblings => match app.loom.parent(cursor) {
            Some(p) => generate::generate(app, p, fx),
            None => app.say(
                Level::Info,
                "the root has no siblings: g generates children",
            ),
        },
        Cancel => cancel(app),
        Bookmark => curate::toggle_bookmark(app),
        NextBookmark => navigate::bookmark_step(app, true),
        PrevBookmark => navigate::bookmark_step(app, false),
        Archive => curate::toggle_archive(app),
        ToggleArchived => {
            app.show_archived = !app.show_archived;
            let shown = if app.show_archived { "shown" } else { "hidden" };
            app.say(Level::Info, format!("archived nodes {shown}"));
        }
        Delete => curate::delete(app),
        DeleteChildren => curate::delete_children(app),
        DeleteSiblings => curate::delete_siblings(app),
        Undo => curate::undo(app, false),
        Redo => curate::undo(app, true),
        Edit => curate::start_edit(app, EditTarget::Node(cursor)),
        EditExternal => {
            if curate::writable(app) {
                let text = app
                    .loom
                    .get(cursor)
                    .map(|n| n.text.clone())
                    .unwrap_or_default();
                fx.push(Effect::OpenEditor {
                    target: EditTarget::Node(cursor),
                    text,
                });
            }
        }
        AddChild => curate::start_edit(app, EditTarget::NewChild(cursor)),
        AddSibling => curate::start_edit(app, EditTarget::NewSibling(cursor)),
        Split => curate::start_edit(app, EditTarget::Split(cursor)),
        Merge => curate::merge(app),
        Clone => curate::clone(app),
        MoveUp => curate::shift(app, -1),
        MoveDown => curate::shift(app, 1),
        RandomWalk => navigate::random_walk(app),
        Search => app.mode = Mode::Search(LineInput::default()),
        SearchNext => navigate::search_step(app, true),
        SearchPrev => navigate::search_step(app, false),
        Fold => {
            if !app.folded.remove(&cursor) {
                app.folded.insert(cursor);
            }
        }
        Hoist => hoist(app),
        Sampling => {
            app.mode = Mode::Sampling {
                field: 0,
                typing: None,
            }
        }
        Triage => generate::start_triage(app),
        Keep | Discard | Expand if app.mode == Mode::Triage => generate::triage(app, action, fx),
        Keep | Discard | Expand => app.say(
            Level::Info,
            "t starts triage of the current node's children",
        ),
        Context => {
            let job = app.jobs.next_id();
            let prompt =
                crate::session::prompt::prompt_for(&app.loom, cursor, app.config.ui.trim_prompt);
            app.mode = Mode::Context {
                scroll: 0,
                job: Some(job),
                inspection: None,
            };
            app.jobs.add(crate::session::jobs::Job::queued(
                job,
                crate::session::jobs::JobKind::Inspect,
                crate::engine::CancelFlag::new(),
                app.now,
            ));
            fx.push(Effect::Engine(EngineRequest::Inspect {
                job,
                prompt: prompt.text,
                max_tokens: app.sampling.max_tokens,
            }));
        }
        Memory => curate::start_edit(app, EditTarget::Memory),
        Heatmap => predictor::toggle_heatmap(app),
        Tokens => predictor::enter_tokens(app),
        Score => predictor::score_path(app, fx),
        Multiverse => multiverse::open(app, fx),
        Stats => app.mode = Mode::Stats { scroll: 0 },
        SortByLogprob => siblings::sort(app, siblings::SortBy::MeanLogprob),
        SortByTime => siblings::sort(app, siblings::SortBy::Time),
        FocusNext => {
            app.focus = match app.focus {
                Pane::Tree => Pane::Reading,
                Pane::Reading => Pane::Branches,
                Pane::Branches => Pane::Tree,
            }
        }
        ScrollUp => app.reading_scroll += 1,
        ScrollDown => app.reading_scroll -= 1,
        PageUp => app.reading_scroll += page(app),
        PageDown => app.reading_scroll -= page(app),
        Save => fx.push(Effect::Save),
        Help => app.mode = Mode::Help { scroll: 0 },
        Palette => {
            app.mode = Mode::Palette {
                input: LineInput::default(),
                selected: 0,
            }
        }
        Quit => {
            generate::cancel_all(app);
            fx.push(Effect::Save);
            fx.push(Effect::Quit);
            app.quit = true;
        }
        Child1 | Child2 | Child3 | Child4 | Child5 | Child6 | Child7 | Child8 | Child9 => {}
    }
}

fn page(app: &App) -> i32 {
    let panes = super::view::panes(app.screen.0, app.screen.1);
    i32::from(panes.reading.h.saturating_sub(3)).max(1)
}

fn cancel(app: &mut App) {
    if app.mode == Mode::Triage {
        app.mode = Mode::Normal;
        return app.say(Level::Info, "triage ended");
    }
    if !generate::cancel_all(app) && !app.search.hits.is_empty() {
        app.search.hits.clear();
        app.say(Level::Info, "search cleared");
    }
}

fn hoist(app: &mut App) {
    let cursor = app.loom.cursor();
    let target = if app.loom.hoist() == Some(cursor) || cursor == app.loom.root() {
        None
    } else {
        Some(cursor)
    };
    if app.loom.set_hoist(target).is_ok() {
        app.file.dirty = true;
        let msg = match target {
            Some(id) => {
                format!("hoisted node {id}: it acts as the root of the views (H again to unhoist)")
            }
            None => "unhoisted".to_string(),
        };
        app.say(Level::Info, msg);
    }
}
