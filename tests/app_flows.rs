//! The app's flows, driven through `update` with keys and engine events: no terminal, no
//! thread, no model. State in, keys, state out.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use support::app::*;
use tloom::app::Effect;
use tloom::app::state::{EditTarget, Mode};
use tloom::engine::{BranchSummary, EngineEvent, EngineRequest, FinishReason, JobId, TokenInfo};
use tloom::tree::NodeId;

const STORY: &str = r#"
"Once upon a time" #1 [*]
  ", a cat" #2
    " sat." #4
  ", a dog" #3
"#;

fn token(text: &str, logprob: f32) -> TokenInfo {
    TokenInfo {
        id: Some(1),
        text: text.into(),
        logprob,
        entropy: Some(1.0),
        top: Vec::new(),
    }
}

fn expand_request(fx: &[Effect]) -> (JobId, String, tloom::engine::SamplingParams) {
    fx.iter()
        .find_map(|e| match e {
            Effect::Engine(EngineRequest::Expand(r)) => {
                Some((r.job, r.prompt.clone(), r.params.clone()))
            }
            _ => None,
        })
        .expect("an expand request")
}

/// The status line's text now.
fn said(app: &tloom::app::App) -> String {
    app.status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default()
}

#[test]
fn merging_moving_and_bookmark_jumps_say_what_they_did() {
    let mut app = ready(STORY);
    press(&mut app, "l");
    press(&mut app, "J");
    assert!(
        said(&app).contains("moved to place 2 of 2"),
        "{}",
        said(&app)
    );
    press(&mut app, "J");
    assert!(said(&app).contains("already the last"), "{}", said(&app));
    press(&mut app, "b h ]");
    assert!(said(&app).contains("bookmark: node 2"), "{}", said(&app));
    press(&mut app, "l m");
    assert!(
        said(&app).contains("merged node 4 into its parent 2"),
        "{}",
        said(&app)
    );
}

#[test]
fn arrows_and_hjkl_move_between_parent_siblings_and_last_visited_child() {
    let mut app = ready(STORY);
    press(&mut app, "l");
    assert_eq!(app.loom.cursor(), NodeId(2));
    press(&mut app, "j");
    assert_eq!(app.loom.cursor(), NodeId(3));
    press(&mut app, "down");
    assert_eq!(app.loom.cursor(), NodeId(2), "siblings wrap");
    press(&mut app, "l");
    assert_eq!(app.loom.cursor(), NodeId(4));
    press(&mut app, "h left");
    assert_eq!(app.loom.cursor(), NodeId(1));
    press(&mut app, "right right");
    assert_eq!(
        app.loom.cursor(),
        NodeId(4),
        "child returns to the last visited one"
    );
    press(&mut app, "h h 2");
    assert_eq!(app.loom.cursor(), NodeId(3), "digits jump to the nth child");
}

#[test]
fn generating_adds_placeholders_that_fill_as_tokens_stream_and_is_one_undo_step() {
    let mut app = ready(STORY);
    app.sampling.n = 3;
    let before = shown(&app);
    let fx = press(&mut app, "g");
    let (job, prompt, params) = expand_request(&fx);
    assert_eq!(prompt, "Once upon a time");
    assert_eq!(params.n, 3);
    let kids = app.loom.children(NodeId(1)).to_vec();
    assert_eq!(kids.len(), 5, "three placeholders appear at once");
    let new: Vec<NodeId> = kids[2..].to_vec();
    assert!(new.iter().all(|n| app.jobs.is_generating(*n)));
    engine(
        &mut app,
        EngineEvent::Started {
            job,
            prompt_tokens: 4,
        },
    );
    engine(
        &mut app,
        EngineEvent::Token {
            job,
            branch: 1,
            token: token(" there", -0.5),
        },
    );
    // The user keeps moving while tokens arrive.
    press(&mut app, "l");
    engine(
        &mut app,
        EngineEvent::Token {
            job,
            branch: 1,
            token: token(" was", -1.5),
        },
    );
    assert_eq!(app.loom.node(new[1]).unwrap().text, " there was");
    assert_eq!(
        app.loom
            .node(new[1])
            .unwrap()
            .tokens
            .as_ref()
            .unwrap()
            .len(),
        2
    );
    for b in 0..3 {
        if b != 1 {
            engine(
                &mut app,
                EngineEvent::Token {
                    job,
                    branch: b,
                    token: token(" x", -2.0),
                },
            );
        }
        let summary = BranchSummary {
            reason: FinishReason::Length,
            tokens: 2,
            mean_logprob: Some(-1.0),
            mean_entropy: Some(1.0),
            seed: params.seed + b as u64,
            error: None,
        };
        engine(
            &mut app,
            EngineEvent::BranchFinished {
                job,
                branch: b,
                summary,
            },
        );
    }
    engine(&mut app, EngineEvent::JobFinished { job });
    assert!(!app.jobs.is_busy());
    let g = app
        .loom
        .node(new[1])
        .unwrap()
        .origin
        .generation()
        .cloned()
        .unwrap();
    assert_eq!(
        (g.model.as_str(), g.finish.as_deref(), g.seed),
        ("test.gguf", Some("length"), params.seed + 1)
    );
    assert!(
        app.file.save_due.is_some(),
        "a finished batch schedules an autosave"
    );
    assert!(
        tick(&mut app, 2000)
            .iter()
            .any(|e| matches!(e, Effect::Save))
    );
    press(&mut app, "u");
    assert_eq!(
        shown(&app).replace(" [*]", ""),
        before.replace(" [*]", ""),
        "one undo removes the whole batch"
    );
}

