//! Errors of tree operations, each naming the node and what went wrong.

use super::id::NodeId;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Error)]
pub enum TreeError {
    #[error("node {0} does not exist")]
    NoSuchNode(NodeId),
    #[error("node {0} already exists")]
    DuplicateId(NodeId),
    #[error("node {0} is the root; {1}")]
    RootRefused(NodeId, &'static str),
    #[error("cannot move node {node} under {target}: {target} is inside the subtree of {node}")]
    WouldCycle { node: NodeId, target: NodeId },
    #[error(
        "offset {offset} is not inside node {node} (its text has {len} bytes) or not on a character boundary"
    )]
    BadOffset {
        node: NodeId,
        offset: usize,
        len: usize,
    },
    #[error(
        "cannot merge node {0} into its parent: the parent has other children, whose text would change"
    )]
    MergeWithSiblings(NodeId),
    #[error("position {index} is out of range: node {parent} has {len} children")]
    BadIndex {
        parent: NodeId,
        index: usize,
        len: usize,
    },
    #[error("bad search pattern: {0}")]
    BadPattern(String),
    #[error("nothing to {0}")]
    NothingTo(&'static str),
}
