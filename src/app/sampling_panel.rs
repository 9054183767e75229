//! The sampling panel: each value with keys to change it, presets, typed values.

use super::input::line_key;
use super::state::{App, Level, LineInput, Mode, SeedMode};
use super::textbuf::TextBuf;
use crate::engine::SamplingParams;
use crate::session::config::check_sampling;
use crossterm::event::{KeyCode, KeyEvent};

/// The panel's rows.
pub const FIELDS: &[&str] = &[
    "preset",
    "n",
    "max_tokens",
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "repetition_penalty",
    "stop",
    "seed",
];

/// Named starting points: (name, temperature, top_p, top_k, min_p).
pub const PRESETS: &[(&str, f32, f32, usize, f32)] = &[
    ("raw", 1.0, 1.0, 0, 0.0),
    ("focused", 0.7, 0.9, 0, 0.0),
    ("creative", 1.1, 1.0, 0, 0.05),
    ("greedy", 0.0, 1.0, 0, 0.0),
];

/// The value of a row as text.
pub fn value(app: &App, field: &str) -> String {
    let p = &app.sampling;
    match field {
        "preset" => PRESETS
            .iter()
            .find(|(_, t, tp, k, m)| {
                *t == p.temperature && *tp == p.top_p && *k == p.top_k && *m == p.min_p
            })
            .map_or("custom", |pr| pr.0)
            .to_string(),
        "n" => p.n.to_string(),
        "max_tokens" => p.max_tokens.to_string(),
        "temperature" => format!("{:.2}", p.temperature),
        "top_p" => format!("{:.2}", p.top_p),
        "top_k" => p.top_k.to_string(),
        "min_p" => format!("{:.2}", p.min_p),
        "repetition_penalty" => format!("{:.2}", p.repetition_penalty),
        "stop" => p
            .stop
            .iter()
            .map(|s| escape(s))
            .collect::<Vec<_>>()
            .join(", "),
        "seed" => match app.seed_mode {
            SeedMode::Random => "random".into(),
            SeedMode::Fixed(s) => s.to_string(),
        },
        _ => String::new(),
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\t', "\\t")
        .replace(',', "\\,")
}

fn unescape_list(s: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.last_mut().map(|o| o.push('\n')),
                Some('t') => out.last_mut().map(|o| o.push('\t')),
                Some(other) => out.last_mut().map(|o| o.push(other)),
                None => None,
            },
            ',' => {
                out.push(String::new());
                while chars.peek() == Some(&' ') {
                    chars.next();
                }
                None
            }
            c => out.last_mut().map(|o| o.push(c)),
        };
    }
    out.into_iter().filter(|s| !s.is_empty()).collect()
}

/// Set `key=value` on sampling params; the message names a bad key or value.
pub fn set_value(p: &mut SamplingParams, assignment: &str) -> Result<(), String> {
    let (key, value) = assignment
        .split_once('=')
        .map(|(k, v)| (k.trim(), v.trim()))
        .ok_or_else(|| format!("{assignment:?}: write KEY=VALUE"))?;
    let mut next = p.clone();
    let bad = |_: std::num::ParseIntError| format!("{key} = {value:?} is not a whole number");
    let badf = |_: std::num::ParseFloatError| format!("{key} = {value:?} is not a number");
    match key {
        "n" => next.n = value.parse().map_err(bad)?,
        "max_tokens" => next.max_tokens = value.parse().map_err(bad)?,
        "temperature" => next.temperature = value.parse().map_err(badf)?,
        "top_p" => next.top_p = value.parse().map_err(badf)?,
        "top_k" => next.top_k = value.parse().map_err(bad)?,
        "min_p" => next.min_p = value.parse().map_err(badf)?,
        "repetition_penalty" => next.repetition_penalty = value.parse().map_err(badf)?,
        "top_logprobs" => next.top_logprobs = value.parse().map_err(bad)?,
        "stop" => next.stop = unescape_list(value),
        other => return Err(format!("unknown sampling key {other:?}")),
    }
    check_sampling(&next)?;
    *p = next;
    Ok(())
}

