//! Key names: parsing "ctrl-r" or "G" into a key combination and printing it back.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::fmt;

/// A key with its modifiers, normalised so that a typed `G` equals the name "G".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyCombo {
    pub code: KeyCodeName,
    pub ctrl: bool,
    pub alt: bool,
    pub shift: bool,
}

/// The key itself, without modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCodeName {
    Char(char),
    F(u8),
    Named(&'static str),
}

const NAMED: &[&str] = &[
    "space",
    "enter",
    "esc",
    "tab",
    "backtab",
    "backspace",
    "delete",
    "insert",
    "up",
    "down",
    "left",
    "right",
    "home",
    "end",
    "pageup",
    "pagedown",
];

impl KeyCombo {
    /// Parse a key name such as "ctrl-r", "G", "space", "shift-tab" or "f1".
    pub fn parse(text: &str) -> Result<KeyCombo, String> {
        let mut combo = KeyCombo {
            code: KeyCodeName::Named("esc"),
            ctrl: false,
            alt: false,
            shift: false,
        };
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            if rest.len() > 1 && lower.starts_with("ctrl-") {
                combo.ctrl = true;
                rest = &rest[5..];
            } else if rest.len() > 1 && lower.starts_with("alt-") {
                combo.alt = true;
                rest = &rest[4..];
            } else if rest.len() > 1 && lower.starts_with("shift-") {
                combo.shift = true;
                rest = &rest[6..];
            } else {
                break;
            }
        }
        let lower = rest.to_ascii_lowercase();
        let mut chars = rest.chars();
        combo.code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCodeName::Char(c),
            _ if lower.len() > 1
                && lower.starts_with('f')
                && lower[1..]
                    .parse::<u8>()
                    .is_ok_and(|n| (1..=12).contains(&n)) =>
            {
                KeyCodeName::F(lower[1..].parse().unwrap_or(1))
            }
            _ => match NAMED.iter().find(|n| **n == lower) {
                Some(n) => KeyCodeName::Named(n),
                None => return Err(format!("unknown key {text:?}")),
            },
        };
        Ok(combo.normalized())
    }

    /// The combination a terminal key event stands for.
    pub fn from_event(event: &KeyEvent) -> Option<KeyCombo> {
        let m = event.modifiers;
        let code = match event.code {
            KeyCode::Char(' ') => KeyCodeName::Named("space"),
            KeyCode::Char(c) => KeyCodeName::Char(c),
            KeyCode::F(n) => KeyCodeName::F(n),
            KeyCode::Enter => KeyCodeName::Named("enter"),
            KeyCode::Esc => KeyCodeName::Named("esc"),
            KeyCode::Tab => KeyCodeName::Named("tab"),
            KeyCode::BackTab => KeyCodeName::Named("backtab"),
            KeyCode::Backspace => KeyCodeName::Named("backspace"),
            KeyCode::Delete => KeyCodeName::Named("delete"),
            KeyCode::Insert => KeyCodeName::Named("insert"),
            KeyCode::Up => KeyCodeName::Named("up"),
            KeyCode::Down => KeyCodeName::Named("down"),
            KeyCode::Left => KeyCodeName::Named("left"),
            KeyCode::Right => KeyCodeName::Named("right"),
            KeyCode::Home => KeyCodeName::Named("home"),
            KeyCode::End => KeyCodeName::Named("end"),
            KeyCode::PageUp => KeyCodeName::Named("pageup"),
            KeyCode::PageDown => KeyCodeName::Named("pagedown"),
            _ => return None,
        };
        Some(
            KeyCombo {
                code,
                ctrl: m.contains(KeyModifiers::CONTROL),
                alt: m.contains(KeyModifiers::ALT),
                shift: m.contains(KeyModifiers::SHIFT),
            }
            .normalized(),
        )
    }

    /// Shift is part of a typed character ("G", "?"); keep it only for other keys.
    fn normalized(mut self) -> KeyCombo {
        match self.code {
            KeyCodeName::Char(c) => {
                if self.shift && c.is_ascii_lowercase() {
                    self.code = KeyCodeName::Char(c.to_ascii_uppercase());
                }
                if self.ctrl && c.is_ascii_uppercase() {
                    // Terminals report ctrl-shift-x as ctrl-X; treat it as ctrl-shift-x.
                    self.code = KeyCodeName::Char(c.to_ascii_lowercase());
                    self.shift = true;
                } else {
                    self.shift = false;
                }
            }
            KeyCodeName::Named("backtab") => self.shift = false,
            KeyCodeName::Named("tab") if self.shift => {
                self.code = KeyCodeName::Named("backtab");
                self.shift = false;
            }
            _ => {}
        }
        self
    }
}

impl fmt::Display for KeyCombo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        if self.shift {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCodeName::Char(c) => write!(f, "{c}"),
            KeyCodeName::F(n) => write!(f, "f{n}"),
            KeyCodeName::Named(n) => f.write_str(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_events_agree() {
        let cases = [
            ("G", KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            (
                "ctrl-r",
                KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL),
            ),
            (
                "space",
                KeyEvent::new(KeyCode::Char(' '), KeyModifiers::NONE),
            ),
            (
                "shift-tab",
                KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT),
            ),
            ("?", KeyEvent::new(KeyCode::Char('?'), KeyModifiers::SHIFT)),
            ("f1", KeyEvent::new(KeyCode::F(1), KeyModifiers::NONE)),
            (
                "alt-enter",
                KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT),
            ),
        ];
        for (name, event) in cases {
            assert_eq!(
                KeyCombo::parse(name).unwrap(),
                KeyCombo::from_event(&event).unwrap(),
                "{name}"
            );
        }
        assert_eq!(KeyCombo::parse("ctrl-r").unwrap().to_string(), "ctrl-r");
        assert_eq!(KeyCombo::parse("shift-tab").unwrap().to_string(), "backtab");
        assert!(KeyCombo::parse("hyper-x").is_err());
        assert!(KeyCombo::parse("f13").is_err());
    }
}
