//! Hand-written deserializers for the file and node DTOs. They read each field once, keep
//! unknown fields in `extra` without buffering the whole document (as `serde(flatten)`
//! would), and refuse a field given twice. serde_json attaches the line and column.

use super::format::{FileDto, NodeDto, NodeMap, OriginDto, TokenDto};
use crate::tree::NodeId;
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

fn once<T, E: de::Error>(slot: &mut Option<T>, value: T, name: &'static str) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::custom(format!("duplicate field `{name}`")));
    }
    *slot = Some(value);
    Ok(())
}

impl<'de> Deserialize<'de> for FileDto {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(FileVisitor)
    }
}

struct FileVisitor;

impl<'de> Visitor<'de> for FileVisitor {
    type Value = FileDto;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a tloom file object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FileDto, A::Error> {
        let (mut format, mut version, mut root) = (None, None, None);
        let (mut cursor, mut hoist, mut next_id, mut memory, mut nodes) =
            (None, None, None, None, None);
        let mut extra = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "format" => once(&mut format, map.next_value::<String>()?, "format")?,
                "version" => once(&mut version, map.next_value::<u64>()?, "version")?,
                "root" => once(&mut root, map.next_value::<NodeId>()?, "root")?,
                "cursor" => once(&mut cursor, map.next_value::<Option<NodeId>>()?, "cursor")?,
                "hoist" => once(&mut hoist, map.next_value::<Option<NodeId>>()?, "hoist")?,
                "next_id" => once(&mut next_id, map.next_value::<Option<u64>>()?, "next_id")?,
                "memory" => once(&mut memory, map.next_value::<String>()?, "memory")?,
                "nodes" => once(&mut nodes, map.next_value::<NodeMap>()?, "nodes")?,
                _ => {
                    let value: Value = map.next_value()?;
                    extra.insert(key, value);
                }
            }
        }
        Ok(FileDto {
            format: format.ok_or_else(|| de::Error::missing_field("format"))?,
            version: version.ok_or_else(|| de::Error::missing_field("version"))?,
            root: root.ok_or_else(|| de::Error::missing_field("root"))?,
            cursor: cursor.flatten(),
            hoist: hoist.flatten(),
            next_id: next_id.flatten(),
            memory: memory.unwrap_or_default(),
            nodes: nodes.ok_or_else(|| de::Error::missing_field("nodes"))?,
            extra,
        })
    }
}

impl<'de> Deserialize<'de> for NodeDto {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(NodeVisitor)
    }
}

struct NodeVisitor;

#[derive(Default)]
struct NodeFields {
    parent: Option<Option<NodeId>>,
    children: Option<Vec<NodeId>>,
    text: Option<String>,
    origin: Option<OriginDto>,
    created: Option<i64>,
    bookmarked: Option<bool>,
    archived: Option<bool>,
    edited: Option<bool>,
    unread: Option<bool>,
    tags: Option<Vec<String>>,
    note: Option<String>,
    memory: Option<String>,
    last_child: Option<Option<NodeId>>,
    tokens: Option<Option<Vec<TokenDto>>>,
}

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = NodeDto;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a node object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeDto, A::Error> {
        let mut f = NodeFields::default();
        let mut extra = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "parent" => once(&mut f.parent, map.next_value()?, "parent")?,
                "children" => once(&mut f.children, map.next_value()?, "children")?,
                "text" => once(&mut f.text, map.next_value()?, "text")?,
                "origin" => once(&mut f.origin, map.next_value()?, "origin")?,
                "created" => once(&mut f.created, map.next_value()?, "created")?,
                "bookmarked" => once(&mut f.bookmarked, map.next_value()?, "bookmarked")?,
                "archived" => once(&mut f.archived, map.next_value()?, "archived")?,
                "edited" => once(&mut f.edited, map.next_value()?, "edited")?,
                "unread" => once(&mut f.unread, map.next_value()?, "unread")?,
                "tags" => once(&mut f.tags, map.next_value()?, "tags")?,
                "note" => once(&mut f.note, map.next_value()?, "note")?,
                "memory" => once(&mut f.memory, map.next_value()?, "memory")?,
                "last_child" => once(&mut f.last_child, map.next_value()?, "last_child")?,
                "tokens" => once(&mut f.tokens, map.next_value()?, "tokens")?,
                _ => {
                    let value: Value = map.next_value()?;
                    extra.insert(key, value);
                }
            }
        }
        Ok(NodeDto {
            parent: f.parent.flatten(),
            children: f.children.unwrap_or_default(),
            text: f.text.ok_or_else(|| de::Error::missing_field("text"))?,
            origin: f.origin.unwrap_or_default(),
            created: f.created.unwrap_or_default(),
            bookmarked: f.bookmarked.unwrap_or_default(),
            archived: f.archived.unwrap_or_default(),
            edited: f.edited.unwrap_or_default(),
            unread: f.unread.unwrap_or_default(),
            tags: f.tags.unwrap_or_default(),
            note: f.note.unwrap_or_default(),
            memory: f.memory.unwrap_or_default(),
            last_child: f.last_child.flatten(),
            tokens: f.tokens.flatten(),
            extra,
        })
    }
}
