//! HTTP Basic authentication with an API key and secret, and which projects a key may use.

use crate::domain::ids::{new_id, random_base62, IdKind};
use crate::metadata::{ApiKeyRecord, MetadataStore};
use crate::{Error, Result};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Who is calling, and for which project (the owner of what they create or read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub project_id: String,
}

/// A key given in configuration: `key:secret:project[;project…]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpec {
    pub api_key: String,
    pub api_secret: String,
    pub projects: Vec<String>,
}

impl KeySpec {
    /// Parses a comma-separated list of `key:secret:project[;project…]` entries.
    pub fn parse_list(s: &str) -> std::result::Result<Vec<KeySpec>, String> {
        s.split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|entry| {
                let mut fields = entry.splitn(3, ':');
                let (Some(key), Some(secret), Some(projects)) = (fields.next(), fields.next(), fields.next()) else {
                    return Err(format!("API key entry {entry:?} must be key:secret:projectId"));
                };
                let projects: Vec<String> =
                    projects.split(';').map(str::trim).filter(|p| !p.is_empty()).map(String::from).collect();
                if key.is_empty() || secret.is_empty() || projects.is_empty() {
                    return Err(format!("API key entry for {key:?} needs a key, a secret and at least one project"));
                }
                Ok(KeySpec { api_key: key.to_string(), api_secret: secret.to_string(), projects })
            })
            .collect()
    }

    fn record(&self) -> ApiKeyRecord {
        ApiKeyRecord {
            api_key: self.api_key.clone(),
            secret_sha256: sha256_hex(&self.api_secret),
            user_id: format!("user_{}", &sha256_hex(&self.api_key)[..22]),
            projects: self.projects.clone(),
        }
    }
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Checks credentials against a fixed set of keys, loaded at startup.
pub struct Authenticator {
    keys: HashMap<String, Key>,
}

/// A key as [`Authenticator`] checks it: the record, and its secret's SHA-256 decoded once
/// (`None` if the stored hash is not 64 hex digits: such a key never authenticates).
struct Key {
    record: ApiKeyRecord,
    secret_sha256: Option<[u8; 32]>,
}

impl Key {
    /// The [`Authenticator`]'s map entry for `record`: its API key, and the key to check.
    fn entry(record: ApiKeyRecord) -> (String, Key) {
        let mut hash = [0u8; 32];
        let secret_sha256 = hex::decode_to_slice(&record.secret_sha256, &mut hash).ok().map(|()| hash);
        (record.api_key.clone(), Key { record, secret_sha256 })
    }
}

/// A key created on first start, to be shown to the operator once.
#[derive(Debug, Clone)]
pub struct CreatedKey {
    pub api_key: String,
    pub api_secret: String,
    pub project_id: String,
}

impl Authenticator {
    /// The keys to accept: exactly `configured` when any are configured; otherwise the keys
    /// kept in the metadata store, creating one on first start (returned once, so the
    /// caller can print it; only its hash is kept).
    pub async fn load(meta: &dyn MetadataStore, configured: &[KeySpec]) -> Result<(Self, Option<CreatedKey>)> {
        if !configured.is_empty() {
            let keys = configured.iter().map(|k| Key::entry(k.record())).collect();
            return Ok((Self { keys }, None));
        }
        let mut stored = meta.api_keys().await?;
        let mut created = None;
        if stored.is_empty() {
            let spec = KeySpec {
                api_key: new_id(IdKind::Key),
                api_secret: random_base62(40),
                projects: vec![format!("proj_{}", random_base62(22))],
            };
            meta.put_api_key(&spec.record()).await?;
            created = Some(CreatedKey {
                api_key: spec.api_key.clone(),
                api_secret: spec.api_secret.clone(),
                project_id: spec.projects[0].clone(),
            });
            stored = meta.api_keys().await?;
        }
        let keys = stored.into_iter().map(Key::entry).collect();
        Ok((Self { keys }, created))
    }

    /// The projects the key of `caller` may act for, its default first.
    pub fn projects_of(&self, caller: &Caller) -> Vec<String> {
        self.keys
            .values()
            .find(|k| k.record.user_id == caller.user_id)
            .map(|k| k.record.projects.clone())
            .unwrap_or_default()
    }

