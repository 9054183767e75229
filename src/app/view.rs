//! The layout as pure functions of the app state: pane rectangles, tree rows, branch items.
//! The UI draws these; the mouse handler hit-tests against the same numbers.

use super::state::App;
use crate::tree::NodeId;

/// A rectangle in terminal cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Area {
    pub x: u16,
    pub y: u16,
    pub w: u16,
    pub h: u16,
}

impl Area {
    pub fn contains(&self, x: u16, y: u16) -> bool {
        x >= self.x && x < self.x + self.w && y >= self.y && y < self.y + self.h
    }

    /// The inside of a bordered box.
    pub fn inner(&self) -> Area {
        Area {
            x: self.x + 1,
            y: self.y + 1,
            w: self.w.saturating_sub(2),
            h: self.h.saturating_sub(2),
        }
    }
}

/// Where each pane goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Panes {
    /// Zero-sized when the terminal is too narrow for it.
    pub tree: Area,
    pub reading: Area,
    pub branches: Area,
    /// Two lines: messages and hints, then file, model and jobs.
    pub status: Area,
}

/// Split the screen: the tree on the left, reading above branches on the right, status
/// at the bottom. Below 60 columns the tree pane is left out.
pub fn panes(w: u16, h: u16) -> Panes {
    let status_h = 2.min(h);
    let main_h = h - status_h;
    let tree_w = if w >= 60 { (w / 3).clamp(22, 48) } else { 0 };
    let right_w = w - tree_w;
    let branches_h = if main_h >= 12 {
        (main_h * 2 / 5).clamp(6, 16)
    } else {
        main_h / 2
    };
    Panes {
        tree: Area {
            x: 0,
            y: 0,
            w: tree_w,
            h: main_h,
        },
        reading: Area {
            x: tree_w,
            y: 0,
            w: right_w,
            h: main_h - branches_h,
        },
        branches: Area {
            x: tree_w,
            y: main_h - branches_h,
            w: right_w,
            h: branches_h,
        },
        status: Area {
            x: 0,
            y: main_h,
            w,
            h: status_h,
        },
    }
}

/// One line of the tree pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeRow {
    pub node: NodeId,
    pub depth: usize,
    /// On the path from the view root to the cursor (its children are listed).
    pub on_path: bool,
    /// Children not listed under this row (folded, or off the path).
    pub hidden_children: usize,
}

/// The loom around the cursor: each node on the path from the view root to the cursor with
/// all its (shown) children, so every branch point along the path is visible; nodes off
/// the path show their child count. Cost grows with path length times fan-out, not with
/// the size of the tree.
pub fn tree_rows(app: &App) -> Vec<TreeRow> {
    let loom = &app.loom;
    let root = loom.view_root();
    let cursor = loom.cursor();
    let path: Vec<NodeId> = if loom.is_ancestor(root, cursor) {
        loom.ancestry(cursor)
            .into_iter()
            .skip_while(|n| *n != root)
            .collect()
    } else {
        vec![root]
    };
    let mut rows = Vec::new();
    let mut stack = vec![(root, 0usize)];
    while let Some((id, depth)) = stack.pop() {
        let on_path = path.contains(&id);
        let mut children = app.shown_children(id);
        if let Some(next) = path.iter().skip_while(|p| **p != id).nth(1)
            && !children.contains(next)
        {
            // The cursor may be inside an archived branch: keep the path visible.
            children = loom
                .children(id)
                .iter()
                .copied()
                .filter(|c| c == next || children.contains(c))
                .collect();
        }
        let expand = on_path && !app.folded.contains(&id);
        rows.push(TreeRow {
            node: id,
            depth,
            on_path,
            hidden_children: if expand { 0 } else { children.len() },
        });
        if expand {
            stack.extend(children.iter().rev().map(|c| (*c, depth + 1)));
        }
    }
    rows
}

/// The first row to draw so the cursor's row stays in view (centred when possible).
pub fn tree_offset(rows: &[TreeRow], cursor: NodeId, height: usize) -> usize {
    let at = rows.iter().position(|r| r.node == cursor).unwrap_or(0);
    if rows.len() <= height || height == 0 {
        return 0;
    }
    at.saturating_sub(height / 2).min(rows.len() - height)
}

/// Lines each child takes in the branch pane, given the pane's inner height and the
/// number of children: as many preview lines as fit, at least one, at most four.
pub fn branch_item_height(inner_h: u16, children: usize) -> u16 {
    if children == 0 {
        return 1;
    }
    (inner_h / children as u16).clamp(1, 4)
}

/// The first child to draw so the highlighted one is visible.
pub fn branch_offset(selected: usize, children: usize, item_h: u16, inner_h: u16) -> usize {
    let fit = (inner_h / item_h.max(1)).max(1) as usize;
    if children <= fit {
        return 0;
    }
    selected.saturating_sub(fit - 1).min(children - fit)
}

/// The node at a terminal cell in the tree or branch pane, for mouse clicks.
pub fn node_at(app: &App, x: u16, y: u16) -> Option<(NodeId, bool)> {
    let panes = panes(app.screen.0, app.screen.1);
    let tree = panes.tree.inner();
    if tree.contains(x, y) {
        let rows = tree_rows(app);
        let offset = tree_offset(&rows, app.loom.cursor(), tree.h as usize);
        return rows
            .get(offset + (y - tree.y) as usize)
            .map(|r| (r.node, false));
    }
    let branches = panes.branches.inner();
    if branches.contains(x, y) {
        let children = app.shown_children(app.loom.cursor());
        let item_h = branch_item_height(branches.h, children.len());
        let offset = branch_offset(app.branch_sel, children.len(), item_h, branches.h);
        let index = offset + ((y - branches.y) / item_h) as usize;
        return children.get(index).map(|c| (*c, true));
    }
    None
}
