//! SentencePiece tokenization from GGUF metadata (`tokenizer.ggml.model = llama`: Llama 2,
//! Mistral, Gemma), as llama.cpp does it: special tokens are cut out of the text first
//! (longest first), spaces become `▁`, and each remaining run of text is merged pair by pair,
//! always the adjacent pair whose joined text is the highest-scoring token (leftmost on a tie);
//! characters that never join a token fall back to `<0xXX>` byte tokens.

use super::error::{EngineError, Result};
use aho_corasick::AhoCorasick;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

/// `tokenizer.ggml.token_type` values, as llama.cpp reads them.
pub mod token_type {
    pub const NORMAL: u8 = 1;
    pub const UNKNOWN: u8 = 2;
    pub const CONTROL: u8 = 3;
    pub const USER_DEFINED: u8 = 4;
    pub const UNUSED: u8 = 5;
    pub const BYTE: u8 = 6;
}

/// The SentencePiece space marker.
const SPACE: &str = "\u{2581}";

/// A SentencePiece vocabulary with its scores and token types.
#[derive(Clone)]
pub struct SpmTokenizer {
    pieces: Vec<String>,
    scores: Vec<f32>,
    types: Vec<u8>,
    to_id: HashMap<Box<[u8]>, u32>,
    byte_ids: [Option<u32>; 256],
    add_space_prefix: bool,
    /// Tokens cut out of the text before merging (control, user-defined and unknown ones),
    /// longest first, and a matcher that finds which of them occur in a text.
    specials: Vec<u32>,
    special_finder: Option<AhoCorasick>,
}

/// A piece of the text between special tokens, or a special token.
enum Fragment<'t> {
    Text(&'t str),
    Token(u32),
}

impl SpmTokenizer {
    /// Builds the tokenizer; `types` may be empty (every token normal).
    pub fn new(
        pieces: Vec<String>,
        scores: Vec<f32>,
        types: Vec<u8>,
        add_space_prefix: bool,
    ) -> Result<SpmTokenizer> {
        if scores.len() != pieces.len() || (!types.is_empty() && types.len() != pieces.len()) {
            return Err(EngineError::Tokenizer(format!(
                "the vocabulary has {} tokens but {} scores and {} token types",
                pieces.len(),
                scores.len(),
                types.len()
            )));
        }
        let types = if types.is_empty() {
            vec![token_type::NORMAL; pieces.len()]
        } else {
            types
        };
        let mut to_id = HashMap::with_capacity(pieces.len());
        for (id, piece) in pieces.iter().enumerate() {
            // A later duplicate wins, as in llama.cpp.
            to_id.insert(piece.as_bytes().into(), id as u32);
        }
        let mut byte_ids = [None; 256];
        for (b, slot) in byte_ids.iter_mut().enumerate() {
            let name = format!("<0x{b:02X}>");
            *slot = to_id
                .get(name.as_bytes())
                .or_else(|| to_id.get(&[b as u8][..]))
                .copied();
        }
        let mut specials: Vec<u32> = (0..pieces.len() as u32)
            .filter(|&id| {
                matches!(
                    types[id as usize],
                    token_type::CONTROL | token_type::USER_DEFINED | token_type::UNKNOWN
                ) && !pieces[id as usize].is_empty()
            })
            .collect();
        specials.sort_by_key(|&id| (std::cmp::Reverse(pieces[id as usize].len()), id));
        let special_finder = if specials.is_empty() {
            None
        } else {
            let patterns = specials.iter().map(|&id| pieces[id as usize].as_bytes());
            Some(AhoCorasick::new(patterns).map_err(|e| {
                EngineError::Tokenizer(format!("cannot index the special tokens: {e}"))
            })?)
        };
        Ok(SpmTokenizer {
            pieces,
            scores,
            types,
            to_id,
            byte_ids,
            add_space_prefix,
            specials,
            special_finder,
        })
    }

    pub fn vocab_size(&self) -> usize {
        self.pieces.len()
    }

    pub fn token_id(&self, piece: &str) -> Option<u32> {
        self.to_id.get(piece.as_bytes()).copied()
    }

    /// Whether `id` is a control token such as `<bos>` or `<start_of_turn>`.
    pub fn is_control(&self, id: u32) -> bool {
        self.types.get(id as usize) == Some(&token_type::CONTROL)
    }

