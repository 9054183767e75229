//! The OpenAI-compatible server as a `Backend`, and its `Loader`, which probes the server
//! (`GET /v1/models`, and llama-server's `/props` when present) before reporting `Ready`.

use super::client::Endpoint;
use super::config::OpenAiConfig;
use super::error::HttpError;
use super::{expand, score};
use crate::engine::protocol::{EngineEvent, ExpandRequest, JobId, ModelDescription};
use crate::engine::worker::{Backend, ExploreShape, Loader};
use serde_json::Value;

/// A server backend, ready to serve jobs.
#[derive(Debug)]
pub struct OpenAiBackend {
    endpoint: Endpoint,
    description: ModelDescription,
}

/// What the probe learnt about a server.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerInfo {
    /// The model ids `/v1/models` lists.
    pub models: Vec<String>,
    /// The context window, from `/v1/models` (vLLM's `max_model_len`, llama-server's
    /// `meta.n_ctx_train`) or `/props` (`n_ctx`); 0 when the server does not say.
    pub context_length: usize,
    /// llama-server's parallel slots (`/props` `total_slots`), when reported.
    pub slots: Option<usize>,
}

/// A loader for the engine worker: probes the server named `name` and yields its backend.
pub fn loader(name: String, config: OpenAiConfig) -> Loader {
    Box::new(move |emit: &mut dyn FnMut(EngineEvent)| {
        let backend = OpenAiBackend::connect(name, config, emit).map_err(|e| e.to_string())?;
        Ok(Box::new(backend) as Box<dyn Backend>)
    })
}

/// A loader for an ad-hoc server (`tloom generate --base-url URL [--model NAME]`), named by
/// its normalised base URL; fails at once on a malformed URL.
pub fn ad_hoc_loader(base_url: &str, model: Option<String>) -> Result<Loader, HttpError> {
    let name = super::config::normalise_base_url(base_url)?;
    Ok(loader(name, OpenAiConfig::ad_hoc(base_url, model)))
}

impl OpenAiBackend {
    /// Probe the server and build the backend (what [`loader`] runs on the worker thread).
    pub fn connect(
        name: String,
        config: OpenAiConfig,
        emit: &mut dyn FnMut(EngineEvent),
    ) -> Result<OpenAiBackend, HttpError> {
        let endpoint = Endpoint::new(config)?;
        emit(EngineEvent::Loading {
            progress: 0.1,
            step: format!("asking {} for its models", endpoint.url("models")),
        });
        let info = probe(&endpoint)?;
        let model = match (&endpoint.config.model, info.models.first()) {
            (Some(model), _) => {
                if !info.models.is_empty() && !info.models.contains(model) {
                    log::warn!(
                        "model {model:?} is not among those the server lists ({}); sending it anyway",
                        info.models.join(", ")
                    );
                }
                model.clone()
            }
            (None, Some(first)) => first.clone(),
            (None, None) => {
                return Err(HttpError::Config(format!(
                    "the server at {} lists no models; set `model` in the backend config",
                    endpoint.url("models")
                )));
            }
        };
        if let (Some(slots), true) = (info.slots, endpoint.config.supports_n) {
            log::info!("server has {slots} slots; requests with n > {slots} will be refused");
        }
        emit(EngineEvent::Loading {
            progress: 1.0,
            step: format!("{model} on {}", endpoint.url("")),
        });
        Ok(OpenAiBackend {
            description: ModelDescription {
                model,
                backend: name,
                context_length: info.context_length,
            },
            endpoint,
        })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
}

/// Ask the server what it serves. Fails when it cannot be reached or `/v1/models` errors.
pub fn probe(endpoint: &Endpoint) -> Result<ServerInfo, HttpError> {
    let models = endpoint.get_json(&endpoint.url("models"))?;
    let entries = models
        .get("data")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let ids = entries
        .iter()
        .filter_map(|m| m.get("id").and_then(Value::as_str).map(str::to_string))
        .collect();
    let from_models = entries.first().and_then(|m| {
        number(m.get("max_model_len")).or_else(|| number(m.pointer("/meta/n_ctx_train")))
    });
    // Only llama-server has /props; anything else answering 404 is normal.
    let props = endpoint.get_json(&endpoint.root_url("props")).ok();
    let from_props = props.as_ref().and_then(|p| {
        number(p.get("n_ctx")).or_else(|| number(p.pointer("/default_generation_settings/n_ctx")))
    });
    let slots = props.as_ref().and_then(|p| number(p.get("total_slots")));
    Ok(ServerInfo {
        models: ids,
        context_length: from_props
            .or(from_models)
            .or(endpoint.config.context_length)
            .unwrap_or(0),
        slots,
    })
}

fn number(value: Option<&Value>) -> Option<usize> {
    value
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
}

impl Backend for OpenAiBackend {
    fn describe(&self) -> ModelDescription {
        self.description.clone()
    }

    fn expand(&mut self, req: &ExpandRequest, emit: &mut dyn FnMut(EngineEvent)) {
        expand::run(&self.endpoint, &self.description.model, req, emit);
    }

    fn score(&mut self, job: JobId, text: &str, emit: &mut dyn FnMut(EngineEvent)) {
        match score::score(&self.endpoint, &self.description.model, text) {
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
        let model = &self.description.model;
        let (depth, width, cutoff) = (shape.depth, shape.width, shape.cutoff);
        match score::explore(&self.endpoint, model, prompt, depth, width, cutoff) {
            Ok(roots) => emit(EngineEvent::Explored { job, roots }),
            Err(e) => emit(EngineEvent::JobFailed {
                job,
                error: e.to_string(),
            }),
        }
    }
}
