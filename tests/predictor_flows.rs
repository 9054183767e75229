//! The predictor's flows through `update`: heatmap, token cursor, alternatives and the
//! counterfactual branch, scoring hand-written text, the block multiverse, sibling order.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use support::app::*;
use support::predict::{alt, generated, request, token};
use tloom::app::App;
use tloom::app::reading::{Segment, segments};
use tloom::app::state::Mode;
use tloom::engine::{EngineEvent, EngineRequest, ExploredToken, JobId};
use tloom::tree::NodeId;

const STORY: &str = r#"
"Once upon a time" #1 [*]
  ", a cat" #2
    " sat." #4
  ", a dog" #3
"#;

fn there_was_a(app: &mut App) -> NodeId {
    generated(
        app,
        vec![
            token(" there", 0.6, &[(" in", 0.2), (" a", 0.1)]),
            token(" was", 0.6, &[(" lived", 0.3), (" is", 0.05)]),
            token(" a", 0.005, &[(" an", 0.5), (" the", 0.3)]),
        ],
    )
}

#[test]
fn branching_on_an_alternative_splits_before_the_token_and_continues_from_it() {
    let mut app = ready(STORY);
    let node = there_was_a(&mut app);
    press(&mut app, "3");
    assert_eq!(app.loom.cursor(), node);
    let before = shown(&app);
    press(&mut app, "i l enter");
    assert!(matches!(app.mode, Mode::Alternatives { index: 1, .. }));
    let fx = press(&mut app, "j enter");
    let new = app.loom.cursor();
    let branch = app.loom.node(new).unwrap();
    assert_eq!(branch.text, " lived");
    let first = &branch.tokens.as_ref().unwrap()[0];
    assert_eq!(
        first.text, " lived",
        "its first token is the chosen alternative"
    );
    assert!((first.logprob - 0.3f32.ln()).abs() < 1e-6);
    let upper = app.loom.parent(new).unwrap();
    assert_eq!(
        app.loom.node(upper).unwrap().text,
        " there",
        "split before the token"
    );
    assert_eq!(app.loom.parent(upper), Some(NodeId(1)));
    assert_eq!(app.loom.children(upper), &[node, new]);
    let rest = app.loom.node(node).unwrap();
    assert_eq!(rest.text, " was a");
    assert_eq!(
        rest.tokens.as_ref().unwrap().len(),
        2,
        "the token records split too"
    );
    assert_eq!(
        app.loom.node(upper).unwrap().tokens.as_ref().unwrap().len(),
        1
    );
    let EngineRequest::Expand(req) = request(&fx) else {
        panic!("the new branch is continued at once");
    };
    assert_eq!(req.prompt, "Once upon a time there lived");
    assert_eq!(app.loom.children(new).len(), app.sampling.n);
    press(&mut app, "esc u");
    assert_eq!(shown(&app), before, "one undo step takes it all back");
}

#[test]
fn branching_on_the_first_token_adds_a_sibling_without_splitting() {
    let mut app = ready(STORY);
    let node = there_was_a(&mut app);
    press(&mut app, "3 i enter 2");
    let new = app.loom.cursor();
    assert_eq!(app.loom.node(new).unwrap().text, " in");
    assert_eq!(app.loom.parent(new), Some(NodeId(1)));
    assert_eq!(app.loom.node(node).unwrap().text, " there was a");
    let kids = app.loom.children(NodeId(1));
    assert_eq!(
        kids.iter().position(|k| *k == new),
        Some(3),
        "right after the node"
    );
}

#[test]
fn choosing_the_token_already_there_changes_nothing() {
    let mut app = ready(STORY);
    there_was_a(&mut app);
    press(&mut app, "3");
    let before = shown(&app);
    let fx = press(&mut app, "i enter enter");
    assert_eq!(shown(&app), before);
    assert!(fx.is_empty());
}