#[test]
fn escape_cancels_and_keeps_cut_text_while_empty_branches_vanish() {
    let mut app = ready(STORY);
    app.sampling.n = 2;
    let (job, _, params) = expand_request(&press(&mut app, "g"));
    let new = app.loom.children(NodeId(1))[2..].to_vec();
    engine(
        &mut app,
        EngineEvent::Token {
            job,
            branch: 0,
            token: token(" half", -1.0),
        },
    );
    press(&mut app, "esc");
    assert!(app.jobs.iter().all(|j| j.cancel.is_cancelled()));
    let cut = BranchSummary {
        reason: FinishReason::Cancelled,
        tokens: 1,
        mean_logprob: None,
        mean_entropy: None,
        seed: params.seed,
        error: None,
    };
    engine(
        &mut app,
        EngineEvent::BranchFinished {
            job,
            branch: 0,
            summary: cut.clone(),
        },
    );
    engine(
        &mut app,
        EngineEvent::BranchFinished {
            job,
            branch: 1,
            summary: BranchSummary { tokens: 0, ..cut },
        },
    );
    engine(&mut app, EngineEvent::JobFinished { job });
    let kept = app.loom.node(new[0]).unwrap();
    assert_eq!(kept.text, " half");
    assert_eq!(
        kept.origin.generation().unwrap().finish.as_deref(),
        Some("cancelled")
    );
    assert!(
        !app.loom.contains(new[1]),
        "a branch that never got text is removed"
    );
}

#[test]
fn events_for_deleted_nodes_or_unknown_jobs_are_ignored() {
    let mut app = ready(STORY);
    app.sampling.n = 1;
    let (job, _, _) = expand_request(&press(&mut app, "g"));
    let new = app.loom.children(NodeId(1))[2];
    press(&mut app, "u");
    assert!(!app.loom.contains(new));
    engine(
        &mut app,
        EngineEvent::Token {
            job,
            branch: 0,
            token: token(" ghost", -1.0),
        },
    );
    assert!(
        app.jobs.iter().all(|j| j.cancel.is_cancelled()),
        "a job with no nodes left is cancelled"
    );
    engine(
        &mut app,
        EngineEvent::Token {
            job: JobId(999),
            branch: 0,
            token: token(" stray", -1.0),
        },
    );
    assert!(!shown(&app).contains("ghost") && !shown(&app).contains("stray"));
}

#[test]
fn bookmark_archive_delete_and_undo_redo_from_keys() {
    let mut app = ready(STORY);
    press(&mut app, "l b");
    assert!(app.loom.node(NodeId(2)).unwrap().bookmarked);
    press(&mut app, "j x");
    assert!(app.loom.node(NodeId(3)).unwrap().archived);
    assert_eq!(
        app.loom.cursor(),
        NodeId(2),
        "archiving moves to a shown sibling"
    );
    press(&mut app, "] ");
    press(&mut app, "d");
    assert!(!app.loom.contains(NodeId(2)) && !app.loom.contains(NodeId(4)));
    press(&mut app, "u");
    assert!(app.loom.contains(NodeId(4)));
    press(&mut app, "ctrl-r");
    assert!(!app.loom.contains(NodeId(2)));
    assert!(app.file.dirty && app.file.save_due.is_some());
}

