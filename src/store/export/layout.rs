//! A tidy left-to-right tree layout shared by the Canvas and Twee exports: depth decides
//! the column, each subtree gets a vertical band as tall as its children's bands (or its
//! own box), and a parent is centred on its band, so no two boxes overlap.

use super::{ExportOptions, kids, shown};
use crate::tree::{Loom, NodeId};
use std::collections::HashMap;

pub const WIDTH: i64 = 360;
const COLUMN_GAP: i64 = 80;
const ROW_GAP: i64 = 30;

/// A box's place and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
}

/// A box tall enough for a node's text at about 45 characters a line.
fn height(text: &str) -> i64 {
    let lines: i64 = text
        .split('\n')
        .map(|l| (l.chars().count() as i64 + 44) / 45)
        .map(|n| n.max(1))
        .sum();
    (40 + lines * 22).clamp(60, 400)
}

/// Places every node a tree view shows.
pub fn layout(loom: &Loom, options: &ExportOptions) -> HashMap<NodeId, Placed> {
    let order = shown(loom, options);
    let children: HashMap<NodeId, Vec<NodeId>> = order
        .iter()
        .map(|id| (*id, kids(loom, *id, options)))
        .collect();
    let own = |id: &NodeId| loom.get(*id).map(|n| height(&n.text)).unwrap_or(60);
    let mut band: HashMap<NodeId, i64> = HashMap::with_capacity(order.len());
    for id in order.iter().rev() {
        let kids = &children[id];
        let total: i64 =
            kids.iter().map(|c| band[c]).sum::<i64>() + ROW_GAP * (kids.len() as i64 - 1).max(0);
        band.insert(*id, total.max(own(id)));
    }
    let mut placed = HashMap::with_capacity(order.len());
    let mut top: HashMap<NodeId, (i64, i64)> = HashMap::from([(loom.root(), (0, 0))]);
    for id in &order {
        let (t, depth) = top[id];
        let h = own(id);
        placed.insert(
            *id,
            Placed {
                x: depth * (WIDTH + COLUMN_GAP),
                y: t + (band[id] - h) / 2,
                width: WIDTH,
                height: h,
            },
        );
        let kids = &children[id];
        let total: i64 =
            kids.iter().map(|c| band[c]).sum::<i64>() + ROW_GAP * (kids.len() as i64 - 1).max(0);
        let mut start = t + (band[id] - total) / 2;
        for c in kids {
            top.insert(*c, (start, depth + 1));
            start += band[c] + ROW_GAP;
        }
    }
    placed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_never_overlap() {
        let mut loom = Loom::new("root");
        let a = loom
            .add_child(loom.root(), &"long text ".repeat(40))
            .expect("add");
        for i in 0..3 {
            let c = loom.add_child(a, &format!("child {i}")).expect("add");
            loom.add_child(c, "grandchild").expect("add");
        }
        loom.add_child(loom.root(), "b").expect("add");
        let placed = layout(&loom, &ExportOptions::default());
        let boxes: Vec<Placed> = placed.values().copied().collect();
        for (i, p) in boxes.iter().enumerate() {
            for q in &boxes[i + 1..] {
                let apart = p.x + p.width <= q.x
                    || q.x + q.width <= p.x
                    || p.y + p.height <= q.y
                    || q.y + q.height <= p.y;
                assert!(apart, "{p:?} overlaps {q:?}");
            }
        }
    }
}
