//! Fuzzes validation as kind `model`: any bytes must get an answer, never a panic, a hang or unbounded memory.
#![no_main]

use intake_api::Kind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = intake_core::validate::validate(Kind::Model, &data.to_vec());
});
