//! The prefix cache: a trie of KV pages keyed by the tokens they hold, shaped like the loom's
//! tree. Every prompt prefilled and every branch decoded leaves its pages here, so expanding a
//! node whose ancestry was seen before runs only the new tokens, and regenerating a node's
//! children runs none. Bounded by a byte budget; least recently used leaves go first.
//!
//! Edits need no invalidation: an edited text has other tokens, which simply match a shorter
//! path, and the pages nobody reaches any more age out.

use super::kv::{Page, Sequence};
use crate::engine::kernels::attention::PAGE;
use std::sync::Arc;

struct Node {
    /// The tokens the page holds (a full page has `PAGE`; a shorter one is a leaf).
    tokens: Vec<u32>,
    page: Arc<Page>,
    parent: Option<usize>,
    children: Vec<usize>,
    depth: usize,
    last_used: u64,
}

/// Next-token logits of recently completed prompts.
struct Logits {
    tokens: Vec<u32>,
    logits: Vec<f32>,
    last_used: u64,
}

const KEPT_LOGITS: usize = 8;

pub struct PrefixCache {
    nodes: Vec<Option<Node>>,
    free: Vec<usize>,
    roots: Vec<usize>,
    logits: Vec<Logits>,
    budget: usize,
    bytes: usize,
    clock: u64,
}

/// What a lookup found: a sequence holding the longest usable cached prefix, and the logits
/// after the whole prompt when it was cached with them.
pub struct Hit {
    pub sequence: Sequence,
    pub logits: Option<Vec<f32>>,
}

impl PrefixCache {
    /// A cache that may hold `budget` bytes of pages (0 disables it).
    pub fn new(budget: usize) -> PrefixCache {
        PrefixCache {
            nodes: Vec::new(),
            free: Vec::new(),
            roots: Vec::new(),
            logits: Vec::new(),
            budget,
            bytes: 0,
            clock: 0,
        }
    }

    fn node(&self, i: usize) -> &Node {
        self.nodes[i].as_ref().expect("live trie node")
    }

    fn node_mut(&mut self, i: usize) -> &mut Node {
        self.nodes[i].as_mut().expect("live trie node")
    }

    fn children_of(&self, parent: Option<usize>) -> &[usize] {
        match parent {
            Some(p) => &self.node(p).children,
            None => &self.roots,
        }
    }

    /// The longest cached prefix of `tokens`. Without stored logits for the whole prompt,
    /// its last token is left to run, since its logits are needed.
    pub fn lookup(&mut self, tokens: &[u32]) -> Hit {
        self.clock += 1;
        let clock = self.clock;
        let logits = self
            .logits
            .iter_mut()
            .find(|l| l.tokens == tokens)
            .map(|l| {
                l.last_used = clock;
                l.logits.clone()
            });
        let mut pages = Vec::new();
        let mut matched = 0;
        let mut at: Option<usize> = None;
        while matched < tokens.len() {
            let want = &tokens[matched..(matched + PAGE).min(tokens.len())];
            let best = self
                .children_of(at)
                .iter()
                .map(|&c| (c, common(&self.node(c).tokens, want)))
                .max_by_key(|&(c, n)| (n, std::cmp::Reverse(c)));
            let Some((child, n)) = best.filter(|&(_, n)| n > 0) else {
                break;
            };
            let node = self.node_mut(child);
            node.last_used = clock;
            pages.push(node.page.clone());
            matched += n;
            if n < PAGE {
                break;
            }
            at = Some(child);
        }
        let usable = if logits.is_some() && matched == tokens.len() {
            matched
        } else {
            matched.min(tokens.len().saturating_sub(1))
        };
        pages.truncate(usable.div_ceil(PAGE));
        Hit {
            sequence: Sequence::from_pages(tokens[..usable].to_vec(), pages),
            logits: logits.filter(|_| usable == tokens.len()),
        }
    }

    /// Remembers the pages of `seq` (shared, not copied).
    pub fn insert(&mut self, seq: &Sequence) {
        if self.budget == 0 || seq.is_empty() {
            return;
        }
        self.clock += 1;
        let clock = self.clock;
        let mut at: Option<usize> = None;
        for (depth, (chunk, page)) in seq.tokens().chunks(PAGE).zip(seq.pages()).enumerate() {
            let siblings = self.children_of(at).to_vec();
            if let Some(&same) = siblings.iter().find(|&&c| self.node(c).tokens == chunk) {
                self.node_mut(same).last_used = clock;
                at = Some(same);
                continue;
            }
            if let Some(&longer) = siblings
                .iter()
                .find(|&&c| self.node(c).tokens.starts_with(chunk))
            {
                self.node_mut(longer).last_used = clock;
                break;
            }
            // Shorter leaves this page extends are covered by it from now on.
            for c in siblings {
                let n = self.node(c);
                if n.children.is_empty() && chunk.starts_with(&n.tokens) {
                    self.remove(c);
                }
            }
            let node = self.add(at, chunk.to_vec(), page.clone(), depth, clock);
            at = Some(node);
        }
        self.evict();
    }

