//! `tloom weave`: the automatic search, headless. Rounds of expansion below a node, scored
//! by a rubric, within a token budget; the tree is saved after every round, so a kill loses
//! at most the round in flight.

use super::args::WeaveArgs;
use super::error::{CliError, CliResult, code};
use super::session::{open_for_change, pick_node, save_loom};
use crate::engine::EngineHandle;
use crate::session::backends::{BackendChoice, loader_for};
use crate::session::config;
use crate::weave::engine::EngineExpander;
use crate::weave::{Options, Policy, Report, Rubric, run};
use serde_json::json;
use std::path::Path;
use std::sync::mpsc;

pub fn weave(args: WeaveArgs, threads: Option<usize>, config_file: Option<&Path>) -> CliResult {
    let (config, warnings) =
        config::load(config_file).map_err(|e| CliError::new(code::CONFIG, e))?;
    for w in warnings {
        eprintln!("tloom: {w}");
    }
    let rubric = match (&args.rubric, &args.score_regex) {
        (Some(path), _) => Rubric::load(path),
        (None, Some(re)) => Rubric::from_regex(re),
        (None, None) => Err("give --rubric FILE or --score-regex REGEX".into()),
    }
    .map_err(CliError::usage)?;
    let params = args.sampling.apply(&config.sampling);
    config::check_sampling(&params)
        .map_err(|e| CliError::usage(format!("bad sampling value: {e}")))?;
    if args.per_round == 0 {
        return Err(CliError::usage("--per-round must be at least 1"));
    }
    let per_parent = params.n * params.max_tokens;
    if args.budget_tokens < per_parent {
        return Err(CliError::usage(format!(
            "--budget-tokens {} is less than one expansion ({} branches x {} tokens = {per_parent})",
            args.budget_tokens, params.n, params.max_tokens
        )));
    }
    let choice = BackendChoice {
        name: args.backend.backend.clone(),
        base_url: args.backend.base_url.clone(),
        model: args.backend.model.clone(),
        tokenizer: None,
        threads,
    };
    let path = args.file.file.clone();
    let (_lock, mut loom) = open_for_change(&path)?;
    let root = pick_node(&loom, args.node)?;
    let (backend, loader) =
        loader_for(&config, &choice).map_err(|e| CliError::new(code::USAGE, e))?;
    let (tx, rx) = mpsc::channel();
    let engine = EngineHandle::spawn(loader, Box::new(move |e| drop(tx.send(e)))).map_err(|e| {
        CliError::new(
            code::FAILURE,
            format!("cannot start the engine thread: {e}"),
        )
    })?;
    let mut expander = EngineExpander::new(engine, rx, params, backend, config.ui.trim_prompt);
    let opts = Options {
        root,
        budget_tokens: args.budget_tokens,
        per_round: args.per_round,
        stop_on_pass: !args.no_stop,
        policy: Policy::default(),
    };
    let mut save = |loom: &crate::tree::Loom, report: &Report| -> Result<(), String> {
        let mut copy = loom.clone();
        save_loom(&path, &mut copy).map_err(|e| e.to_string())?;
        let best = report.best.as_ref().map_or("-".to_string(), |b| {
            format!("{:.3} (node {})", b.score, b.id)
        });
        eprintln!(
            "tloom: round {}: {} of {} tokens, {} nodes added, {} archived, best {best}",
            report.rounds,
            report.tokens_used,
            args.budget_tokens,
            report.nodes_added,
            report.archived
        );
        Ok(())
    };
    let result = run(&mut loom, &rubric, &mut expander, &opts, &mut save);
    expander.shutdown();
    // What the run made up to a failure stays (the last round is saved too).
    save_loom(&path, &mut loom)?;
    let report =
        result.map_err(|e| CliError::new(code::FAILURE, format!("the weave stopped: {e}")))?;
    print_report(&report, args.json);
    Ok(())
}

fn print_report(report: &Report, as_json: bool) {
    if as_json {
        let best = report.best.as_ref().map(|b| {
            json!({"id": b.id.to_string(), "score": b.score, "text": b.text, "passes": b.passes})
        });
        let out = json!({
            "best": best,
            "tokens_used": report.tokens_used,
            "nodes_added": report.nodes_added,
            "rounds": report.rounds,
            "archived": report.archived,
        });
        println!("{out:#}");
        return;
    }
    println!(
        "{} rounds, {} tokens, {} nodes added, {} archived",
        report.rounds, report.tokens_used, report.nodes_added, report.archived
    );
    if report.rounds == 0 && report.best.as_ref().is_some_and(|b| b.passes) {
        println!("the start already passes every regex of the rubric (--no-stop searches anyway)");
    }
    if let Some(b) = &report.best {
        let verdict = if b.passes { ", passes" } else { "" };
        println!(
            "best: node {} (score {:.3}{verdict})\n{}",
            b.id, b.score, b.text
        );
    }
}
