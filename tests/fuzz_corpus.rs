//! The fuzz targets' kept corpus (fuzz/corpus/<target>/, grown by `cargo fuzz run` and
//! holding every input that once crashed) replayed through the same entry points on every
//! test run, plus a short smoke run of deterministic mutations of each input: truncations
//! and byte flips. A panic here is a bug found by fuzzing coming back.

use std::path::Path;

type Target = fn(&[u8]);

const TARGETS: &[(&str, Target)] = &[
    ("tree_file", tloom::fuzzing::tree_file),
    ("importers", tloom::fuzzing::importers),
    ("sse_stream", tloom::fuzzing::sse_stream),
    ("config", tloom::fuzzing::config),
    ("gguf_header", tloom::fuzzing::gguf_header),
];

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut inputs: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("a corpus entry").path();
            let bytes = std::fs::read(&path).expect("read a corpus input");
            (path.display().to_string(), bytes)
        })
        .collect();
    inputs.sort();
    inputs
}

const STRUCTURAL: &[u8] = b"{}[]\":,\\\n0-e\xff";

/// A few hundred variants of an input: cut at evenly spaced points, and single bytes
/// replaced by structural characters.
fn mutations(input: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let step = (input.len() / 64).max(1);
    for cut in (0..input.len()).step_by(step) {
        out.push(input[..cut].to_vec());
    }
    for (i, at) in (0..input.len()).step_by(step).enumerate() {
        let mut flipped = input.to_vec();
        flipped[at] = STRUCTURAL[i % STRUCTURAL.len()];
        out.push(flipped);
    }
    out
}

#[test]
fn every_kept_fuzz_input_and_its_mutations_run_without_a_panic() {
    for (target, run) in TARGETS {
        let inputs = corpus(target);
        assert!(!inputs.is_empty(), "fuzz/corpus/{target} is empty");
        for (name, bytes) in &inputs {
            let caught = std::panic::catch_unwind(|| run(bytes));
            assert!(caught.is_ok(), "{target} panics on {name}");
            for (i, variant) in mutations(bytes).iter().enumerate() {
                let caught = std::panic::catch_unwind(|| run(variant));
                assert!(caught.is_ok(), "{target} panics on mutation {i} of {name}");
            }
        }
    }
}

#[test]
fn the_seed_inputs_are_accepted_so_the_targets_reach_past_parsing() {
    let tree_files = corpus("tree_file");
    for seed in ["small.json", "crash-float-roundtrip.json"] {
        let (name, bytes) = tree_files
            .iter()
            .find(|(n, _)| n.ends_with(seed))
            .unwrap_or_else(|| panic!("fuzz/corpus/tree_file/{seed} is kept"));
        assert!(
            tloom::store::load_bytes(Path::new("x.json"), bytes).is_ok(),
            "{name} loads"
        );
    }
    for (name, bytes) in corpus("importers")
        .iter()
        .filter(|(n, _)| n.contains("export-pyloom") || n.contains("export-openloom"))
    {
        assert!(
            tloom::store::import::import(bytes, None).is_ok(),
            "{name} does not import"
        );
    }
}
