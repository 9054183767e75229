//! Snapshots of the main screens, drawn with ratatui's TestBackend at 80x24 and 120x40, in
//! colour and in monochrome (with a map of the text attributes monochrome relies on).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Modifier;
use support::app::*;
use tloom::app::App;
use tloom::engine::{EngineEvent, PromptInspection, TokenInfo};
use tloom::session::config::ThemeName;
use tloom::tree::NodeId;

const STORY: &str = r#"
"The old lighthouse keeper had kept one secret for forty years." #1
  " Every night he climbed the stairs and spoke to the lamp as if it could answer." #2 [m b]
    " One night, it did." #5 [m u]
    " The lamp said nothing, as lamps do." #6 [m x]
  " He never told the village about the door beneath the rocks." #3 [m *]
    " Behind it was a staircase going down into the sea." #7 [m u]
    " It was locked, and the key was lost." #8 [m u b]
    " He had built it himself." #9 [m u]
  " Nobody remembered when he arrived." #4
"#;

fn render(app: &App, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| tloom::ui::draw(f, app)).unwrap();
    let buffer = term.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        let mut line = String::new();
        let mut marks = Vec::new();
        let mut run: Option<(u16, Modifier)> = None;
        for x in 0..w {
            let cell = &buffer[(x, y)];
            line.push_str(cell.symbol());
            let m = cell.modifier
                & (Modifier::REVERSED | Modifier::BOLD | Modifier::UNDERLINED | Modifier::DIM);
            match run {
                Some((start, rm)) if rm != m => {
                    if !rm.is_empty() {
                        marks.push(format!("{start}-{}:{rm:?}", x - 1));
                    }
                    run = Some((x, m));
                }
                None => run = Some((x, m)),
                _ => {}
            }
        }
        if let Some((start, rm)) = run
            && !rm.is_empty()
        {
            marks.push(format!("{start}-{}:{rm:?}", w - 1));
        }
        out.push_str(line.trim_end());
        if app.config.ui.theme == ThemeName::Mono && !marks.is_empty() {
            out.push_str(&format!("    ⟦{}⟧", marks.join(" ")));
        }
        out.push('\n');
    }
    out
}

fn story(theme: ThemeName) -> App {
    let mut app = ready(STORY);
    app.config.ui.theme = theme;
    app.status = None;
    app
}

#[test]
fn main_screen_at_80x24_and_120x40() {
    let app = story(ThemeName::Dark);
    insta::assert_snapshot!("main_80x24", render(&app, 80, 24));
    insta::assert_snapshot!("main_120x40", render(&app, 120, 40));
}

#[test]
fn main_screen_in_monochrome_keeps_every_distinction() {
    let mut app = story(ThemeName::Mono);
    press(&mut app, "t");
    app.status = None;
    insta::assert_snapshot!("triage_mono_120x40", render(&app, 120, 40));
    insta::assert_snapshot!("triage_mono_80x24", render(&app, 80, 24));
}

#[test]
fn streaming_generation_shows_placeholders_filling() {
    let mut app = story(ThemeName::Mono);
    app.sampling.n = 3;
    press(&mut app, "l g");
    let job = app.jobs.iter().next().unwrap().id;
    for (b, text) in [(0, " The"), (1, " Below"), (0, " stairs")] {
        let token = TokenInfo {
            id: Some(1),
            text: text.into(),
            logprob: -1.0,
            entropy: None,
            top: vec![],
        };
        engine(
            &mut app,
            EngineEvent::Token {
                job,
                branch: b,
                token,
            },
        );
    }
    app.status = None;
    insta::assert_snapshot!("streaming_mono_120x40", render(&app, 120, 40));
}