#[test]
fn the_popup_lists_alternatives_most_likely_first_with_probabilities_summing_to_at_most_one() {
    let mut app = ready(STORY);
    let node = there_was_a(&mut app);
    press(&mut app, "3 i l l enter");
    let Mode::Alternatives { node: n, index, .. } = app.mode.clone() else {
        panic!("the popup is open");
    };
    assert_eq!((n, index), (node, 2));
    let alts = tloom::app::predictor::alternatives(&app, n, index);
    let ps: Vec<f32> = alts.iter().map(|(a, _)| a.logprob.exp()).collect();
    assert_eq!(ps.len(), 3);
    assert!(ps.windows(2).all(|w| w[0] >= w[1]), "{ps:?}");
    assert!(ps.iter().sum::<f32>() <= 1.0 + 1e-6, "{ps:?}");
    assert_eq!(alts.iter().filter(|(_, here)| *here).count(), 1);
    assert_eq!(
        alts[2].0.text, " a",
        "the token there is marked, least likely last"
    );
}

#[test]
fn the_heatmap_toggles_and_bands_tokens_by_probability() {
    let mut app = ready(STORY);
    there_was_a(&mut app);
    press(&mut app, "3");
    let bands = |app: &App| -> Vec<u8> {
        segments(app)
            .iter()
            .filter_map(|(_, k)| match k {
                Segment::Token { band, .. } => Some(*band),
                _ => None,
            })
            .collect()
    };
    assert!(bands(&app).is_empty());
    press(&mut app, "v");
    assert!(app.predictor.heatmap);
    assert_eq!(bands(&app), vec![0, 0, 3]);
    press(&mut app, "v");
    assert!(!app.predictor.heatmap);
    assert!(bands(&app).is_empty());
    press(&mut app, "i l");
    let cursor: Vec<String> = segments(&app)
        .into_iter()
        .filter(|(_, k)| *k == Segment::TokenCursor)
        .map(|(t, _)| t)
        .collect();
    assert_eq!(
        cursor,
        vec![" was".to_string()],
        "the token cursor shows without the heatmap"
    );
    press(&mut app, "esc");
    assert_eq!(app.mode, Mode::Normal);
}

#[test]
fn scoring_covers_hand_written_text_without_changing_the_file() {
    let mut app = ready(STORY);
    press(&mut app, "l l");
    assert_eq!(app.loom.cursor(), NodeId(4));
    app.file.dirty = false;
    let fx = press(&mut app, "S");
    let EngineRequest::Score { job, text } = request(&fx).clone() else {
        panic!("a score request");
    };
    assert_eq!(text, "Once upon a time, a cat sat.");
    // "time," straddles the boundary of nodes 1 and 2.
    let pieces = [
        ("Once", 0.15),
        (" upon", 0.5),
        (" a", 0.9),
        (" time,", 0.05),
        (" a", 0.3),
        (" cat", 0.001),
        (" sat.", 0.2),
    ];
    let tokens = pieces.iter().map(|(t, p)| token(t, *p, &[])).collect();
    engine(&mut app, EngineEvent::Scored { job, tokens });
    assert!(!app.file.dirty, "scores are a view, not a change");
    press(&mut app, "v");
    let texts: Vec<(String, u8)> = segments(&app)
        .into_iter()
        .filter_map(|(t, k)| match k {
            Segment::Token { band, .. } => Some((t, band)),
            _ => None,
        })
        .collect();
    let expected: Vec<(String, u8)> = [
        ("Once", 1),
        (" upon", 0),
        (" a", 0),
        (" time", 2),
        (",", 2),
        (" a", 1),
        (" cat", 3),
        (" sat.", 1),
    ]
    .iter()
    .map(|(t, b)| (t.to_string(), *b))
    .collect();
    assert_eq!(texts, expected);
    press(&mut app, "e");
    type_text(&mut app, "!");
    press(&mut app, "esc");
    assert!(
        tloom::app::predictor::tokens_of(&app, NodeId(4)).is_none(),
        "an edit retires the node's scores"
    );
}

