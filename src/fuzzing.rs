//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz) and for the test that replays
//! their kept corpus on every `cargo test`: each takes arbitrary bytes and panics only on a
//! bug (a crash, or an accepted input that breaks an invariant), never on bad input.

use crate::engine::http::sse::{SseDecoder, SseEvent};
use crate::engine::http::wire::{TokenAssembler, choices_of, finish_reason, wire_tokens};
use crate::store;
use crate::store::import::{Format, import};
use std::path::Path;

/// A tloom file: it loads or is refused; what loads is a valid tree that saves and loads
/// back to the same bytes.
pub fn tree_file(data: &[u8]) {
    let Ok(opened) = store::load_bytes(Path::new("fuzz.json"), data) else {
        return;
    };
    if let Err(e) = opened.loom.check_invariants() {
        panic!("a loaded tree breaks an invariant: {e}");
    }
    let bytes = store::to_bytes(&opened.loom);
    let again = match store::load_bytes(Path::new("fuzz.json"), &bytes) {
        Ok(again) => again,
        Err(e) => panic!("our own output does not load: {e}"),
    };
    assert_eq!(
        store::to_bytes(&again.loom),
        bytes,
        "save/load is not the identity"
    );
}

/// Every importer, by detection and forced: each tree it returns is valid.
pub fn importers(data: &[u8]) {
    let detected = std::iter::once(None);
    for format in detected.chain(Format::ALL.iter().copied().map(Some)) {
        if let Ok(trees) = import(data, format) {
            for tree in trees {
                if let Err(e) = tree.loom.check_invariants() {
                    panic!("{format:?} imported a broken tree: {e}");
                }
            }
        }
    }
}

/// A completion stream as a server might send it: SSE lines, chunks, logprobs in either
/// dialect, decoded and assembled into tokens as the HTTP backend does.
pub fn sse_stream(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut decoder = SseDecoder::new();
    let mut assembler = TokenAssembler::default();
    let mut events = Vec::new();
    for line in text.split_inclusive('\n') {
        events.extend(decoder.push_line(line));
    }
    events.extend(decoder.finish());
    for event in events {
        let SseEvent::Data(value) = event else {
            continue;
        };
        let Ok(choices) = choices_of(&value) else {
            continue;
        };
        for choice in choices {
            let _ = finish_reason(&choice, true);
            let _ = assembler.tokens(&choice.text, wire_tokens(&choice.logprobs, 10));
        }
    }
}

/// A config file: parsed with warnings, or refused with a message; never a panic.
pub fn config(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok((config, _warnings)) = crate::session::config::parse(text)
    {
        assert!(
            config.backends.contains_key(&config.backend),
            "the chosen backend {:?} is not configured",
            config.backend
        );
    }
}

/// A GGUF file's header and what we build from it without weights: its summary, its
/// tokenizer and the forward pass's configuration. Each is built or refused, never a panic.
pub fn gguf_header(data: &[u8]) {
    use crate::engine::gguf_info::{GgufInfo, meta_str, parse_header};
    use crate::engine::llama::LlamaConfig;
    use crate::engine::tokenizer::TextTokenizer;
    let path = Path::new("fuzz.gguf");
    let mut reader = std::io::Cursor::new(data);
    let Ok(ct) = parse_header(path, &mut reader, data.len() as u64) else {
        return;
    };
    let _ = GgufInfo::from_content(path, data.len() as u64, &ct);
    let _ = LlamaConfig::from_gguf(path, &ct);
    let tokenizer = match meta_str(&ct, "tokenizer.ggml.model") {
        Some("gpt2") => TextTokenizer::from_gguf(&ct),
        Some("llama") => TextTokenizer::from_gguf_sentencepiece(&ct),
        _ => return,
    };
    if let Ok(t) = tokenizer {
        let text = "Hello, world! <|im_start|> <bos>\n\n 123 é 日本";
        if let Ok(ids) = t.encode(text) {
            let _ = t.decode(&ids);
        }
    }
}
