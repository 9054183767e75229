//! cargo-fuzz target: `tloom::fuzzing::tree_file` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tloom::fuzzing::tree_file(data));
