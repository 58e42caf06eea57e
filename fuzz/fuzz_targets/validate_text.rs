//! Fuzzes validation as kind `text`: any bytes must get an answer, never a panic, a hang or unbounded memory.
#![no_main]

use intake_api::Kind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = intake_core::validate::validate(Kind::Text, &data.to_vec());
});
