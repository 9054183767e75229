//! Turning a flat node list with parent links (the shape most looms save) into a loom:
//! duplicate ids, missing parents and cycles are errors naming the node; several roots go
//! under a new empty root.

use super::error::ImportError;
use crate::tree::{Author, Imported, Loom, LoomBuilder, Node, NodeId, Origin};
use std::collections::HashMap;

/// One node as a file lists it.
pub struct FlatNode {
    /// The node's id in the file.
    pub key: String,
    /// Its parent's id in the file; None for a root.
    pub parent: Option<String>,
    pub node: Node,
}

/// A loom built from a flat list, with the file's ids mapped to the loom's.
pub struct Built {
    pub loom: Loom,
    pub ids: HashMap<String, NodeId>,
    pub warnings: Vec<String>,
}

/// The provenance every node of an imported file gets.
pub fn origin(format: &str, author: Author, model: Option<String>) -> Origin {
    Origin::Imported(Imported {
        format: format.to_string(),
        author,
        model: model.filter(|m| !m.trim().is_empty()),
    })
}

/// Build a loom from `nodes` (in file order). `order` gives a parent's children in the
/// file's own order where the format records one; children it does not list follow in file
/// order.
pub fn build(
    format: &'static str,
    nodes: Vec<FlatNode>,
    order: &HashMap<String, Vec<String>>,
) -> Result<Built, ImportError> {
    let err = |problem: String| ImportError::invalid(format, problem);
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(nodes.len());
    for (i, n) in nodes.iter().enumerate() {
        if index.insert(n.key.as_str(), i).is_some() {
            return Err(err(format!("node id {:?} appears twice", n.key)));
        }
    }
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    let mut roots = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        match &n.parent {
            None => roots.push(i),
            Some(p) => {
                let &pi = index.get(p.as_str()).ok_or_else(|| {
                    err(format!(
                        "node {:?} names parent {p:?}, which is not in the file",
                        n.key
                    ))
                })?;
                children[pi].push(i);
            }
        }
    }
    for (pi, kids) in children.iter_mut().enumerate() {
        if let Some(listed) = order.get(&nodes[pi].key) {
            let rank: HashMap<&str, usize> = listed
                .iter()
                .enumerate()
                .map(|(r, k)| (k.as_str(), r))
                .collect();
            kids.sort_by_key(|&c| {
                rank.get(nodes[c].key.as_str())
                    .copied()
                    .unwrap_or(usize::MAX)
            });
        }
    }
    if roots.is_empty() {
        let first = nodes.first().map(|n| n.key.clone()).unwrap_or_default();
        return Err(if nodes.is_empty() {
            err("the file has no nodes".into())
        } else {
            err(format!(
                "every node names a parent, so the parent links form a cycle (node {first:?} is on one)"
            ))
        });
    }
    let mut warnings = Vec::new();
    let total = nodes.len();
    let mut slots: Vec<Option<Node>> = Vec::with_capacity(total);
    let mut keys: Vec<String> = Vec::with_capacity(total);
    for n in nodes {
        slots.push(Some(n.node));
        keys.push(n.key);
    }
    let (mut builder, mut stack) = if roots.len() == 1 {
        let root = slots[roots[0]].take().unwrap_or_else(|| Node::new(""));
        let b = LoomBuilder::new(root);
        let top = b.root();
        let stack: Vec<(usize, NodeId)> =
            children[roots[0]].iter().rev().map(|&c| (c, top)).collect();
        (b, stack)
    } else {
        warnings.push(format!(
            "{} nodes have no parent; they are put under a new empty root",
            roots.len()
        ));
        let mut root = Node::new("");
        root.origin = origin(format, Author::Unknown, None);
        let b = LoomBuilder::new(root);
        let top = b.root();
        (b, roots.iter().rev().map(|&r| (r, top)).collect())
    };
    let mut ids = HashMap::with_capacity(total);
    if roots.len() == 1 {
        ids.insert(keys[roots[0]].clone(), builder.root());
    }
    while let Some((i, parent)) = stack.pop() {
        let Some(node) = slots[i].take() else {
            continue;
        };
        let id = builder
            .add(parent, node)
            .map_err(|e| err(format!("node {:?}: {e}", keys[i])))?;
        ids.insert(keys[i].clone(), id);
        stack.extend(children[i].iter().rev().map(|&c| (c, id)));
    }
    if let Some(stray) = slots.iter().position(Option::is_some) {
        return Err(err(format!(
            "node {:?} cannot be reached from a root: its parent links form a cycle",
            keys[stray]
        )));
    }
    Ok(Built {
        loom: builder.finish(),
        ids,
        warnings,
    })
}

/// Point the cursor of a built loom at the node the file had selected, if it exists.
pub fn set_cursor(built: &mut Built, key: Option<&str>) {
    if let Some(id) = key.and_then(|k| built.ids.get(k)).copied() {
        let _ = built.loom.set_cursor(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::outline::{OutlineOptions, render};

    fn flat(key: &str, parent: Option<&str>, text: &str) -> FlatNode {
        FlatNode {
            key: key.into(),
            parent: parent.map(String::from),
            node: Node::new(text),
        }
    }

    fn outline(loom: &Loom) -> String {
        let o = OutlineOptions {
            ids: false,
            ..OutlineOptions::default()
        };
        render(loom, loom.root(), o)
    }

    #[test]
    fn children_follow_the_listed_order_then_file_order() {
        let nodes = vec![
            flat("r", None, "R"),
            flat("a", Some("r"), "a"),
            flat("b", Some("r"), "b"),
            flat("c", Some("r"), "c"),
        ];
        let order = HashMap::from([("r".to_string(), vec!["c".to_string(), "a".to_string()])]);
        let built = build("test", nodes, &order).expect("builds");
        assert_eq!(
            outline(&built.loom),
            "\"R\" [*]\n  \"c\"\n  \"a\"\n  \"b\"\n"
        );
    }

    #[test]
    fn several_roots_go_under_an_empty_root_with_a_warning() {
        let nodes = vec![flat("a", None, "A"), flat("b", None, "B")];
        let built = build("test", nodes, &HashMap::new()).expect("builds");
        assert_eq!(outline(&built.loom), "\"\" [*]\n  \"A\"\n  \"B\"\n");
        assert_eq!(built.warnings.len(), 1);
    }

    #[test]
    fn broken_parent_links_are_errors_naming_the_node() {
        let missing = build(
            "test",
            vec![flat("a", None, ""), flat("b", Some("z"), "")],
            &HashMap::new(),
        );
        let msg = missing.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("\"b\" names parent \"z\""), "{msg}");
        let dup = build(
            "test",
            vec![flat("a", None, ""), flat("a", None, "")],
            &HashMap::new(),
        );
        assert!(
            dup.err()
                .is_some_and(|e| e.to_string().contains("appears twice"))
        );
        let cycle = vec![
            flat("r", None, ""),
            flat("x", Some("y"), ""),
            flat("y", Some("x"), ""),
        ];
        let msg = build("test", cycle, &HashMap::new())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("cycle"), "{msg}");
        let all_cycle = vec![flat("x", Some("x"), "")];
        assert!(build("test", all_cycle, &HashMap::new()).is_err());
        assert!(build("test", Vec::new(), &HashMap::new()).is_err());
    }
}
