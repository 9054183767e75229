//! Conversion between the file DTO and the in-memory `Loom`, with the structural checks a
//! file must pass: one root, parents and children that agree, no cycles, nothing unreachable.

use super::format::*;
use crate::tree::{
    Author, GenParams, Generation, Imported, Loom, Node, NodeId, Origin, TokenAlt, TokenRecord,
};
use serde::Serialize;
use serde::ser::{SerializeSeq, Serializer};
use std::collections::{HashMap, HashSet};

/// A node as written to a file, borrowing its texts from the tree.
#[derive(Serialize)]
pub struct NodeOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<NodeId>,
    #[serde(skip_serializing_if = "<[NodeId]>::is_empty")]
    children: &'a [NodeId],
    text: &'a str,
    origin: OriginDto,
    created: i64,
    #[serde(skip_serializing_if = "is_false")]
    bookmarked: bool,
    #[serde(skip_serializing_if = "is_false")]
    archived: bool,
    #[serde(skip_serializing_if = "is_false")]
    edited: bool,
    #[serde(skip_serializing_if = "is_false")]
    unread: bool,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    tags: &'a [String],
    #[serde(skip_serializing_if = "str::is_empty")]
    note: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    memory: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_child: Option<NodeId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tokens: Option<TokensOut<'a>>,
    #[serde(flatten)]
    extra: &'a serde_json::Map<String, serde_json::Value>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Token records written as `{"id", "text", "logprob", "top": [[id, text, logprob], ...]}`.
pub struct TokensOut<'a>(&'a [TokenRecord]);

impl Serialize for TokensOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for t in self.0 {
            seq.serialize_element(&TokenDto {
                id: t.id,
                text: t.text.clone(),
                logprob: t.logprob,
                top: t
                    .top
                    .iter()
                    .map(|a| AltDto(a.id, a.text.clone(), a.logprob))
                    .collect(),
            })?;
        }
        seq.end()
    }
}

pub fn node_out(n: &Node) -> NodeOut<'_> {
    NodeOut {
        parent: n.parent(),
        children: n.children(),
        text: &n.text,
        origin: origin_to_dto(&n.origin),
        created: n.created,
        bookmarked: n.bookmarked,
        archived: n.archived,
        edited: n.edited,
        unread: n.unread,
        tags: &n.tags,
        note: &n.note,
        memory: &n.memory,
        // A stale pointer to a child that was moved or deleted is not worth saving.
        last_child: n.last_child.filter(|c| n.children().contains(c)),
        tokens: n.tokens.as_deref().map(TokensOut),
        extra: &n.extra,
    }
}

fn origin_to_dto(origin: &Origin) -> OriginDto {
    match origin {
        Origin::Human => OriginDto::Human,
        Origin::Model(g) => OriginDto::Model {
            model: g.model.clone(),
            backend: g.backend.clone(),
            params: ParamsDto {
                max_tokens: g.params.max_tokens,
                temperature: g.params.temperature,
                top_p: g.params.top_p,
                top_k: g.params.top_k,
                min_p: g.params.min_p,
                repetition_penalty: g.params.repetition_penalty,
                stop: g.params.stop.clone(),
            },
            seed: g.seed,
            finish: g.finish.clone(),
            mean_logprob: g.mean_logprob,
            mean_entropy: g.mean_entropy,
        },
        Origin::Imported(imp) => OriginDto::Imported {
            format: imp.format.clone(),
            author: match imp.author {
                Author::Human => AuthorDto::Human,
                Author::Model => AuthorDto::Model,
                Author::Unknown => AuthorDto::Unknown,
            },
            model: imp.model.clone(),
        },
    }
}

/// What a file held beyond the tree itself: problems that were repaired on load.
pub struct Converted {
    pub loom: Loom,
    pub warnings: Vec<String>,
}

