//! Telling formats apart by content: the keys each tool writes at the top level and on its
//! nodes (after damask's and basemode's detectors), and a clear refusal for files that are
//! JSON but not trees.

use super::error::ImportError;
use super::json::{kind, with_value};
use super::{Format, text_of};
use serde_json::{Map, Value};

/// The format of a file's content.
pub fn detect(bytes: &[u8]) -> Result<Format, ImportError> {
    let text = text_of(bytes)?;
    if is_json_lines(text) {
        return detect_lines(text);
    }
    with_value(text.as_bytes(), |v| detect_value(&v))
}

/// True when the text is JSON lines: several lines, the first a complete JSON object.
pub fn is_json_lines(text: &str) -> bool {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let (Some(first), Some(_)) = (lines.next(), lines.next()) else {
        return false;
    };
    first.starts_with('{')
        && first.ends_with('}')
        && serde_json::from_str::<Map<String, Value>>(first).is_ok()
}

/// The format of a JSON-lines file, from its first line.
pub fn detect_lines(text: &str) -> Result<Format, ImportError> {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let obj: Map<String, Value> = serde_json::from_str(first).unwrap_or_default();
    if obj.contains_key("kind") && obj.contains_key("parents") {
        Ok(Format::Lync)
    } else if obj.contains_key("text") && obj.contains_key("parent_id") {
        Ok(Format::Pyloom)
    } else {
        Err(unrecognised(format!(
            "JSON lines whose first object has the keys {}",
            key_list(&obj)
        )))
    }
}

fn unrecognised(found: String) -> ImportError {
    ImportError::Unrecognised {
        found,
        known: Format::names(),
    }
}

fn key_list(obj: &Map<String, Value>) -> String {
    let keys: Vec<&str> = obj.keys().map(String::as_str).take(8).collect();
    match keys.len() {
        0 => "none".into(),
        n if n < obj.len() => format!("{}, …", keys.join(", ")),
        _ => keys.join(", "),
    }
}

/// The format of a parsed JSON document.
pub fn detect_value(v: &Value) -> Result<Format, ImportError> {
    match v {
        Value::Object(m) => detect_object(m),
        Value::Array(items)
            if !items.is_empty()
                && items
                    .iter()
                    .all(|i| i.get("text").is_some() && i.get("children").is_some()) =>
        {
            Ok(Format::Pyloom)
        }
        Value::Array(_) => Err(unrecognised("a JSON list".into())),
        other => Err(unrecognised(format!(
            "a single JSON value ({})",
            kind(other)
        ))),
    }
}

fn first_of(v: Option<&Value>) -> Option<&Map<String, Value>> {
    match v? {
        Value::Array(items) => items.first()?.as_object(),
        Value::Object(map) => map.values().next()?.as_object(),
        _ => None,
    }
}

fn detect_object(m: &Map<String, Value>) -> Result<Format, ImportError> {
    let has = |k: &str| m.contains_key(k);
    let str_of = |k: &str| m.get(k).and_then(Value::as_str);
    let nodes = m.get("nodes");
    let first = first_of(nodes);
    let first_has = |k: &str| first.is_some_and(|f| f.contains_key(k));
    if str_of("format") == Some("tloom") {
        return Ok(Format::Tloom);
    }
    if has("isLogitLoomTreeVersion") {
        return Ok(Format::Logitloom);
    }
    if str_of("loomType") == Some("Exoloom") || (has("tree") && has("lens")) {
        return Ok(Format::Exoloom);
    }
    if has("loomTree") {
        return Ok(Format::Miniloom);
    }
    if m.get("root").is_some_and(Value::is_object) {
        return Ok(Format::Pyloom);
    }
    if m.get("state").is_some_and(Value::is_object) && has("settings") {
        return Ok(Format::Loomsidian);
    }
    if nodes.is_some()
        && (has("current") || has("generating") || has("hoisted") || has("searchTerm"))
    {
        return Ok(Format::Loomsidian);
    }
    match nodes {
        Some(Value::Array(_)) => {
            if has("edges") || has("pathNodes") || first_has("parentIds") {
                return Ok(Format::Bonsai);
            }
            if first_has("parent_id") && (first_has("tree_id") || first_has("root_id")) {
                return Ok(Format::Basemode);
            }
            if has("rootId") || first_has("childIds") {
                return Ok(Format::Helm);
            }
        }
        Some(Value::Object(_)) => {
            if has("rootNodeId") || first_has("childrenIds") {
                return Ok(Format::Openloom);
            }
            if has("focused_node_id") || first_has("parent_id") {
                return Ok(Format::Wool);
            }
            if first_has("parentId") {
                return Ok(Format::Loomsidian);
            }
        }
        _ => {}
    }
    if m.get("tree").is_some_and(|t| t.get("text").is_some()) {
        return Ok(Format::Textile);
    }
    if has("text") && has("children") {
        return Ok(Format::Pyloom);
    }
    if has("kind") && has("parents") && has("payload") {
        return Ok(Format::Lync);
    }
    Err(not_a_tree(m)
        .unwrap_or_else(|| unrecognised(format!("a JSON object with the keys {}", key_list(m)))))
}

