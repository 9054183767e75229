//! `tloom bench weave`: the weave against best-of-N sampling at the same token budget, on
//! goals a regex checks, with the local model; and how busy the weave keeps the engine.
//! Best-of-N draws `budget / (3 x max_tokens)` continuations of `3 x max_tokens` tokens
//! from the prompt (the length of a path three weave levels deep) and passes when any of
//! them matches; the weave expands `n = 3` children of `max_tokens` per node, two nodes a
//! round, and stops at its first passing node, once with the goal's regex alone as its
//! rubric and once with half a point for words on the way (a rubric author's hints). A run
//! passes when any path it made matches the goal.

use crate::engine::local::{self, LocalModelSpec};
use crate::engine::{EngineHandle, SamplingParams};
use crate::tree::Loom;
use crate::weave::engine::EngineExpander;
use crate::weave::{Expander, Options, Policy, Rubric, run};
use serde::Serialize;
use std::sync::mpsc;
use std::time::Instant;

/// A prompt, the regex a continuation must reach, and words on the way there (what a
/// rubric's author would give partial credit for).
struct Goal {
    name: &'static str,
    prompt: &'static str,
    regex: &'static str,
    hints: &'static str,
}

const GOALS: [Goal; 3] = [
    Goal {
        name: "lighthouse-island",
        prompt: "The old lighthouse keeper climbed the stairs and saw",
        regex: r"(?i)\bisland\b",
        hints: r"(?i)\b(sea|sailing|harbou?r|waves?|ocean|boat|ship)\b",
    },
    Goal {
        name: "soup-basil",
        prompt: "Recipe for a simple tomato soup.\n\nIngredients:",
        regex: r"(?i)\bbasil\b",
        hints: r"(?i)\b(herbs?|garlic|oregano|leaves|thyme|parsley)\b",
    },
    Goal {
        name: "detective-police",
        prompt: "The detective looked at the suspect and said,",
        regex: r"(?i)\bpolice\b",
        hints: r"(?i)\b(crime|victim|scene|case|evidence|arrest(ed)?)\b",
    },
];

const MAX_TOKENS: usize = 24;
const WIDTH: usize = 3;

#[derive(Debug, Clone, Serialize)]
pub struct GoalResult {
    pub goal: String,
    pub seeds: usize,
    pub budget_tokens: usize,
    /// The weave with the goal's regex alone as its rubric.
    pub weave_pass_rate: f64,
    /// The weave with the goal's regex and half a point for the hint words.
    pub hinted_weave_pass_rate: f64,
    pub best_of_n_pass_rate: f64,
    /// Best-of-N's N.
    pub n: usize,
    pub weave_mean_tokens: f64,
    pub weave_tok_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct WeaveBench {
    pub goals: Vec<GoalResult>,
    /// The engine's rate for one expansion of `WIDTH` branches (the weave's batch).
    pub batch_tok_s: f64,
}

impl WeaveBench {
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "weave against best-of-N at the same token budget ({} seeds a goal)\n",
            self.goals.first().map_or(0, |g| g.seeds)
        );
        for g in &self.goals {
            out += &format!(
                "  {:<20} budget {:>4}: weave {:>5.1}% (mean {:>5.1} tokens), with hints {:>5.1}%, best-of-{} {:>5.1}%\n",
                g.goal,
                g.budget_tokens,
                100.0 * g.weave_pass_rate,
                g.weave_mean_tokens,
                100.0 * g.hinted_weave_pass_rate,
                g.n,
                100.0 * g.best_of_n_pass_rate
            );
        }
        let weave_rate =
            self.goals.iter().map(|g| g.weave_tok_s).sum::<f64>() / self.goals.len().max(1) as f64;
        out += &format!(
            "engine: {:.1} tok/s during weaves against {:.1} tok/s for one batch of {WIDTH} ({:.2}x)\n",
            weave_rate,
            self.batch_tok_s,
            weave_rate / self.batch_tok_s.max(1e-9)
        );
        out
    }
}

