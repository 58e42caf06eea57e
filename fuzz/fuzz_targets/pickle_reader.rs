//! Fuzzes the pickle reader: any bytes read as a bare pickle stream (whatever they sniff as)
//! and validated as a model file must get an answer, never a panic, a hang or unbounded
//! memory; a verdict is always a sentence.
#![no_main]

use intake_api::Kind;
use intake_core::validate::{read_pickle_stream, validate, PicklePolicy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let bytes = data.to_vec();
    let findings = read_pickle_stream(&bytes).expect("an in-memory source cannot fail");
    let verdict = PicklePolicy::default().judge(&findings);
    if let Some(reason) = verdict.refusal() {
        assert!(reason.len() > 20);
    }
    let _ = validate(Kind::Model, &bytes);
});
