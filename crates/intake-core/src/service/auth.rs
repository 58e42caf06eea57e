//! HTTP Basic authentication with an API key and secret: which projects a key may use and
//! what its role lets it do there. Keys come from `INTAKE_API_KEYS` (fixed for the process's
//! life) and from the database (reloaded when they change, so a key created or revoked with
//! the CLI counts on every instance within the reload interval).

use crate::domain::ids::{new_id, random_base62, IdKind, ProjectId};
use crate::domain::time::format_time;
use crate::metadata::{ApiKeyRecord, KeyOrigin, MetadataStore, Role};
use crate::{Error, Result};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Who is calling, and for which project (the owner of what they create or read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub project_id: ProjectId,
    /// The API key used.
    pub api_key: String,
    /// What the key may do.
    pub role: Role,
}

impl Caller {
    /// Refuses what the caller's role does not allow: a `reader` only reads.
    pub fn require_write(&self, what: &str) -> Result<()> {
        match self.role {
            Role::Reader => Err(Error::Forbidden(format!(
                "this API key has the reader role, which may only read; {what} needs an editor or admin key"
            ))),
            Role::Editor | Role::Admin => Ok(()),
        }
    }

    /// Refuses what only an admin key may do (managing a project's keys).
    pub fn require_admin(&self, what: &str) -> Result<()> {
        match self.role {
            Role::Admin => Ok(()),
            role => Err(Error::Forbidden(format!(
                "this API key has the {} role; {what} needs an admin key of the project",
                role.as_str()
            ))),
        }
    }
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

    /// The key as the database records it: an admin of its projects.
    fn record(&self, origin: KeyOrigin) -> ApiKeyRecord {
        ApiKeyRecord {
            api_key: self.api_key.clone(),
            secret_sha256: sha256_hex(&self.api_secret),
            user_id: user_id_of(&self.api_key),
            projects: self.projects.iter().map(|p| ProjectId::from(p.as_str())).collect(),
            role: Role::Admin,
            name: String::new(),
            origin,
            created_at: format_time(chrono::Utc::now()),
            revoked_at: None,
        }
    }
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// The user behind a key: one per key, derived from it.
fn user_id_of(api_key: &str) -> String {
    format!("user_{}", &sha256_hex(api_key)[..22])
}

/// A new key for `projects` (the first its default) with `role`, and its secret: the
/// secret is shown once and only its hash is kept.
pub fn new_key(projects: Vec<String>, role: Role, name: String) -> (ApiKeyRecord, String) {
    let spec = KeySpec { api_key: new_id(IdKind::Key), api_secret: random_base62(40), projects };
    let mut record = spec.record(KeyOrigin::Database);
    record.role = role;
    record.name = name;
    (record, spec.api_secret)
}

/// Checks credentials against the configured keys and those kept in the database.
pub struct Authenticator {
    /// `INTAKE_API_KEYS`, fixed for the process's life.
    configured: HashMap<String, Key>,
    /// What the database holds, replaced by [`Authenticator::reload`].
    stored: RwLock<Arc<Stored>>,
}

/// The database's keys as last read.
#[derive(Default)]
struct Stored {
    /// Keys that may authenticate: kept in the database, not revoked.
    active: HashMap<String, Key>,
    /// Every key row, revoked and environment ones too (what `GET /v1/projects` shows).
    all: Vec<ApiKeyRecord>,
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
    /// The configured keys (recorded in the database as coming from the environment) and
    /// the keys kept in the database. With no key configured and none ever kept, creates
    /// one (returned once, so the caller can print it; only its hash is kept).
    pub async fn load(meta: &dyn MetadataStore, configured: &[KeySpec]) -> Result<(Self, Option<CreatedKey>)> {
        for spec in configured {
            meta.put_api_key(&spec.record(KeyOrigin::Environment)).await?;
        }
        let mut created = None;
        let kept = meta.api_keys().await?;
        if configured.is_empty() && !kept.iter().any(|k| k.origin == KeyOrigin::Database) {
            let project = format!("proj_{}", random_base62(22));
            let (record, secret) = new_key(vec![project.clone()], Role::Admin, "first start".into());
            meta.put_api_key(&record).await?;
            created = Some(CreatedKey { api_key: record.api_key, api_secret: secret, project_id: project });
        }
        let auth = Self {
            configured: configured.iter().map(|k| Key::entry(k.record(KeyOrigin::Environment))).collect(),
            stored: RwLock::default(),
        };
        auth.reload(meta).await?;
        Ok((auth, created))
    }

