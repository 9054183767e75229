//! The stats panel: curation metrics of the path to the cursor, totals first, then one row
//! per node with what it added (a choice among siblings, or hand-written surprise).

use super::overlays::{boxed, centred};
use super::theme::Theme;
use crate::app::path_report::{PathReport, path_report};
use crate::app::predictor::HumanScore;
use crate::app::state::App;
use crate::app::view::Area;
use ratatui::Frame;
use ratatui::text::{Line, Span};

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme, screen: Area, scroll: u16) {
    let area = centred(
        screen,
        screen.w.saturating_sub(6).min(96),
        screen.h.saturating_sub(2),
    );
    let lines = match path_report(app, app.loom.cursor()) {
        Some(report) => report_lines(&report, theme),
        None => vec![Line::from("no such node")],
    };
    let title = format!(
        "Curation metrics · path to #{} · j/k scroll · Esc closes",
        app.loom.cursor()
    );
    boxed(frame, area, &title, lines, Some(scroll));
}

fn report_lines(r: &PathReport, theme: &Theme) -> Vec<Line<'static>> {
    let m = &r.metrics;
    let per = |v: Option<f64>, unit: &str| v.map_or(String::new(), |v| format!(" ({v:.2} {unit})"));
    let intervention = match r.intervention_bits {
        Some(bits) => format!(
            "{bits:.1} bits{}",
            per(r.intervention_per_token(), "per hand-written token")
        ),
        None => "unknown: S scores the path's hand-written text".into(),
    };
    let kept_share = if m.tokens_generated > 0 {
        format!(
            " ({:.0}% of generated tokens)",
            100.0 * m.tokens_kept as f64 / m.tokens_generated as f64
        )
    } else {
        String::new()
    };
    let mut lines = vec![
        row(
            "selection",
            format!(
                "{:.1} bits{}",
                m.selection_bits,
                per(r.selection_per_token(), "per kept token")
            ),
        ),
        row("intervention", intervention),
        row(
            "generated",
            format!(
                "{}, {} archived, {} tokens",
                nodes(m.nodes_generated),
                m.nodes_archived,
                m.tokens_generated
            ),
        ),
        row(
            "kept",
            format!(
                "{}, {} tokens{kept_share}",
                nodes(m.nodes_kept),
                m.tokens_kept
            ),
        ),
        row(
            "text",
            format!(
                "{} characters, {:.0}% model-written",
                m.path_chars,
                m.model_share() * 100.0
            ),
        ),
        Line::from(""),
        Line::styled(
            format!(
                " {:<7} {:<6} {:>6} {:>7}  {:<18} {}",
                "node", "by", "chars", "tokens", "choice", "intervention"
            ),
            theme.on_path(),
        ),
    ];
    for n in &r.rows {
        let choice = n.choice.map_or("—".to_string(), |c| {
            format!("1 of {} · {:.2} b", c.options, c.bits)
        });
        let intervention = match n.intervention {
            HumanScore::ModelText => "—".to_string(),
            HumanScore::Scored { bits, .. } => format!("{bits:.1} bits"),
            HumanScore::Unscored => "not scored".to_string(),
        };
        lines.push(Line::from(vec![
            Span::raw(format!(" {:<7} ", format!("#{}", n.id))),
            Span::styled(
                format!("{:<6} ", if n.model { "model" } else { "human" }),
                theme.dim(),
            ),
            Span::raw(format!(
                "{:>6} {:>7}  {:<18} {intervention}",
                n.chars,
                n.tokens.map_or("—".to_string(), |t| t.to_string()),
                choice
            )),
        ]));
    }
    lines
}

fn nodes(n: usize) -> String {
    format!("{n} node{}", if n == 1 { "" } else { "s" })
}

fn row(name: &str, value: String) -> Line<'static> {
    Line::from(format!(" {name:<13} {value}"))
}