fn explored(text: &str, p: f32, path_prob: f32, children: Vec<ExploredToken>) -> ExploredToken {
    ExploredToken {
        token: alt(text, p),
        path_prob,
        children,
    }
}

#[test]
fn the_multiverse_turns_a_chosen_token_path_into_a_new_branch() {
    let mut app = ready(STORY);
    press(&mut app, "l");
    let fx = press(&mut app, "B");
    let EngineRequest::Explore {
        job, prompt, depth, ..
    } = request(&fx).clone()
    else {
        panic!("an explore request");
    };
    assert_eq!((prompt.as_str(), depth), ("Once upon a time, a cat", 3));
    let roots = vec![
        explored(
            " sat",
            0.5,
            0.5,
            vec![
                explored(" down", 0.6, 0.3, vec![]),
                explored(" still", 0.2, 0.1, vec![]),
            ],
        ),
        explored(" ran", 0.2, 0.2, vec![]),
    ];
    engine(&mut app, EngineEvent::Explored { job, roots });
    press(&mut app, "j j");
    assert!(matches!(app.mode, Mode::Multiverse { selected: 2, .. }));
    press(&mut app, "enter");
    assert_eq!(app.mode, Mode::Normal);
    let new = app.loom.cursor();
    let node = app.loom.node(new).unwrap();
    assert_eq!(
        node.text, " sat still",
        "the branch is the chosen token path"
    );
    assert_eq!(app.loom.parent(new), Some(NodeId(2)));
    let tokens = node.tokens.as_ref().unwrap();
    assert_eq!(tokens.len(), 2);
    assert_eq!(
        tokens[1].top.len(),
        2,
        "its siblings in the tree are its alternatives"
    );
}

#[test]
fn a_failed_exploration_says_so_in_the_overlay() {
    let mut app = ready(STORY);
    let fx = press(&mut app, "B");
    let EngineRequest::Explore { job, .. } = request(&fx).clone() else {
        panic!("an explore request");
    };
    let error = "no model".to_string();
    engine(&mut app, EngineEvent::JobFailed { job, error });
    assert!(matches!(
        app.mode,
        Mode::Multiverse {
            result: Some(Err(_)),
            ..
        }
    ));
    assert!(app.jobs.iter().next().is_none());
    engine(
        &mut app,
        EngineEvent::Explored {
            job: JobId(99),
            roots: vec![],
        },
    );
    press(&mut app, "esc");
    assert_eq!(app.mode, Mode::Normal);
}

static CLOCK: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1_000);

/// A clock that moves on a second at each reading, so creation times differ.
fn ticking() -> i64 {
    CLOCK.fetch_add(1_000, std::sync::atomic::Ordering::SeqCst)
}

#[test]
fn siblings_sort_by_mean_logprob_and_by_time_as_one_undo_step_each() {
    let mut app = ready(STORY);
    app.loom.set_clock(ticking);
    let low = generated(&mut app, vec![token(" x", 0.01, &[])]);
    let high = generated(&mut app, vec![token(" y", 0.9, &[])]);
    let hand = [NodeId(2), NodeId(3)];
    press(&mut app, "3");
    assert_eq!(app.loom.children(NodeId(1)), &[hand[0], hand[1], low, high]);
    press(&mut app, "o");
    assert_eq!(
        app.loom.children(NodeId(1)),
        &[high, low, hand[0], hand[1]],
        "most probable first, unscored last"
    );
    press(&mut app, "O");
    assert_eq!(
        app.loom.children(NodeId(1)),
        &[hand[0], hand[1], low, high],
        "oldest first"
    );
    press(&mut app, "u");
    assert_eq!(app.loom.children(NodeId(1)), &[high, low, hand[0], hand[1]]);
    press(&mut app, "u");
    assert_eq!(app.loom.children(NodeId(1)), &[hand[0], hand[1], low, high]);
}