#[test]
fn editing_in_place_adding_by_hand_and_splitting_at_the_caret() {
    let mut app = ready(STORY);
    press(&mut app, "l e");
    assert!(matches!(
        app.mode,
        Mode::Edit {
            target: EditTarget::Node(NodeId(2)),
            ..
        }
    ));
    press(&mut app, "backspace backspace backspace backspace");
    type_text(&mut app, "n owl");
    press(&mut app, "esc");
    assert_eq!(app.loom.node(NodeId(2)).unwrap().text, ", an owl");
    press(&mut app, "a");
    type_text(&mut app, " hooted.\nTwice.");
    press(&mut app, "esc");
    let added = app.loom.cursor();
    assert_eq!(
        app.loom.path_text(added).unwrap(),
        "Once upon a time, an owl hooted.\nTwice."
    );
    press(&mut app, "h s home right right right right right enter");
    assert_eq!(app.loom.node(NodeId(2)).unwrap().text, "owl");
    let upper = app.loom.parent(NodeId(2)).unwrap();
    assert_eq!(app.loom.node(upper).unwrap().text, ", an ");
    press(&mut app, "e ctrl-c");
    assert_eq!(app.mode, Mode::Normal);
    let fx = press(&mut app, "E");
    assert!(matches!(fx.as_slice(), [Effect::OpenEditor { text, .. }] if text == "owl"));
}

#[test]
fn triage_keeps_discards_and_expands_then_moves_to_the_next_branch_point() {
    let mut app = ready(
        r#""root" #1 [*]
  "a" #2 [u]
  "b" #3 [u]
  "c" #4 [u]
  "d" #5
    "e" #6 [u]
"#,
    );
    press(&mut app, "t");
    assert_eq!(app.mode, Mode::Triage);
    assert_eq!(app.selected_child(), Some(NodeId(2)));
    press(&mut app, "y");
    assert!(app.loom.node(NodeId(2)).unwrap().bookmarked);
    assert_eq!(app.selected_child(), Some(NodeId(3)));
    press(&mut app, "x");
    assert!(app.loom.node(NodeId(3)).unwrap().archived);
    assert_eq!(app.selected_child(), Some(NodeId(4)));
    let fx = press(&mut app, "g");
    let (_, prompt, _) = expand_request(&fx);
    assert_eq!(prompt, "rootc");
    assert!(!app.loom.node(NodeId(4)).unwrap().unread);
    // Node 4's new placeholders are unread, so triage moves to node 4.
    assert_eq!(app.loom.cursor(), NodeId(4));
    press(&mut app, "esc");
    assert_eq!(app.mode, Mode::Normal);
}

#[test]
fn search_jumps_through_hits_in_tree_order() {
    let mut app = ready(STORY);
    press(&mut app, "/");
    type_text(&mut app, "A ");
    press(&mut app, "enter");
    assert_eq!(app.search.hits, vec![NodeId(1), NodeId(2), NodeId(3)]);
    assert_eq!(app.loom.cursor(), NodeId(2));
    press(&mut app, "n");
    assert_eq!(app.loom.cursor(), NodeId(3));
    press(&mut app, "N N");
    assert_eq!(app.loom.cursor(), NodeId(1));
    // A regex is echoed as typed, its backslashes single.
    press(&mut app, "/");
    type_text(&mut app, r"re:\ba \w+");
    press(&mut app, "enter");
    assert!(said(&app).contains(r"for “re:\ba \w+”"), "{}", said(&app));
    press(&mut app, "/");
    type_text(&mut app, r"re:\bzebra");
    press(&mut app, "enter");
    assert!(
        said(&app).contains(r"no node contains “re:\bzebra”"),
        "{}",
        said(&app)
    );
}

#[test]
fn the_sampling_panel_and_palette_change_what_the_next_generation_sends() {
    let mut app = ready(STORY);
    press(&mut app, "p down right right esc");
    assert_eq!(app.sampling.n, 6);
    press(&mut app, ":");
    type_text(&mut app, "set temperature=0.3");
    press(&mut app, "enter");
    press(&mut app, ":");
    type_text(&mut app, "seed 77");
    press(&mut app, "enter");
    let (_, _, params) = expand_request(&press(&mut app, "g"));
    assert_eq!((params.n, params.temperature, params.seed), (6, 0.3, 77));
    press(&mut app, ":");
    type_text(&mut app, "set temperature=-3");
    press(&mut app, "enter");
    assert_eq!(app.sampling.temperature, 0.3, "a bad value is refused");
    assert!(app.status.as_ref().unwrap().text.contains("temperature"));
}

#[test]
fn the_palette_loads_another_model_by_path_or_built_in_name() {
    let mut app = ready(STORY);
    press(&mut app, ":");
    type_text(&mut app, "model gemma3-270m");
    let fx = press(&mut app, "enter");
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::SwitchModel(m) if m == "gemma3-270m")),
        "{fx:?}"
    );
    press(&mut app, ":");
    type_text(&mut app, "model");
    let fx = press(&mut app, "enter");
    assert!(!fx.iter().any(|e| matches!(e, Effect::SwitchModel(_))));
    assert!(app.status.as_ref().unwrap().text.contains("built-in"));
}

