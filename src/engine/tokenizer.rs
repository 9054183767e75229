//! Text to token ids and back: the tokenizer from GGUF metadata (byte-level BPE, or
//! SentencePiece in `spm`), a sibling `tokenizer.json`, or an explicit path; special tokens
//! recognised in prompts; a streaming decoder that never splits a UTF-8 character.

use super::error::{EngineError, Result};
use super::gguf_info::{meta_bool, meta_str, meta_usize, value_to_usize};
use super::spm::SpmTokenizer;
use candle_core::quantized::gguf_file::{Content, Value};
use std::path::{Path, PathBuf};
use tokenizers::models::bpe::BPE;
use tokenizers::normalizers::unicode::NFC;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, PreTokenizerWrapper, SplitDelimiterBehavior, Tokenizer};

pub use super::stream_decode::StreamDecoder;

const REGEX_QWEN2: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const REGEX_LLAMA3: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Where the tokenizer came from, for `model info` and error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenizerSource {
    /// Built from the GGUF metadata; the string is `tokenizer.ggml.pre` (byte-level BPE) or
    /// `sentencepiece`.
    Gguf(String),
    /// A `tokenizer.json` file.
    File(PathBuf),
}

/// A tokenizer plus what generation needs to know about special tokens.
#[derive(Clone)]
pub struct TextTokenizer {
    inner: Vocabulary,
    /// The bytes each token id stands for (byte-level tokens mapped back to raw bytes).
    token_bytes: Vec<Vec<u8>>,
    bos: Option<u32>,
    add_bos: bool,
    eos: Vec<u32>,
    source: TokenizerSource,
}

/// The tokenization algorithm and its vocabulary.
#[derive(Clone)]
enum Vocabulary {
    /// Byte-level BPE or a `tokenizer.json`, through the `tokenizers` crate.
    Hf(Box<Tokenizer>),
    /// SentencePiece from GGUF metadata, as llama.cpp tokenizes it.
    Spm(Box<SpmTokenizer>),
}

impl std::fmt::Debug for TextTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextTokenizer")
            .field("vocab", &self.token_bytes.len())
            .field("source", &self.source)
            .finish()
    }
}

impl TextTokenizer {
    /// The tokenizer for a model: `explicit` if given, else the GGUF metadata when it holds a
    /// byte-level BPE vocabulary, else `tokenizer.json` beside the model file.
    pub fn locate(model_path: &Path, ct: &Content, explicit: Option<&Path>) -> Result<Self> {
        let specials = SpecialIds::from_gguf(ct);
        if let Some(path) = explicit {
            return TextTokenizer::from_json_file(path, specials);
        }
        match meta_str(ct, "tokenizer.ggml.model") {
            Some("gpt2") => return TextTokenizer::from_gguf(ct),
            Some("llama") => return TextTokenizer::from_gguf_sentencepiece(ct),
            _ => {}
        }
        let sibling = model_path.with_file_name("tokenizer.json");
        if sibling.is_file() {
            return TextTokenizer::from_json_file(&sibling, specials);
        }
        let kind = meta_str(ct, "tokenizer.ggml.model").unwrap_or("none");
        Err(EngineError::Tokenizer(format!(
            "{} has a `{kind}` tokenizer, which tloom cannot build from GGUF metadata (only byte-level \
             BPE, `gpt2`, and SentencePiece, `llama`), and there is no tokenizer.json beside it at {}; pass --tokenizer PATH",
            model_path.display(),
            sibling.display()
        )))
    }