/// Runs the benchmark: `seeds` runs of each goal and method at `budget` tokens each.
pub fn run_bench(spec: LocalModelSpec, seeds: usize, budget: usize) -> Result<WeaveBench, String> {
    let (tx, rx) = mpsc::channel();
    let engine = EngineHandle::spawn(local::loader(spec), Box::new(move |e| drop(tx.send(e))))
        .map_err(|e| format!("cannot start the engine thread: {e}"))?;
    let params = |n: usize, max_tokens: usize, seed: u64| SamplingParams {
        n,
        max_tokens,
        seed,
        ..SamplingParams::default()
    };
    let mut expander = EngineExpander::new(
        engine,
        rx,
        params(WIDTH, MAX_TOKENS, 0),
        "local".into(),
        true,
    );
    // The engine's own rate for the weave's batch (after a first run that loads the model).
    let mut batch_tokens = 0;
    let mut batch_secs = 0.0;
    for round in 0..4 {
        let mut loom = Loom::new(GOALS[0].prompt);
        let root = loom.root();
        expander.set_params(params(WIDTH, MAX_TOKENS, 100 + round as u64));
        let t = Instant::now();
        let added = expander.expand(&mut loom, &[root], 1)?;
        if round > 0 {
            batch_secs += t.elapsed().as_secs_f64();
            batch_tokens += added.tokens;
        }
    }
    let long = 3 * MAX_TOKENS;
    let n = (budget / long).max(1);
    let mut goals = Vec::new();
    for goal in &GOALS {
        let re = regex::Regex::new(goal.regex).map_err(|e| e.to_string())?;
        let reached = |loom: &Loom| {
            loom.all_nodes()
                .into_iter()
                .any(|id| loom.path_text(id).is_ok_and(|t| re.is_match(&t)))
        };
        let plain = Rubric::from_regex(goal.regex)?;
        let hinted = Rubric::parse(
            &format!(
                "[[regex]]\npattern = '{}'\n[[regex]]\npattern = '{}'\nweight = 0.5\n",
                goal.regex, goal.hints
            ),
            goal.name,
        )?;
        let (mut weave_passes, mut hinted_passes, mut bon_passes, mut weave_tokens) = (0, 0, 0, 0);
        let mut weave_secs = 0.0;
        for seed in 0..seeds as u64 {
            for (rubric, passes) in [(&plain, &mut weave_passes), (&hinted, &mut hinted_passes)] {
                let mut loom = Loom::new(goal.prompt);
                let root = loom.root();
                expander.set_params(params(WIDTH, MAX_TOKENS, 1000 * seed));
                let opts = Options {
                    root,
                    budget_tokens: budget,
                    per_round: 2,
                    stop_on_pass: true,
                    policy: Policy::default(),
                };
                let t = Instant::now();
                let report = run(&mut loom, rubric, &mut expander, &opts, &mut |_, _| Ok(()))?;
                if std::ptr::eq(rubric, &plain) {
                    weave_secs += t.elapsed().as_secs_f64();
                    weave_tokens += report.tokens_used;
                }
                *passes += usize::from(reached(&loom));
            }
            let mut loom = Loom::new(goal.prompt);
            let root = loom.root();
            expander.set_params(params(n, long, 1000 * seed + 500));
            expander.expand(&mut loom, &[root], 1)?;
            bon_passes += usize::from(reached(&loom));
        }
        let s = seeds.max(1) as f64;
        goals.push(GoalResult {
            goal: goal.name.into(),
            seeds,
            budget_tokens: budget,
            weave_pass_rate: weave_passes as f64 / s,
            hinted_weave_pass_rate: hinted_passes as f64 / s,
            best_of_n_pass_rate: bon_passes as f64 / s,
            n,
            weave_mean_tokens: weave_tokens as f64 / s,
            weave_tok_s: weave_tokens as f64 / weave_secs.max(1e-9),
        });
    }
    expander.shutdown();
    Ok(WeaveBench {
        goals,
        batch_tok_s: batch_tokens as f64 / batch_secs.max(1e-9),
    })
}
