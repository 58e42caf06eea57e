//! Property-based tests: the state machine, the create-body parser and every validator
//! hold their promises for inputs nobody thought to write down.

use intake_api::{Kind, Status};
use intake_core::domain::{parse_create_request, transition, CreateMode, Event, ParseError};
use intake_core::validate::{validate, ByteSource, CountingSource, ValidateError};
use proptest::prelude::*;

/// A body as the server reads it: deserialized into the request type, then parsed.
fn parse(body: &serde_json::Value) -> Result<CreateMode, ParseError> {
    let request = intake_api::CreateUploadRequest::from_json(body).map_err(|reason| ParseError { reason })?;
    parse_create_request(&request)
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        Just(Event::BytesInPlace),
        Just(Event::ValidationStarted),
        Just(Event::ValidationPassed),
        Just(Event::EntityCreated),
        Just(Event::Failed),
    ]
}

fn kind() -> impl Strategy<Value = Kind> {
    prop::sample::select(Kind::ALL.to_vec())
}

fn rank(s: Status) -> u8 {
    match s {
        Status::Pending => 0,
        Status::Complete => 1,
        Status::Validating => 2,
        Status::Validated => 3,
        Status::Imported | Status::Failed => 4,
    }
}

/// Every fixture the validators' unit tests use, as seeds for mutation.
fn fixtures() -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/validate/fixtures");
    let mut files: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x != "md"))
        .map(|e| std::fs::read(e.path()).unwrap())
        .collect();
    files.sort();
    files
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// Whatever happens, an upload only moves forward, stops at a terminal status, and
    /// reaches `imported` only by passing every step.
    #[test]
    fn the_lifecycle_only_moves_forward(events in prop::collection::vec(event(), 0..20)) {
        let mut status = Status::Pending;
        let mut visited = vec![status];
        for e in events {
            match transition(status, e) {
                Ok(next) => {
                    prop_assert!(!status.is_terminal());
                    prop_assert!(rank(next) > rank(status) || next == Status::Failed);
                    status = next;
                    visited.push(status);
                }
                Err(err) => prop_assert_eq!(err.from, status),
            }
        }
        if status == Status::Imported {
            prop_assert_eq!(visited, vec![Status::Pending, Status::Complete, Status::Validating, Status::Validated, Status::Imported]);
        }
    }

    /// The create parser never panics, and whatever multipart plan it accepts obeys the
    /// part-size rules.
    #[test]
    fn accepted_multipart_plans_obey_the_part_rules(
        size in prop_oneof![0u64..100_000_000, any::<u64>()],
        parts in prop_oneof![0u64..20, any::<u64>()],
        kind in kind(),
        name in "\\PC{0,40}",
    ) {
        let body = serde_json::json!({"fileName": name, "contentType": "application/octet-stream", "fileSize": size, "parts": parts, "kind": kind});
        if let Ok(CreateMode::Multipart(spec)) = parse(&body) {
            prop_assert!((1..=10_000).contains(&spec.parts));
            let min = if spec.parts == 1 { 0 } else { (spec.parts as u64 - 1) * 5 * 1024 * 1024 + 1 };
            prop_assert!(spec.file_size >= min);
            prop_assert!(spec.file_size <= spec.parts as u64 * 5 * 1024 * 1024 * 1024);
            prop_assert!(!spec.file_name.contains('/') && !spec.file_name.contains('\\'));
        }
    }

    /// Arbitrary JSON never panics the parser.
    #[test]
    fn any_json_body_gets_an_answer(body in any_json()) {
        let _ = parse(&body);
    }

    /// Random bytes of any kind: validation answers (never panics), and a rejection is a
    /// sentence.
    #[test]
    fn random_bytes_never_panic_a_validator(bytes in prop::collection::vec(any::<u8>(), 0..4096), kind in kind()) {
        match validate(kind, &bytes) {
            Ok(findings) => prop_assert_eq!(findings.properties.size, bytes.len() as u64),
            Err(ValidateError::Rejected(r)) => prop_assert!(r.0.len() > 10),
            Err(ValidateError::Io(e)) => prop_assert!(false, "an in-memory source cannot fail: {e}"),
            Err(ValidateError::TimedOut(limit)) => prop_assert!(false, "no time limit was set, yet {limit:?} ran out"),
        }
    }

    /// Real files with bytes flipped, cut short or grown: still no panic, and a file cut
    /// short never passes as the same format with the full file's size.
    #[test]
    fn mutated_real_files_never_panic_a_validator(
        seed in 0usize..64,
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in any::<prop::sample::Index>(),
        kind in kind(),
    ) {
        let files = fixtures();
        let mut bytes = files[seed % files.len()].clone();
        for (at, value) in flips {
            if !bytes.is_empty() {
                let i = at.index(bytes.len());
                bytes[i] ^= value;
            }
        }
        let cut_at = cut.index(bytes.len() + 1);
        bytes.truncate(cut_at);
        let _ = validate(kind, &bytes);
    }

}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    /// Checking a large file of any kind but text reads a bounded amount of it.
    #[test]
    fn headers_not_whole_files(seed in 0usize..64, kind in kind().prop_filter("text reads everything", |k| *k != Kind::Text)) {
        let files = fixtures();
        let mut bytes = files[seed % files.len()].clone();
        bytes.resize(bytes.len() + 40 * 1024 * 1024, 0);
        let counting = CountingSource::new(&bytes as &dyn ByteSource);
        let _ = validate(kind, &counting);
        prop_assert!(counting.bytes_read() <= 17 * 1024 * 1024, "read {} bytes", counting.bytes_read());
    }
}

fn any_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| serde_json::json!(f)),
        "\\PC{0,12}".prop_map(serde_json::Value::String),
        prop::sample::select(vec!["fileName", "contentType", "fileSize", "parts", "kind", "url", "assetOptions"])
            .prop_map(|s| serde_json::Value::String(s.to_string())),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "fileName",
                        "contentType",
                        "fileSize",
                        "parts",
                        "kind",
                        "url",
                        "huggingFaceModelName",
                        "civitaiModelUrl",
                        "assetOptions",
                        "collectionIds",
                        "hide",
                        "parentId"
                    ]),
                    inner
                ),
                0..8
            )
            .prop_map(|kv| serde_json::Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}