    /// Reads the database's keys again (after `intake keys create` or `revoke`).
    pub async fn reload(&self, meta: &dyn MetadataStore) -> Result<()> {
        let all = meta.api_keys().await?;
        let active = all
            .iter()
            .filter(|k| k.origin == KeyOrigin::Database && k.revoked_at.is_none())
            .cloned()
            .map(Key::entry)
            .collect();
        *self.stored.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(Stored { active, all });
        Ok(())
    }

    fn stored(&self) -> Arc<Stored> {
        self.stored.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The key `caller` used (its projects, default first, and its role).
    pub fn key_of(&self, caller: &Caller) -> Option<ApiKeyRecord> {
        if let Some(k) = self.configured.get(&caller.api_key) {
            return Some(k.record.clone());
        }
        self.stored().active.get(&caller.api_key).map(|k| k.record.clone())
    }

    /// The projects the key of `caller` may act for, its default first.
    pub fn projects_of(&self, caller: &Caller) -> Vec<ProjectId> {
        self.key_of(caller).map(|k| k.projects).unwrap_or_default()
    }

    /// The keys of `project` that `caller` may see, at most `limit`: every key of the project
    /// (revoked ones too) for an admin, only its own key for the others.
    pub fn keys_visible_in(&self, caller: &Caller, project: &str, limit: usize) -> Vec<ApiKeyRecord> {
        let stored = self.stored();
        let mut seen = std::collections::HashSet::new();
        let configured = self.configured.values().map(|k| &k.record);
        configured
            .chain(stored.all.iter())
            .filter(|k| k.projects.iter().any(|p| p == project))
            .filter(|k| caller.role == Role::Admin || k.api_key == caller.api_key)
            .filter(|k| seen.insert(k.api_key.clone()))
            .take(limit)
            .cloned()
            .collect()
    }

    /// Every key row as last read, revoked and `INTAKE_API_KEYS` ones too, with `api_key`.
    pub fn record(&self, api_key: &str) -> Option<ApiKeyRecord> {
        if let Some(k) = self.configured.get(api_key) {
            return Some(k.record.clone());
        }
        self.stored().all.iter().find(|k| k.api_key == api_key).cloned()
    }

    /// How many keys name `project`: `(active, all)`, revoked ones counted in `all` only.
    pub fn keys_in(&self, project: &str) -> (usize, usize) {
        let stored = self.stored();
        let in_project = |k: &&ApiKeyRecord| k.projects.iter().any(|p| p == project);
        let configured = self.configured.values().map(|k| &k.record).filter(in_project).count();
        let rows: Vec<&ApiKeyRecord> =
            stored.all.iter().filter(in_project).filter(|k| k.origin == KeyOrigin::Database).collect();
        let active = rows.iter().filter(|k| k.revoked_at.is_none()).count();
        (configured + active, configured + rows.len())
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
        let stored = self.stored();
        let key = self.configured.get(key).or_else(|| stored.active.get(key));
        // Hash and compare even for unknown keys so timing does not reveal which keys exist.
        let presented = Sha256::digest(secret.as_bytes());
        let expected = key.and_then(|k| k.secret_sha256);
        let matches = constant_time_eq(&presented, &expected.unwrap_or_default()) && expected.is_some();
        let record = match key {
            Some(k) if matches => &k.record,
            _ => return Err(unauthenticated("the API key or secret is wrong (or was revoked)")),
        };
        let project_id = match project {
            None | Some("") => record.projects[0].clone(),
            Some(p) if record.projects.iter().any(|own| own == p) => ProjectId::from(p),
            Some(p) => {
                return Err(Error::Forbidden(format!(
                    "this API key does not belong to project {p:?}; use one of its projects or leave projectId out"
                )))
            }
        };
        Ok(Caller { user_id: record.user_id.clone(), project_id, api_key: record.api_key.clone(), role: record.role })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::KeyStore;

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
        let meta = crate::metadata::open_sqlite(&dir.path().join("m.db")).await.unwrap();
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
        let meta = crate::metadata::open_sqlite(&dir.path().join("m.db")).await.unwrap();
        let (auth, created) = Authenticator::load(&meta, &[]).await.unwrap();
        let created = created.expect("first start creates a key");
        let caller = auth.authenticate(Some(&basic(&created.api_key, &created.api_secret)), None).unwrap();
        assert_eq!(caller.project_id, created.project_id);
        let (again, none) = Authenticator::load(&meta, &[]).await.unwrap();
        assert!(none.is_none(), "the second start creates nothing");
        assert!(again.authenticate(Some(&basic(&created.api_key, &created.api_secret)), None).is_ok());
    }

    #[tokio::test]
    async fn database_keys_carry_their_role_and_a_revoked_one_stops_at_the_next_reload() {
        let dir = tempfile::tempdir().unwrap();
        let meta = crate::metadata::open_sqlite(&dir.path().join("m.db")).await.unwrap();
        let specs = KeySpec::parse_list("env:env-secret:projA").unwrap();
        let (auth, created) = Authenticator::load(&meta, &specs).await.unwrap();
        assert!(created.is_none(), "configured keys: no first-start key");
        let (reader, secret) = new_key(vec!["projA".into()], Role::Reader, "ci".into());
        meta.put_api_key(&reader).await.unwrap();
        assert!(auth.authenticate(Some(&basic(&reader.api_key, &secret)), None).is_err(), "not read yet");
        auth.reload(&meta).await.unwrap();
        let caller = auth.authenticate(Some(&basic(&reader.api_key, &secret)), None).unwrap();
        assert_eq!((caller.role, caller.project_id.as_str()), (Role::Reader, "projA"));
        let refusal = caller.require_write("creating an upload").unwrap_err().to_string();
        assert!(refusal.contains("reader role"), "{refusal}");
        let env = auth.authenticate(Some(&basic("env", "env-secret")), None).unwrap();
        assert_eq!(env.role, Role::Admin);
        assert_eq!(auth.keys_visible_in(&env, "projA", 10).len(), 2, "an admin sees every key of the project");
        assert_eq!(auth.keys_visible_in(&caller, "projA", 10).len(), 1, "a reader sees its own key");

        let now = format_time(chrono::Utc::now());
        assert_eq!(meta.revoke_api_key(&reader.api_key, &now).await.unwrap(), crate::metadata::Revocation::Revoked);
        assert_eq!(meta.revoke_api_key("env", &now).await.unwrap(), crate::metadata::Revocation::FromEnvironment);
        auth.reload(&meta).await.unwrap();
        assert!(matches!(
            auth.authenticate(Some(&basic(&reader.api_key, &secret)), None),
            Err(Error::Unauthenticated(_))
        ));
        assert!(auth.authenticate(Some(&basic("env", "env-secret")), None).is_ok());
    }

    #[test]
    fn a_key_whose_stored_hash_is_not_hex_never_authenticates() {
        let record = KeySpec { api_key: "k".into(), api_secret: "s".into(), projects: vec!["p".into()] }
            .record(KeyOrigin::Environment);
        let with = |record: ApiKeyRecord| Authenticator {
            configured: [Key::entry(record)].into_iter().collect(),
            stored: RwLock::default(),
        };
        let good = with(record.clone());
        assert!(good.authenticate(Some(&basic("k", "s")), None).is_ok());
        for corrupt in ["", "zz", &record.secret_sha256[..62]] {
            let mut damaged = record.clone();
            damaged.secret_sha256 = corrupt.to_string();
            let auth = with(damaged);
            assert!(matches!(auth.authenticate(Some(&basic("k", "s")), None), Err(Error::Unauthenticated(_))));
        }
    }
}
