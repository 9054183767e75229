//! cargo-fuzz target: `tloom::fuzzing::sse_stream` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tloom::fuzzing::sse_stream(data));
