//! The reading pane's text: the path from the root to the cursor, split into styled
//! segments and wrapped to a width, with the lines where the current node starts and ends.

use super::predictor::{band, tokens_of};
use super::state::{App, EditTarget, Mode};
use crate::tree::NodeId;
use unicode_width::UnicodeWidthChar;

/// What a piece of text is, for styling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    /// Text of an ancestor, written by a person.
    Human,
    /// Text of an ancestor, written by a model.
    Model,
    /// The current node's text, written by a person.
    CurrentHuman,
    /// The current node's text, written by a model.
    CurrentModel,
    /// The character under the edit caret.
    Caret,
    /// A note such as "earlier text not shown".
    Note,
    /// A token in the heatmap, by probability band (0: p ≥ 0.5 … 3: p < 0.01).
    Token { band: u8, current: bool },
    /// The token under the token cursor.
    TokenCursor,
}

/// A wrapped line: runs of text with their segment kinds.
pub type WrappedLine = Vec<(String, Segment)>;

#[derive(Debug, Clone, PartialEq)]
pub struct ReadingView {
    pub lines: Vec<WrappedLine>,
    /// First and last line (inclusive) holding the current node's text.
    pub current: (usize, usize),
}

/// At most this much of the path is laid out (its end); longer paths show a note.
const MAX_SHOWN_BYTES: usize = 256 * 1024;

/// Segments of the path to the cursor; in edit mode the current node shows the buffer, and
/// the memory editor shows the memory alone.
pub fn segments(app: &App) -> Vec<(String, Segment)> {
    if let Mode::Edit {
        target: EditTarget::Memory,
        buf,
    } = &app.mode
    {
        let mut out = Vec::new();
        push_with_caret(&mut out, &buf.text, buf.caret, false);
        return out;
    }
    let loom = &app.loom;
    let cursor = loom.cursor();
    let mut out: Vec<(String, Segment)> = Vec::new();
    let walking = match app.mode {
        Mode::Tokens { node, index } | Mode::Alternatives { node, index, .. } => {
            Some((node, index))
        }
        _ => None,
    };
    for id in loom.ancestry(cursor) {
        let Some(node) = loom.get(id) else { continue };
        let model = node.origin.is_model() && !node.edited;
        let at = walking.and_then(|(n, i)| (n == id).then_some(i));
        if (app.predictor.heatmap || at.is_some())
            && let Some(tokens) = tokens_of(app, id)
        {
            for (i, t) in tokens.iter().enumerate() {
                let kind = if at == Some(i) {
                    Segment::TokenCursor
                } else {
                    Segment::Token {
                        band: band(t.logprob),
                        current: id == cursor,
                    }
                };
                out.push((t.text.clone(), kind));
            }
            continue;
        }
        if id == cursor {
            match &app.mode {
                Mode::Edit {
                    target: EditTarget::Node(n) | EditTarget::Split(n),
                    buf,
                } if *n == id => {
                    push_with_caret(&mut out, &buf.text, buf.caret, model);
                }
                _ => out.push((
                    node.text.clone(),
                    if model {
                        Segment::CurrentModel
                    } else {
                        Segment::CurrentHuman
                    },
                )),
            }
        } else {
            out.push((
                node.text.clone(),
                if model {
                    Segment::Model
                } else {
                    Segment::Human
                },
            ));
        }
    }
    if let Mode::Edit {
        target: EditTarget::NewChild(_) | EditTarget::NewSibling(_),
        buf,
    } = &app.mode
    {
        out.push(("\n".into(), Segment::Note));
        push_with_caret(&mut out, &buf.text, buf.caret, false);
    }
    cap(out)
}

fn push_with_caret(out: &mut Vec<(String, Segment)>, text: &str, caret: usize, model: bool) {
    let kind = if model {
        Segment::CurrentModel
    } else {
        Segment::CurrentHuman
    };
    let (before, after) = text.split_at(caret);
    let mut rest = after.chars();
    let under = match rest.next() {
        Some('\n') | None => " ".to_string(),
        Some(c) => c.to_string(),
    };
    let after_caret = if after.starts_with('\n') {
        after
    } else {
        rest.as_str()
    };
    out.push((before.to_string(), kind));
    out.push((under, Segment::Caret));
    out.push((after_caret.to_string(), kind));
}

/// Keep only the last MAX_SHOWN_BYTES of text, so a huge path cannot stall drawing.
fn cap(segments: Vec<(String, Segment)>) -> Vec<(String, Segment)> {
    let total: usize = segments.iter().map(|(t, _)| t.len()).sum();
    if total <= MAX_SHOWN_BYTES {
        return segments;
    }
    let mut skip = total - MAX_SHOWN_BYTES;
    let mut out = vec![(
        format!("[… {skip} earlier bytes not shown …]\n"),
        Segment::Note,
    )];
    for (text, kind) in segments {
        if skip >= text.len() {
            skip -= text.len();
            continue;
        }
        let mut from = skip;
        while !text.is_char_boundary(from) {
            from += 1;
        }
        skip = 0;
        out.push((text[from..].to_string(), kind));
    }
    out
}

