//! Curation metrics of a path (selection and intervention bits, generated vs kept), checked
//! against values computed independently: in the tree alone, and through `tloom stats` on a
//! tiny model written by the test.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use support::sample::{ARCHIVED, HOSTILE, KEPT, sample};
use tloom::engine::local::{LocalModel, LocalModelSpec};
use tloom::engine::tiny_model::TinyModel;
use tloom::tree::{Loom, Node, NodeId, Origin};

fn model_origin(loom: &Loom) -> Origin {
    loom.node(KEPT).unwrap().origin.clone()
}

#[test]
fn selection_bits_sum_log2_of_the_model_written_options_along_the_path() {
    let mut loom = sample();
    // Root -> KEPT was one of 2 model children (1 bit); HOSTILE is human-written (0 bits).
    let m = loom.path_metrics(HOSTILE).unwrap();
    assert_eq!(m.selection_bits, 1.0);
    assert_eq!(m.choices.len(), 1);
    assert_eq!((m.choices[0].node, m.choices[0].options), (KEPT, 2));
    assert_eq!(
        (m.nodes_generated, m.nodes_kept, m.nodes_archived),
        (2, 1, 1)
    );
    assert_eq!((m.tokens_generated, m.tokens_kept), (2, 2));
    let path = loom.path_text(HOSTILE).unwrap();
    assert_eq!(m.path_chars, path.chars().count());
    assert_eq!(m.model_chars, " had a secret.".chars().count());

    // Four model branches and one hand-written one under HOSTILE; choosing a model branch
    // adds log2(4) = 2 bits, choosing the human one adds nothing.
    let origin = model_origin(&loom);
    let picked: Vec<NodeId> = (0..4)
        .map(|i| {
            let node = Node::new(format!(" option {i}")).with_origin(origin.clone());
            loom.add_child_node(HOSTILE, node).unwrap()
        })
        .collect();
    let human = loom.add_child(HOSTILE, " by hand").unwrap();
    let m = loom.path_metrics(picked[2]).unwrap();
    assert!(
        (m.selection_bits - 3.0).abs() < 1e-12,
        "{}",
        m.selection_bits
    );
    assert_eq!((m.nodes_generated, m.nodes_kept), (6, 2));
    assert_eq!(loom.path_metrics(human).unwrap().selection_bits, 1.0);

    // An archived node still counts as an option it was chosen from.
    assert_eq!(loom.path_metrics(ARCHIVED).unwrap().selection_bits, 1.0);
    assert!(loom.path_metrics(NodeId(999)).is_none());
}

#[test]
fn editing_a_model_node_makes_its_text_human_written() {
    let mut loom = sample();
    assert_eq!(
        loom.authorship_spans(HOSTILE)
            .iter()
            .map(|(_, human)| *human)
            .collect::<Vec<_>>(),
        vec![true, false, true]
    );
    loom.set_text(KEPT, " had a secret!").unwrap();
    let spans = loom.authorship_spans(HOSTILE);
    assert_eq!(spans.len(), 1, "{spans:?}");
    assert_eq!(loom.path_metrics(HOSTILE).unwrap().model_chars, 0);
}

#[test]
fn tokens_belong_to_whoever_wrote_the_character_they_start_at() {
    let loom = sample();
    // "The lighthouse keeper" (21) + " had a secret." (14) + human text.
    let lens = [4, 17, 4, 10, 3, 5];
    let human = loom.human_tokens(HOSTILE, lens);
    assert_eq!(human, vec![true, true, false, false, true, true]);
    // A token that starts in the prompt and runs into the model's text is the human's.
    assert_eq!(
        loom.human_tokens(KEPT, [20, 5, 10]),
        vec![true, true, false]
    );
}

#[test]
fn intervention_bits_are_minus_log2_of_the_human_tokens_probability() {
    let half = 0.5f32.ln();
    let quarter = 0.25f32.ln();
    let bits = tloom::tree::intervention_bits([half, quarter]);
    assert!((bits - 3.0).abs() < 1e-6, "{bits}");
    assert_eq!(tloom::tree::intervention_bits([]), 0.0);
}

#[test]
fn tloom_stats_reports_the_paths_bits_scored_by_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny.gguf");
    TinyModel::default().write(&model).unwrap();
    let file = dir.path().join("s.json");
    let loom = sample();
    tloom::store::save(&file, &loom).unwrap();

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tloom"))
        .args([
            "stats",
            file.to_str().unwrap(),
            "--node",
            "4",
            "--json",
            "--model",
        ])
        .arg(&model)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    // Independently: score the path text, walk the tokens over the node texts, and sum the
    // logprobs of those that start inside a human-written node.
    let spec = LocalModelSpec {
        model: Some(model.clone()),
        ..LocalModelSpec::default()
    };
    let mut local = LocalModel::load(&spec, &mut |_, _| {}).unwrap();
    let path = loom.path_text(HOSTILE).unwrap();
    let tokens = local.score_text(&path, 0).unwrap();
    let root_len = loom.node(loom.root()).unwrap().text.chars().count();
    let kept_len = loom.node(KEPT).unwrap().text.chars().count();
    let model_range = root_len..root_len + kept_len;
    let (mut offset, mut sum, mut human) = (0usize, 0f64, 0usize);
    for t in &tokens {
        if !model_range.contains(&offset) {
            sum += f64::from(t.logprob);
            human += 1;
        }
        offset += t.text.chars().count();
    }
    assert_eq!(
        offset,
        path.chars().count(),
        "the tokens cover the path text"
    );
    let expected = -sum / std::f64::consts::LN_2;
    let got = json["intervention_bits"].as_f64().unwrap();
    assert!(got > 0.0);
    assert!((got - expected).abs() < 1e-3, "{got} vs {expected}");
    assert_eq!(json["human_tokens"].as_u64().unwrap() as usize, human);
    assert_eq!(json["path_tokens"].as_u64().unwrap() as usize, tokens.len());
    assert_eq!(json["selection_bits"].as_f64().unwrap(), 1.0);
    let per_token = json["selection_bits_per_token"].as_f64().unwrap();
    assert!((per_token - 1.0 / tokens.len() as f64).abs() < 1e-9);
    assert_eq!(json["nodes_generated"], 2);
    assert_eq!(json["nodes_kept"], 1);
    assert_eq!(json["nodes_archived"], 1);
    assert_eq!(json["tokens_kept"], 2);
    assert_eq!(json["nodes"], 2, "the subtree statistics are still there");

    // Without the model, the bits that need it are null and the rest stays.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tloom"))
        .args([
            "stats",
            file.to_str().unwrap(),
            "--node",
            "4",
            "--json",
            "--no-model",
        ])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["intervention_bits"].is_null());
    assert_eq!(json["selection_bits"].as_f64().unwrap(), 1.0);
}