    /// Builds the byte-level BPE tokenizer stored in GGUF metadata.
    pub fn from_gguf(ct: &Content) -> Result<Self> {
        let tokens = string_array(ct, "tokenizer.ggml.tokens")?;
        let merges = string_array(ct, "tokenizer.ggml.merges")?
            .into_iter()
            .map(|m| {
                m.split_once(' ')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .ok_or_else(|| EngineError::Tokenizer(format!("malformed merge entry `{m}`")))
            })
            .collect::<Result<Vec<_>>>()?;
        let vocab: tokenizers::models::bpe::Vocab = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .build()
            .map_err(|e| EngineError::Tokenizer(format!("cannot build BPE from GGUF: {e}")))?;
        let mut inner = Tokenizer::new(bpe);
        let pre = meta_str(ct, "tokenizer.ggml.pre")
            .unwrap_or("gpt2")
            .to_string();
        if pre == "qwen2" {
            inner
                .with_normalizer(Some(NFC))
                .map_err(|e| EngineError::Tokenizer(e.to_string()))?;
        }
        inner.with_pre_tokenizer(Some(pre_tokenizer_for(&pre)?));
        let types = ct
            .metadata
            .get("tokenizer.ggml.token_type")
            .and_then(|v| v.to_vec().ok());
        let mut specials = Vec::new();
        if let Some(types) = types {
            for (id, ty) in types.iter().enumerate() {
                // llama.cpp's token types: 3 = control, 4 = user-defined; both are matched
                // literally in prompts.
                if matches!(value_to_usize(ty), Some(3 | 4))
                    && let Some(tok) = tokens.get(id)
                {
                    specials.push(AddedToken::from(tok.clone(), true));
                }
            }
        }
        inner
            .add_special_tokens(specials)
            .map_err(|e| EngineError::Tokenizer(format!("cannot register special tokens: {e}")))?;
        let token_bytes = tokens
            .iter()
            .map(|t| byte_level_bytes(t).unwrap_or_else(|| t.as_bytes().to_vec()))
            .collect();
        let ids = SpecialIds::from_gguf(ct);
        Ok(TextTokenizer {
            inner: Vocabulary::Hf(Box::new(inner)),
            token_bytes,
            bos: ids.bos,
            add_bos: ids.add_bos,
            eos: ids.eos,
            source: TokenizerSource::Gguf(pre),
        })
    }

    /// Builds the SentencePiece tokenizer stored in GGUF metadata (`tokenizer.ggml.model =
    /// llama`): pieces, scores, token types, and whether a space goes before the text.
    pub fn from_gguf_sentencepiece(ct: &Content) -> Result<Self> {
        let pieces = string_array(ct, "tokenizer.ggml.tokens")?;
        let scores = match ct.metadata.get("tokenizer.ggml.scores") {
            Some(v) => v
                .to_vec()
                .map_err(|e| EngineError::Tokenizer(format!("`tokenizer.ggml.scores`: {e}")))?
                .iter()
                .map(|s| match s {
                    Value::F32(f) => Ok(*f),
                    Value::F64(f) => Ok(*f as f32),
                    other => Err(EngineError::Tokenizer(format!(
                        "`tokenizer.ggml.scores` holds a non-number entry {other:?}"
                    ))),
                })
                .collect::<Result<Vec<f32>>>()?,
            None => {
                return Err(EngineError::Tokenizer(
                    "GGUF metadata has no array `tokenizer.ggml.scores`, which a SentencePiece \
                     vocabulary needs"
                        .into(),
                ));
            }
        };
        let types: Vec<u8> = ct
            .metadata
            .get("tokenizer.ggml.token_type")
            .and_then(|v| v.to_vec().ok())
            .map(|v| {
                v.iter()
                    .map(|t| value_to_usize(t).unwrap_or(1).min(255) as u8)
                    .collect()
            })
            .unwrap_or_default();
        // llama.cpp puts a space before the text unless the file says not to.
        let add_space_prefix = meta_bool(ct, "tokenizer.ggml.add_space_prefix").unwrap_or(true);
        let spm = SpmTokenizer::new(pieces, scores, types, add_space_prefix)?;
        let token_bytes = (0..spm.vocab_size() as u32)
            .map(|id| spm.token_bytes(id))
            .collect();
        let ids = SpecialIds::from_gguf(ct);
        Ok(TextTokenizer {
            inner: Vocabulary::Spm(Box::new(spm)),
            token_bytes,
            bos: ids.bos,
            add_bos: ids.add_bos,
            eos: ids.eos,
            source: TokenizerSource::Gguf("sentencepiece".into()),
        })
    }

