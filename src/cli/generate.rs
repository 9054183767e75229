//! `tloom generate`: expand a node with the configured (or given) backend and add the
//! continuations as its children, exactly as the terminal UI would.

use super::args::GenerateArgs;
use super::error::{CliError, CliResult, code};
use super::session::{change_loom, pick_node};
use crate::engine::{
    BranchSummary, CancelFlag, EngineEvent, EngineHandle, EngineRequest, ExpandRequest, JobId,
    ModelDescription, TokenInfo,
};
use crate::session::backends::{BackendChoice, loader_for};
use crate::session::config::{self, Config};
use crate::session::convert::{BranchText, finished, placeholder};
use crate::session::prompt::prompt_for;
use crate::tree::{Node, NodeId};
use serde_json::json;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::mpsc;

/// One branch as it came back.
struct Branch {
    node: Node,
    assembler: BranchText,
    tokens: Vec<TokenInfo>,
    summary: Option<BranchSummary>,
}

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
        name: args.backend.clone(),
        base_url: args.base_url.clone(),
        model: args.model.clone(),
        tokenizer: args.tokenizer.clone(),
        threads,
    };
    let params = args.sampling.apply(&config.sampling);
    config::check_sampling(&params)
        .map_err(|e| CliError::usage(format!("bad sampling value: {e}")))?;
    let path = args.file.file.clone();
    let (ids, branches) = change_loom(&path, |loom| {
        let node = pick_node(loom, args.node)?;
        let prompt = prompt_for(loom, node, config.ui.trim_prompt);
        let branches = run_engine(
            &config,
            &choice,
            &prompt.text,
            prompt.trimmed_spaces,
            &params,
        )?;
        let nodes = branches.iter().map(|b| b.node.clone()).collect();
        let ids = loom.add_children(node, nodes)?;
        Ok((ids, branches))
    })?;
    print_children(&ids, &branches, args.json);
    Ok(())
}

fn run_engine(
    config: &Config,
    choice: &BackendChoice,
    prompt: &str,
    trimmed_spaces: usize,
    params: &crate::engine::SamplingParams,
) -> CliResult<Vec<Branch>> {
    let (_, loader) = loader_for(config, choice).map_err(|e| CliError::new(code::USAGE, e))?;
    let (tx, rx) = mpsc::channel();
    let engine = EngineHandle::spawn(loader, Box::new(move |e| drop(tx.send(e)))).map_err(|e| {
        CliError::new(
            code::FAILURE,
            format!("cannot start the engine thread: {e}"),
        )
    })?;
    let job = JobId(1);
    engine.send(EngineRequest::Expand(ExpandRequest {
        job,
        prompt: prompt.to_string(),
        params: params.clone(),
        cancel: CancelFlag::new(),
    }));
    let progress = std::io::stderr().is_terminal();
    let mut branches: Vec<Branch> = Vec::new();
    let mut model: Option<ModelDescription> = None;
    for event in rx.iter() {
        match event {
            EngineEvent::Loading { progress: f, step } if progress => {
                eprint!("\r{:<72}", format!("{:>3.0}% {step}", f * 100.0));
            }
            EngineEvent::Loading { .. } => {}
            EngineEvent::Ready(desc) => {
                if progress {
                    eprint!("\r{:<72}\r", "");
                }
                branches = (0..params.n)
                    .map(|i| Branch {
                        node: placeholder(&desc, params, i),
                        assembler: BranchText::new(trimmed_spaces),
                        tokens: Vec::new(),
                        summary: None,
                    })
                    .collect();
                model = Some(desc);
            }
            EngineEvent::LoadFailed(message) => {
                return Err(CliError::new(
                    code::UNAVAILABLE,
                    format!("the model did not load: {message}"),
                ));
            }
            EngineEvent::PromptTrimmed {
                dropped_tokens,
                kept_tokens,
                ..
            } => eprintln!(
                "tloom: the prompt is longer than the context window: the first {dropped_tokens} tokens were left out ({kept_tokens} kept)"
            ),
            EngineEvent::Token { branch, token, .. } => {
                if let Some(b) = branches.get_mut(branch) {
                    let (text, record) = b.assembler.push(&token);
                    b.node.text.push_str(&text);
                    b.node.tokens.get_or_insert_with(Vec::new).push(record);
                    b.tokens.push(token);
                }
            }
            EngineEvent::BranchFinished {
                branch, summary, ..
            } => {
                if let Some(b) = branches.get_mut(branch) {
                    b.node.origin = finished(&b.node.origin, &summary);
                    b.summary = Some(summary);
                }
            }
            EngineEvent::JobFailed { error, .. } => {
                return Err(CliError::new(
                    code::UNAVAILABLE,
                    format!("generation failed: {error}"),
                ));
            }
            EngineEvent::JobFinished { .. } => break,
            _ => {}
        }
    }
    engine.shutdown();
    if model.is_none() {
        return Err(CliError::new(
            code::UNAVAILABLE,
            "the engine stopped before the model was ready",
        ));
    }
    Ok(branches)
}

fn print_children(ids: &[NodeId], branches: &[Branch], as_json: bool) {
    if as_json {
        let children: Vec<_> = ids
            .iter()
            .zip(branches)
            .map(|(id, b)| {
                let tokens: Vec<_> = b
                    .node
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
                    "text": b.node.text,
                    "tokens": tokens,
                    "finish_reason": b.summary.as_ref().map(|s| s.reason.as_str()),
                    "seed": b.summary.as_ref().map(|s| s.seed),
                    "mean_logprob": b.summary.as_ref().and_then(|s| s.mean_logprob),
                })
            })
            .collect();
        println!("{:#}", json!({ "children": children }));
    } else {
        for (id, b) in ids.iter().zip(branches) {
            let reason = b.summary.as_ref().map_or("?", |s| s.reason.as_str());
            println!("--- node {id} ({reason})\n{}", b.node.text);
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
