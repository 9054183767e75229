//! `tloom model fetch | list | info | tokenize | complete`: the built-in models and any GGUF
//! file, headless.

use crate::engine::generate::Generation;
use crate::engine::gguf_info::{GgufInfo, read_content};
use crate::engine::local::{LocalModelSpec, generate};
use crate::engine::model_store;
use crate::engine::protocol::SamplingParams;
use crate::engine::tokenizer::TextTokenizer;
use anyhow::{Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Fetches a built-in model (the default one when `name` is None) unless present, reporting
/// progress on stderr.
pub fn fetch(name: Option<&str>) -> Result<PathBuf> {
    let model = match name {
        None => &model_store::DEFAULT_MODEL,
        Some(n) => model_store::builtin(n).with_context(|| {
            format!(
                "there is no built-in model called `{n}` (built in: {}); pass a GGUF path \
                 with --model instead",
                model_store::builtin_names()
            )
        })?,
    };
    if let Some(path) = model.installed() {
        eprintln!("{} is already at {}", model.name, path.display());
        return Ok(path);
    }
    let dest = model_store::models_dir()?;
    let path = model.fetch("python3", &dest, &mut progress_line)?;
    eprintln!();
    Ok(path)
}

/// `tloom model list [--json]`: the built-in models and where each is cached.
pub fn list(json: bool) -> Result<String> {
    let rows: Vec<serde_json::Value> = model_store::BUILTIN_MODELS
        .iter()
        .map(|m| {
            serde_json::json!({
                "name": m.name,
                "default": m.name == model_store::DEFAULT_MODEL.name,
                "file": m.file,
                "bytes": m.size,
                "licence": m.licence,
                "about": m.about,
                "cached": m.installed(),
            })
        })
        .collect();
    if json {
        return Ok(serde_json::to_string_pretty(&rows)?);
    }
    let mut out = String::new();
    for m in &model_store::BUILTIN_MODELS {
        let default = if m.name == model_store::DEFAULT_MODEL.name {
            " (default)"
        } else {
            ""
        };
        let cached = match m.installed() {
            Some(p) => format!("cached at {}", p.display()),
            None => format!("not cached: tloom model fetch {}", m.name),
        };
        out += &format!(
            "{}{default}\n  {}\n  {} MB, licence: {}\n  {cached}\n",
            m.name,
            m.about,
            m.size / 1_000_000,
            m.licence
        );
    }
    Ok(out)
}

/// Prints `[ 42%] step` over itself on stderr.
pub fn progress_line(fraction: f32, step: &str) {
    use std::io::IsTerminal;
    use std::sync::Mutex;
    let mut err = std::io::stderr();
    if err.is_terminal() {
        let _ = write!(err, "\r[{:>3.0}%] {step:<60}", fraction * 100.0);
        let _ = err.flush();
        return;
    }
    // A log, not a terminal: one line per step, not one per percent.
    static LAST: Mutex<String> = Mutex::new(String::new());
    if let Ok(mut last) = LAST.lock()
        && *last != step
    {
        let _ = writeln!(err, "[{:>3.0}%] {step}", fraction * 100.0);
        *last = step.to_string();
    }
}

/// The model `path` names (a file, or a built-in model's name, fetched when missing), or the
/// installed default model.
pub fn resolve_model(path: Option<&Path>) -> Result<PathBuf> {
    match path {
        Some(p) => Ok(model_store::resolve(p, &mut progress_line)?),
        None => model_store::installed_default_model().with_context(|| {
            format!(
                "the default model is not fetched yet (expected at {}); run `tloom model fetch` \
                 or pass --model PATH",
                model_store::default_model_path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            )
        }),
    }
}

/// `tloom model info [PATH] [--json]`.
pub fn info(path: Option<&Path>, json: bool) -> Result<String> {
    let path = resolve_model(path)?;
    let info = GgufInfo::read(&path)?;
    if json {
        Ok(serde_json::to_string_pretty(&info)?)
    } else {
        Ok(info.to_text())
    }
}

/// `tloom model tokenize [--model PATH] [--tokenizer PATH] [--json] TEXT`: loads only the
/// tokenizer, never the weights.
pub fn tokenize(
    model: Option<&Path>,
    tokenizer: Option<&Path>,
    text: &str,
    json: bool,
) -> Result<String> {
    let path = resolve_model(model)?;
    let (content, _) = read_content(&path)?;
    let tok = TextTokenizer::locate(&path, &content, tokenizer)?;
    let ids = tok.encode(text)?;
    if json {
        let tokens: Vec<serde_json::Value> = ids
            .iter()
            .map(|&id| {
                serde_json::json!({
                    "id": id,
                    "text": tok.token_text(id),
                    "special": tok.is_special(id),
                })
            })
            .collect();
        Ok(serde_json::to_string_pretty(&serde_json::json!({
            "ids": ids,
            "tokens": tokens,
        }))?)
    } else {
        let ids: Vec<String> = ids.iter().map(u32::to_string).collect();
        Ok(ids.join(" "))
    }
}

/// `tloom model complete TEXT`: N raw continuations of a prompt, for trying a model out.
pub fn complete(
    spec: &LocalModelSpec,
    prompt: &str,
    params: &SamplingParams,
    json: bool,
) -> Result<String> {
    let generation: Generation = generate(spec, prompt, params, &mut progress_line)?;
    eprint!("\r{:<70}\r", "");
    if let Some(error) = &generation.error {
        anyhow::bail!("generation failed: {error}");
    }
    if json {
        return Ok(serde_json::to_string_pretty(&generation)?);
    }
    let mut out = String::new();
    for (i, b) in generation.branches.iter().enumerate() {
        let reason = b.summary.as_ref().map_or("?", |s| s.reason.as_str());
        let lp = b
            .summary
            .as_ref()
            .and_then(|s| s.mean_logprob)
            .unwrap_or(f32::NAN);
        out += &format!(
            "--- branch {i} ({reason}, mean logprob {lp:.3})\n{}{}\n",
            prompt, b.text
        );
    }
    Ok(out)
}