#[test]
fn memory_is_prepended_and_the_context_inspector_asks_the_engine() {
    let mut app = ready(STORY);
    press(&mut app, "M");
    type_text(&mut app, "A fable.");
    press(&mut app, "esc");
    let fx = press(&mut app, "c");
    let inspect = fx.iter().find_map(|e| match e {
        Effect::Engine(EngineRequest::Inspect { prompt, .. }) => Some(prompt.clone()),
        _ => None,
    });
    assert_eq!(inspect.as_deref(), Some("A fable.\nOnce upon a time"));
    assert!(matches!(
        app.mode,
        Mode::Context {
            inspection: None,
            ..
        }
    ));
}

#[test]
fn read_only_files_refuse_changes_with_a_message() {
    let mut app = ready(STORY);
    app.file.read_only = Some("opened with --read-only".into());
    let before = shown(&app);
    let fx = press(&mut app, "b x d g");
    assert!(fx.is_empty());
    assert_eq!(shown(&app), before);
    assert!(app.status.as_ref().unwrap().text.contains("read-only"));
}

#[test]
fn the_cancelling_message_gives_way_when_the_last_cancelled_job_ends() {
    let mut app = ready(STORY);
    let (job, _, _) = expand_request(&press(&mut app, "g"));
    press(&mut app, "esc");
    assert!(
        said(&app).starts_with("cancelling 1 generation"),
        "{}",
        said(&app)
    );
    engine(&mut app, EngineEvent::JobFinished { job });
    assert!(said(&app).starts_with("cancelled:"), "{}", said(&app));
}

#[test]
fn quitting_cancels_jobs_and_saves_first() {
    let mut app = ready(STORY);
    press(&mut app, "g");
    let fx = press(&mut app, "ctrl-c");
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::Quit)),
        "ctrl-c first cancels a running generation"
    );
    let fx = press(&mut app, "q");
    assert!(matches!(fx.as_slice(), [Effect::Save, Effect::Quit]));
}

#[test]
fn a_failed_save_keeps_the_tree_and_retries() {
    let mut app = ready(STORY);
    press(&mut app, "l b");
    app.saved(Err("disk full".into()));
    assert!(app.file.dirty);
    assert!(app.loom.node(NodeId(2)).unwrap().bookmarked);
    assert_eq!(app.file.save_error.as_deref(), Some("disk full"));
    assert!(
        tick(&mut app, 6000)
            .iter()
            .any(|e| matches!(e, Effect::Save))
    );
    app.saved(Ok(()));
    assert!(!app.file.dirty && app.file.save_error.is_none());
}

#[test]
fn an_engine_failing_mid_generation_keeps_the_partial_text_marked_and_the_ui_working() {
    let mut app = ready(STORY);
    app.sampling.n = 2;
    let (job, _, _) = expand_request(&press(&mut app, "g"));
    let new = app.loom.children(NodeId(1))[2..].to_vec();
    engine(
        &mut app,
        EngineEvent::Token {
            job,
            branch: 0,
            token: token(" half a sen", -1.0),
        },
    );
    engine(
        &mut app,
        EngineEvent::JobFailed {
            job,
            error: "the server closed the connection".into(),
        },
    );
    let kept = app.loom.node(new[0]).unwrap();
    assert_eq!(kept.text, " half a sen");
    assert_eq!(
        kept.origin.generation().unwrap().finish.as_deref(),
        Some("error"),
        "the partial branch is marked"
    );
    assert!(!app.loom.contains(new[1]), "the empty branch is gone");
    let status = &app.status.as_ref().unwrap().text;
    assert!(status.contains("server closed the connection"), "{status}");
    assert!(!app.jobs.is_busy());
    // The UI goes on: moving and generating again work.
    press(&mut app, "j");
    expand_request(&press(&mut app, "g"));
}

#[test]
fn the_memory_editor_shows_the_memory_it_edits_under_its_own_title() {
    let mut app = ready(STORY);
    app.loom.memory = "Genre: fable.".into();
    press(&mut app, "M");
    assert!(matches!(
        app.mode,
        Mode::Edit {
            target: EditTarget::Memory,
            ..
        }
    ));
    type_text(&mut app, " Cast: a fox.");
    let shown: String = tloom::app::reading::segments(&app)
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert!(shown.contains("Genre: fable. Cast: a fox."), "{shown}");
    assert!(!shown.contains("Once upon a time"), "{shown}");
    let drawn = screen(&app, 120, 40);
    let top = drawn.lines().next().unwrap();
    assert!(top.contains("Memory"), "{top}");
    press(&mut app, "esc");
    assert_eq!(app.loom.memory, "Genre: fable. Cast: a fox.");
}

