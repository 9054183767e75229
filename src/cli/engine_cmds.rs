//! Headless model commands (`tloom model ...`) and the engine benchmarks.

use super::args::{BenchArgs, BenchKind, ModelArgs, ModelCommand, SamplingArgs};
use super::error::{CliError, CliResult, code};
use super::{bench, bench_kernels, bench_session, bench_shapes, bench_tree, model};
use crate::engine::SamplingParams;
use crate::engine::local::{LocalModel, LocalModelSpec};

/// A failure from the engine layer, as a command error.
fn failed(code: u8) -> impl Fn(anyhow::Error) -> CliError {
    move |e| CliError::new(code, format!("{e:#}"))
}

/// The local model to use, from --model/--tokenizer and the global --threads.
pub fn spec(model: &ModelArgs, threads: Option<usize>) -> LocalModelSpec {
    LocalModelSpec {
        model: model.model.clone(),
        tokenizer: model.tokenizer.clone(),
        threads,
        ..LocalModelSpec::default()
    }
}

impl SamplingArgs {
    /// `base` with every option given on the command line applied over it. Without --seed
    /// a random seed is drawn (and recorded with each branch).
    pub fn apply(&self, base: &SamplingParams) -> SamplingParams {
        let mut p = base.clone();
        p.n = self.n.unwrap_or(p.n);
        p.max_tokens = self.max_tokens.unwrap_or(p.max_tokens);
        p.temperature = self.temperature.unwrap_or(p.temperature);
        p.top_p = self.top_p.unwrap_or(p.top_p);
        p.top_k = self.top_k.unwrap_or(p.top_k);
        p.min_p = self.min_p.unwrap_or(p.min_p);
        p.repetition_penalty = self.repetition_penalty.unwrap_or(p.repetition_penalty);
        p.seed = self.seed.unwrap_or_else(|| rand::random::<u32>() as u64);
        if !self.stop.is_empty() {
            p.stop = self.stop.clone();
        }
        p
    }
}

pub fn model_command(command: ModelCommand, threads: Option<usize>) -> CliResult {
    match command {
        ModelCommand::Fetch { name } => {
            let path = model::fetch(name.as_deref()).map_err(failed(code::UNAVAILABLE))?;
            println!("{}", path.display());
        }
        ModelCommand::List { json } => {
            let text = model::list(json).map_err(failed(code::FAILURE))?;
            println!("{}", text.trim_end());
        }
        ModelCommand::Info { path, json } => {
            let text = model::info(path.as_deref(), json).map_err(failed(code::DATA))?;
            println!("{}", text.trim_end());
        }
        ModelCommand::Tokenize {
            model: m,
            json,
            text,
        } => {
            let ids = model::tokenize(m.model.as_deref(), m.tokenizer.as_deref(), &text, json)
                .map_err(failed(code::DATA))?;
            println!("{ids}");
        }
        ModelCommand::Complete {
            model: m,
            sampling,
            json,
            text,
        } => {
            let params = sampling.apply(&SamplingParams::default());
            let out = model::complete(&spec(&m, threads), &text, &params, json)
                .map_err(failed(code::FAILURE))?;
            print!("{out}");
        }
    }
    Ok(())
}

pub fn bench_command(mut args: BenchArgs, threads: Option<usize>) -> CliResult {
    if let Some(name) = &args.shape {
        let shape = bench_shapes::shape(name).map_err(failed(code::USAGE))?;
        let path = bench_shapes::file(&shape, &mut |step| eprintln!("{step}"))
            .map_err(failed(code::FAILURE))?;
        if args.kind == BenchKind::ShapeFile {
            println!("{}", path.display());
            return Ok(());
        }
        args.model.model = Some(path);
    }
    match args.kind {
        BenchKind::ShapeFile => Err(CliError::new(
            code::USAGE,
            "bench shape-file needs --shape NAME (llama3-1b, qwen3-4b)".to_string(),
        )),
        BenchKind::Tree => bench_tree::run(args.json),
        // The UI's benchmark is the terminal UI's: the binary runs `tui::bench_ui::run`.
        BenchKind::Ui => Err(CliError::usage(
            "tloom bench ui measures the terminal UI: run it through the binary",
        )),
        BenchKind::Weave => {
            let result =
                super::bench_weave::run_bench(spec(&args.model, threads), args.runs.max(1), 360)
                    .map_err(|e| CliError::new(code::FAILURE, e))?;
            print_result(args.json, &result, result.to_text())
        }
        BenchKind::Kernels => {
            let result = bench_kernels::run(threads);
            print_result(args.json, &result, result.to_text())
        }
        BenchKind::Engine => {
            let opts = bench::BenchOptions {
                spec: spec(&args.model, threads),
                runs: args.runs.max(1),
                ..bench::BenchOptions::default()
            };
            let result = bench::run(&opts).map_err(failed(code::FAILURE))?;
            print_result(args.json, &result, result.to_text())
        }
        BenchKind::LoomSession => {
            let mut loaded =
                LocalModel::load(&spec(&args.model, threads), &mut model::progress_line)
                    .map_err(|e| CliError::new(code::UNAVAILABLE, e.to_string()))?;
            let result = bench_session::run(&mut loaded).map_err(failed(code::FAILURE))?;
            print_result(args.json, &result, result.to_text())
        }
    }
}

fn print_result(json: bool, value: &impl serde::Serialize, text: String) -> CliResult {
    if json {
        let out = serde_json::to_string_pretty(value)
            .map_err(|e| CliError::new(code::FAILURE, e.to_string()))?;
        println!("{out}");
    } else {
        print!("{text}");
    }
    Ok(())
}
