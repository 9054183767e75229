//! Reading JSON from other tools safely: the nesting depth is measured before parsing, deep
//! documents are parsed (and dropped) on a thread whose stack fits them, and typed field
//! access reports which field of which node was wrong.

use super::error::ImportError;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The deepest JSON nesting tloom reads (a pyloom tree about 50,000 nodes deep).
pub const MAX_DEPTH: usize = 100_000;
/// Below serde_json's own recursion limit (128), parsing runs on the calling thread.
const SHALLOW: usize = 120;
/// Values kept verbatim in a node's `extra` are at most this deep, so saving and dropping
/// them never needs a deep stack.
const EXTRA_DEPTH: usize = 32;

/// The deepest nesting of arrays and objects in `bytes`, ignoring brackets inside strings.
pub fn nesting_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Parse `bytes` as one JSON document and hand it to `then`. Deep documents are parsed,
/// converted and dropped on a thread with a stack sized for their depth.
pub fn with_value<T: Send>(
    bytes: &[u8],
    then: impl FnOnce(Value) -> Result<T, ImportError> + Send,
) -> Result<T, ImportError> {
    let depth = nesting_depth(bytes);
    if depth > MAX_DEPTH {
        return Err(ImportError::TooDeep {
            depth,
            limit: MAX_DEPTH,
        });
    }
    if depth <= SHALLOW {
        return then(parse(bytes)?);
    }
    let stack = 16 * 1024 * 1024 + depth * 2048;
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("tloom-import".into())
            .stack_size(stack)
            .spawn_scoped(scope, move || parse(bytes).and_then(then))
            .map_err(|e| {
                ImportError::invalid("json", format!("cannot start a reader thread: {e}"))
            })?;
        handle.join().map_err(|_| {
            ImportError::invalid("json", "the reader thread failed unexpectedly".to_string())
        })?
    })
}

fn parse(bytes: &[u8]) -> Result<Value, ImportError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    de.disable_recursion_limit();
    let value = Value::deserialize(&mut de).map_err(syntax)?;
    de.end().map_err(syntax)?;
    Ok(value)
}

/// A serde_json error as an import error with its position.
pub fn syntax(e: serde_json::Error) -> ImportError {
    let text = e.to_string();
    let problem = match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    ImportError::Syntax {
        line: e.line(),
        column: e.column(),
        problem,
    }
}

/// How a value's type reads in a message.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// An id written as a string or a whole number.
pub fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// `value` if it is shallow enough to keep in a node's extra fields.
pub fn shallow(value: &Value) -> Option<Value> {
    let mut stack = vec![(value, 1usize)];
    while let Some((v, depth)) = stack.pop() {
        if depth > EXTRA_DEPTH {
            return None;
        }
        match v {
            Value::Array(items) => stack.extend(items.iter().map(|i| (i, depth + 1))),
            Value::Object(map) => stack.extend(map.values().map(|i| (i, depth + 1))),
            _ => {}
        }
    }
    Some(value.clone())
}

/// An object being read, with where it is (for messages).
#[derive(Clone)]
pub struct Obj<'a> {
    pub map: &'a Map<String, Value>,
    format: &'static str,
    at: String,
}

