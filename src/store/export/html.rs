//! One self-contained HTML page: the tree as nested `<details>` (collapsible with no
//! script), every text escaped, a Content-Security-Policy that forbids loading anything,
//! and a few lines of inline script (no data in it) that show a node's whole path when
//! it is clicked.

use super::{ExportOptions, html_escape, kids, preview};
use crate::tree::{Loom, NodeId};

const STYLE: &str = "body{font:15px/1.5 Georgia,serif;margin:2rem auto;max-width:60rem;color:#222}
details{margin-left:1.2rem;border-left:1px solid #ddd;padding-left:.6rem}
summary{cursor:pointer;list-style-position:outside}
.seg{white-space:pre-wrap}
.meta{font:12px sans-serif;color:#888;margin-left:.5rem}
.bookmarked>summary .seg{background:#fff3c4}
.archived>summary{opacity:.5;text-decoration:line-through}
.model>summary .seg{color:#1d3f7a}
#path{position:sticky;top:0;background:#fafafa;border:1px solid #ddd;padding:.6rem;white-space:pre-wrap;max-height:30vh;overflow:auto}";

/// Shows the full path text of the clicked node: the segments of its ancestors, read
/// from the page itself.
const SCRIPT: &str = "document.addEventListener('click',function(e){var d=e.target.closest('details');if(!d)return;var t=[];for(var n=d;n;n=n.parentElement.closest('details')){var s=n.querySelector(':scope>summary>.seg');t.unshift(s?s.textContent:'');}document.getElementById('path').textContent=t.join('');});";

enum Step {
    Open(NodeId),
    Close,
}

pub fn render(loom: &Loom, options: &ExportOptions, title: &str) -> String {
    let title = html_escape(title);
    let mut out = String::with_capacity(loom.len() * 300);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str(&format!(
        "<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
    ));
    out.push_str(&format!("<h1>{title}</h1>\n"));
    out.push_str("<div id=\"path\">Click a node to read its whole path here.</div>\n");
    let mut stack = vec![Step::Open(loom.root())];
    while let Some(step) = stack.pop() {
        match step {
            Step::Close => out.push_str("</details>\n"),
            Step::Open(id) => {
                let Some(node) = loom.get(id) else { continue };
                let mut classes = vec!["node"];
                if node.bookmarked {
                    classes.push("bookmarked");
                }
                if node.archived {
                    classes.push("archived");
                }
                if node.origin.is_model() {
                    classes.push("model");
                }
                let mut meta = format!("#{id}");
                if let Some(m) = node.origin.model_name() {
                    meta.push_str(&format!(" · {m}"));
                }
                if node.bookmarked {
                    meta.push_str(" · ★");
                }
                if node.archived {
                    meta.push_str(" · archived");
                }
                out.push_str(&format!(
                    "<details open id=\"n{id}\" class=\"{}\" title=\"{}\"><summary><span class=\"seg\">{}</span><span class=\"meta\">{}</span></summary>\n",
                    classes.join(" "),
                    html_escape(&preview(&node.text, 80)),
                    html_escape(&node.text),
                    html_escape(&meta),
                ));
                stack.push(Step::Close);
                for child in kids(loom, id, options).into_iter().rev() {
                    stack.push(Step::Open(child));
                }
            }
        }
    }
    out.push_str(&format!("<script>{SCRIPT}</script>\n</body>\n</html>\n"));
    out
}
