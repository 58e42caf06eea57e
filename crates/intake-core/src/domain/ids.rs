//! Resource ids: a prefix that names the resource and 22 base62 characters, like Scenario's
//! `asset_GTrL3mq4SXWyMxkOHRxlpw`: 8 that encode the creation time in milliseconds, then 14
//! random ones (about 83 bits). Ids made later sort later, so a new row's primary key lands
//! at the end of its B-tree: the rows one transaction inserts share pages instead of each
//! dirtying a random one (the SQLite writer's group commit writes far fewer pages).

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

/// Characters of the time part of an id: 62^8 milliseconds is about 6,900 years.
const TIME_CHARS: usize = 8;
/// Random characters after it.
const RANDOM_CHARS: usize = 14;

/// A fresh id for a resource of `kind`.
pub fn new_id(kind: IdKind) -> String {
    let millis = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    new_id_at(kind, millis as u64)
}

fn new_id_at(kind: IdKind, millis: u64) -> String {
    let mut id = String::with_capacity(kind.prefix().len() + TIME_CHARS + RANDOM_CHARS);
    id.push_str(kind.prefix());
    let mut time = [b'0'; TIME_CHARS];
    let mut rest = millis;
    for slot in time.iter_mut().rev() {
        *slot = BASE62[(rest % 62) as usize];
        rest /= 62;
    }
    id.push_str(std::str::from_utf8(&time).expect("base62 is ASCII"));
    id.push_str(&random_base62(RANDOM_CHARS));
    id
}

/// True when `id` could be an id of `kind` (right prefix, base62 tail of sane length).
/// Used to answer 404 early on garbage ids without touching the database.
pub fn looks_like(kind: IdKind, id: &str) -> bool {
    id.strip_prefix(kind.prefix())
        .is_some_and(|tail| (1..=64).contains(&tail.len()) && tail.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// An id of one kind of resource: a string in storage and on the wire, a type of its own in
/// the code, so an upload's id can never be passed where a project's is meant.
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id as stored and sent.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as a plain string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        /// From storage or from a setting: the text is taken as it is.
        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_string())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }
    };
}

/// Ids minted by intake (`upload_…`, `asset_…`, …): a fresh one, and the one a client named
/// if it could be one.
macro_rules! minted_id {
    ($name:ident, $kind:expr) => {
        #[allow(clippy::new_without_default)] // a default id would be a made-up one
        impl $name {
            /// A fresh id (see the module's doc comment for its shape).
            pub fn new() -> Self {
                Self(new_id($kind))
            }

            /// The id a client named, if it could be one of this kind (right prefix, base62
            /// tail of sane length); `None` answers 404 without touching the database.
            pub fn parse(s: &str) -> Option<Self> {
                looks_like($kind, s).then(|| Self(s.to_string()))
            }
        }
    };
}

id_type!(
    /// An upload's id (`upload_…`).
    UploadId
);
minted_id!(UploadId, IdKind::Upload);
id_type!(
    /// An asset's id (`asset_…`).
    AssetId
);
minted_id!(AssetId, IdKind::Asset);
id_type!(
    /// A model's id (`model_…`).
    ModelId
);
minted_id!(ModelId, IdKind::Model);
id_type!(
    /// A background job's id (`job_…`).
    JobId
);
minted_id!(JobId, IdKind::Job);
id_type!(
    /// A project's id: chosen by the operator (`intake projects create`, `INTAKE_API_KEYS`),
    /// so any non-empty text.
    ProjectId
);

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

    #[test]
    fn later_ids_sort_later() {
        // Byte order (SQLite's and PostgreSQL's `COLLATE "C"`) follows the time part.
        let times = [0u64, 1, 61, 62, 1_700_000_000_000, 1_700_000_000_001, 1_800_000_000_000];
        let ids: Vec<String> = times.iter().map(|&t| new_id_at(IdKind::Upload, t)).collect();
        for pair in ids.windows(2) {
            assert!(pair[0] < pair[1], "{} !< {}", pair[0], pair[1]);
        }
        assert!(ids.iter().all(|id| id.len() == 29 && looks_like(IdKind::Upload, id)));
        assert!(new_id(IdKind::Asset) > new_id_at(IdKind::Asset, 1_700_000_000_000));
    }
}
