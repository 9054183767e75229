//! A sequence's KV cache as a list of shared pages. Sequences forked from one prompt hold the
//! same pages (reference counted) until one writes into a shared page, which copies it first;
//! so a fork costs nothing and a branch's memory is only what it adds.

use crate::engine::kernels::attention::{KvShape, PAGE};
use std::sync::Arc;

/// Keys and values of `PAGE` consecutive tokens for every layer and KV head, as f16 bits.
#[derive(Debug, Clone)]
pub struct Page {
    data: Box<[u16]>,
}

impl Page {
    fn new(len: usize) -> Page {
        Page {
            data: vec![0u16; len].into_boxed_slice(),
        }
    }

    pub fn data(&self) -> &[u16] {
        &self.data
    }

    /// Bytes held by one page.
    pub fn bytes(&self) -> usize {
        self.data.len() * 2
    }
}

/// The tokens of one sequence and the pages holding their keys and values.
#[derive(Debug, Clone, Default)]
pub struct Sequence {
    tokens: Vec<u32>,
    pages: Vec<Arc<Page>>,
}

impl Sequence {
    /// A sequence made of known pages (from the prefix cache) holding `tokens`.
    pub fn from_pages(tokens: Vec<u32>, pages: Vec<Arc<Page>>) -> Sequence {
        debug_assert!(pages.len() == tokens.len().div_ceil(PAGE));
        Sequence { tokens, pages }
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    pub fn pages(&self) -> &[Arc<Page>] {
        &self.pages
    }

    /// Keeps the first `len` tokens.
    pub fn truncate(&mut self, len: usize) {
        if len < self.tokens.len() {
            self.tokens.truncate(len);
            self.pages.truncate(len.div_ceil(PAGE));
        }
    }

    /// Makes room for `n` more tokens: adds pages, and copies any shared page they will be
    /// written into.
    pub fn reserve(&mut self, n: usize, shape: &KvShape) {
        let (from, to) = (self.tokens.len(), self.tokens.len() + n);
        if from == to {
            return;
        }
        for p in from / PAGE..to.div_ceil(PAGE) {
            if p == self.pages.len() {
                self.pages.push(Arc::new(Page::new(shape.page_len())));
            } else {
                Arc::make_mut(&mut self.pages[p]);
            }
        }
    }

    /// The page holding position `pos`, for writing; `reserve` must have covered it.
    pub fn page_mut(&mut self, pos: usize) -> &mut [u16] {
        let page = Arc::make_mut(&mut self.pages[pos / PAGE]);
        &mut page.data
    }

    /// Records that `tokens` were run (their keys and values are written).
    pub fn extend(&mut self, tokens: &[u32]) {
        self.tokens.extend_from_slice(tokens);
    }

    /// Every page as a slice, for attention.
    pub fn page_slices(&self) -> Vec<&[u16]> {
        self.pages.iter().map(|p| p.data()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forks_share_pages_until_one_writes() {
        let shape = KvShape {
            layers: 1,
            kv_heads: 1,
            head_dim: 8,
        };
        let mut a = Sequence::default();
        a.reserve(20, &shape);
        a.page_mut(3)[0] = 7;
        a.extend(&[1; 20]);
        let mut b = a.clone();
        assert!(Arc::ptr_eq(&a.pages[1], &b.pages[1]));
        b.reserve(1, &shape);
        assert!(
            Arc::ptr_eq(&a.pages[0], &b.pages[0]),
            "untouched page stays shared"
        );
        assert!(
            !Arc::ptr_eq(&a.pages[1], &b.pages[1]),
            "the written page was copied"
        );
        b.page_mut(20)[1] = 9;
        assert_eq!(a.pages[1].data()[1], 0);
        assert_eq!(b.pages[0].data()[0], 7);
        b.truncate(10);
        assert_eq!((b.len(), b.pages.len()), (10, 1));
    }
}