#[test]
fn a_multiverse_branch_after_a_trailing_space_gets_no_double_space() {
    let mut app = ready("\"Once upon a time \" #1 [*]\n");
    let fx = press(&mut app, "B");
    let EngineRequest::Explore { job, prompt, .. } = request(&fx).clone() else {
        panic!("an explore request");
    };
    assert_eq!(
        prompt, "Once upon a time",
        "the prompt's trailing space is trimmed"
    );
    let roots = vec![explored(" there", 0.5, 0.5, vec![])];
    engine(&mut app, EngineEvent::Explored { job, roots });
    press(&mut app, "enter");
    assert_eq!(
        app.loom.path_text(app.loom.cursor()).unwrap(),
        "Once upon a time there"
    );
}

#[test]
fn exact_duplicate_siblings_are_counted() {
    let app = ready("\"A\" #1\n  \" b\" #2\n  \" c\" #3\n  \" b\" #4\n");
    let count = |id| tloom::app::siblings::duplicates(&app, NodeId(id));
    assert_eq!((count(2), count(3), count(4)), (2, 1, 2));
}

#[test]
fn exact_duplicate_leaves_fold_into_the_first_and_ones_worked_on_stay() {
    let mut app = ready(
        "\"A\" #1 [*]\n  \" b\" #2\n  \" c\" #3\n  \" b\" #4\n  \" b\" #5 [b]\n  \" b\" #6\n    \" d\" #7\n  \" c\" #8\n",
    );
    // #4 and #8 fold; #5 is bookmarked and #6 has a child, so they stay rows of their own.
    let shown = |app: &App| app.shown_children(NodeId(1));
    assert_eq!(
        shown(&app),
        vec![NodeId(2), NodeId(3), NodeId(5), NodeId(6)]
    );
    assert_eq!(tloom::app::siblings::duplicates(&app, NodeId(2)), 4);
    let mut term =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(100, 30)).expect("terminal");
    term.draw(|f| tloom::ui::draw(f, &app)).expect("draw");
    let screen: String = term
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(screen.contains("×4 same text"), "{screen}");
    // Rows are counted after folding: the third is #5.
    press(&mut app, "3");
    assert_eq!(app.loom.cursor(), NodeId(5));
    // Archiving the first makes the next duplicate its row; the tree itself is unchanged.
    app.loom.set_archived(NodeId(2), true).expect("archive");
    assert_eq!(
        shown(&app),
        vec![NodeId(3), NodeId(4), NodeId(5), NodeId(6)]
    );
    assert_eq!(app.loom.children(NodeId(1)).len(), 6);
}

#[test]
fn intervention_bits_count_each_scored_token_once_in_the_node_it_starts_in() {
    let mut app = ready(STORY);
    press(&mut app, "l l");
    assert_eq!(
        tloom::app::predictor::path_bits(&app, NodeId(4)),
        Some((0.0, None)),
        "all hand-written, not yet scored"
    );
    let fx = press(&mut app, "S");
    let EngineRequest::Score { job, .. } = request(&fx).clone() else {
        panic!("a score request");
    };
    let probs = [0.15f64, 0.5, 0.9, 0.05, 0.3, 0.001, 0.2];
    let texts = ["Once", " upon", " a", " time,", " a", " cat", " sat."];
    let tokens = texts
        .iter()
        .zip(probs)
        .map(|(t, p)| token(t, p as f32, &[]))
        .collect();
    engine(&mut app, EngineEvent::Scored { job, tokens });
    // " time," spans nodes 1 and 2 but is one token: counted once.
    let expected: f64 = -probs.iter().map(|p| p.log2()).sum::<f64>();
    let (selection, intervention) = tloom::app::predictor::path_bits(&app, NodeId(4)).unwrap();
    assert_eq!(selection, 0.0);
    let got = intervention.unwrap();
    assert!((got - expected).abs() < 1e-3, "{got} vs {expected}");
    // The palette's stats command reports the same number.
    press(&mut app, ":");
    type_text(&mut app, "stats");
    press(&mut app, "enter");
    let said = app.status.as_ref().unwrap().text.clone();
    assert!(
        said.contains(&format!("intervention {expected:.1} bits")),
        "{said}"
    );
    // ... and opens the stats panel, whose rows add up to it node by node.
    assert!(matches!(app.mode, Mode::Stats { .. }));
    let report = tloom::app::path_report::path_report(&app, NodeId(4)).unwrap();
    let per_node: f64 = report
        .rows
        .iter()
        .map(|r| match r.intervention {
            tloom::app::predictor::HumanScore::Scored { bits, .. } => bits,
            _ => 0.0,
        })
        .sum();
    assert!(
        (per_node - expected).abs() < 1e-3,
        "{per_node} vs {expected}"
    );
    assert_eq!(report.human_tokens, texts.len());
    let per_token = report.intervention_per_token().unwrap();
    assert!((per_token - expected / texts.len() as f64).abs() < 1e-6);
}