/// Word-wrap segments to `width` columns.
pub fn wrap(segments: &[(String, Segment)], width: usize) -> ReadingView {
    let width = width.max(4);
    let mut lines: Vec<WrappedLine> = vec![Vec::new()];
    let mut col = 0usize;
    let mut current: Option<(usize, usize)> = None;
    for (text, kind) in segments {
        let is_current = matches!(
            kind,
            Segment::CurrentHuman
                | Segment::CurrentModel
                | Segment::Caret
                | Segment::TokenCursor
                | Segment::Token { current: true, .. }
        );
        for ch in text.chars() {
            let mark = |lines: &Vec<WrappedLine>, current: &mut Option<(usize, usize)>| {
                if is_current {
                    let line = lines.len() - 1;
                    *current = Some(current.map_or((line, line), |(a, _)| (a, line)));
                }
            };
            if ch == '\n' {
                mark(&lines, &mut current);
                lines.push(Vec::new());
                col = 0;
                continue;
            }
            let w = if ch == '\t' {
                4
            } else {
                ch.width().unwrap_or(0)
            };
            if col + w > width {
                if ch == ' ' {
                    // A space at the wrap point becomes the line break itself.
                    lines.push(Vec::new());
                    col = 0;
                    continue;
                }
                col = break_line(&mut lines, width);
            }
            mark(&lines, &mut current);
            let shown = if ch == '\t' {
                "    ".to_string()
            } else {
                ch.to_string()
            };
            push_run(lines.last_mut().expect("at least one line"), &shown, *kind);
            col += w;
        }
    }
    let last = lines.len() - 1;
    ReadingView {
        lines,
        current: current.unwrap_or((last, last)),
    }
}

fn push_run(line: &mut WrappedLine, text: &str, kind: Segment) {
    match line.last_mut() {
        Some((t, k)) if *k == kind => t.push_str(text),
        _ => line.push((text.to_string(), kind)),
    }
}

/// Start a new line, carrying the last word over when the line has a space to break at.
/// Returns the width of what was carried.
fn break_line(lines: &mut Vec<WrappedLine>, width: usize) -> usize {
    let line = lines.last_mut().expect("at least one line");
    let flat: String = line.iter().map(|(t, _)| t.as_str()).collect();
    let carry_from = flat
        .rfind(' ')
        .map(|i| i + 1)
        .filter(|&i| i < flat.len() && i > 0);
    let mut carried: WrappedLine = Vec::new();
    if let Some(cut) = carry_from
        && flat[cut..].chars().count() < width
    {
        let mut pos = 0;
        let mut kept: WrappedLine = Vec::new();
        for (text, kind) in line.drain(..) {
            let end = pos + text.len();
            if end <= cut {
                kept.push((text, kind));
            } else if pos >= cut {
                carried.push((text, kind));
            } else {
                kept.push((text[..cut - pos].to_string(), kind));
                carried.push((text[cut - pos..].to_string(), kind));
            }
            pos = end;
        }
        *line = kept;
    }
    let carried_width = carried
        .iter()
        .flat_map(|(t, _)| t.chars())
        .map(|c| c.width().unwrap_or(0))
        .sum();
    lines.push(carried);
    carried_width
}

/// Where the reading pane starts so the current node is in view: its end at the bottom
/// when it fits, else its start at the top; then the user's manual scroll.
pub fn scroll_top(view: &ReadingView, height: usize, manual: i32) -> usize {
    let (first, last) = view.current;
    let auto = if last + 1 >= height {
        if last - first < height {
            last + 1 - height
        } else {
            first
        }
    } else {
        0
    };
    let max = view.lines.len().saturating_sub(1);
    (auto as i64 - manual as i64).clamp(0, max as i64) as usize
}

/// The node a reading-pane line belongs to is not needed for clicks; the id is kept for
/// tests that check which node is current.
pub fn current_node(app: &App) -> NodeId {
    app.loom.cursor()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_breaks_at_spaces_and_tracks_the_current_node() {
        let segs = vec![
            ("The quick brown fox ".to_string(), Segment::Human),
            ("jumps over the lazy dog".to_string(), Segment::CurrentModel),
        ];
        let view = wrap(&segs, 10);
        let text: Vec<String> = view
            .lines
            .iter()
            .map(|l| l.iter().map(|(t, _)| t.as_str()).collect())
            .collect();
        assert_eq!(
            text,
            vec!["The quick ", "brown fox ", "jumps over", "the lazy ", "dog"]
        );
        assert_eq!(view.current, (2, 4));
        assert_eq!(scroll_top(&view, 2, 0), 2, "too tall: its start at the top");
        assert_eq!(scroll_top(&view, 3, 0), 2);
        assert_eq!(scroll_top(&view, 10, 0), 0);
        let view = wrap(
            &[("abcdefghijkl\nxy".to_string(), Segment::CurrentHuman)],
            5,
        );
        let text: Vec<String> = view
            .lines
            .iter()
            .map(|l| l.iter().map(|(t, _)| t.as_str()).collect())
            .collect();
        assert_eq!(text, vec!["abcde", "fghij", "kl", "xy"]);
    }
}
