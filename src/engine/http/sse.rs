//! A forgiving Server-Sent-Events decoder for completion streams.
//!
//! Servers differ: `data:` with or without a space, CRLF, comment keep-alives, blank lines
//! missing between events, `[DONE]` missing at EOF, old llama.cpp's `error: {json}` lines,
//! `event: error`. Each complete event comes out as one [`SseEvent`].

use super::error::message_of;

/// One decoded event.
#[derive(Debug, Clone, PartialEq)]
pub enum SseEvent {
    /// A JSON payload (a completion chunk, or a `{"error":..}` object).
    Data(serde_json::Value),
    /// `data: [DONE]`.
    Done,
    /// An error the server sent inside the stream; the text is its message.
    Error(String),
    /// A line that is not SSE or a payload that is not JSON; skipped, kept for the report.
    Garbage(String),
}

/// Feed it lines (with or without their line ending); it returns events as they complete.
#[derive(Debug, Default)]
pub struct SseDecoder {
    data: Vec<String>,
    event: Option<String>,
}

impl SseDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Decode one line.
    pub fn push_line(&mut self, raw: &str) -> Vec<SseEvent> {
        let line = raw.trim_end_matches(['\n', '\r']);
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return Vec::new(); // comment / keep-alive ping
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "data" => self.push_data(value),
            "error" => {
                // Old llama.cpp: `error: {json}` on its own line.
                let mut out = self.dispatch();
                out.push(SseEvent::Error(error_text(value)));
                out
            }
            "event" => {
                let mut out = Vec::new();
                if !self.data.is_empty() {
                    out = self.dispatch();
                }
                self.event = Some(value.to_string());
                out
            }
            "id" | "retry" => Vec::new(),
            _ => vec![SseEvent::Garbage(line.to_string())],
        }
    }

    /// The stream ended: flush whatever is buffered (a final event without its blank line).
    pub fn finish(&mut self) -> Vec<SseEvent> {
        self.dispatch()
    }

    fn push_data(&mut self, value: &str) -> Vec<SseEvent> {
        let mut out = Vec::new();
        if self.data.is_empty() {
            // Most servers send one complete payload per line; deliver it at once so a
            // missing blank line never glues two events together.
            if value.trim() == "[DONE]" {
                self.event = None;
                return vec![SseEvent::Done];
            }
            if let Some(json) = parse_json(value) {
                out.push(self.classify(json));
                self.event = None;
                return out;
            }
        } else if value.trim() == "[DONE]" || parse_json(value).is_some() {
            // A complete payload after an unfinished one: the earlier one was garbage.
            out = self.dispatch();
            out.extend(self.push_data(value));
            return out;
        }
        self.data.push(value.to_string());
        out
    }

    fn dispatch(&mut self) -> Vec<SseEvent> {
        if self.data.is_empty() {
            self.event = None;
            return Vec::new();
        }
        let joined = self.data.join("\n");
        self.data.clear();
        let event = match parse_json(&joined) {
            Some(json) => self.classify(json),
            None => SseEvent::Garbage(format!("data: {joined}")),
        };
        self.event = None;
        vec![event]
    }

    fn classify(&self, json: serde_json::Value) -> SseEvent {
        let is_error_event = self.event.as_deref() == Some("error");
        match json.get("error") {
            Some(err) if !err.is_null() => {
                SseEvent::Error(message_of(err).unwrap_or_else(|| err.to_string()))
            }
            _ if is_error_event => {
                SseEvent::Error(message_of(&json).unwrap_or_else(|| json.to_string()))
            }
            _ => SseEvent::Data(json),
        }
    }
}

fn error_text(value: &str) -> String {
    match parse_json(value) {
        Some(json) => message_of(&json).unwrap_or_else(|| json.to_string()),
        None => value.trim().to_string(),
    }
}

/// Parse JSON, accepting the bare `NaN`/`Infinity`/`-Infinity` that Python's `json` writes
/// (read as null, which the logprob code takes as minus infinity).
pub fn parse_json(text: &str) -> Option<serde_json::Value> {
    let text = text.trim();
    if !(text.starts_with('{') || text.starts_with('[')) {
        return None;
    }
    serde_json::from_str(text)
        .ok()
        .or_else(|| serde_json::from_str(&python_literals_to_null(text)).ok())
}

fn python_literals_to_null(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        let literal = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|lit| rest.starts_with(lit));
        if let Some(lit) = literal {
            out.push_str("null");
            rest = &rest[lit.len()..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> Vec<SseEvent> {
        let mut d = SseDecoder::new();
        let mut out: Vec<SseEvent> = text
            .split_inclusive('\n')
            .flat_map(|l| d.push_line(l))
            .collect();
        out.extend(d.finish());
        out
    }

    #[test]
    fn data_lines_with_and_without_space_and_crlf_decode_alike() {
        let events = decode("data: {\"a\":1}\r\n\r\ndata:{\"a\":2}\n\n: ping\n\ndata: [DONE]");
        assert_eq!(
            events,
            vec![
                SseEvent::Data(serde_json::json!({"a":1})),
                SseEvent::Data(serde_json::json!({"a":2})),
                SseEvent::Done
            ]
        );
    }

    #[test]
    fn both_error_dialects_become_error_events_with_the_servers_message() {
        let events = decode(
            "data: {\"error\":{\"message\":\"slot gone\",\"code\":500}}\n\n\
             error: {\"message\":\"old style\"}\n\nevent: error\ndata: {\"message\":\"evt\"}\n\n",
        );
        assert_eq!(
            events,
            vec![
                SseEvent::Error("slot gone".into()),
                SseEvent::Error("old style".into()),
                SseEvent::Error("evt".into())
            ]
        );
    }

    #[test]
    fn garbage_is_reported_and_does_not_swallow_the_next_event() {
        let events = decode("hello there\ndata: {not json\ndata: {\"a\":1}\n\n");
        assert_eq!(
            events,
            vec![
                SseEvent::Garbage("hello there".into()),
                SseEvent::Garbage("data: {not json".into()),
                SseEvent::Data(serde_json::json!({"a":1}))
            ]
        );
    }

    #[test]
    fn a_payload_split_over_two_data_lines_is_joined() {
        let events = decode("data: {\"a\":\ndata: 1}\n\n");
        assert_eq!(events, vec![SseEvent::Data(serde_json::json!({"a":1}))]);
    }

    #[test]
    fn python_nan_and_infinity_outside_strings_read_as_null() {
        let v = parse_json(r#"{"x":-Infinity,"y":NaN,"t":"NaN -Infinity"}"#);
        assert_eq!(
            v,
            Some(serde_json::json!({"x":null,"y":null,"t":"NaN -Infinity"}))
        );
    }
}