#[test]
fn the_multiverse_shape_comes_from_the_config_clamped_to_sane_bounds() {
    let mut app = ready(STORY);
    app.config.ui.multiverse_depth = 5;
    app.config.ui.multiverse_width = 99;
    app.config.ui.multiverse_cutoff = 0.2;
    let fx = press(&mut app, "B");
    let EngineRequest::Explore {
        depth,
        width,
        cutoff,
        ..
    } = request(&fx).clone()
    else {
        panic!("an explore request");
    };
    assert_eq!((depth, width, cutoff), (5, 16, 0.2));
}

#[test]
fn branches_still_being_written_are_not_called_copies() {
    let mut app = ready("\"A\" #1 [*]\n");
    app.sampling.n = 2;
    let fx = press(&mut app, "g");
    let EngineRequest::Expand(req) = request(&fx) else {
        panic!("not an expand request");
    };
    let job = req.job;
    for branch in 0..2 {
        engine(
            &mut app,
            EngineEvent::Token {
                job,
                branch,
                token: token(" The", 0.5, &[]),
            },
        );
    }
    let kids = app.loom.children(NodeId(1)).to_vec();
    assert_eq!(kids.len(), 2);
    // Both start " The" while streaming: no "×2 same text" yet.
    assert_eq!(tloom::app::siblings::duplicates(&app, kids[0]), 1);
    engine(&mut app, EngineEvent::JobFinished { job });
    // Finished and still alike: now they are copies.
    assert_eq!(tloom::app::siblings::duplicates(&app, kids[0]), 2);
}

#[test]
fn the_sampled_token_has_a_row_even_outside_the_recorded_top() {
    let mut app = ready("\"A\" #1 [*]\n");
    let mut t = token(" rare", 0.01, &[(" the", 0.6), (" a", 0.3)]);
    // The backend recorded only the top two: the sampled token is not among them.
    t.top.retain(|a| a.text != " rare");
    let node = generated(&mut app, vec![t]);
    let alts = tloom::app::predictor::alternatives(&app, node, 0);
    let texts: Vec<(&str, bool)> = alts
        .iter()
        .map(|(a, same)| (a.text.as_str(), *same))
        .collect();
    assert_eq!(texts, [(" the", false), (" a", false), (" rare", true)]);
}

#[test]
fn the_sibling_count_is_of_the_siblings_shown_and_says_how_many_are_archived() {
    let mut app = ready("\"A\" #1\n  \" b\" #2 [*]\n  \" c\" #3 [x]\n  \" d\" #4\n");
    let shown = screen(&app, 120, 40);
    assert!(shown.contains("1/2 (+1 archived)"), "{shown}");
    app.show_archived = true;
    let shown = screen(&app, 120, 40);
    assert!(shown.contains("· 1/3 ·"), "{shown}");
}
