//! The local backend: loads a GGUF model (the default one fetched when none is given) into our
//! forward pass (every family in `llama::FAMILIES`), and serves expand, score and explore.

use super::branch::alternatives;
use super::chat;
use super::decoder::Decoder;
use super::error::{EngineError, Result, SUPPORTED_ARCHITECTURES};
use super::explore::explore_tree;
use super::generate::{Generation, run_expansion};
use super::gguf_info::{GgufInfo, read_content};
use super::llama::{LlamaDecoder, LlamaModel};
use super::model_store;
use super::protocol::{
    CancelFlag, EngineEvent, ExpandRequest, JobId, ModelDescription, PromptInspection,
    SamplingParams, TokenInfo,
};
use super::sampling::distribution;
use super::tokenizer::TextTokenizer;
use super::worker::{Backend, ExploreShape, Loader};
use std::path::PathBuf;

/// What the app or CLI asks the local backend to load.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LocalModelSpec {
    /// A GGUF file or a built-in model's name (`gemma3-270m`); None means the default model.
    /// Built-in models are fetched into the cache when missing.
    pub model: Option<PathBuf>,
    /// A `tokenizer.json` to use instead of the GGUF's own vocabulary.
    pub tokenizer: Option<PathBuf>,
    /// Compute threads of the model's pool (None or 0: `default_threads()`).
    pub threads: Option<usize>,
    /// Chat scaffold: treat the chat template's end-of-turn token as end of sequence.
    pub chat: bool,
    /// Memory for KV states of earlier prompts, reused when a prompt shares their start
    /// (None: 512 MB; 0 disables).
    pub prefix_cache_mb: Option<usize>,
}

/// The default memory budget of the prefix cache.
pub const DEFAULT_PREFIX_CACHE_MB: usize = 512;

/// The compute threads a model gets when none are asked for: one per physical core.
pub fn default_threads() -> usize {
    candle_core::utils::get_num_threads().max(1)
}

/// The threads `asked` (from `--threads` or the config) resolves to.
pub fn resolve_threads(asked: Option<usize>) -> usize {
    asked.filter(|&t| t > 0).unwrap_or_else(default_threads)
}

/// A `Loader` for `EngineHandle::spawn` that loads (fetching if needed) on the worker thread.
pub fn loader(spec: LocalModelSpec) -> Loader {
    Box::new(move |emit: &mut dyn FnMut(EngineEvent)| {
        let mut progress = |fraction: f32, step: &str| {
            emit(EngineEvent::Loading {
                progress: fraction.clamp(0.0, 1.0),
                step: step.to_string(),
            })
        };
        LocalModel::load(&spec, &mut progress)
            .map(|m| Box::new(m) as Box<dyn Backend>)
            .map_err(|e| e.to_string())
    })
}

/// Headless generation: loads the model `spec` names (fetching the default one if needed),
/// expands `prompt` once and returns every branch's text, tokens and finish reason.
pub fn generate(
    spec: &LocalModelSpec,
    prompt: &str,
    params: &SamplingParams,
    progress: &mut dyn FnMut(f32, &str),
) -> Result<Generation> {
    let mut model = LocalModel::load(spec, progress)?;
    Ok(model.generate(prompt, params))
}

/// A loaded local model.
pub struct LocalModel {
    info: GgufInfo,
    tokenizer: TextTokenizer,
    decoder: Box<dyn Decoder>,
    /// Extra end-of-sequence ids (the chat template's end of turn, in chat mode).
    extra_eos: Vec<u32>,
    /// Threads of the compute pool.
    threads: usize,
}

impl LocalModel {
    /// Loads the model `spec` names; `progress(fraction, step)` follows fetching and loading.
    pub fn load(spec: &LocalModelSpec, progress: &mut dyn FnMut(f32, &str)) -> Result<LocalModel> {
        let path = match &spec.model {
            Some(path) => model_store::resolve(path, &mut |f, step| progress(0.5 * f, step))?,
            None => model_store::ensure_default_model(&mut |f, step| progress(0.5 * f, step))?,
        };
        progress(0.5, &format!("reading {}", path.display()));
        let (content, mut file) = read_content(&path)?;
        let size = file
            .metadata()
            .map_err(|e| EngineError::io(&path, e))?
            .len();
        let info = GgufInfo::from_content(&path, size, &content)?;
        let tokenizer = TextTokenizer::locate(&path, &content, spec.tokenizer.as_deref())?;
        let arch = info.architecture.clone();
        if !SUPPORTED_ARCHITECTURES.contains(&arch.as_str()) {
            return Err(EngineError::UnsupportedArchitecture { architecture: arch });
        }
        progress(0.55, &format!("loading {arch} weights"));
        let threads = resolve_threads(spec.threads);
        let model = LlamaModel::load(&path, &content, &mut file, threads, &mut |f| {
            progress(0.55 + 0.45 * f, "loading and packing weights")
        })?;
        let mb = spec.prefix_cache_mb.unwrap_or(DEFAULT_PREFIX_CACHE_MB);
        let decoder: Box<dyn Decoder> = Box::new(LlamaDecoder::new(model, mb << 20));
        let extra_eos = if spec.chat {
            info.chat_template
                .as_deref()
                .and_then(chat::end_of_turn_marker)
                .and_then(|m| tokenizer.token_id(m))
                .into_iter()
                .collect()
        } else {
            Vec::new()
        };
        progress(1.0, "model ready");
        Ok(LocalModel {
            info,
            tokenizer,
            decoder,
            extra_eos,
            threads,
        })
    }

    /// Threads of the compute pool.
    pub fn threads(&self) -> usize {
        self.threads
    }