#[test]
fn sampling_settings_are_kept_with_the_loom_and_bad_ones_fall_back_to_the_config() {
    // A loom left with its own settings reopens with them.
    let mut app = ready(STORY);
    app.sampling.n = 2;
    app.sampling.max_tokens = 7;
    app.sampling.temperature = 0.5;
    app.seed_mode = tloom::app::state::SeedMode::Fixed(42);
    tloom::app::settings::remember(&mut app);
    let bytes = tloom::store::to_bytes(&app.loom);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kept.json");
    std::fs::write(&path, &bytes).unwrap();
    let loom = tloom::store::load(&path).unwrap().loom;
    let config = tloom::session::config::Config::default();
    let (params, seed) = tloom::app::settings::stored(&loom, &config.sampling)
        .unwrap()
        .unwrap();
    assert_eq!(
        (params.n, params.max_tokens, params.temperature),
        (2, 7, 0.5)
    );
    assert_eq!(seed, tloom::app::state::SeedMode::Fixed(42));
    // A new loom starts from the config's defaults.
    let fresh = tloom::tree::Loom::new("x");
    assert!(tloom::app::settings::stored(&fresh, &config.sampling).is_none());
    // A bad value is reported, and the config's defaults are used.
    let mut bad = tloom::tree::Loom::new("x");
    bad.extra.insert(
        "sampling".into(),
        serde_json::json!({"n": 0, "temperature": 0.3}),
    );
    let e = tloom::app::settings::stored(&bad, &config.sampling)
        .unwrap()
        .unwrap_err();
    assert!(e.contains("sampling"), "{e}");
}

#[test]
fn the_info_line_gives_way_by_priority_and_never_cuts_a_word() {
    let mut app = app_from(STORY);
    update_ready(&mut app, "SmolLM2-135M-Instruct.Q4_1.gguf");
    press(&mut app, "g");
    for (w, h) in [(80u16, 24u16), (120, 40), (60, 20)] {
        app.screen = (w, h);
        let drawn = screen(&app, w, h);
        let line = drawn.lines().last().unwrap().trim_end();
        // The sampling values and the job are there whole; what gave way is gone whole.
        assert!(line.contains("n=4"), "{w}: {line:?}");
        assert!(line.contains("⟳ 1"), "{w}: {line:?}");
        for field in line.split(" │ ") {
            let f = field.trim();
            assert!(
                f.ends_with("t=1.00")
                    || f.ends_with(']')
                    || f.ends_with("cancels")
                    || f.ends_with(".gguf")
                    || f.ends_with("job")
                    || f.ends_with("⟳ 1")
                    || f.starts_with("sel"),
                "{w}: field {f:?} of {line:?}"
            );
        }
    }
}

fn update_ready(app: &mut tloom::app::App, model: &str) {
    engine(
        app,
        tloom::engine::EngineEvent::Ready(tloom::engine::ModelDescription {
            model: model.into(),
            backend: "local".into(),
            context_length: 2048,
        }),
    );
}

#[test]
fn an_external_edit_says_what_it_did_and_the_token_hint_leaves_with_token_mode() {
    let mut app = ready(STORY);
    let node = app.loom.cursor();
    let fx = tloom::app::update(
        &mut app,
        tloom::app::Msg::EditorClosed {
            target: EditTarget::Node(node),
            result: Ok("Once upon a midnight".into()),
        },
    );
    assert!(fx.is_empty());
    assert!(said(&app).contains("edited"), "{}", said(&app));
    tloom::app::update(
        &mut app,
        tloom::app::Msg::EditorClosed {
            target: EditTarget::Node(node),
            result: Ok("Once upon a midnight".into()),
        },
    );
    assert!(said(&app).contains("unchanged"), "{}", said(&app));
    // A model node with tokens: the token cursor's hint goes when the cursor does.
    let fx = press(&mut app, "g");
    let (job, _, _) = expand_request(&fx);
    engine(
        &mut app,
        EngineEvent::Token {
            job,
            branch: 0,
            token: token(" dreary", -0.5),
        },
    );
    engine(&mut app, EngineEvent::JobFinished { job });
    // The new branch is the root's third child.
    press(&mut app, "3");
    press(&mut app, "i");
    assert!(said(&app).starts_with("tokens: "), "{}", said(&app));
    press(&mut app, "esc");
    assert!(!said(&app).starts_with("tokens: "), "{}", said(&app));
}
