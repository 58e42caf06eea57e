//! Helpers the validators' unit tests share: fixtures, expected outcomes, and mutation.

use super::{validate, Findings, ValidateError};
use intake_api::Kind;

/// The bytes of `fixtures/<name>`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/src/validate/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// What validating `bytes` as `kind` found; panics with the reason if it was refused.
pub fn ok(kind: Kind, bytes: &[u8]) -> Findings {
    validate(kind, &bytes.to_vec()).unwrap_or_else(|e| panic!("{e}"))
}

/// The reason validating `bytes` as `kind` was refused; panics if it was not.
pub fn err(kind: Kind, bytes: &[u8]) -> String {
    match validate(kind, &bytes.to_vec()) {
        Err(ValidateError::Rejected(r)) => r.0,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// Runs `validate` on `rounds` random mutations of `seed` (bit flips, cuts, inserted
/// bytes, huge length fields): whatever it answers, it must not panic or hang.
pub fn mutate_and_validate(seed: &[u8], rounds: usize) {
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ seed.len() as u64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x as usize
    };
    for _ in 0..rounds {
        let mut m = seed.to_vec();
        for _ in 0..1 + rnd() % 4 {
            let i = rnd() % m.len().max(1);
            match rnd() % 5 {
                0 if i < m.len() => m[i] ^= 1 << (rnd() % 8),
                1 => m.truncate(i),
                2 if i + 4 <= m.len() => m[i..i + 4].copy_from_slice(&(rnd() as u32).to_le_bytes()),
                3 if i + 4 <= m.len() => m[i..i + 4].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0x7F]),
                4 if i <= m.len() => m.insert(i, rnd() as u8),
                _ => {}
            }
        }
        let _ = validate(Kind::Asset, &m);
    }
}
