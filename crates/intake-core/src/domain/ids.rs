//! Resource ids: a prefix that names the resource and 22 random base62 characters
//! (about 131 bits), like Scenario's `asset_GTrL3mq4SXWyMxkOHRxlpw`.

use rand::Rng;

/// The resources intake mints ids for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Upload,
    Asset,
    Model,
    Job,
    User,
    Key,
}

impl IdKind {
    fn prefix(self) -> &'static str {
        match self {
            IdKind::Upload => "upload_",
            IdKind::Asset => "asset_",
            IdKind::Model => "model_",
            IdKind::Job => "job_",
            IdKind::User => "user_",
            IdKind::Key => "key_",
        }
    }
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Random base62 string of `len` characters.
pub fn random_base62(len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len).map(|_| BASE62[rng.gen_range(0..BASE62.len())] as char).collect()
}

/// A fresh id for a resource of `kind`.
pub fn new_id(kind: IdKind) -> String {
    format!("{}{}", kind.prefix(), random_base62(22))
}

/// True when `id` could be an id of `kind` (right prefix, base62 tail of sane length).
/// Used to answer 404 early on garbage ids without touching the database.
pub fn looks_like(kind: IdKind, id: &str) -> bool {
    id.strip_prefix(kind.prefix())
        .is_some_and(|tail| (1..=64).contains(&tail.len()) && tail.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_prefix_and_are_distinct() {
        let a = new_id(IdKind::Upload);
        let b = new_id(IdKind::Upload);
        assert!(a.starts_with("upload_") && a.len() == 29, "{a}");
        assert_ne!(a, b);
        assert!(looks_like(IdKind::Upload, &a));
        assert!(!looks_like(IdKind::Asset, &a));
        assert!(!looks_like(IdKind::Upload, "upload_../../etc"));
        assert!(!looks_like(IdKind::Upload, "upload_"));
    }
}
