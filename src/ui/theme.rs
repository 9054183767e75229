//! Styles, with a monochrome variant that relies on bold, dim, underline and reverse only.

use crate::app::reading::Segment;
use crate::app::state::Level;
use crate::session::config::ThemeName;
use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub name: ThemeName,
}

impl Theme {
    pub fn new(name: ThemeName) -> Theme {
        Theme { name }
    }

    pub fn mono(&self) -> bool {
        self.name == ThemeName::Mono
    }

    fn fg(&self, dark: Color, light: Color) -> Style {
        match self.name {
            ThemeName::Mono => Style::default(),
            ThemeName::Dark => Style::default().fg(dark),
            ThemeName::Light => Style::default().fg(light),
        }
    }

    /// Reading-pane text by kind: people's text stands apart from the model's, and the
    /// current node stands out from its ancestors, in colour and in monochrome.
    pub fn segment(&self, kind: Segment) -> Style {
        let mono = self.mono();
        match kind {
            Segment::Human if mono => Style::default().add_modifier(Modifier::BOLD | Modifier::DIM),
            Segment::Human => self
                .fg(Color::Cyan, Color::Blue)
                .add_modifier(Modifier::DIM),
            Segment::Model if mono => Style::default().add_modifier(Modifier::DIM),
            Segment::Model => self.fg(Color::Gray, Color::DarkGray),
            Segment::CurrentHuman if mono => {
                Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
            }
            Segment::CurrentHuman => self
                .fg(Color::LightCyan, Color::Blue)
                .add_modifier(Modifier::BOLD),
            Segment::CurrentModel if mono => Style::default().add_modifier(Modifier::UNDERLINED),
            Segment::CurrentModel => self
                .fg(Color::White, Color::Black)
                .add_modifier(Modifier::BOLD),
            Segment::Caret => Style::default().add_modifier(Modifier::REVERSED),
            Segment::Note => Style::default().add_modifier(Modifier::DIM | Modifier::ITALIC),
            Segment::Token { band, current } => self.heat(band, current),
            Segment::TokenCursor => Style::default().add_modifier(Modifier::REVERSED),
        }
    }

    /// Heatmap text by probability band (0: p ≥ 0.5, 1: ≥ 0.1, 2: ≥ 0.01, 3: below).
    /// Monochrome underlines p < 0.1 and makes p < 0.01 bold too (ancestors' text dim, the
    /// current node's plain); reverse video stays free for the token cursor.
    pub fn heat(&self, band: u8, current: bool) -> Style {
        if self.mono() {
            let base = if current {
                Style::default()
            } else {
                Style::default().add_modifier(Modifier::DIM)
            };
            return match band {
                0 | 1 => base,
                2 => base.add_modifier(Modifier::UNDERLINED),
                _ => base.add_modifier(Modifier::UNDERLINED | Modifier::BOLD),
            };
        }
        let base = if current {
            Style::default().add_modifier(Modifier::BOLD)
        } else {
            Style::default()
        };
        let colour = match (band, self.name) {
            (0, ThemeName::Light) => Color::Green,
            (0, _) => Color::LightGreen,
            (1, _) => Color::Yellow,
            (2, ThemeName::Light) => Color::Magenta,
            (2, _) => Color::LightRed,
            _ => Color::Red,
        };
        base.fg(colour)
    }

    pub fn selected(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }

    pub fn on_path(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }

    pub fn dim(&self) -> Style {
        Style::default().add_modifier(Modifier::DIM)
    }

    pub fn bookmark(&self) -> Style {
        self.fg(Color::Yellow, Color::Magenta)
            .add_modifier(Modifier::BOLD)
    }

    pub fn unread(&self) -> Style {
        self.fg(Color::Green, Color::Green)
    }

    pub fn generating(&self) -> Style {
        self.fg(Color::Magenta, Color::Magenta)
            .add_modifier(Modifier::BOLD)
    }

    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.fg(Color::LightBlue, Color::Blue)
                .add_modifier(Modifier::BOLD)
        } else {
            self.fg(Color::DarkGray, Color::Gray)
        }
    }

    pub fn status_bar(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }

    pub fn level(&self, level: Level) -> Style {
        match level {
            Level::Info => Style::default(),
            Level::Warning => self
                .fg(Color::Yellow, Color::Magenta)
                .add_modifier(Modifier::BOLD),
            Level::Error => self
                .fg(Color::LightRed, Color::Red)
                .add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
        }
    }
}
