//! Every command a user can give, with its name (used by the keymap, the palette and the
//! help screen) and a one-line description. One table feeds all three.

macro_rules! actions {
    ($($variant:ident => $name:literal, $doc:literal;)*) => {
        /// A user command.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action { $($variant),* }

        impl Action {
            /// Every action, in help order.
            pub const ALL: &'static [Action] = &[$(Action::$variant),*];

            /// The name used in keymaps and the command palette.
            pub fn name(self) -> &'static str {
                match self { $(Action::$variant => $name),* }
            }

            /// One line saying what the action does.
            pub fn doc(self) -> &'static str {
                match self { $(Action::$variant => $doc),* }
            }

            pub fn from_name(name: &str) -> Option<Action> {
                match name { $($name => Some(Action::$variant),)* _ => None }
            }
        }
    };
}

actions! {
    Parent => "parent", "Move to the parent node";
    Child => "child", "Move to the child last visited (or the first)";
    PrevSibling => "prev_sibling", "Move to the previous sibling";
    NextSibling => "next_sibling", "Move to the next sibling";
    Root => "root", "Move to the root (or the hoisted node)";
    Child1 => "child_1", "Jump to the 1st child";
    Child2 => "child_2", "Jump to the 2nd child";
    Child3 => "child_3", "Jump to the 3rd child";
    Child4 => "child_4", "Jump to the 4th child";
    Child5 => "child_5", "Jump to the 5th child";
    Child6 => "child_6", "Jump to the 6th child";
    Child7 => "child_7", "Jump to the 7th child";
    Child8 => "child_8", "Jump to the 8th child";
    Child9 => "child_9", "Jump to the 9th child";
    Generate => "generate", "Generate N continuations of the current node";
    GenerateSiblings => "generate_siblings", "Generate N more siblings of the current node";
    Cancel => "cancel", "Cancel running generations (or close a popup)";
    Bookmark => "bookmark", "Bookmark or unbookmark the current node";
    NextBookmark => "next_bookmark", "Go to the next bookmark";
    PrevBookmark => "prev_bookmark", "Go to the previous bookmark";
    Archive => "archive", "Archive or unarchive the current node";
    ToggleArchived => "toggle_archived", "Show or hide archived nodes";
    Delete => "delete", "Delete the current node and its subtree (undoable)";
    DeleteChildren => "delete_children", "Delete all children of the current node";
    DeleteSiblings => "delete_siblings", "Delete all siblings of the current node";
    Undo => "undo", "Undo the last change";
    Redo => "redo", "Redo the last undone change";
    Edit => "edit", "Edit the current node's text in place";
    EditExternal => "edit_external", "Edit the current node's text in $EDITOR";
    AddChild => "add_child", "Add a child written by hand";
    AddSibling => "add_sibling", "Add a sibling written by hand";
    Split => "split", "Split the current node at the edit cursor";
    Merge => "merge", "Merge the current node into its parent";
    Clone => "clone", "Copy the current subtree as a new sibling";
    MoveUp => "move_up", "Move the current node before its previous sibling";
    MoveDown => "move_down", "Move the current node after its next sibling";
    RandomWalk => "random_walk", "Walk a random path down from here";
    Search => "search", "Search node texts";
    SearchNext => "search_next", "Go to the next search match";
    SearchPrev => "search_prev", "Go to the previous search match";
    Fold => "fold", "Fold or unfold the current subtree in the tree pane";
    Hoist => "hoist", "Hoist the current node as the root of the views (again: unhoist)";
    Sampling => "sampling", "Open the sampling panel";
    Triage => "triage", "Triage the children: keep, archive or expand each in turn";
    Keep => "keep", "Triage: keep (bookmark) the highlighted child and advance";
    Discard => "discard", "Triage: archive the highlighted child and advance";
    Expand => "expand", "Triage: generate under the highlighted child and advance";
    Context => "context", "Show exactly the text sent to the model";
    Memory => "memory", "Edit the loom's memory text (prepended to every prompt)";
    Heatmap => "heatmap", "Colour text by each token's probability (again: off)";
    Tokens => "tokens", "Walk the current node's tokens; Enter shows a token's alternatives";
    Score => "score", "Score the path's hand-written text, for the heatmap";
    Multiverse => "multiverse", "Show the most probable token tree below the current node";
    Stats => "stats", "Show the curation metrics of the path to the current node";
    SortByLogprob => "sort_by_logprob", "Sort the current node's siblings, most probable first";
    SortByTime => "sort_by_time", "Sort the current node's siblings, oldest first";
    FocusNext => "focus_next", "Switch focus between the panes";
    ScrollUp => "scroll_up", "Scroll the reading pane up";
    ScrollDown => "scroll_down", "Scroll the reading pane down";
    PageUp => "page_up", "Scroll the reading pane up a page";
    PageDown => "page_down", "Scroll the reading pane down a page";
    Save => "save", "Save now";
    Help => "help", "Show the keys";
    Palette => "palette", "Open the command palette";
    Quit => "quit", "Save and quit";
}

impl Action {
    /// The child index (0-based) of a `child_N` action.
    pub fn child_index(self) -> Option<usize> {
        use Action::*;
        [
            Child1, Child2, Child3, Child4, Child5, Child6, Child7, Child8, Child9,
        ]
        .iter()
        .position(|a| *a == self)
    }
}
