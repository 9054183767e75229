//! `tloom generate`: expand a node with the configured (or given) backend and add the
//! continuations as its children, exactly as the terminal UI would.

use super::args::GenerateArgs;
use super::error::{CliError, CliResult, code};
use super::session::{change_loom, pick_node};
use crate::engine::{EngineHandle, ModelDescription};
use crate::session::backends::{BackendChoice, loader_for};
use crate::session::config::{self, Config};
use crate::session::jobs::Jobs;
use crate::session::{Outcome, fold, start_expansion};
use crate::tree::{Loom, Node, NodeId, Origin};
use serde_json::json;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::mpsc;

pub fn generate(
    args: GenerateArgs,
    threads: Option<usize>,
    config_file: Option<&Path>,
) -> CliResult {
    let (config, warnings) =
        config::load(config_file).map_err(|e| CliError::new(code::CONFIG, e))?;
    for w in warnings {
        eprintln!("tloom: {w}");
    }
    let choice = BackendChoice {
        name: args.backend.backend.clone(),
        base_url: args.backend.base_url.clone(),
        model: args.backend.model.clone(),
        tokenizer: args.tokenizer.clone(),
        threads,
    };
    let params = args.sampling.apply(&config.sampling);
    config::check_sampling(&params)
        .map_err(|e| CliError::usage(format!("bad sampling value: {e}")))?;
    let path = args.file.file.clone();
    let children = change_loom(&path, |loom| {
        let node = pick_node(loom, args.node)?;
        let ids = run_engine(loom, node, &config, &choice, &params)?;
        Ok(ids
            .into_iter()
            .filter_map(|id| loom.get(id).map(|n| (id, n.clone())))
            .collect::<Vec<_>>())
    })?;
    print_children(&children, args.json);
    Ok(())
}

/// Generates under `node` as the TUI does (the session's placeholders and fold), waiting
/// for the job to end; returns the branches that got text.
fn run_engine(
    loom: &mut Loom,
    node: NodeId,
    config: &Config,
    choice: &BackendChoice,
    params: &crate::engine::SamplingParams,
) -> CliResult<Vec<NodeId>> {
    let (backend, loader) =
        loader_for(config, choice).map_err(|e| CliError::new(code::USAGE, e))?;
    let mut jobs = Jobs::default();
    let loading = ModelDescription {
        model: "(loading)".into(),
        backend,
        context_length: 0,
    };
    let expansion = start_expansion(
        loom,
        &mut jobs,
        node,
        params,
        &loading,
        config.ui.trim_prompt,
        0,
    )
    .map_err(|e| CliError::new(code::DATA, e))?;
    let (tx, rx) = mpsc::channel();
    let engine = EngineHandle::spawn(loader, Box::new(move |e| drop(tx.send(e)))).map_err(|e| {
        CliError::new(
            code::FAILURE,
            format!("cannot start the engine thread: {e}"),
        )
    })?;
    engine.send(expansion.request);
    let progress = std::io::stderr().is_terminal();
    let mut model: Option<ModelDescription> = None;
    let mut kept = None;
    'events: for event in rx.iter() {
        for outcome in fold(loom, &mut jobs, model.as_ref(), 0, event) {
            match outcome {
                Outcome::Loading { progress: f, step } if progress => {
                    eprint!("\r{:<72}", format!("{:>3.0}% {step}", f * 100.0));
                }
                Outcome::Ready(desc) => {
                    if progress {
                        eprint!("\r{:<72}\r", "");
                    }
                    model = Some(desc);
                }
                Outcome::LoadFailed(message) => {
                    return Err(CliError::new(
                        code::UNAVAILABLE,
                        format!("the model did not load: {message}"),
                    ));
                }
                Outcome::Notice(_, text) => eprintln!("tloom: {text}"),
                Outcome::ExpansionEnded {
                    error: Some(error), ..
                } => {
                    return Err(CliError::new(
                        code::UNAVAILABLE,
                        format!("generation failed: {error}"),
                    ));
                }
                Outcome::ExpansionEnded { kept: ids, .. } => {
                    kept = Some(ids);
                    break 'events;
                }
                _ => {}
            }
        }
    }
    engine.shutdown();
    kept.ok_or_else(|| {
        CliError::new(
            code::UNAVAILABLE,
            "the engine stopped before the generation ended",
        )
    })
}

fn print_children(children: &[(NodeId, Node)], as_json: bool) {
    let generation = |node: &Node| match &node.origin {
        Origin::Model(g) => Some(g.clone()),
        _ => None,
    };
    if as_json {
        let children: Vec<_> = children
            .iter()
            .map(|(id, node)| {
                let g = generation(node);
                let tokens: Vec<_> = node
                    .tokens
                    .iter()
                    .flatten()
                    .map(|t| {
                        json!({"id": t.id, "text": t.text, "logprob": finite(t.logprob),
                               "top": t.top.iter().map(|a| json!({"id": a.id, "text": a.text, "logprob": finite(a.logprob)})).collect::<Vec<_>>()})
                    })
                    .collect();
                json!({
                    "id": id.to_string(),
                    "text": node.text,
                    "tokens": tokens,
                    "finish_reason": g.as_ref().and_then(|g| g.finish.clone()),
                    "seed": g.as_ref().map(|g| g.seed),
                    "mean_logprob": g.as_ref().and_then(|g| g.mean_logprob),
                })
            })
            .collect();
        println!("{:#}", json!({ "children": children }));
    } else {
        for (id, node) in children {
            let reason = generation(node).and_then(|g| g.finish);
            let reason = reason.as_deref().unwrap_or("?");
            println!("--- node {id} ({reason})\n{}", node.text);
        }
    }
}

fn finite(x: f32) -> serde_json::Value {
    if x.is_finite() {
        json!(x)
    } else {
        serde_json::Value::Null
    }
}
