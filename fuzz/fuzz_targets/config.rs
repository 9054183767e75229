//! cargo-fuzz target: `tloom::fuzzing::config` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tloom::fuzzing::config(data));
