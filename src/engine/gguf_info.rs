//! What a GGUF file says about its model: architecture, size, quantization, context length,
//! tokenizer kind and chat template, read from the header without loading any weights.

use super::error::{EngineError, Result};
use candle_core::quantized::gguf_file::{Content, Value};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// A summary of a GGUF model file, as `tloom model info` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GgufInfo {
    pub path: PathBuf,
    pub file_size: u64,
    /// `general.architecture`, e.g. "llama".
    pub architecture: String,
    /// `general.name`, when present.
    pub name: Option<String>,
    /// Total number of weights over all tensors.
    pub parameters: u64,
    /// The quantization holding most of the weights' bytes, e.g. "Q4_1".
    pub quantization: String,
    /// Number of tensors per storage type.
    pub tensor_types: BTreeMap<String, usize>,
    pub context_length: Option<usize>,
    pub block_count: Option<usize>,
    pub embedding_length: Option<usize>,
    pub head_count: Option<usize>,
    pub head_count_kv: Option<usize>,
    pub vocab_size: Option<usize>,
    /// `tokenizer.ggml.model` (e.g. "gpt2" for byte-level BPE, "llama" for SentencePiece).
    pub tokenizer_model: Option<String>,
    /// `tokenizer.ggml.pre`, the pre-tokenizer variant (e.g. "smollm").
    pub tokenizer_pre: Option<String>,
    pub bos_token_id: Option<u32>,
    pub eos_token_id: Option<u32>,
    pub add_bos_token: bool,
    pub has_chat_template: bool,
    #[serde(skip)]
    pub chat_template: Option<String>,
}

/// Opens and parses the header of a GGUF file.
pub fn read_content(path: &Path) -> Result<(Content, File)> {
    let file = File::open(path).map_err(|e| EngineError::io(path, e))?;
    let len = file.metadata().map_err(|e| EngineError::io(path, e))?.len();
    let mut reader = BufReader::new(file);
    let content = parse_header(path, &mut reader, len)?;
    Ok((content, reader.into_inner()))
}

/// Parses a GGUF header of a file of `len` bytes from the start of `reader`: first our own
/// walk for what could crash candle's parser (`gguf_check`), then candle's.
pub fn parse_header<R: std::io::Read + std::io::Seek>(
    path: &Path,
    reader: &mut R,
    len: u64,
) -> Result<Content> {
    let bad = |message: String| EngineError::BadGguf {
        path: path.to_path_buf(),
        message,
    };
    super::gguf_check::check_header(reader, len).map_err(bad)?;
    reader
        .seek(std::io::SeekFrom::Start(0))
        .map_err(|e| EngineError::io(path, e))?;
    Content::read(reader).map_err(|e| bad(e.to_string()))
}

impl GgufInfo {
    /// Reads the summary of the GGUF file at `path`.
    pub fn read(path: &Path) -> Result<GgufInfo> {
        let (content, file) = read_content(path)?;
        let file_size = file.metadata().map_err(|e| EngineError::io(path, e))?.len();
        GgufInfo::from_content(path, file_size, &content)
    }

