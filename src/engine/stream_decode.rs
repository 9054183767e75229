//! Streaming detokenization: token bytes in, text out, never splitting a UTF-8 character
//! (an emoji spread over several byte-level tokens arrives whole with its last token).

/// Turns a stream of token ids into text pieces, holding back the bytes of a character until
/// all of them have arrived.
#[derive(Debug, Default, Clone)]
pub struct StreamDecoder {
    pending: Vec<u8>,
}

impl StreamDecoder {
    pub fn new() -> Self {
        StreamDecoder::default()
    }

    /// The text `bytes` completes (possibly empty).
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(s) => {
                    out.push_str(s);
                    self.pending.clear();
                    return out;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    out.push_str(&String::from_utf8_lossy(&self.pending[..valid]));
                    match e.error_len() {
                        // An incomplete character at the end: wait for more bytes.
                        None => {
                            self.pending.drain(..valid);
                            return out;
                        }
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            self.pending.drain(..valid + bad);
                        }
                    }
                }
            }
        }
    }

    /// Whatever is still held back, shown lossily (the stream ended mid-character).
    pub fn finish(&mut self) -> String {
        let rest = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_decoder_holds_back_a_split_emoji() {
        let emoji = "🦀".as_bytes();
        let mut d = StreamDecoder::new();
        assert_eq!(d.push(b"a"), "a");
        assert_eq!(d.push(&emoji[..2]), "");
        assert_eq!(d.push(&emoji[2..]), "🦀");
        assert_eq!(d.push(&[0xFF, b'b']), "\u{FFFD}b");
        assert_eq!(d.push(&emoji[..1]), "");
        assert_eq!(d.finish(), "\u{FFFD}");
    }
}
