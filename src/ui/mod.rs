//! Drawing only: a function of the app state. Never changes it, never reads the clock.

mod markers;
mod overlays;
mod panes;
mod predictor;
mod stats;
mod status;
pub mod theme;

use crate::app::state::App;
use crate::app::view::{Area, panes as layout};
use ratatui::Frame;
use theme::Theme;

/// Draw the whole screen.
pub fn draw(frame: &mut Frame, app: &App) {
    let size = frame.area();
    let theme = Theme::new(app.config.ui.theme);
    let p = layout(size.width, size.height);
    panes::tree(frame, app, &theme, p.tree);
    panes::reading(frame, app, &theme, p.reading);
    panes::branches(frame, app, &theme, p.branches);
    status::draw(frame, app, &theme, p.status);
    overlays::draw(
        frame,
        app,
        &theme,
        Area {
            x: 0,
            y: 0,
            w: size.width,
            h: size.height,
        },
    );
}
