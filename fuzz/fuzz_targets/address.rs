#![no_main]
// See fuzz/harness.rs for the input format and the oracle.
libfuzzer_sys::fuzz_target!(|data: &[u8]| sdfd_fuzz::address(data));
