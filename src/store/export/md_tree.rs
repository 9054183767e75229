//! Markdown of a whole tree: the main line reads as prose (at each branch the child last
//! visited, else the first), and every alternative is folded where it branches off inside
//! `<details><summary>alt 2/3 …</summary>`, nested as deep as the tree. `&`, `<` and `>`
//! are escaped so no node can close a fold; Markdown shows the characters unchanged.

use super::{ExportOptions, kids, preview};
use crate::tree::{Loom, NodeId};

enum Step {
    Node(NodeId),
    Text(String),
}

/// The tree at the loom's root as Markdown.
pub fn render(loom: &Loom, options: &ExportOptions, title: &str) -> String {
    let mut out = String::new();
    if options.front_matter {
        out.push_str(&front_matter(loom, title));
    }
    out.push_str(&format!("# {}\n\n", md_escape(title)));
    let mut stack = vec![Step::Node(loom.root())];
    while let Some(step) = stack.pop() {
        match step {
            Step::Text(t) => out.push_str(&t),
            Step::Node(id) => {
                let Some(node) = loom.get(id) else { continue };
                out.push_str(&md_escape(&node.text));
                let children = kids(loom, id, options);
                let main = loom
                    .preferred_child(id)
                    .filter(|c| children.contains(c))
                    .or_else(|| children.first().copied());
                let Some(main) = main else { continue };
                stack.push(Step::Node(main));
                let total = children.len();
                for (i, alt) in children.iter().enumerate().rev() {
                    if *alt == main {
                        continue;
                    }
                    stack.push(Step::Text("\n\n</details>\n\n".into()));
                    stack.push(Step::Node(*alt));
                    stack.push(Step::Text(format!(
                        "\n\n<details><summary>{}</summary>\n\n",
                        summary(loom, *alt, i + 1, total)
                    )));
                }
            }
        }
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

fn summary(loom: &Loom, id: NodeId, index: usize, total: usize) -> String {
    let Some(node) = loom.get(id) else {
        return String::new();
    };
    let mut label = format!("alt {index}/{total} · #{id}");
    if let Some(m) = node.origin.model_name() {
        label.push_str(&format!(" · {m}"));
    }
    if node.bookmarked {
        label.push_str(" · ★ kept");
    }
    if node.archived {
        label.push_str(" · archived");
    }
    label.push_str(&format!(": {}", preview(&node.text, 60)));
    md_escape(&label)
}

fn front_matter(loom: &Loom, title: &str) -> String {
    let mut models: Vec<&str> = loom
        .all_nodes()
        .into_iter()
        .filter_map(|id| loom.get(id)?.origin.model_name())
        .collect();
    models.sort_unstable();
    models.dedup();
    let quote = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    let models: Vec<String> = models.iter().map(|m| quote(m)).collect();
    format!(
        "---\ntitle: {}\ngenerator: {}\nroot: {}\nnodes: {}\nmodels: [{}]\n---\n\n",
        quote(title),
        quote(&format!("tloom {}", env!("CARGO_PKG_VERSION"))),
        quote(&loom.root().to_string()),
        loom.len(),
        models.join(", ")
    )
}

/// Markdown renders `&amp;`, `&lt;` and `&gt;` as the characters; escaping just these keeps
/// node text from opening or closing HTML (a fold) while the source stays readable.
fn md_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
