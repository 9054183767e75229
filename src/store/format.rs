//! The tloom file format, version 1: a versioned DTO with a flat node map keyed by stable
//! ids. Fields this version does not know are kept (`extra`) so newer files round-trip.
//! See docs/file-format.md.

use crate::tree::NodeId;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use std::fmt;

pub const FORMAT: &str = "tloom";
pub const VERSION: u64 = 1;

/// Just enough of a file to decide how to read the rest.
#[derive(Deserialize)]
pub struct Header {
    pub format: Option<Value>,
    pub version: Option<Value>,
}

pub struct FileDto {
    pub format: String,
    pub version: u64,
    pub root: NodeId,
    pub cursor: Option<NodeId>,
    pub hoist: Option<NodeId>,
    pub next_id: Option<u64>,
    pub memory: String,
    pub nodes: NodeMap,
    pub extra: Map<String, Value>,
}

/// The node map, in file order. Deserializing refuses duplicate ids.
pub struct NodeMap(pub Vec<(NodeId, NodeDto)>);

pub struct NodeDto {
    pub parent: Option<NodeId>,
    pub children: Vec<NodeId>,
    pub text: String,
    pub origin: OriginDto,
    pub created: i64,
    pub bookmarked: bool,
    pub archived: bool,
    pub edited: bool,
    pub unread: bool,
    pub tags: Vec<String>,
    pub note: String,
    pub memory: String,
    pub last_child: Option<NodeId>,
    pub tokens: Option<Vec<TokenDto>>,
    pub extra: Map<String, Value>,
}

/// Serialized internally tagged (`"kind"`); deserialized through `OriginRaw` because
/// serde's internally tagged enums buffer every node's origin, which is slow on big files.
#[derive(Serialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OriginDto {
    #[default]
    Human,
    Model {
        model: String,
        backend: String,
        #[serde(default)]
        params: ParamsDto,
        #[serde(default)]
        seed: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        finish: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mean_logprob: Option<f32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mean_entropy: Option<f32>,
    },
    Imported {
        format: String,
        #[serde(default)]
        author: AuthorDto,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<String>,
    },
}

#[derive(Serialize, Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum AuthorDto {
    Human,
    Model,
    #[default]
    Unknown,
}

#[derive(Serialize, Deserialize)]
#[serde(default)]
pub struct ParamsDto {
    pub max_tokens: u32,
    pub temperature: f32,
    pub top_p: f32,
    pub top_k: u32,
    pub min_p: f32,
    pub repetition_penalty: f32,
    pub stop: Vec<String>,
}

impl Default for ParamsDto {
    fn default() -> Self {
        let d = crate::tree::GenParams::default();
        ParamsDto {
            max_tokens: d.max_tokens,
            temperature: d.temperature,
            top_p: d.top_p,
            top_k: d.top_k,
            min_p: d.min_p,
            repetition_penalty: d.repetition_penalty,
            stop: d.stop,
        }
    }
}

/// One token: `{"id": 42, "text": " the", "logprob": -0.4, "top": [[42, " the", -0.4], ...]}`.
/// A logprob of minus infinity is written as "-inf", an unknown one as null.
#[derive(Serialize, Deserialize)]
pub struct TokenDto {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u32>,
    pub text: String,
    #[serde(with = "finite_or_null")]
    pub logprob: f32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub top: Vec<AltDto>,
}

/// An alternative: `[id or null, text, logprob or null]`.
#[derive(Serialize, Deserialize)]
pub struct AltDto(
    pub Option<u32>,
    pub String,
    #[serde(with = "finite_or_null")] pub f32,
);

/// Logprobs as JSON: a number; `null` when the backend reported none (NaN in memory);
/// the string `"-inf"` for a probability of zero.
mod finite_or_null {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};
    use serde_json::Value;

    pub fn serialize<S: Serializer>(v: &f32, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f32(*v)
        } else if *v == f32::NEG_INFINITY {
            s.serialize_str("-inf")
        } else {
            s.serialize_none()
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(f32::NAN),
            Value::Number(n) => n
                .as_f64()
                .map(|x| x as f32)
                .ok_or_else(|| D::Error::custom("bad logprob")),
            Value::String(s) if s == "-inf" => Ok(f32::NEG_INFINITY),
            other => Err(D::Error::custom(format!(
                "a logprob must be a number, null or \"-inf\", not {other}"
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for NodeMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MapVisitor;
        impl<'de> Visitor<'de> for MapVisitor {
            type Value = NodeMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object mapping node ids to nodes")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeMap, A::Error> {
                let mut nodes = Vec::with_capacity(map.size_hint().unwrap_or(0));
                let mut seen = std::collections::HashSet::new();
                while let Some(key) = map.next_key::<String>()? {
                    let id: NodeId = key.parse().map_err(de::Error::custom)?;
                    if !seen.insert(id) {
                        return Err(de::Error::custom(format!("node id {id} appears twice")));
                    }
                    let node: NodeDto = map.next_value()?;
                    nodes.push((id, node));
                }
                Ok(NodeMap(nodes))
            }
        }
        d.deserialize_map(MapVisitor)
    }
}

/// Every field any origin kind may have, read in one pass.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OriginRaw {
    kind: String,
    model: Option<String>,
    backend: Option<String>,
    params: Option<ParamsDto>,
    seed: Option<u64>,
    finish: Option<String>,
    mean_logprob: Option<f32>,
    mean_entropy: Option<f32>,
    format: Option<String>,
    author: Option<AuthorDto>,
}

impl<'de> Deserialize<'de> for OriginDto {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = OriginRaw::deserialize(d)?;
        match raw.kind.as_str() {
            "human" => Ok(OriginDto::Human),
            "model" => Ok(OriginDto::Model {
                model: raw.model.ok_or_else(|| de::Error::missing_field("model"))?,
                backend: raw
                    .backend
                    .ok_or_else(|| de::Error::missing_field("backend"))?,
                params: raw.params.unwrap_or_default(),
                seed: raw.seed.unwrap_or_default(),
                finish: raw.finish,
                mean_logprob: raw.mean_logprob,
                mean_entropy: raw.mean_entropy,
            }),
            "imported" => Ok(OriginDto::Imported {
                format: raw
                    .format
                    .ok_or_else(|| de::Error::missing_field("format"))?,
                author: raw.author.unwrap_or_default(),
                model: raw.model,
            }),
            other => Err(de::Error::unknown_variant(
                other,
                &["human", "model", "imported"],
            )),
        }
    }
}
