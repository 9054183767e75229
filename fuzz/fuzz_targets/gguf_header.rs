//! cargo-fuzz target: `tloom::fuzzing::gguf_header` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tloom::fuzzing::gguf_header(data));