/// Check a DTO's structure and build the loom. The error names the node at fault.
pub fn from_dto(dto: FileDto) -> Result<Converted, String> {
    let FileDto {
        root,
        cursor,
        hoist,
        next_id,
        memory,
        nodes,
        extra,
        ..
    } = dto;
    let mut warnings = Vec::new();
    let mut by_id: HashMap<NodeId, NodeDto> = HashMap::with_capacity(nodes.0.len());
    for (id, node) in nodes.0 {
        by_id.insert(id, node);
    }
    check_structure(root, &by_id)?;
    // Walk from the root, parents first, in child order.
    let mut ordered = Vec::with_capacity(by_id.len());
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        let Some(dto) = by_id.remove(&id) else {
            continue;
        };
        stack.extend(dto.children.iter().rev().copied());
        ordered.push(node_from_dto(id, dto)?);
    }
    if let Some((stray, _)) = by_id.iter().next() {
        return Err(format!(
            "node {stray} is not reachable from the root {root} (its parent chain forms a cycle)"
        ));
    }
    for node in &mut ordered {
        if node
            .last_child
            .is_some_and(|c| !node.children().contains(&c))
        {
            node.last_child = None;
        }
    }
    let mut loom = Loom::from_checked_parts(root, ordered);
    if let Some(next) = next_id {
        loom.set_next_id(next);
    }
    loom.memory = memory;
    loom.extra = extra;
    match cursor {
        Some(c) if loom.contains(c) => loom.cursor = c,
        Some(c) => warnings.push(format!(
            "cursor node {c} does not exist; starting at the root"
        )),
        None => {}
    }
    match hoist {
        Some(h) if loom.contains(h) => loom.hoist = Some(h),
        Some(h) => warnings.push(format!(
            "hoisted node {h} does not exist; showing the whole tree"
        )),
        None => {}
    }
    Ok(Converted { loom, warnings })
}

fn check_structure(root: NodeId, nodes: &HashMap<NodeId, NodeDto>) -> Result<(), String> {
    let root_node = nodes
        .get(&root)
        .ok_or_else(|| format!("the root {root} is not among the nodes"))?;
    if let Some(p) = root_node.parent {
        return Err(format!(
            "the root {root} names a parent ({p}); the root has none"
        ));
    }
    for (id, node) in nodes {
        if *id != root {
            let parent = node
                .parent
                .ok_or_else(|| format!("node {id} has no parent but is not the root {root}"))?;
            let parent_node = nodes.get(&parent).ok_or_else(|| {
                format!("node {id} names parent {parent}, which is not in the file")
            })?;
            if !parent_node.children.contains(id) {
                return Err(format!(
                    "node {id} names parent {parent}, but {parent} does not list it as a child"
                ));
            }
        }
        let mut seen = HashSet::with_capacity(node.children.len());
        for child in &node.children {
            if !seen.insert(child) {
                return Err(format!("node {id} lists child {child} twice"));
            }
            let child_node = nodes.get(child).ok_or_else(|| {
                format!("node {id} lists child {child}, which is not in the file")
            })?;
            if child_node.parent != Some(*id) {
                return Err(format!(
                    "node {id} lists child {child}, but {child} names {} as its parent",
                    child_node
                        .parent
                        .map(|p| p.to_string())
                        .unwrap_or_else(|| "no node".into())
                ));
            }
        }
    }
    Ok(())
}

fn node_from_dto(id: NodeId, d: NodeDto) -> Result<Node, String> {
    let tokens = d
        .tokens
        .map(|ts| ts.into_iter().map(token_from_dto).collect::<Vec<_>>());
    let mut node = Node::new(d.text);
    node.id = id;
    node.parent = d.parent;
    node.children = d.children;
    node.origin = origin_from_dto(d.origin);
    node.created = d.created;
    node.bookmarked = d.bookmarked;
    node.archived = d.archived;
    node.edited = d.edited;
    node.unread = d.unread;
    node.tags = d.tags;
    node.note = d.note;
    node.memory = d.memory;
    node.last_child = d.last_child;
    node.tokens = tokens;
    node.extra = d.extra;
    Ok(node)
}

fn origin_from_dto(o: OriginDto) -> Origin {
    match o {
        OriginDto::Human => Origin::Human,
        OriginDto::Model {
            model,
            backend,
            params,
            seed,
            finish,
            mean_logprob,
            mean_entropy,
        } => Origin::Model(Generation {
            model,
            backend,
            params: GenParams {
                max_tokens: params.max_tokens,
                temperature: params.temperature,
                top_p: params.top_p,
                top_k: params.top_k,
                min_p: params.min_p,
                repetition_penalty: params.repetition_penalty,
                stop: params.stop,
            },
            seed,
            finish,
            mean_logprob,
            mean_entropy,
        }),
        OriginDto::Imported {
            format,
            author,
            model,
        } => Origin::Imported(Imported {
            format,
            author: match author {
                AuthorDto::Human => Author::Human,
                AuthorDto::Model => Author::Model,
                AuthorDto::Unknown => Author::Unknown,
            },
            model,
        }),
    }
}

fn token_from_dto(t: TokenDto) -> TokenRecord {
    TokenRecord {
        id: t.id,
        text: t.text,
        logprob: t.logprob,
        top: t
            .top
            .into_iter()
            .map(|AltDto(id, text, logprob)| TokenAlt { id, text, logprob })
            .collect(),
    }
}
