//! Fuzzes the create-body reader with arbitrary bytes parsed as JSON, as the server reads a
//! body: deserialized into `CreateUploadRequest`, then parsed into a creation mode.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Ok(request) = intake_api::CreateUploadRequest::from_json(&body) {
            let _ = intake_core::domain::parse_create_request(&request);
        }
    }
});