    pub fn info(&self) -> &GgufInfo {
        &self.info
    }

    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }

    /// The forward pass itself, for benchmarks.
    pub fn decoder_mut(&mut self) -> &mut dyn Decoder {
        self.decoder.as_mut()
    }

    /// The chat scaffold for `user_message`: the rendered template with the assistant turn
    /// opened, to use as the root text of a loom.
    pub fn chat_prompt(&self, user_message: &str) -> Result<String> {
        let template = self.info.chat_template.as_deref().ok_or_else(|| {
            EngineError::ChatTemplate(format!(
                "{} has no chat template; use raw completion",
                self.info.model_id()
            ))
        })?;
        let token = |id: Option<u32>| id.map(|i| self.tokenizer.token_text(i)).unwrap_or_default();
        chat::render_user_turn(
            template,
            user_message,
            &token(self.tokenizer.bos_id()),
            &token(self.tokenizer.eos_ids().first().copied()),
        )
    }

    /// Runs one expansion to the end and returns its branches (headless use).
    pub fn generate(&mut self, prompt: &str, params: &SamplingParams) -> Generation {
        let req = ExpandRequest {
            job: JobId(0),
            prompt: prompt.to_string(),
            params: params.clone(),
            cancel: CancelFlag::new(),
        };
        let mut generation = Generation::new(params.n);
        self.expand(&req, &mut |event| generation.apply(&event));
        generation
    }

    /// Per-token logprobs and alternatives of `text`. The first token has nothing to be
    /// predicted from (unless the model adds BOS, which is not reported): it gets logprob 0,
    /// no entropy and no alternatives.
    pub fn score_text(&mut self, text: &str, top_k: usize) -> Result<Vec<TokenInfo>> {
        let ids = self.tokenizer.encode_prompt(text)?;
        let bos_added = self.info.add_bos_token
            && ids.len() > 1
            && self
                .tokenizer
                .bos_id()
                .is_some_and(|b| ids.first() == Some(&b));
        self.score_ids(&ids, usize::from(bos_added), top_k)
    }

    /// Like `score_text` for token ids; the first `skip` ids condition but are not reported.
    pub fn score_ids(&mut self, ids: &[u32], skip: usize, top_k: usize) -> Result<Vec<TokenInfo>> {
        if ids.len() > self.decoder.context_length() {
            return Err(EngineError::InvalidParams(format!(
                "the text has {} tokens, more than the context window of {}",
                ids.len(),
                self.decoder.context_length()
            )));
        }
        let mut out: Vec<TokenInfo> = ids
            .iter()
            .skip(skip)
            .map(|&id| TokenInfo {
                id: Some(id),
                text: self.tokenizer.token_text(id),
                logprob: 0.0,
                entropy: None,
                top: Vec::new(),
            })
            .collect();
        if ids.is_empty() {
            return Ok(out);
        }
        let tokenizer = &self.tokenizer;
        self.decoder.score(ids, &mut |pos, logits| {
            // The logits at `pos` predict token `pos + 1`, which is out[pos + 1 - skip].
            if let Some(t) = (pos + 1).checked_sub(skip).and_then(|i| out.get_mut(i)) {
                let d = distribution(logits, top_k);
                let id = t.id.unwrap_or(0) as usize;
                t.logprob = logits.get(id).copied().unwrap_or(f32::NEG_INFINITY) - d.lse;
                t.entropy = Some(d.entropy);
                t.top = alternatives(&d.top, tokenizer);
            }
        })?;
        Ok(out)
    }
}

impl Backend for LocalModel {
    fn describe(&self) -> ModelDescription {
        ModelDescription {
            model: self.info.model_id(),
            backend: "candle".into(),
            context_length: self.decoder.context_length(),
        }
    }

    fn inspect(&mut self, prompt: &str, max_tokens: usize) -> Result<PromptInspection, String> {
        let context_length = self.decoder.context_length();
        let all = self
            .tokenizer
            .encode_prompt(prompt)
            .map_err(|e| e.to_string())?;
        let prepared = crate::engine::generate::prepare_prompt(
            &self.tokenizer,
            prompt,
            context_length,
            max_tokens,
        )
        .map_err(|e| e.to_string())?;
        // The cut keeps a leading BOS (added by the tokenizer, not in the text) when present.
        let skip = usize::from(
            all.first()
                .is_some_and(|t| Some(*t) == self.tokenizer.bos_id()),
        );
        let kept_from_byte = all
            .iter()
            .skip(skip)
            .take(prepared.dropped)
            .map(|id| self.tokenizer.token_bytes(*id).len())
            .sum::<usize>()
            .min(prompt.len());
        Ok(PromptInspection {
            tokens: all.len(),
            context_length,
            dropped_tokens: prepared.dropped,
            kept_from_byte,
        })
    }

    fn expand(&mut self, req: &ExpandRequest, emit: &mut dyn FnMut(EngineEvent)) {
        run_expansion(
            self.decoder.as_mut(),
            &self.tokenizer,
            &self.extra_eos,
            req,
            emit,
        );
    }

    fn score(&mut self, job: JobId, text: &str, emit: &mut dyn FnMut(EngineEvent)) {
        match self.score_text(text, 10) {
            Ok(tokens) => emit(EngineEvent::Scored { job, tokens }),
            Err(e) => emit(EngineEvent::JobFailed {
                job,
                error: e.to_string(),
            }),
        }
    }

    fn explore(
        &mut self,
        job: JobId,
        prompt: &str,
        shape: ExploreShape,
        emit: &mut dyn FnMut(EngineEvent),
    ) {
        match explore_tree(self.decoder.as_mut(), &self.tokenizer, prompt, shape) {
            Ok(roots) => emit(EngineEvent::Explored { job, roots }),
            Err(e) => emit(EngineEvent::JobFailed {
                job,
                error: e.to_string(),
            }),
        }
    }
}