    /// Authenticates an `Authorization` header value and resolves the project: `project`
    /// when given (it must be one of the key's), else the key's default project.
    pub fn authenticate(&self, authorization: Option<&str>, project: Option<&str>) -> Result<Caller> {
        let unauthenticated = |why: &str| {
            Error::Unauthenticated(format!(
                "{why}: send HTTP Basic credentials, your API key as the user and your API secret as the password"
            ))
        };
        let header = authorization.ok_or_else(|| unauthenticated("no credentials"))?;
        let encoded = header
            .strip_prefix("Basic ")
            .or_else(|| header.strip_prefix("basic "))
            .ok_or_else(|| unauthenticated("only Basic authentication is supported"))?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| unauthenticated("the Basic credentials are not valid base64 text"))?;
        let (key, secret) = decoded
            .split_once(':')
            .ok_or_else(|| unauthenticated("the Basic credentials lack a ':' between key and secret"))?;
        let key = self.keys.get(key);
        // Hash and compare even for unknown keys so timing does not reveal which keys exist.
        let presented = Sha256::digest(secret.as_bytes());
        let expected = key.and_then(|k| k.secret_sha256);
        let matches = constant_time_eq(&presented, &expected.unwrap_or_default()) && expected.is_some();
        let record = match key {
            Some(k) if matches => &k.record,
            _ => return Err(unauthenticated("the API key or secret is wrong")),
        };
        let project_id = match project {
            None | Some("") => record.projects[0].clone(),
            Some(p) if record.projects.iter().any(|own| own == p) => p.to_string(),
            Some(p) => {
                return Err(Error::Forbidden(format!(
                    "this API key does not belong to project {p:?}; use one of its projects or leave projectId out"
                )))
            }
        };
        Ok(Caller { user_id: record.user_id.clone(), project_id })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, pass: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}")))
    }

    #[test]
    fn key_lists_parse_and_explain_mistakes() {
        let keys = KeySpec::parse_list("k1:s1:p1, k2:s:2:p2;p3").unwrap();
        assert_eq!(keys[0].projects, vec!["p1"]);
        // A secret cannot hold ':' but the project list can follow it.
        assert_eq!(keys[1].api_secret, "s");
        assert_eq!(keys[1].projects, vec!["2:p2", "p3"]);
        assert!(KeySpec::parse_list("k1:s1").unwrap_err().contains("key:secret:projectId"));
    }

    #[tokio::test]
    async fn credentials_and_projects_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let meta = crate::metadata::sqlite::SqliteStore::open(&dir.path().join("m.db")).await.unwrap();
        let specs = KeySpec::parse_list("alice:secret:projA;projB").unwrap();
        let (auth, created) = Authenticator::load(&meta, &specs).await.unwrap();
        assert!(created.is_none());
        let caller = auth.authenticate(Some(&basic("alice", "secret")), None).unwrap();
        assert_eq!(caller.project_id, "projA");
        assert_eq!(auth.projects_of(&caller), vec!["projA", "projB"]);
        assert_eq!(auth.authenticate(Some(&basic("alice", "secret")), Some("projB")).unwrap().project_id, "projB");
        assert!(matches!(auth.authenticate(Some(&basic("alice", "secret")), Some("projC")), Err(Error::Forbidden(_))));
        assert!(matches!(auth.authenticate(Some(&basic("alice", "wrong")), None), Err(Error::Unauthenticated(_))));
        assert!(matches!(auth.authenticate(Some(&basic("bob", "secret")), None), Err(Error::Unauthenticated(_))));
        assert!(matches!(auth.authenticate(None, None), Err(Error::Unauthenticated(_))));
        assert!(matches!(auth.authenticate(Some("Bearer x"), None), Err(Error::Unauthenticated(_))));
        assert!(matches!(auth.authenticate(Some("Basic !!!"), None), Err(Error::Unauthenticated(_))));
    }

    #[tokio::test]
    async fn a_key_is_created_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let meta = crate::metadata::sqlite::SqliteStore::open(&dir.path().join("m.db")).await.unwrap();
        let (auth, created) = Authenticator::load(&meta, &[]).await.unwrap();
        let created = created.expect("first start creates a key");
        let caller = auth.authenticate(Some(&basic(&created.api_key, &created.api_secret)), None).unwrap();
        assert_eq!(caller.project_id, created.project_id);
        let (again, none) = Authenticator::load(&meta, &[]).await.unwrap();
        assert!(none.is_none(), "the second start creates nothing");
        assert!(again.authenticate(Some(&basic(&created.api_key, &created.api_secret)), None).is_ok());
    }

    #[test]
    fn a_key_whose_stored_hash_is_not_hex_never_authenticates() {
        let record = KeySpec { api_key: "k".into(), api_secret: "s".into(), projects: vec!["p".into()] }.record();
        let good = Authenticator { keys: [Key::entry(record.clone())].into_iter().collect() };
        assert!(good.authenticate(Some(&basic("k", "s")), None).is_ok());
        for corrupt in ["", "zz", &record.secret_sha256[..62]] {
            let mut damaged = record.clone();
            damaged.secret_sha256 = corrupt.to_string();
            let auth = Authenticator { keys: [Key::entry(damaged)].into_iter().collect() };
            assert!(matches!(auth.authenticate(Some(&basic("k", "s")), None), Err(Error::Unauthenticated(_))));
        }
    }
}
