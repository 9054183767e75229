//! `tloom generate` as the real binary on a tiny model the test writes: children are added
//! as one batch with their provenance and tokens, seeds reproduce, failures leave the file.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::Path;
use std::process::{Command, Output};
use tloom::engine::tiny_model::TinyModel;

/// Run tloom with an empty config file, so the user's own config cannot interfere.
fn tloom(args: &[&str]) -> Output {
    let config =
        std::env::temp_dir().join(format!("tloom-empty-config-{}.toml", std::process::id()));
    std::fs::write(&config, "").unwrap();
    Command::new(env!("CARGO_BIN_EXE_tloom"))
        .args(args)
        .env("TLOOM_CONFIG", &config)
        .output()
        .unwrap()
}

fn setup(dir: &Path) -> (String, String) {
    let model = dir.join("tiny.gguf");
    TinyModel::default().write(&model).unwrap();
    let file = dir.join("story.json");
    let out = tloom(&["new", file.to_str().unwrap(), "--prompt", "abc abc"]);
    assert!(out.status.success());
    (
        file.to_str().unwrap().into(),
        model.to_str().unwrap().into(),
    )
}

#[test]
fn generate_adds_n_children_with_provenance_and_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let (file, model) = setup(dir.path());
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "").unwrap();
    let run = |seed: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_tloom"))
            .args([
                "generate",
                &file,
                "-n",
                "3",
                "--max-tokens",
                "6",
                "--seed",
                seed,
                "--model",
                &model,
                "--json",
            ])
            .args(["--config", config.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let first = run("11");
    let children = first["children"].as_array().unwrap();
    assert_eq!(children.len(), 3);
    for child in children {
        let joined: String = child["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["text"].as_str().unwrap())
            .collect();
        assert_eq!(joined, child["text"].as_str().unwrap());
        assert!(["length", "eos", "stop"].contains(&child["finish_reason"].as_str().unwrap()));
    }
    let saved = tloom::store::load(Path::new(&file)).unwrap().loom;
    let root = saved.root();
    assert_eq!(saved.children(root).len(), 3);
    for (i, id) in saved.children(root).iter().enumerate() {
        let node = saved.node(*id).unwrap();
        let g = node.origin.generation().expect("model origin");
        assert_eq!(g.seed, 11 + i as u64);
        assert_eq!(g.model, "tiny.gguf");
        assert_eq!(g.params.max_tokens, 6);
        assert!(g.finish.is_some());
        assert_eq!(node.text, children[i]["text"].as_str().unwrap());
    }
    // One generation is one undo step in the UI; here, the same seed gives the same texts.
    let again = run("11");
    let texts = |v: &serde_json::Value| -> Vec<String> {
        v["children"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["text"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(texts(&first), texts(&again));
    assert_eq!(
        tloom::store::load(Path::new(&file))
            .unwrap()
            .loom
            .children(root)
            .len(),
        6
    );
}

#[test]
fn a_missing_backend_or_an_unreachable_server_fails_and_leaves_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (file, _) = setup(dir.path());
    let before = std::fs::read(&file).unwrap();
    let missing = tloom(&["generate", &file, "--config", "/nonexistent/config.toml"]);
    assert_eq!(
        missing.status.code(),
        Some(78),
        "a missing explicit config is a config error"
    );
    let out = tloom(&["generate", &file, "--backend", "nowhere"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no backend named \"nowhere\""));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let out = tloom(&[
        "generate",
        &file,
        "--base-url",
        &format!("http://127.0.0.1:{port}/v1"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(69),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains(&port.to_string()));
    let out = tloom(&["generate", &file, "--temperature", "-1"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read(&file).unwrap(), before);
}