/// Step a numeric value by one notch (`dir` = +1 or -1).
fn nudge(app: &mut App, field: &str, dir: i32) {
    let p = &mut app.sampling;
    let f = dir as f32;
    match field {
        "preset" => {
            let current = PRESETS.iter().position(|pr| {
                pr.1 == p.temperature && pr.2 == p.top_p && pr.3 == p.top_k && pr.4 == p.min_p
            });
            let n = PRESETS.len() as i32;
            let i = current.map_or(0, |c| (c as i32 + dir).rem_euclid(n) as usize);
            let (_, t, tp, k, m) = PRESETS[i];
            (p.temperature, p.top_p, p.top_k, p.min_p) = (t, tp, k, m);
        }
        "n" => p.n = (p.n as i32 + dir).clamp(1, 64) as usize,
        "max_tokens" => p.max_tokens = (p.max_tokens as i32 + 8 * dir).clamp(1, 4096) as usize,
        "temperature" => p.temperature = (p.temperature + 0.05 * f).clamp(0.0, 5.0),
        "top_p" => p.top_p = (p.top_p + 0.05 * f).clamp(0.05, 1.0),
        "top_k" => p.top_k = (p.top_k as i32 + 5 * dir).max(0) as usize,
        "min_p" => p.min_p = (p.min_p + 0.01 * f).clamp(0.0, 0.99),
        "repetition_penalty" => {
            p.repetition_penalty = (p.repetition_penalty + 0.05 * f).clamp(0.5, 3.0)
        }
        "seed" => {
            app.seed_mode = match app.seed_mode {
                SeedMode::Random => SeedMode::Fixed(0),
                SeedMode::Fixed(s) if dir < 0 && s == 0 => SeedMode::Random,
                SeedMode::Fixed(s) => SeedMode::Fixed((s as i64 + dir as i64).max(0) as u64),
            }
        }
        _ => {}
    }
    // Keep floats free of accumulated rounding noise.
    for v in [
        &mut p.temperature,
        &mut p.top_p,
        &mut p.min_p,
        &mut p.repetition_penalty,
    ] {
        *v = (*v * 100.0).round() / 100.0;
    }
}

pub fn key(app: &mut App, field: usize, typing: Option<LineInput>, key: KeyEvent) {
    let name = FIELDS[field.min(FIELDS.len() - 1)];
    if let Some(mut input) = typing {
        match key.code {
            KeyCode::Esc => {
                app.mode = Mode::Sampling {
                    field,
                    typing: None,
                }
            }
            KeyCode::Enter => {
                let text = input.text().trim().to_string();
                let result = match name {
                    "seed" if text == "random" => {
                        app.seed_mode = SeedMode::Random;
                        Ok(())
                    }
                    "seed" => text
                        .parse()
                        .map(|s| app.seed_mode = SeedMode::Fixed(s))
                        .map_err(|_| format!("seed {text:?} is not a whole number")),
                    "preset" => Err("presets are chosen with ← and →".into()),
                    _ => set_value(&mut app.sampling, &format!("{name}={text}")),
                };
                if let Err(e) = result {
                    app.say(Level::Warning, e);
                }
                app.mode = Mode::Sampling {
                    field,
                    typing: None,
                };
            }
            _ => {
                line_key(&mut input.buf, key);
                app.mode = Mode::Sampling {
                    field,
                    typing: Some(input),
                };
            }
        }
        return;
    }
    let last = FIELDS.len() - 1;
    match key.code {
        KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('p') => app.mode = Mode::Normal,
        KeyCode::Up | KeyCode::Char('k') => {
            app.mode = Mode::Sampling {
                field: field.saturating_sub(1),
                typing: None,
            }
        }
        KeyCode::Down | KeyCode::Char('j') => {
            app.mode = Mode::Sampling {
                field: (field + 1).min(last),
                typing: None,
            }
        }
        KeyCode::Left | KeyCode::Char('h') => nudge(app, name, -1),
        KeyCode::Right | KeyCode::Char('l') => nudge(app, name, 1),
        KeyCode::Enter => {
            let current = if name == "preset" {
                String::new()
            } else {
                value(app, name)
            };
            let buf = TextBuf::new(&current, current.len());
            app.mode = Mode::Sampling {
                field,
                typing: Some(LineInput { buf }),
            };
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_are_checked_and_stop_lists_unescape() {
        let mut p = SamplingParams::default();
        set_value(&mut p, "temperature=0.5").expect("valid");
        assert_eq!(p.temperature, 0.5);
        assert!(set_value(&mut p, "temperature=-2").is_err());
        assert!(set_value(&mut p, "top_p=hot").is_err());
        assert!(set_value(&mut p, "warp=9").is_err());
        assert_eq!(p.temperature, 0.5);
        set_value(&mut p, r"stop=\n\n, END, a\,b").expect("valid");
        assert_eq!(p.stop, vec!["\n\n", "END", "a,b"]);
    }
}
