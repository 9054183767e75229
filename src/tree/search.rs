//! Search over node texts (substring or regex), results in tree order.

use super::error::TreeError;
use super::folded::FoldedFinder;
use super::id::NodeId;
use super::loom::Loom;
use regex::{Regex, RegexBuilder};

/// What to look for.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub pattern: String,
    /// Treat the pattern as a regular expression (else a plain substring).
    pub regex: bool,
    pub case_sensitive: bool,
    /// Also look inside archived nodes.
    pub include_archived: bool,
}

impl Query {
    /// A case-insensitive substring search over non-archived nodes.
    pub fn substring(pattern: &str) -> Query {
        Query {
            pattern: pattern.to_string(),
            regex: false,
            case_sensitive: false,
            include_archived: false,
        }
    }

    /// Build the fastest matcher for this query: a plain substring search where possible
    /// (ASCII case folding without a regex engine), else a regex.
    pub fn compile(&self) -> Result<Matcher, TreeError> {
        if !self.regex && self.case_sensitive {
            return Ok(Matcher::Exact(Box::new(
                memchr::memmem::Finder::new(self.pattern.as_bytes()).into_owned(),
            )));
        }
        if !self.regex
            && let Some(finder) = FoldedFinder::new(&self.pattern)
        {
            return Ok(Matcher::Folded(finder));
        }
        let source = if self.regex {
            self.pattern.clone()
        } else {
            regex::escape(&self.pattern)
        };
        RegexBuilder::new(&source)
            .case_insensitive(!self.case_sensitive)
            .size_limit(1 << 22)
            .build()
            .map(Matcher::Regex)
            .map_err(|e| TreeError::BadPattern(e.to_string()))
    }
}

/// Above this many matching nodes, ordering them by walking the tree is cheaper than
/// sorting them by their paths.
const MAX_HITS_TO_SORT: usize = 2000;

/// A compiled query.
#[derive(Debug, Clone)]
pub enum Matcher {
    Exact(Box<memchr::memmem::Finder<'static>>),
    Folded(FoldedFinder),
    Regex(Regex),
}

impl Matcher {
    /// Non-empty matches in `text`, as byte ranges.
    pub fn find_all(&self, text: &str, mut found: impl FnMut(usize, usize)) {
        match self {
            Matcher::Exact(finder) => {
                let n = finder.needle().len();
                for start in finder.find_iter(text.as_bytes()) {
                    found(start, start + n);
                }
            }
            Matcher::Folded(finder) => {
                let n = finder.len();
                finder.find_all(text.as_bytes(), |start| found(start, start + n));
            }
            Matcher::Regex(re) => {
                for m in re.find_iter(text) {
                    if m.start() < m.end() {
                        found(m.start(), m.end());
                    }
                }
            }
        }
    }
}

/// One match: a byte range inside a node's own text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    pub node: NodeId,
    pub start: usize,
    pub end: usize,
}

impl Loom {
    /// Every match in the subtree under the view root, in tree order.
    pub fn search(&self, query: &Query) -> Result<Vec<Match>, TreeError> {
        if query.pattern.is_empty() {
            return Ok(Vec::new());
        }
        let re = query.compile()?;
        // One pass over the node storage (no per-node id lookups); the few hits are then
        // placed in tree order. Many hits are cheaper to order by walking the tree.
        let mut hits: Vec<Match> = Vec::new();
        let mut nodes_hit = 0usize;
        for node in self.graph.node_weights() {
            if node.archived && !query.include_archived {
                continue;
            }
            let before = hits.len();
            re.find_all(&node.text, |start, end| {
                hits.push(Match {
                    node: node.id(),
                    start,
                    end,
                })
            });
            nodes_hit += usize::from(hits.len() > before);
        }
        if nodes_hit > MAX_HITS_TO_SORT {
            return Ok(self.search_walk(&re, query.include_archived));
        }
        let view_root = self.view_root();
        let mut keyed: Vec<(Vec<usize>, Match)> = Vec::with_capacity(hits.len());
        for hit in hits {
            if let Some(key) = self.order_key(hit.node, view_root, query.include_archived) {
                keyed.push((key, hit));
            }
        }
        keyed.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.start.cmp(&b.1.start)));
        Ok(keyed.into_iter().map(|(_, m)| m).collect())
    }

    /// The child positions from `view_root` down to `id` (a preorder sort key), or None when
    /// `id` is outside the view or below an archived node that the search skips.
    fn order_key(
        &self,
        id: NodeId,
        view_root: NodeId,
        include_archived: bool,
    ) -> Option<Vec<usize>> {
        let mut key = Vec::new();
        let mut current = id;
        loop {
            if !include_archived && self.get(current)?.archived {
                return None;
            }
            if current == view_root {
                key.reverse();
                return Some(key);
            }
            let parent = self.parent(current)?;
            key.push(self.children(parent).iter().position(|&c| c == current)?);
            current = parent;
        }
    }

    /// Matches found by walking the view's subtree depth-first (already in tree order).
    fn search_walk(&self, re: &Matcher, include_archived: bool) -> Vec<Match> {
        let mut out = Vec::new();
        let mut stack = vec![self.view_root()];
        while let Some(id) = stack.pop() {
            let Some(node) = self.get(id) else { continue };
            if node.archived && !include_archived {
                continue;
            }
            re.find_all(&node.text, |start, end| {
                out.push(Match {
                    node: id,
                    start,
                    end,
                })
            });
            stack.extend(node.children().iter().rev().copied());
        }
        out
    }

    /// Nodes with at least one match, in tree order.
    pub fn search_nodes(&self, query: &Query) -> Result<Vec<NodeId>, TreeError> {
        let mut nodes: Vec<NodeId> = self.search(query)?.into_iter().map(|m| m.node).collect();
        nodes.dedup();
        Ok(nodes)
    }
}