    /// The bytes a token stands for: `▁` is a space, byte tokens are their byte, control and
    /// user-defined tokens are their text.
    pub fn token_bytes(&self, id: u32) -> Vec<u8> {
        let Some(piece) = self.pieces.get(id as usize) else {
            return Vec::new();
        };
        match self.types[id as usize] {
            token_type::BYTE => byte_token_value(piece)
                .map(|b| vec![b])
                .unwrap_or_else(|| piece.as_bytes().to_vec()),
            token_type::CONTROL | token_type::USER_DEFINED | token_type::UNKNOWN => {
                piece.as_bytes().to_vec()
            }
            _ => piece.replace(SPACE, " ").into_bytes(),
        }
    }

    /// Token ids of `text` with special tokens recognised (llama.cpp's `parse_special`).
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        // The space prefix goes before the first text and after every special token.
        let mut after_special = true;
        for fragment in self.partition(text) {
            match fragment {
                Fragment::Token(id) => {
                    out.push(id);
                    after_special = true;
                }
                Fragment::Text(t) => {
                    let mut escaped = String::with_capacity(t.len() + 3);
                    if self.add_space_prefix && after_special {
                        escaped.push_str(SPACE);
                    }
                    escaped.push_str(&t.replace(' ', SPACE));
                    self.merge(&escaped, &mut out);
                    after_special = false;
                }
            }
        }
        out
    }

    /// Cuts special tokens out of `text`, longest token first, each at every place it occurs
    /// in what is still text.
    fn partition<'t>(&self, text: &'t str) -> Vec<Fragment<'t>> {
        let mut fragments = vec![Fragment::Text(text)];
        let Some(finder) = &self.special_finder else {
            return fragments;
        };
        // Only the special tokens that occur somewhere need the full pass.
        let mut present: Vec<usize> = finder
            .find_overlapping_iter(text)
            .map(|m| m.pattern().as_usize())
            .collect();
        present.sort_unstable();
        present.dedup();
        for index in present {
            let id = self.specials[index];
            let needle = self.pieces[id as usize].as_str();
            let mut next = Vec::with_capacity(fragments.len() + 2);
            for fragment in fragments {
                let Fragment::Text(mut rest) = fragment else {
                    next.push(fragment);
                    continue;
                };
                while let Some(at) = rest.find(needle) {
                    if at > 0 {
                        next.push(Fragment::Text(&rest[..at]));
                    }
                    next.push(Fragment::Token(id));
                    rest = &rest[at + needle.len()..];
                }
                if !rest.is_empty() {
                    next.push(Fragment::Text(rest));
                }
            }
            fragments = next;
        }
        fragments
    }

    /// The merge loop over one escaped run of text.
    fn merge(&self, text: &str, out: &mut Vec<u32>) {
        if text.is_empty() {
            return;
        }
        let bytes = text.as_bytes();
        // One symbol per character: (start, length, previous, next); merged-away symbols
        // have length 0.
        let mut symbols: Vec<Symbol> = Vec::with_capacity(text.len());
        for (i, (start, c)) in text.char_indices().enumerate() {
            symbols.push(Symbol {
                start,
                len: c.len_utf8(),
                prev: i.checked_sub(1),
                next: Some(i + 1),
            });
        }
        if let Some(last) = symbols.last_mut() {
            last.next = None;
        }
        let mut queue = BinaryHeap::new();
        for i in 1..symbols.len() {
            self.push_pair(bytes, &symbols, Some(i - 1), Some(i), &mut queue);
        }
        while let Some(pair) = queue.pop() {
            let (left, right) = (symbols[pair.left], symbols[pair.right]);
            // Skip pairs whose symbols have changed since the pair was queued.
            if left.len == 0 || right.len == 0 || left.len + right.len != pair.len {
                continue;
            }
            symbols[pair.left].len += right.len;
            symbols[pair.right].len = 0;
            symbols[pair.left].next = right.next;
            if let Some(n) = right.next {
                symbols[n].prev = Some(pair.left);
            }
            self.push_pair(bytes, &symbols, left.prev, Some(pair.left), &mut queue);
            self.push_pair(bytes, &symbols, Some(pair.left), right.next, &mut queue);
        }
        let mut at = Some(0);
        while let Some(i) = at {
            let s = symbols[i];
            let piece = &bytes[s.start..s.start + s.len];
            match self.to_id.get(piece) {
                Some(&id) => out.push(id),
                None => out.extend(piece.iter().filter_map(|&b| self.byte_ids[b as usize])),
            }
            at = s.next;
        }
    }

    fn push_pair(
        &self,
        bytes: &[u8],
        symbols: &[Symbol],
        left: Option<usize>,
        right: Option<usize>,
        queue: &mut BinaryHeap<Pair>,
    ) {
        let (Some(left), Some(right)) = (left, right) else {
            return;
        };
        let len = symbols[left].len + symbols[right].len;
        let start = symbols[left].start;
        if let Some(&id) = self.to_id.get(&bytes[start..start + len]) {
            queue.push(Pair {
                score: self.scores[id as usize],
                left,
                right,
                len,
            });
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Symbol {
    start: usize,
    len: usize,
    prev: Option<usize>,
    next: Option<usize>,
}

/// Two adjacent symbols whose joined text is a token with `score`.
struct Pair {
    score: f32,
    left: usize,
    right: usize,
    len: usize,
}

impl Ord for Pair {
    /// The highest score first; on a tie, the leftmost pair.
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then(other.left.cmp(&self.left))
    }
}

impl PartialOrd for Pair {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Pair {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Pair {}

/// The byte of a `<0xAB>` token.
fn byte_token_value(piece: &str) -> Option<u8> {
    let hex = piece.strip_prefix("<0x")?.strip_suffix('>')?;
    if hex.len() != 2 {
        return None;
    }
    u8::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> SpmTokenizer {
        let mut pieces: Vec<String> = vec!["<unk>".into(), "<s>".into(), "</s>".into()];
        let mut types = vec![
            token_type::UNKNOWN,
            token_type::CONTROL,
            token_type::CONTROL,
        ];
        for b in 0..=255u8 {
            pieces.push(format!("<0x{b:02X}>"));
            types.push(token_type::BYTE);
        }
        for (p, t) in [
            ("\u{2581}", token_type::NORMAL),
            ("h", token_type::NORMAL),
            ("e", token_type::NORMAL),
            ("l", token_type::NORMAL),
            ("o", token_type::NORMAL),
            ("he", token_type::NORMAL),
            ("ll", token_type::NORMAL),
            ("hell", token_type::NORMAL),
            ("hello", token_type::NORMAL),
            ("\u{2581}hello", token_type::NORMAL),
            ("\n\n", token_type::USER_DEFINED),
        ] {
            pieces.push(p.into());
            types.push(t);
        }
        let scores = (0..pieces.len()).map(|i| -(i as f32)).collect();
        SpmTokenizer::new(pieces, scores, types, false).expect("tiny vocabulary")
    }

    #[test]
    fn merges_by_score_falls_back_to_bytes_and_cuts_out_specials() {
        let t = tiny();
        let id = |p: &str| t.token_id(p).expect("piece");
        assert_eq!(t.encode("hello"), [id("hello")]);
        assert_eq!(t.encode(" hello"), [id("\u{2581}hello")]);
        // 'x' is no token: its byte stands in.
        assert_eq!(t.encode("hx"), [id("h"), id("<0x78>")]);
        assert_eq!(
            t.encode("he</s>\n\nhe"),
            [id("he"), id("</s>"), id("\n\n"), id("he")]
        );
        assert_eq!(t.token_bytes(id("\u{2581}hello")), b" hello");
        assert_eq!(t.token_bytes(id("<0x0A>")), b"\n");
        assert!(t.encode("").is_empty());
    }

    #[test]
    fn the_space_prefix_goes_before_the_first_text_and_after_specials() {
        let mut t = tiny();
        t.add_space_prefix = true;
        let id = |p: &str| t.token_id(p).expect("piece");
        assert_eq!(t.encode("hello"), [id("\u{2581}hello")]);
        assert_eq!(
            t.encode("hello<s>hello"),
            [id("\u{2581}hello"), id("<s>"), id("\u{2581}hello")]
        );
    }
}