    /// Remembers the logits after `tokens`.
    pub fn insert_logits(&mut self, tokens: &[u32], logits: Vec<f32>) {
        if self.budget == 0 {
            return;
        }
        self.clock += 1;
        self.logits.retain(|l| l.tokens != tokens);
        if self.logits.len() >= KEPT_LOGITS
            && let Some(oldest) = (0..self.logits.len()).min_by_key(|&i| self.logits[i].last_used)
        {
            self.logits.swap_remove(oldest);
        }
        self.logits.push(Logits {
            tokens: tokens.to_vec(),
            logits,
            last_used: self.clock,
        });
    }

    fn add(
        &mut self,
        parent: Option<usize>,
        tokens: Vec<u32>,
        page: Arc<Page>,
        depth: usize,
        clock: u64,
    ) -> usize {
        self.bytes += page.bytes();
        let node = Node {
            tokens,
            page,
            parent,
            children: Vec::new(),
            depth,
            last_used: clock,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.nodes[i] = Some(node);
                i
            }
            None => {
                self.nodes.push(Some(node));
                self.nodes.len() - 1
            }
        };
        match parent {
            Some(p) => self.node_mut(p).children.push(i),
            None => self.roots.push(i),
        }
        i
    }

    /// Removes leaf `i`.
    fn remove(&mut self, i: usize) {
        let Some(node) = self.nodes[i].take() else {
            return;
        };
        self.bytes -= node.page.bytes();
        let list = match node.parent {
            Some(p) => &mut self.node_mut(p).children,
            None => &mut self.roots,
        };
        list.retain(|&c| c != i);
        self.free.push(i);
    }

    /// Drops least recently used leaves (deepest first among equals) until within budget.
    fn evict(&mut self) {
        while self.bytes > self.budget {
            let victim = self
                .nodes
                .iter()
                .enumerate()
                .filter_map(|(i, n)| n.as_ref().map(|n| (i, n)))
                .filter(|(_, n)| n.children.is_empty())
                .min_by_key(|(_, n)| (n.last_used, std::cmp::Reverse(n.depth)))
                .map(|(i, _)| i);
            match victim {
                Some(i) => self.remove(i),
                None => break,
            }
        }
    }

    /// Pages held (shared ones included).
    pub fn pages(&self) -> usize {
        self.nodes.iter().flatten().count()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

fn common(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::kernels::attention::KvShape;

    const SHAPE: KvShape = KvShape {
        layers: 1,
        kv_heads: 1,
        head_dim: 8,
    };

    /// A sequence of `tokens` whose pages are fresh (as after a prefill).
    fn run(tokens: &[u32]) -> Sequence {
        let mut s = Sequence::default();
        s.reserve(tokens.len(), &SHAPE);
        s.extend(tokens);
        s
    }

    fn page_bytes() -> usize {
        SHAPE.page_len() * 2
    }

    #[test]
    fn a_prompt_resumes_from_its_longest_cached_prefix_and_its_last_token_runs() {
        let mut cache = PrefixCache::new(1 << 20);
        let parent: Vec<u32> = (0..40).collect();
        cache.insert(&run(&parent));
        let mut child = parent.clone();
        child.extend([100, 101, 102]);
        let hit = cache.lookup(&child);
        assert_eq!(hit.sequence.len(), 40);
        assert!(hit.logits.is_none());
        // The same prompt without stored logits: all but the last token.
        assert_eq!(cache.lookup(&parent).sequence.len(), 39);
        cache.insert_logits(&parent, vec![0.5; 3]);
        let hit = cache.lookup(&parent);
        assert_eq!((hit.sequence.len(), hit.logits), (40, Some(vec![0.5; 3])));
        // An edit inside the third page keeps the first two.
        let mut edited = parent.clone();
        edited[35] = 7;
        assert_eq!(cache.lookup(&edited).sequence.len(), 35);
        assert_eq!(cache.lookup(&[9, 9, 9]).sequence.len(), 0);
    }

    #[test]
    fn branches_share_the_prompts_pages_and_extend_its_partial_page() {
        let mut cache = PrefixCache::new(1 << 20);
        let prompt: Vec<u32> = (0..20).collect();
        let seq = run(&prompt);
        cache.insert(&seq);
        assert_eq!(cache.pages(), 2);
        // A branch forks the prompt and decodes 30 tokens.
        let mut branch = seq.clone();
        let generated: Vec<u32> = (500..530).collect();
        branch.reserve(generated.len(), &SHAPE);
        branch.extend(&generated);
        cache.insert(&branch);
        // The shared first page is kept once; the prompt's partial page is covered by the
        // branch's fuller copy of it and dropped; the branch adds two more.
        assert_eq!(cache.pages(), 1 + 1 + 2);
        let mut next = prompt.clone();
        next.extend(&generated);
        next.push(999);
        assert_eq!(cache.lookup(&next).sequence.len(), 50);
        assert_eq!(cache.lookup(&prompt).sequence.len(), 19);
    }

    #[test]
    fn the_least_recently_used_leaves_go_first_when_over_budget() {
        let mut cache = PrefixCache::new(5 * page_bytes());
        let a: Vec<u32> = (0..48).collect();
        let b: Vec<u32> = (1000..1048).collect();
        cache.insert(&run(&a));
        cache.insert(&run(&b));
        assert!(cache.bytes() <= 5 * page_bytes());
        // `a` was used longer ago: its last page went, its first two stay.
        assert_eq!(cache.lookup(&a).sequence.len(), 32);
        assert_eq!(cache.lookup(&b).sequence.len(), 47);
        let off = PrefixCache::new(0);
        assert_eq!(off.pages(), 0);
    }
}
