//! `tloom bench tree`: load, save, path text and search on a large synthetic loom.

use super::error::{CliError, CliResult, code};
use crate::store;
use crate::tree::{Loom, Node, NodeId, Query};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::time::{Duration, Instant};

/// The shape of a synthetic loom.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub nodes: usize,
    pub max_depth: usize,
    pub fan_out: usize,
    pub chars: usize,
}

impl Default for Shape {
    fn default() -> Self {
        Shape {
            nodes: 100_000,
            max_depth: 40,
            fan_out: 4,
            chars: 200,
        }
    }
}

const WORDS: &[&str] = &[
    "the", "lamp", "keeper", "sea", "light", "storm", "ship", "night", "harbour", "wind", "stone",
    "rope", "salt", "gull", "tide", "bell", "fog", "shore", "wave", "door",
];

/// A loom of `shape.nodes` nodes, at most `max_depth` deep and `fan_out` wide, each with
/// about `chars` characters of words. Deterministic for a seed. The word "lighthouse"
/// appears in one node in a thousand, for search benchmarks.
pub fn synthetic_loom(shape: Shape, seed: u64) -> Loom {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut loom = Loom::new(words(&mut rng, shape.chars, false));
    let mut open: Vec<(NodeId, usize)> = vec![(loom.root(), 0)];
    let mut built = 1;
    while built < shape.nodes && !open.is_empty() {
        // Prefer recent nodes so the tree grows deep, not just wide.
        let k = if rng.random_bool(0.7) {
            open.len() - 1 - rng.random_range(0..open.len().min(8))
        } else {
            rng.random_range(0..open.len())
        };
        let (parent, depth) = open[k];
        let text = words(&mut rng, shape.chars, built % 1000 == 0);
        let Ok(child) = loom.add_child_node(parent, Node::new(text)) else {
            break;
        };
        built += 1;
        if loom.children(parent).len() >= shape.fan_out {
            open.swap_remove(k);
        }
        if depth + 1 < shape.max_depth {
            open.push((child, depth + 1));
        }
    }
    loom.clear_history();
    loom
}

fn words(rng: &mut StdRng, chars: usize, marked: bool) -> String {
    let mut s = String::with_capacity(chars + 16);
    if marked {
        s.push_str(" lighthouse");
    }
    while s.len() < chars {
        s.push(' ');
        s.push_str(WORDS[rng.random_range(0..WORDS.len())]);
    }
    s
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn time<T>(repeat: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..repeat)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(f());
                start.elapsed()
            })
            .collect(),
    )
}

/// Run the tree benchmark and print its numbers.
pub fn run(json_out: bool) -> CliResult {
    let shape = Shape::default();
    let build_start = Instant::now();
    let loom = synthetic_loom(shape, 7);
    let build = build_start.elapsed();
    let deepest = loom
        .all_nodes()
        .into_iter()
        .max_by_key(|id| loom.depth(*id))
        .unwrap_or(loom.root());
    let dir = tempfile_dir()?;
    let path = dir.join("bench.json");
    let save = time(5, || store::save(&path, &loom).map_err(|e| e.to_string()));
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let load = time(5, || {
        store::load(&path)
            .map(|o| o.loom.len())
            .map_err(|e| e.to_string())
    });
    let path_text = time(201, || loom.path_text(deepest).map(|t| t.len()));
    let query = Query::substring("lighthouse");
    let hits = loom.search_nodes(&query).map(|h| h.len()).unwrap_or(0);
    let search = time(11, || loom.search_nodes(&query).map(|h| h.len()));
    let _ = std::fs::remove_dir_all(&dir);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    if json_out {
        let value = json!({
            "nodes": loom.len(), "depth": loom.depth(deepest), "file_mb": size as f64 / 1e6,
            "build_ms": ms(build), "save_ms": ms(save), "load_ms": ms(load),
            "path_text_deepest_ms": ms(path_text), "search_ms": ms(search), "search_hits": hits,
        });
        println!("{value:#}");
    } else {
        println!(
            "tree: {} nodes, depth {}, {:.1} MB on disk",
            loom.len(),
            loom.depth(deepest),
            size as f64 / 1e6
        );
        println!("  build in memory          {:>9.1} ms", ms(build));
        println!(
            "  save (atomic, fsync)     {:>9.1} ms   target < 1000",
            ms(save)
        );
        println!(
            "  load (parse + check)     {:>9.1} ms   target < 1000",
            ms(load)
        );
        println!(
            "  path text, deepest node  {:>9.3} ms   target < 1",
            ms(path_text)
        );
        println!(
            "  word search ({hits} hits)    {:>9.1} ms   target < 100",
            ms(search)
        );
    }
    Ok(())
}

fn tempfile_dir() -> CliResult<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("tloom-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| CliError::new(code::IO, format!("{}: cannot create: {e}", dir.display())))?;
    Ok(dir)
}