#[test]
fn overlays_help_palette_sampling_context_and_editing() {
    let mut app = story(ThemeName::Dark);
    press(&mut app, "?");
    insta::assert_snapshot!("help_120x40", render(&app, 120, 40));
    press(&mut app, "esc :");
    type_text(&mut app, "exp");
    insta::assert_snapshot!("palette_80x24", render(&app, 80, 24));
    press(&mut app, "esc p down");
    insta::assert_snapshot!("sampling_80x24", render(&app, 80, 24));
    press(&mut app, "esc");
    app.loom.memory = "Genre: maritime gothic.".into();
    press(&mut app, "c");
    let job = app.jobs.iter().next().unwrap().id;
    let result = Ok(PromptInspection {
        tokens: 61,
        context_length: 8192,
        dropped_tokens: 0,
        kept_from_byte: 0,
    });
    engine(&mut app, EngineEvent::Inspected { job, result });
    app.status = None;
    insta::assert_snapshot!("context_120x40", render(&app, 120, 40));
    press(&mut app, "esc e left left left");
    insta::assert_snapshot!("edit_80x24", render(&app, 80, 24));
    assert_eq!(app.loom.cursor(), NodeId(3));
}

/// The story with a model-written continuation of node 7 that has token data.
fn story_with_tokens(theme: ThemeName) -> App {
    use support::predict::{generated, token};
    let mut app = story(theme);
    press(&mut app, "j l");
    generated(
        &mut app,
        vec![
            token(" The", 0.7, &[(" It", 0.2)]),
            token(" water", 0.3, &[(" steps", 0.25), (" air", 0.1)]),
            token(
                " sang",
                0.004,
                &[(" was", 0.6), (" rose", 0.1), (" smelled", 0.05)],
            ),
            token(" softly", 0.05, &[(".", 0.4), (" to", 0.2)]),
            token(".", 0.8, &[(",", 0.1)]),
        ],
    );
    press(&mut app, "1");
    assert!(app.loom.node(app.loom.cursor()).unwrap().tokens.is_some());
    app.status = None;
    app
}

#[test]
fn heatmap_in_colour_and_monochrome() {
    let mut app = story_with_tokens(ThemeName::Dark);
    press(&mut app, "v");
    app.status = None;
    insta::assert_snapshot!("heatmap_80x24", render(&app, 80, 24));
    app.config.ui.theme = ThemeName::Mono;
    insta::assert_snapshot!("heatmap_mono_80x24", render(&app, 80, 24));
    press(&mut app, "i l l");
    app.status = None;
    insta::assert_snapshot!("token_cursor_mono_80x24", render(&app, 80, 24));
}

#[test]
fn the_stats_panel_of_the_path() {
    let mut app = story_with_tokens(ThemeName::Mono);
    press(&mut app, "I");
    app.status = None;
    insta::assert_snapshot!("stats_mono_100x30", render(&app, 100, 30));
}

#[test]
fn the_alternatives_popup_of_a_token() {
    let mut app = story_with_tokens(ThemeName::Mono);
    press(&mut app, "i l l enter j");
    app.status = None;
    insta::assert_snapshot!("alternatives_mono_80x24", render(&app, 80, 24));
}

#[test]
fn the_multiverse_overlay_as_a_token_tree() {
    use tloom::engine::{EngineRequest, ExploredToken};
    let mut app = story_with_tokens(ThemeName::Mono);
    let fx = press(&mut app, "B");
    let Some(tloom::app::Effect::Engine(EngineRequest::Explore { job, .. })) = fx.first() else {
        panic!("an explore request");
    };
    let node = |text: &str, p: f32, path_prob: f32, children| ExploredToken {
        token: support::predict::alt(text, p),
        path_prob,
        children,
    };
    let roots = vec![
        node(
            " The",
            0.6,
            0.6,
            vec![
                node(" sea", 0.5, 0.3, vec![node(" was", 0.5, 0.15, vec![])]),
                node(" door", 0.2, 0.12, vec![]),
            ],
        ),
        node(" Nobody", 0.2, 0.2, vec![node(" knew", 0.7, 0.14, vec![])]),
    ];
    engine(&mut app, EngineEvent::Explored { job: *job, roots });
    press(&mut app, "j");
    app.status = None;
    insta::assert_snapshot!("multiverse_mono_80x24", render(&app, 80, 24));
}
