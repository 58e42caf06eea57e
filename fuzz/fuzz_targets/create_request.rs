//! Fuzzes the create-body parser with arbitrary bytes parsed as JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = intake_core::domain::parse_create_request(&body);
    }
});