impl<'a> Obj<'a> {
    /// `value` as an object, or an error saying what `at` was instead.
    pub fn new(
        value: &'a Value,
        format: &'static str,
        at: impl Into<String>,
    ) -> Result<Obj<'a>, ImportError> {
        let at = at.into();
        match value {
            Value::Object(map) => Ok(Obj { map, format, at }),
            other => Err(ImportError::invalid(
                format,
                format!("{at} is {}, expected an object", kind(other)),
            )),
        }
    }

    pub fn at(&self) -> &str {
        &self.at
    }

    /// An error about this object.
    pub fn err(&self, problem: impl std::fmt::Display) -> ImportError {
        ImportError::invalid(self.format, format!("{}: {problem}", self.at))
    }

    fn wrong(&self, key: &str, v: &Value, expected: &str) -> ImportError {
        self.err(format!("\"{key}\" is {}, expected {expected}", kind(v)))
    }

    /// The field, unless missing or null.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// A required string.
    pub fn str(&self, key: &str) -> Result<&'a str, ImportError> {
        self.opt_str(key)?
            .ok_or_else(|| self.err(format!("has no \"{key}\"")))
    }

    /// An optional string; another type is an error.
    pub fn opt_str(&self, key: &str) -> Result<Option<&'a str>, ImportError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.wrong(key, v, "a string")),
        }
    }

    /// A string if it is one; other types are ignored (for metadata).
    pub fn lenient_str(&self, key: &str) -> Option<&'a str> {
        self.get(key).and_then(Value::as_str)
    }

    /// A flag written as a boolean, 0/1 or "true"/"false"; anything else is ignored.
    pub fn lenient_bool(&self, key: &str) -> Option<bool> {
        match self.get(key)? {
            Value::Bool(b) => Some(*b),
            Value::Number(n) => n.as_f64().map(|f| f != 0.0),
            Value::String(s) => match s.as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    /// A number written as a number or a numeric string; anything else is ignored.
    pub fn lenient_f64(&self, key: &str) -> Option<f64> {
        match self.get(key)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A required list.
    pub fn array(&self, key: &str) -> Result<&'a [Value], ImportError> {
        self.opt_array(key)?
            .ok_or_else(|| self.err(format!("has no \"{key}\" list")))
    }

    /// An optional list; another type is an error.
    pub fn opt_array(&self, key: &str) -> Result<Option<&'a [Value]>, ImportError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(v) => Err(self.wrong(key, v, "a list")),
        }
    }

    /// A required object, described as `<at>.<key>` in messages.
    pub fn object(&self, key: &str) -> Result<Obj<'a>, ImportError> {
        self.opt_object(key)?
            .ok_or_else(|| self.err(format!("has no \"{key}\" object")))
    }

    /// An optional object; another type is an error.
    pub fn opt_object(&self, key: &str) -> Result<Option<Obj<'a>>, ImportError> {
        match self.get(key) {
            None => Ok(None),
            Some(v @ Value::Object(_)) => {
                Obj::new(v, self.format, format!("{}.{key}", self.at)).map(Some)
            }
            Some(v) => Err(self.wrong(key, v, "an object")),
        }
    }

    /// A required id (string or whole number).
    pub fn id(&self, key: &str) -> Result<String, ImportError> {
        self.opt_id(key)?
            .ok_or_else(|| self.err(format!("has no \"{key}\"")))
    }

    /// An optional id (string or whole number); another type is an error.
    pub fn opt_id(&self, key: &str) -> Result<Option<String>, ImportError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => id_of(v)
                .map(Some)
                .ok_or_else(|| self.wrong(key, v, "an id (a string or a whole number)")),
        }
    }

    /// A list of ids; another type, or an item that is not an id, is an error.
    pub fn ids(&self, key: &str) -> Result<Vec<String>, ImportError> {
        let Some(items) = self.opt_array(key)? else {
            return Ok(Vec::new());
        };
        items
            .iter()
            .map(|v| {
                id_of(v)
                    .ok_or_else(|| self.err(format!("\"{key}\" holds {}, expected ids", kind(v))))
            })
            .collect()
    }

    /// Copy the named fields that are present (and shallow) into a map for `extra`.
    pub fn keep(&self, keys: &[&str]) -> Map<String, Value> {
        let mut out = Map::new();
        for key in keys {
            if let Some(v) = self.get(key).and_then(shallow) {
                out.insert((*key).to_string(), v);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_ignores_brackets_inside_strings() {
        assert_eq!(nesting_depth(br#"{"a": "[[[{{{", "b": [[1]]}"#), 3);
        assert_eq!(nesting_depth(br#"["\"[[" ]"#), 1);
        assert_eq!(nesting_depth(b"42"), 0);
    }

    #[test]
    fn deep_documents_parse_on_a_big_stack() {
        let depth = MAX_DEPTH;
        let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let got = with_value(text.as_bytes(), |v| Ok(v.is_array())).expect("parses");
        assert!(got);
    }

    #[test]
    fn too_deep_documents_are_refused_before_parsing() {
        let depth = MAX_DEPTH + 1;
        let text = "[".repeat(depth);
        let err = with_value(text.as_bytes(), |_| Ok(())).expect_err("too deep");
        assert!(matches!(err, ImportError::TooDeep { .. }), "{err}");
    }

    #[test]
    fn field_errors_name_the_field_and_the_type_found() {
        let v: Value = serde_json::from_str(r#"{"text": 5, "kids": {}}"#).expect("json");
        let o = Obj::new(&v, "pyloom", "node \"a\"").expect("object");
        let e = o.str("text").expect_err("number").to_string();
        assert_eq!(
            e,
            "pyloom: node \"a\": \"text\" is a number, expected a string"
        );
        assert!(o.opt_array("kids").is_err());
        assert!(o.str("missing").is_err());
    }

    #[test]
    fn deep_values_are_not_kept_as_extras() {
        let deep: Value =
            serde_json::from_str(&format!("{}{}", "[".repeat(40), "]".repeat(40))).expect("json");
        assert!(shallow(&deep).is_none());
        assert!(shallow(&serde_json::json!({"a": [1, 2]})).is_some());
    }
}
