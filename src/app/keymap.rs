//! The keymap: the defaults from assets/keymap.toml, with the user's overrides merged over
//! them. Problems (unknown keys or actions) become warnings, never failures.

use super::action::Action;
use super::keys::KeyCombo;
use std::collections::BTreeMap;

const DEFAULT_KEYMAP: &str = include_str!("../../assets/keymap.toml");

/// Where keys are interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyContext {
    Normal,
    Triage,
}

impl KeyContext {
    pub const ALL: &'static [KeyContext] = &[KeyContext::Normal, KeyContext::Triage];

    pub fn name(self) -> &'static str {
        match self {
            KeyContext::Normal => "normal",
            KeyContext::Triage => "triage",
        }
    }

    fn from_name(name: &str) -> Option<KeyContext> {
        KeyContext::ALL.iter().copied().find(|c| c.name() == name)
    }
}

/// Key bindings per context.
#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: BTreeMap<KeyContext, BTreeMap<KeyCombo, Action>>,
}

pub use crate::session::config::KeyOverrides;

impl Keymap {
    /// The built-in keymap.
    pub fn defaults() -> Keymap {
        let mut keymap = Keymap {
            bindings: BTreeMap::new(),
        };
        let table: KeyOverrides = toml::from_str(DEFAULT_KEYMAP).unwrap_or_default();
        let warnings = keymap.merge(&table);
        debug_assert!(warnings.is_empty(), "default keymap: {warnings:?}");
        keymap
    }

    /// The defaults with `overrides` merged over them, and what was wrong with them.
    pub fn with_overrides(overrides: &KeyOverrides) -> (Keymap, Vec<String>) {
        let mut keymap = Keymap::defaults();
        let warnings = keymap.merge(overrides);
        (keymap, warnings)
    }

    fn merge(&mut self, table: &KeyOverrides) -> Vec<String> {
        let mut warnings = Vec::new();
        for (context_name, keys) in table {
            let Some(context) = KeyContext::from_name(context_name) else {
                warnings.push(format!(
                    "keys: unknown context [keys.{context_name}] (known: normal, triage)"
                ));
                continue;
            };
            let map = self.bindings.entry(context).or_default();
            for (key_name, action_name) in keys {
                let key = match KeyCombo::parse(key_name) {
                    Ok(k) => k,
                    Err(e) => {
                        warnings.push(format!("keys.{context_name}: {e}"));
                        continue;
                    }
                };
                if action_name == "none" {
                    map.remove(&key);
                    continue;
                }
                match Action::from_name(action_name) {
                    Some(action) => {
                        map.insert(key, action);
                    }
                    None => warnings.push(format!(
                        "keys.{context_name}: {key_name:?} is bound to unknown action {action_name:?} (see `tloom keys`)"
                    )),
                }
            }
        }
        warnings
    }

    pub fn lookup(&self, context: KeyContext, key: &KeyCombo) -> Option<Action> {
        self.bindings.get(&context)?.get(key).copied()
    }

    /// The keys bound to each action in a context, in help order.
    pub fn bindings(&self, context: KeyContext) -> Vec<(Action, Vec<KeyCombo>)> {
        let mut by_action: BTreeMap<Action, Vec<KeyCombo>> = BTreeMap::new();
        if let Some(map) = self.bindings.get(&context) {
            for (key, action) in map {
                by_action.entry(*action).or_default().push(*key);
            }
        }
        by_action.into_iter().collect()
    }

    /// The keys for one action, as text ("h, left"), for hints.
    pub fn keys_for(&self, context: KeyContext, action: Action) -> String {
        let mut keys: Vec<String> = self
            .bindings
            .get(&context)
            .map(|m| {
                m.iter()
                    .filter(|(_, a)| **a == action)
                    .map(|(k, _)| k.to_string())
                    .collect()
            })
            .unwrap_or_default();
        keys.sort_by_key(|k| (k.len(), k.clone()));
        keys.join(", ")
    }
}

/// docs/keybindings.md, generated from the keymap.
pub fn keybindings_markdown(keymap: &Keymap) -> String {
    let mut out = String::from(
        "# Keybindings\n\nGenerated from `assets/keymap.toml` by `tloom keys --markdown`; do not edit by hand.\n\
         Override any key in your config file under `[keys.<context>]` (see the top of assets/keymap.toml).\n",
    );
    for context in KeyContext::ALL {
        out.push_str(&format!(
            "\n## {}\n\n| keys | action | what it does |\n|---|---|---|\n",
            context.name()
        ));
        for (action, keys) in keymap.bindings(*context) {
            let keys: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
            out.push_str(&format!(
                "| {} | `{}` | {} |\n",
                keys.join(" "),
                action.name(),
                action.doc()
            ));
        }
    }
    out.push_str(
        "\n## Editing text (in place)\n\n| keys | what it does |\n|---|---|\n\
         | arrows, `home`, `end`, `ctrl-left`/`ctrl-right` | move the caret |\n\
         | `enter` | new line |\n| `backspace`, `delete` | erase |\n\
         | `esc` or `ctrl-s` | keep the edit |\n| `ctrl-c` | discard the edit |\n\
         | `ctrl-t` | split the node at the caret |\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_in_the_default_keymap_exists_and_overrides_merge() {
        let keymap = Keymap::defaults();
        let g = KeyCombo::parse("g").unwrap();
        assert_eq!(
            keymap.lookup(KeyContext::Normal, &g),
            Some(Action::Generate)
        );
        let mut overrides = KeyOverrides::new();
        overrides.insert(
            "normal".into(),
            [
                ("g".into(), "none".into()),
                ("ctrl-g".into(), "generate".into()),
                ("Q".into(), "fly".into()),
            ]
            .into_iter()
            .collect(),
        );
        overrides.insert("bogus".into(), BTreeMap::new());
        let (keymap, warnings) = Keymap::with_overrides(&overrides);
        assert_eq!(keymap.lookup(KeyContext::Normal, &g), None);
        assert_eq!(
            keymap.lookup(KeyContext::Normal, &KeyCombo::parse("ctrl-g").unwrap()),
            Some(Action::Generate)
        );
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings.iter().any(|w| w.contains("\"fly\"")));
    }
}
