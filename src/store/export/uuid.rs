//! Deterministic UUIDs in the version 4 layout (uppercase, as Twine writes IFIDs), derived
//! from a hash of the tree, so exports that need UUIDs are reproducible byte for byte.

use crate::tree::Loom;
use sha2::{Digest, Sha256};

/// A hash of the tree's structure and texts.
pub fn tree_seed(loom: &Loom) -> [u8; 32] {
    let mut h = Sha256::new();
    for id in loom.all_nodes() {
        if let Some(n) = loom.get(id) {
            h.update(id.0.to_le_bytes());
            h.update(n.parent().map_or(0, |p| p.0).to_le_bytes());
            h.update((n.text.len() as u64).to_le_bytes());
            h.update(n.text.as_bytes());
        }
    }
    h.finalize().into()
}

/// A UUID for `label` within the tree of `seed`: `XXXXXXXX-XXXX-4XXX-[89AB]XXX-XXXXXXXXXXXX`.
pub fn derive(seed: &[u8; 32], label: &str) -> String {
    let mut h = Sha256::new();
    h.update(seed);
    h.update(label.as_bytes());
    let d: [u8; 32] = h.finalize().into();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02X}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_uuids_have_the_v4_layout_and_are_stable() {
        let loom = Loom::new("x");
        let seed = tree_seed(&loom);
        let a = derive(&seed, "ifid");
        assert_eq!(a, derive(&seed, "ifid"));
        assert_ne!(a, derive(&seed, "node 1"));
        let re = regex::Regex::new(
            "^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$",
        )
        .expect("regex");
        assert!(re.is_match(&a), "{a}");
    }
}
