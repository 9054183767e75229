//! cargo-fuzz target: `tloom::fuzzing::importers` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tloom::fuzzing::importers(data));