    /// Loads a Hugging Face `tokenizer.json`; BOS/EOS come from the GGUF when known.
    pub fn from_json_file(path: &Path, ids: SpecialIds) -> Result<Self> {
        let inner = Tokenizer::from_file(path).map_err(|e| {
            EngineError::Tokenizer(format!(
                "cannot load tokenizer file {}: {e}",
                path.display()
            ))
        })?;
        let byte_level = format!("{:?}", inner.get_decoder()).contains("ByteLevel");
        let size = inner.get_vocab_size(true);
        let token_bytes = (0..size as u32)
            .map(|id| {
                let tok = inner.id_to_token(id).unwrap_or_default();
                if inner.get_added_vocabulary().is_special_token(&tok) {
                    tok.into_bytes()
                } else if byte_level {
                    byte_level_bytes(&tok).unwrap_or_else(|| tok.into_bytes())
                } else {
                    sentencepiece_bytes(&tok)
                }
            })
            .collect();
        let eos = if ids.eos.is_empty() {
            ["</s>", "<|endoftext|>", "<|im_end|>", "<eos>"]
                .iter()
                .filter_map(|t| inner.token_to_id(t))
                .take(1)
                .collect()
        } else {
            ids.eos
        };
        Ok(TextTokenizer {
            inner: Vocabulary::Hf(Box::new(inner)),
            token_bytes,
            bos: ids.bos,
            add_bos: ids.add_bos,
            eos,
            source: TokenizerSource::File(path.to_path_buf()),
        })
    }

    /// Token ids of `text`, special tokens recognised, no BOS added.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        match &self.inner {
            Vocabulary::Hf(t) => {
                let encoding = t.encode(text, false).map_err(|e| {
                    EngineError::Tokenizer(format!("cannot tokenize the text: {e}"))
                })?;
                Ok(encoding.get_ids().to_vec())
            }
            Vocabulary::Spm(t) => Ok(t.encode(text)),
        }
    }

    /// Token ids for a prompt: like `encode`, with BOS first when the model asks for it
    /// (`tokenizer.ggml.add_bos_token`), as llama-server does for string prompts.
    pub fn encode_prompt(&self, text: &str) -> Result<Vec<u32>> {
        let mut ids = Vec::new();
        if self.add_bos
            && let Some(bos) = self.bos
        {
            ids.push(bos);
        }
        ids.extend(self.encode(text)?);
        Ok(ids)
    }

    /// The raw bytes of one token (may be part of a UTF-8 character).
    pub fn token_bytes(&self, id: u32) -> &[u8] {
        self.token_bytes
            .get(id as usize)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// A displayable text for one token (invalid UTF-8 shown with U+FFFD).
    pub fn token_text(&self, id: u32) -> String {
        String::from_utf8_lossy(self.token_bytes(id)).into_owned()
    }

    /// The text of a token sequence.
    pub fn decode(&self, ids: &[u32]) -> String {
        let bytes: Vec<u8> = ids
            .iter()
            .flat_map(|&id| self.token_bytes(id).iter().copied())
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    pub fn is_eos(&self, id: u32) -> bool {
        self.eos.contains(&id)
    }

    pub fn eos_ids(&self) -> &[u32] {
        &self.eos
    }

    pub fn bos_id(&self) -> Option<u32> {
        self.bos
    }

    pub fn vocab_size(&self) -> usize {
        self.token_bytes.len()
    }

    pub fn token_id(&self, token: &str) -> Option<u32> {
        match &self.inner {
            Vocabulary::Hf(t) => t.token_to_id(token),
            Vocabulary::Spm(t) => t.token_id(token),
        }
    }

    pub fn source(&self) -> &TokenizerSource {
        &self.source
    }

    /// Whether `id` is a special (control) token such as `<|im_start|>`.
    pub fn is_special(&self, id: u32) -> bool {
        match &self.inner {
            Vocabulary::Hf(t) => t
                .id_to_token(id)
                .is_some_and(|tok| t.get_added_vocabulary().is_special_token(&tok)),
            Vocabulary::Spm(t) => t.is_control(id),
        }
    }
}

/// BOS/EOS ids and the add-BOS flag from GGUF metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecialIds {
    pub bos: Option<u32>,
    pub eos: Vec<u32>,
    pub add_bos: bool,
}

impl SpecialIds {
    pub fn from_gguf(ct: &Content) -> SpecialIds {
        let id = |key: &str| meta_usize(ct, key).map(|v| v as u32);
        let mut eos: Vec<u32> = id("tokenizer.ggml.eos_token_id").into_iter().collect();
        if let Some(eot) = id("tokenizer.ggml.eot_token_id")
            && !eos.contains(&eot)
        {
            eos.push(eot);
        }
        SpecialIds {
            bos: id("tokenizer.ggml.bos_token_id"),
            eos,
            // SentencePiece vocabularies start with BOS unless the file says otherwise (as
            // in llama.cpp); byte-level BPE ones do not.
            add_bos: meta_bool(ct, "tokenizer.ggml.add_bos_token")
                .unwrap_or(meta_str(ct, "tokenizer.ggml.model") == Some("llama")),
        }
    }
}

