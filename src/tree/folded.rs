//! ASCII case-insensitive substring search for plain (non-regex) queries: scan for the
//! needle's rarest byte in both cases with memchr2, then compare the window around each hit.
//! Much cheaper per short text than a general automaton, which matters over 100k nodes.

/// English text's bytes from most to least frequent; bytes not listed count as rare.
const COMMON: &[u8] = b" etaoinshrdlcumwfgypbvkjxqz";

fn rarity(b: u8) -> usize {
    let lower = b.to_ascii_lowercase();
    COMMON
        .iter()
        .position(|&c| c == lower)
        .map_or(usize::MAX, |i| COMMON.len() - i)
}

/// A compiled case-insensitive needle (ASCII folding only; the needle must be ASCII).
#[derive(Debug, Clone)]
pub struct FoldedFinder {
    needle: Vec<u8>,
    /// Offset in the needle of the byte scanned for.
    anchor: usize,
}

impl FoldedFinder {
    /// None for an empty or non-ASCII needle.
    pub fn new(needle: &str) -> Option<FoldedFinder> {
        if needle.is_empty() || !needle.is_ascii() {
            return None;
        }
        let bytes = needle.as_bytes();
        let anchor = (0..bytes.len()).max_by_key(|&i| rarity(bytes[i]))?;
        Some(FoldedFinder {
            needle: bytes.to_vec(),
            anchor,
        })
    }

    pub fn len(&self) -> usize {
        self.needle.len()
    }

    pub fn is_empty(&self) -> bool {
        self.needle.is_empty()
    }

    /// Starts of the non-overlapping matches in `haystack`, left to right.
    pub fn find_all(&self, haystack: &[u8], mut found: impl FnMut(usize)) {
        let n = self.needle.len();
        if haystack.len() < n {
            return;
        }
        let a = self.needle[self.anchor];
        let (lo, up) = (a.to_ascii_lowercase(), a.to_ascii_uppercase());
        // Positions before `next` cannot start a match (non-overlapping results).
        let mut next = 0;
        let last_start = haystack.len() - n;
        let window = &haystack[self.anchor..=last_start + self.anchor];
        for hit in memchr::memchr2_iter(lo, up, window) {
            if hit < next {
                continue;
            }
            if haystack[hit..hit + n].eq_ignore_ascii_case(&self.needle) {
                found(hit);
                next = hit + n;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FoldedFinder;

    fn all(needle: &str, hay: &str) -> Vec<usize> {
        let mut out = Vec::new();
        FoldedFinder::new(needle)
            .unwrap()
            .find_all(hay.as_bytes(), |s| out.push(s));
        out
    }

    #[test]
    fn finds_every_case_variant_without_overlaps() {
        assert_eq!(all("Light", "light LIGHT xLiGhTx ligh"), vec![0, 6, 13]);
        assert_eq!(all("aa", "aaaa"), vec![0, 2]);
        assert_eq!(all("q", "Q q"), vec![0, 2]);
        assert_eq!(all("lighthouse", "short"), Vec::<usize>::new());
    }

    #[test]
    fn refuses_empty_and_non_ascii_needles() {
        assert!(FoldedFinder::new("").is_none());
        assert!(FoldedFinder::new("é").is_none());
    }
}
