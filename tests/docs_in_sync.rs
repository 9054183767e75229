//! Documentation generated from the code stays generated: docs/keybindings.md is exactly
//! what `tloom keys --markdown` prints for the default keymap.

#[test]
fn keybindings_md_matches_the_default_keymap() {
    let generated =
        tloom::app::keymap::keybindings_markdown(&tloom::app::keymap::Keymap::defaults());
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/keybindings.md");
    let on_disk = std::fs::read_to_string(path).expect("docs/keybindings.md exists");
    assert!(
        on_disk.trim_end() == generated.trim_end(),
        "docs/keybindings.md is stale: run `cargo run -- keys --markdown > docs/keybindings.md`"
    );
}