fn pre_tokenizer_for(pre: &str) -> Result<PreTokenizerWrapper> {
    // No prefix space anywhere: llama.cpp never adds one for byte-level BPE vocabularies.
    let byte_level = |use_regex| ByteLevel::new(false, true, use_regex);
    let split = |regex: &str| -> Result<PreTokenizerWrapper> {
        Split::new(
            SplitPattern::Regex(regex.to_string()),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        .map(Into::into)
        .map_err(|e| EngineError::Tokenizer(format!("bad pre-tokenizer regex: {e}")))
    };
    Ok(match pre {
        // SmolLM's tokenizer.json: digits one by one, then GPT-2's byte-level split.
        "smollm" => Sequence::new(vec![Digits::new(true).into(), byte_level(true).into()]).into(),
        "qwen2" => Sequence::new(vec![split(REGEX_QWEN2)?, byte_level(false).into()]).into(),
        "llama3" | "llama-bpe" | "smaug-bpe" | "lfm2" | "dbrx" => {
            Sequence::new(vec![split(REGEX_LLAMA3)?, byte_level(false).into()]).into()
        }
        _ => byte_level(true).into(),
    })
}

fn string_array(ct: &Content, key: &str) -> Result<Vec<String>> {
    let values = ct
        .metadata
        .get(key)
        .and_then(|v| v.to_vec().ok())
        .ok_or_else(|| EngineError::Tokenizer(format!("GGUF metadata has no array `{key}`")))?;
    values
        .iter()
        .map(|v| match v {
            Value::String(s) => Ok(s.clone()),
            other => Err(EngineError::Tokenizer(format!(
                "`{key}` holds a non-string entry {other:?}"
            ))),
        })
        .collect()
}

/// GPT-2's reversible byte-to-character table, inverted: a byte-level token back to bytes.
/// None when a character is outside the table (then the token is not byte-level).
fn byte_level_bytes(token: &str) -> Option<Vec<u8>> {
    token.chars().map(gpt2_char_to_byte).collect()
}

fn gpt2_char_to_byte(c: char) -> Option<u8> {
    let c = c as u32;
    let direct = |b: u32| (0x21..=0x7E).contains(&b) || (0xA1..=0xAC).contains(&b) || b >= 0xAE;
    if c < 256 && direct(c) {
        return Some(c as u8);
    }
    // The other 68 bytes are mapped, in order, to 256, 257, ...
    let offset = c.checked_sub(256)?;
    (0u32..256)
        .filter(|b| !direct(*b))
        .nth(offset as usize)
        .map(|b| b as u8)
}

/// A SentencePiece-style token: `▁` is a space, `<0xAB>` is one raw byte.
fn sentencepiece_bytes(token: &str) -> Vec<u8> {
    if token.len() == 6
        && token.starts_with("<0x")
        && token.ends_with('>')
        && let Ok(b) = u8::from_str_radix(&token[3..5], 16)
    {
        return vec![b];
    }
    token.replace('\u{2581}', " ").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpt2_byte_table_round_trips_every_byte() {
        // 'Ġ' (U+0120) is the space byte; 'Ċ' (U+010A) is the newline byte.
        assert_eq!(gpt2_char_to_byte('Ġ'), Some(b' '));
        assert_eq!(gpt2_char_to_byte('Ċ'), Some(b'\n'));
        assert_eq!(gpt2_char_to_byte('a'), Some(b'a'));
        let mut seen = [false; 256];
        for c in (0u32..512).filter_map(char::from_u32) {
            if let Some(b) = gpt2_char_to_byte(c) {
                assert!(!seen[b as usize], "byte {b} mapped twice");
                seen[b as usize] = true;
            }
        }
        assert!(seen.iter().all(|s| *s));
    }

    #[test]
    fn sentencepiece_tokens_map_to_bytes() {
        assert_eq!(sentencepiece_bytes("<0x0A>"), b"\n");
        assert_eq!(sentencepiece_bytes("\u{2581}the"), b" the");
    }
}
