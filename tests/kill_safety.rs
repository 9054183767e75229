//! Crash safety of the real binary: a scripted session of `tloom add` commands is SIGKILLed
//! at random moments, hundreds of times. After every kill the file must load and hold every
//! add that had finished, whole; an add that was cut off is either wholly there or absent.
#![allow(clippy::unwrap_used)]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;
use tloom::store;

const KILLS: usize = 200;

fn tloom() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tloom"))
}

/// A file big enough (about 2 MB) that a save takes long enough to be cut in the middle.
fn make_big_file(path: &Path) {
    let mut loom = tloom::tree::Loom::new("The kill test.");
    let filler = "lorem ipsum dolor sit amet ".repeat(40);
    let mut parent = loom.root();
    for i in 0..2000 {
        let id = loom.add_child(parent, &format!("{filler}{i}")).unwrap();
        if i % 50 == 0 {
            parent = id;
        }
    }
    store::save(path, &loom).unwrap();
}

fn add_command(path: &Path, batch: usize) -> Command {
    let mut cmd = tloom();
    cmd.arg("add")
        .arg(path)
        .args(["--node", "1", "--text"])
        .arg(format!("batch {batch}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// The batch numbers present as children of the root; panics on a damaged text.
fn batches_in(path: &Path) -> Vec<usize> {
    let opened =
        store::load(path).unwrap_or_else(|e| panic!("the file does not load after a kill: {e}"));
    let loom = opened.loom;
    loom.check_invariants().unwrap();
    loom.children(loom.root())
        .iter()
        .filter_map(|c| loom.get(*c))
        .filter_map(|n| n.text.strip_prefix("batch "))
        .map(|n| n.parse().unwrap_or_else(|_| panic!("a torn text: {n:?}")))
        .collect()
}

#[test]
fn sigkill_at_random_moments_never_loses_a_finished_add_or_damages_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("killed.json");
    make_big_file(&path);
    // How long one add takes here, so kills land before, during and after its save.
    let mut durations = Vec::new();
    for batch in 0..5 {
        let start = Instant::now();
        assert!(add_command(&path, batch).status().unwrap().success());
        durations.push(start.elapsed());
    }
    durations.sort();
    let typical = durations[2];
    let mut finished: Vec<usize> = (0..5).collect();
    let seed = std::env::var("TLOOM_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    eprintln!("kill test: seed {seed}, one add takes about {typical:?}");
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut kills, mut batch) = (0, 5);
    let started = Instant::now();
    while kills < KILLS {
        assert!(batch < KILLS * 4, "too few commands were cut off by a kill");
        let mut child = add_command(&path, batch).spawn().unwrap();
        let delay = typical.mul_f64(rng.random_range(0.0..1.3));
        std::thread::sleep(delay);
        let _ = child.kill();
        let status = child.wait().unwrap();
        if status.success() {
            finished.push(batch);
        } else {
            kills += 1;
        }
        let present = batches_in(&path);
        for b in &finished {
            assert!(
                present.contains(b),
                "batch {b} finished before the kill of batch {batch} but is missing (seed {seed})"
            );
        }
        assert!(present.iter().all(|b| *b <= batch));
        batch += 1;
    }
    eprintln!(
        "kill test: {kills} kills in {batch} commands, {} finished, {:?}",
        finished.len(),
        started.elapsed()
    );
    let leftovers = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .count();
    eprintln!("kill test: {leftovers} temporary files left by killed saves");
    // The backup of the previous version loads too, and the next command works normally.
    store::load(&store::atomic::backup_path(&path)).unwrap();
    assert!(add_command(&path, batch).status().unwrap().success());
    assert!(batches_in(&path).contains(&batch));
}