    pub fn from_content(path: &Path, file_size: u64, ct: &Content) -> Result<GgufInfo> {
        let architecture = meta_str(ct, "general.architecture")
            .ok_or_else(|| EngineError::MissingMetadata {
                path: path.to_path_buf(),
                key: "general.architecture".into(),
            })?
            .to_string();
        let arch_usize = |key: &str| meta_usize(ct, &format!("{architecture}.{key}"));
        let mut tensor_types = BTreeMap::new();
        let mut bytes_per_type: BTreeMap<String, usize> = BTreeMap::new();
        let mut parameters = 0u64;
        for info in ct.tensor_infos.values() {
            let dtype = format!("{:?}", info.ggml_dtype).to_uppercase();
            let elems = info.shape.elem_count();
            parameters = parameters.saturating_add(elems as u64);
            *tensor_types.entry(dtype.clone()).or_insert(0) += 1;
            let bytes = elems / info.ggml_dtype.block_size() * info.ggml_dtype.type_size();
            let total = bytes_per_type.entry(dtype).or_insert(0);
            *total = total.saturating_add(bytes);
        }
        let quantization = bytes_per_type
            .iter()
            .max_by_key(|(_, bytes)| **bytes)
            .map(|(name, _)| name.clone())
            .unwrap_or_else(|| "none".into());
        let vocab_size = ct
            .metadata
            .get("tokenizer.ggml.tokens")
            .and_then(|v| v.to_vec().ok())
            .map(|v| v.len())
            .or_else(|| arch_usize("vocab_size"));
        let chat_template = meta_str(ct, "tokenizer.chat_template").map(str::to_string);
        Ok(GgufInfo {
            path: path.to_path_buf(),
            file_size,
            name: meta_str(ct, "general.name").map(str::to_string),
            parameters,
            quantization,
            tensor_types,
            context_length: arch_usize("context_length"),
            block_count: arch_usize("block_count"),
            embedding_length: arch_usize("embedding_length"),
            head_count: arch_usize("attention.head_count"),
            head_count_kv: arch_usize("attention.head_count_kv"),
            vocab_size,
            tokenizer_model: meta_str(ct, "tokenizer.ggml.model").map(str::to_string),
            tokenizer_pre: meta_str(ct, "tokenizer.ggml.pre").map(str::to_string),
            bos_token_id: meta_usize(ct, "tokenizer.ggml.bos_token_id").map(|v| v as u32),
            eos_token_id: meta_usize(ct, "tokenizer.ggml.eos_token_id").map(|v| v as u32),
            add_bos_token: meta_bool(ct, "tokenizer.ggml.add_bos_token").unwrap_or(false),
            has_chat_template: chat_template.is_some(),
            chat_template,
            architecture,
        })
    }

    /// The model's identity for provenance: the file name.
    pub fn model_id(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.path.display().to_string())
    }

    /// A human-readable multi-line description.
    pub fn to_text(&self) -> String {
        let opt = |v: Option<usize>| v.map_or_else(|| "unknown".to_string(), |v| v.to_string());
        let mut out = String::new();
        out += &format!("file:            {}\n", self.path.display());
        out += &format!("size:            {} bytes\n", self.file_size);
        if let Some(name) = &self.name {
            out += &format!("name:            {name}\n");
        }
        out += &format!("architecture:    {}\n", self.architecture);
        out += &format!(
            "parameters:      {} ({:.1}M)\n",
            self.parameters,
            self.parameters as f64 / 1e6
        );
        out += &format!("quantization:    {}\n", self.quantization);
        out += &format!("context length:  {}\n", opt(self.context_length));
        out += &format!("layers:          {}\n", opt(self.block_count));
        out += &format!("vocabulary:      {}\n", opt(self.vocab_size));
        let tok = match (&self.tokenizer_model, &self.tokenizer_pre) {
            (Some(m), Some(p)) => format!("{m} (pre-tokenizer {p})"),
            (Some(m), None) => m.clone(),
            _ => "none in the file".into(),
        };
        out += &format!("tokenizer:       {tok}\n");
        out += &format!(
            "chat template:   {}\n",
            if self.has_chat_template {
                "present"
            } else {
                "absent"
            }
        );
        out
    }
}

pub(crate) fn meta_str<'a>(ct: &'a Content, key: &str) -> Option<&'a str> {
    ct.metadata
        .get(key)
        .and_then(|v| v.to_string().ok())
        .map(String::as_str)
}

pub(crate) fn meta_usize(ct: &Content, key: &str) -> Option<usize> {
    ct.metadata.get(key).and_then(value_to_usize)
}

pub(crate) fn meta_f32(ct: &Content, key: &str) -> Option<f32> {
    match ct.metadata.get(key)? {
        Value::F32(v) => Some(*v),
        Value::F64(v) => Some(*v as f32),
        other => value_to_usize(other).map(|v| v as f32),
    }
}

pub(crate) fn meta_bool(ct: &Content, key: &str) -> Option<bool> {
    ct.metadata.get(key).and_then(|v| v.to_bool().ok())
}

pub(crate) fn value_to_usize(v: &Value) -> Option<usize> {
    match v {
        Value::U8(v) => Some(*v as usize),
        Value::I8(v) => usize::try_from(*v).ok(),
        Value::U16(v) => Some(*v as usize),
        Value::I16(v) => usize::try_from(*v).ok(),
        Value::U32(v) => Some(*v as usize),
        Value::I32(v) => usize::try_from(*v).ok(),
        Value::U64(v) => usize::try_from(*v).ok(),
        Value::I64(v) => usize::try_from(*v).ok(),
        _ => None,
    }
}
