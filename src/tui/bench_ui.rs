//! `tloom bench ui`: the cost of one keypress plus a full redraw with a 100,000-node loom
//! loaded, idle and while a generation streams tokens at a high rate.

use crate::app::keymap::Keymap;
use crate::app::state::{App, FileState};
use crate::app::{Effect, Msg, update};
use crate::cli::bench_tree::{Shape, synthetic_loom};
use crate::cli::error::{CliError, CliResult, code};
use crate::engine::{EngineEvent, EngineRequest, ModelDescription, TokenInfo};
use crate::session::config::Config;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;
use std::time::{Duration, Instant};

/// Keys a reader presses while moving around: down, sideways, up, and back.
const KEYS: &[KeyCode] = &[
    KeyCode::Char('l'),
    KeyCode::Char('j'),
    KeyCode::Char('k'),
    KeyCode::Char('h'),
    KeyCode::Char('l'),
    KeyCode::Char('h'),
];
/// Token events that arrive between two keypresses while streaming (far above the local
/// engine's ~60-250 tokens/s at a 100 ms frame).
const TOKENS_PER_FRAME: usize = 64;
const PRESSES: usize = 600;

struct Percentiles {
    median_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

fn percentiles(mut runs: Vec<Duration>) -> Percentiles {
    runs.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Percentiles {
        median_ms: ms(runs[runs.len() / 2]),
        p99_ms: ms(runs[runs.len() * 99 / 100]),
        max_ms: ms(runs[runs.len() - 1]),
    }
}

fn press(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn new_app(width: u16, height: u16) -> App {
    let mut loom = synthetic_loom(Shape::default(), 7);
    let deep = loom
        .all_nodes()
        .into_iter()
        .max_by_key(|id| loom.depth(*id))
        .unwrap_or(loom.root());
    let middle = loom.ancestry(deep)[20];
    let _ = loom.set_cursor(middle);
    let file = FileState {
        path: std::env::temp_dir().join("tloom-bench-ui.json"),
        read_only: None,
        dirty: false,
        save_due: None,
        save_error: None,
    };
    let mut app = App::new(
        loom,
        file,
        Config::default(),
        Keymap::defaults(),
        "local".into(),
        0,
    );
    app.screen = (width, height);
    update(
        &mut app,
        Msg::Engine(EngineEvent::Ready(ModelDescription {
            model: "bench".into(),
            backend: "local".into(),
            context_length: 8192,
        })),
    );
    app
}

/// Time `PRESSES` keypresses, each followed by `tokens` token events and one redraw.
fn measure(
    app: &mut App,
    term: &mut Terminal<TestBackend>,
    streaming: bool,
) -> CliResult<Percentiles> {
    let mut job = None;
    if streaming {
        let effects = update(app, press(KeyCode::Char('g')));
        job = effects.iter().find_map(|e| match e {
            Effect::Engine(EngineRequest::Expand(r)) => Some((r.job, r.params.n)),
            _ => None,
        });
        if job.is_none() {
            return Err(CliError::new(code::FAILURE, "g did not start a generation"));
        }
    }
    let mut runs = Vec::with_capacity(PRESSES);
    for i in 0..PRESSES {
        let start = Instant::now();
        if let Some((id, n)) = job {
            for t in 0..TOKENS_PER_FRAME {
                let token = TokenInfo {
                    id: Some(1),
                    text: " wave".into(),
                    logprob: -1.5,
                    entropy: Some(2.0),
                    top: Vec::new(),
                };
                let branch = t % n.max(1);
                update(
                    app,
                    Msg::Engine(EngineEvent::Token {
                        job: id,
                        branch,
                        token,
                    }),
                );
            }
        }
        update(app, press(KEYS[i % KEYS.len()]));
        term.draw(|f| crate::ui::draw(f, app))
            .map_err(|e| CliError::new(code::FAILURE, e.to_string()))?;
        runs.push(start.elapsed());
    }
    Ok(percentiles(runs))
}

/// Run the UI benchmark and print its numbers.
pub fn run(json_out: bool) -> CliResult {
    let mut results = Vec::new();
    for (width, height) in [(120u16, 40u16), (200, 60)] {
        let mut term = Terminal::new(TestBackend::new(width, height))
            .map_err(|e| CliError::new(code::FAILURE, e.to_string()))?;
        let mut app = new_app(width, height);
        let idle = measure(&mut app, &mut term, false)?;
        let streaming = measure(&mut app, &mut term, true)?;
        results.push((width, height, app.loom.len(), idle, streaming));
    }
    if json_out {
        let rows: Vec<_> = results
            .iter()
            .map(|(w, h, nodes, idle, s)| {
                json!({
                    "size": format!("{w}x{h}"), "nodes": nodes,
                    "key_redraw_ms": {"median": idle.median_ms, "p99": idle.p99_ms, "max": idle.max_ms},
                    "key_redraw_streaming_ms": {"median": s.median_ms, "p99": s.p99_ms, "max": s.max_ms},
                    "tokens_per_frame": TOKENS_PER_FRAME,
                })
            })
            .collect();
        println!("{:#}", json!(rows));
        return Ok(());
    }
    for (w, h, nodes, idle, s) in &results {
        println!("{w}x{h}, {nodes} nodes, {PRESSES} keypresses:");
        println!(
            "  key + redraw            median {:.2} ms  p99 {:.2} ms  max {:.2} ms",
            idle.median_ms, idle.p99_ms, idle.max_ms
        );
        println!(
            "  streaming ({TOKENS_PER_FRAME} tokens/frame)  median {:.2} ms  p99 {:.2} ms  max {:.2} ms",
            s.median_ms, s.p99_ms, s.max_ms
        );
    }
    Ok(())
}