/// Files people may mistake for trees: pyloom's stored model responses.
fn not_a_tree(m: &Map<String, Value>) -> Option<ImportError> {
    let what = if m.contains_key("choices") && m.contains_key("model") {
        "an OpenAI completion response"
    } else if m.contains_key("completions") && m.contains_key("prompt") {
        "a model response in pyloom's normalised form"
    } else {
        return None;
    };
    Some(ImportError::NotATree {
        what: what.into(),
        hint:
            " (pyloom keeps these under a tree's \"model_responses\"; import the tree file instead)"
                .into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format_of(json: &str) -> Result<Format, ImportError> {
        detect(json.as_bytes())
    }

    #[test]
    fn each_tools_top_level_keys_pick_its_format() {
        // Constructed minimal shapes following docs/formats.md (shared docs).
        let cases = [
            (r#"{"root": {"text": "", "children": []}}"#, Format::Pyloom),
            (r#"{"text": "", "children": []}"#, Format::Pyloom),
            (r#"{"settings": {}, "state": {}}"#, Format::Loomsidian),
            (r#"{"current": "a", "nodes": {}}"#, Format::Loomsidian),
            (
                r#"{"nodes": [], "edges": [], "pathNodes": []}"#,
                Format::Bonsai,
            ),
            (r#"{"loomType": "Exoloom", "tree": {}}"#, Format::Exoloom),
            (r#"{"loomTree": {"nodeStore": {}}}"#, Format::Miniloom),
            (
                r#"{"version": 1, "nodes": [{"id": "a", "parent_id": null, "tree_id": "a"}]}"#,
                Format::Basemode,
            ),
            (r#"{"rootNodeId": "A", "nodes": {}}"#, Format::Openloom),
            (r#"{"rootId": "a", "nodes": []}"#, Format::Helm),
            (
                r#"{"nodes": {"a": {"parent_id": null}}, "focused_node_id": "a"}"#,
                Format::Wool,
            ),
            (
                r#"{"isLogitLoomTreeVersion": "logit-loom-tree-v1", "roots": []}"#,
                Format::Logitloom,
            ),
            (
                r#"{"schemaVersion": 1, "tree": {"id": "a", "text": ""}}"#,
                Format::Textile,
            ),
            (r#"{"format": "tloom", "version": 1}"#, Format::Tloom),
        ];
        for (json, want) in cases {
            assert_eq!(format_of(json).ok(), Some(want), "{json}");
        }
    }

    #[test]
    fn json_lines_are_lync_or_pyloom_lines() {
        let lync = "{\"v\":1,\"id\":\"a\",\"kind\":\"corpus/message\",\"parents\":[]}\n{\"v\":1}\n";
        assert_eq!(format_of(lync).ok(), Some(Format::Lync));
        let lines = "{\"id\":\"a\",\"text\":\"x\",\"parent_id\":null}\n{\"id\":\"b\"}\n";
        assert_eq!(format_of(lines).ok(), Some(Format::Pyloom));
    }

    #[test]
    fn model_responses_and_strangers_are_refused_with_what_they_are() {
        let err = format_of(r#"{"id": "x", "model": "m", "choices": []}"#).expect_err("not a tree");
        assert!(
            err.to_string().contains("OpenAI completion response"),
            "{err}"
        );
        let err = format_of(r#"{"hello": 1}"#).expect_err("unknown");
        assert!(err.to_string().contains("hello"), "{err}");
        assert!(matches!(format_of("  \n"), Err(ImportError::Empty)));
        assert!(matches!(
            format_of("[1, 2"),
            Err(ImportError::Syntax { .. })
        ));
        assert!(matches!(
            detect(b"{\"a\": \"\xff\"}"),
            Err(ImportError::NotUtf8 { .. })
        ));
    }
}
