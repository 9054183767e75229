//! Applying diff-match-patch patches the way MiniLoom and MiniHF store them: a list of
//! `{diffs, start1, start2, length1, length2}` whose offsets count UTF-16 code units, as
//! JavaScript strings do. A patch applies where its context matches exactly, at its
//! expected offset or else at the nearest exact occurrence; fuzzy matching is not needed for
//! files written by those tools (each patch was made against the exact parent text).

use super::json::kind;
use serde_json::Value;

/// One patch: the diffs (operation -1 delete, 0 keep, 1 insert) and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Patch {
    pub diffs: Vec<(i64, String)>,
    pub start2: usize,
}

/// Read a node's `patch` field: "" (no change) or a list of patches.
pub fn parse(v: &Value) -> Result<Vec<Patch>, String> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::String(s) if s.is_empty() => Ok(Vec::new()),
        Value::Array(items) => items.iter().enumerate().map(|(i, p)| patch(i, p)).collect(),
        other => Err(format!(
            "\"patch\" is {}, expected a list of patches",
            kind(other)
        )),
    }
}

fn patch(i: usize, p: &Value) -> Result<Patch, String> {
    let bad = |what: &str| format!("patch #{}: {what}", i + 1);
    let diffs = p
        .get("diffs")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("has no \"diffs\" list"))?;
    let start2 = p
        .get("start2")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad("\"start2\" is not a whole number"))?;
    let start2 = usize::try_from(start2).map_err(|_| bad("\"start2\" is too large"))?;
    let diffs = diffs
        .iter()
        .map(|d| diff(d).ok_or_else(|| bad("a diff is not [operation, text]")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Patch { diffs, start2 })
}

/// `[op, text]`, or `{"0": op, "1": text}` (diff-match-patch 1.0.5's Diff objects once
/// serialized).
fn diff(d: &Value) -> Option<(i64, String)> {
    let (op, text) = match d {
        Value::Array(pair) if pair.len() == 2 => (&pair[0], &pair[1]),
        Value::Object(map) => (map.get("0")?, map.get("1")?),
        _ => return None,
    };
    let op = op.as_i64().filter(|o| (-1..=1).contains(o))?;
    Some((op, text.as_str()?.to_string()))
}

fn utf16(parts: impl Iterator<Item = String>) -> Vec<u16> {
    parts
        .flat_map(|s| s.encode_utf16().collect::<Vec<_>>())
        .collect()
}

/// Where `pattern` occurs in `text`: at `expected` if it matches there, else the nearest
/// occurrence.
fn locate(text: &[u16], pattern: &[u16], expected: i64) -> Option<usize> {
    let clamp = expected.clamp(0, text.len() as i64) as usize;
    if pattern.is_empty() {
        return Some(clamp);
    }
    if text.get(clamp..clamp + pattern.len()) == Some(pattern) {
        return Some(clamp);
    }
    text.windows(pattern.len())
        .enumerate()
        .filter(|(_, w)| *w == pattern)
        .map(|(i, _)| i)
        .min_by_key(|&i| (i as i64 - expected).abs())
}

/// Apply `patches` to `text` in order.
pub fn apply(patches: &[Patch], text: &str) -> Result<String, String> {
    if patches.is_empty() {
        return Ok(text.to_string());
    }
    let mut buf: Vec<u16> = text.encode_utf16().collect();
    let mut delta: i64 = 0;
    for (i, p) in patches.iter().enumerate() {
        let before = utf16(p.diffs.iter().filter(|d| d.0 != 1).map(|d| d.1.clone()));
        let after = utf16(p.diffs.iter().filter(|d| d.0 != -1).map(|d| d.1.clone()));
        let expected = p.start2 as i64 + delta;
        let at = locate(&buf, &before, expected).ok_or_else(|| {
            let context: String = String::from_utf16_lossy(&before).chars().take(40).collect();
            format!(
                "patch #{} does not apply: the text it changes ({context:?}) is not in the parent's text",
                i + 1
            )
        })?;
        delta = at as i64 - expected;
        buf.splice(at..at + before.len(), after);
    }
    String::from_utf16(&buf).map_err(|_| "the patched text splits a character in two".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn apply_json(patches: Value, text: &str) -> Result<String, String> {
        apply(&parse(&patches)?, text)
    }

    #[test]
    fn the_formats_doc_example_renders() {
        // The illustrative MiniLoom nodes in docs/formats.md (hand-computed patches).
        let first = json!([{"diffs": [[1, "Once upon"]], "start1": 0, "start2": 0, "length1": 0, "length2": 9}]);
        let second = json!([{"diffs": [[0, "upon"], [1, " a time"]], "start1": 5, "start2": 5, "length1": 4, "length2": 11}]);
        let a = apply_json(first, "").expect("applies");
        assert_eq!(a, "Once upon");
        assert_eq!(apply_json(second, &a).expect("applies"), "Once upon a time");
    }

    #[test]
    fn offsets_count_utf16_units_and_later_patches_shift() {
        // "é😀 x" -> "é😀 y!" with two patches; 😀 is two UTF-16 units.
        let p = json!([
            {"diffs": [[0, "😀 "], [-1, "x"], [1, "y"]], "start1": 1, "start2": 1, "length1": 4, "length2": 4},
            {"diffs": [[0, "y"], [1, "!"]], "start1": 4, "start2": 4, "length1": 1, "length2": 2}
        ]);
        assert_eq!(apply_json(p, "é😀 x").expect("applies"), "é😀 y!");
    }

    #[test]
    fn diff_objects_and_displaced_context_are_accepted() {
        let p = json!([{"diffs": [{"0": 0, "1": "cat"}, {"0": 1, "1": "s"}], "start2": 0}]);
        assert_eq!(apply_json(p, "the cat").expect("nearest match"), "the cats");
    }

    #[test]
    fn a_patch_that_does_not_fit_is_an_error() {
        let p = json!([{"diffs": [[0, "dog"], [1, "s"]], "start2": 0}]);
        assert!(apply_json(p, "the cat").is_err());
        assert!(parse(&json!(5)).is_err());
        assert!(parse(&json!([{"diffs": [[7, "x"]], "start2": 0}])).is_err());
        assert!(parse(&json!([{"diffs": [], "start2": -1}])).is_err());
    }
}
