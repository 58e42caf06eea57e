//! [`KeyStore`]: projects, API keys and the install's URL-signing secrets, with the
//! generation every change bumps so running instances reload them.

use super::db::{args, Arg, LockSpace, Tx};
use super::SqlStore;
use crate::metadata::rows::{json_text, parse_json, Columns};
use crate::metadata::{ApiKeyRecord, KeyOrigin, KeyStore, ProjectRecord, Revocation, Role, SigningSecret};
use crate::{Error, Result};
use async_trait::async_trait;
use rand::RngCore;

/// Generations of the signing secret kept at most (rotations forget older ones sooner).
const MAX_SECRETS: i64 = 16;

const KEY_COLUMNS: &str = "api_key, secret_sha256, user_id, projects, role, name, origin, created_at, revoked_at";
const PROJECT_COLUMNS: &str = "id, name, created_at, updated_at";

fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes
}

fn read_key(r: &dyn Columns) -> Result<ApiKeyRecord> {
    let role = r.required_text("role")?;
    Ok(ApiKeyRecord {
        api_key: r.required_text("api_key")?,
        secret_sha256: r.required_text("secret_sha256")?,
        user_id: r.required_text("user_id")?,
        projects: parse_json(r.text("projects")?)?.unwrap_or_default(),
        role: Role::parse(&role).ok_or_else(|| Error::internal(format!("stored key role {role:?} is unknown")))?,
        name: r.text("name")?.unwrap_or_default(),
        origin: match r.required_text("origin")?.as_str() {
            "environment" => KeyOrigin::Environment,
            _ => KeyOrigin::Database,
        },
        created_at: r.required_text("created_at")?,
        revoked_at: r.text("revoked_at")?,
    })
}

fn read_project(r: &dyn Columns) -> Result<ProjectRecord> {
    Ok(ProjectRecord {
        id: r.required_text("id")?.into(),
        name: r.required_text("name")?,
        created_at: r.required_text("created_at")?,
        updated_at: r.required_text("updated_at")?,
    })
}

fn read_secret(r: &dyn Columns) -> Result<SigningSecret> {
    Ok(SigningSecret {
        generation: r.required_integer("generation")?,
        secret: r.bytes("secret")?.unwrap_or_default(),
        created_at_ms: r.required_integer("created_at_ms")?,
        retired_at_ms: r.integer("retired_at_ms")?,
    })
}

/// Records that credentials changed, in the transaction that changes them.
async fn bump_generation(tx: &mut Tx) -> Result<()> {
    tx.execute(
        "INSERT INTO settings (name, value) VALUES ('credentials_generation', $1)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        &[Arg::Bytes(random_bytes(16).into())],
    )
    .await?;
    Ok(())
}

#[async_trait]
impl KeyStore for SqlStore {
    async fn signing_secret(&self) -> Result<Vec<u8>> {
        let mut secrets = self.signing_secrets().await?;
        Ok(secrets.swap_remove(0).secret)
    }

    async fn signing_secrets(&self) -> Result<Vec<SigningSecret>> {
        // The first secret, unless there is one; racing first starts insert one between them.
        self.db
            .execute(
                "INSERT INTO signing_secrets (generation, secret, created_at_ms)
                 SELECT 1, $1, $2 WHERE NOT EXISTS (SELECT 1 FROM signing_secrets)
                 ON CONFLICT (generation) DO NOTHING",
                &[Arg::Bytes(random_bytes(32).into()), Arg::from(chrono::Utc::now().timestamp_millis())],
            )
            .await?;
        let secrets = self
            .db
            .fetch_all(
                "SELECT generation, secret, created_at_ms, retired_at_ms FROM signing_secrets ORDER BY generation DESC LIMIT $1",
                &args![MAX_SECRETS],
                read_secret,
            )
            .await?;
        if secrets.is_empty() {
            return Err(Error::internal("the signing secret vanished"));
        }
        Ok(secrets)
    }

    async fn rotate_signing_secret(&self, now_ms: i64, forget_retired_before_ms: i64) -> Result<SigningSecret> {
        self.signing_secrets().await?;
        let mut tx = self.db.begin().await?;
        tx.lock(LockSpace::Signing, "rotate").await?;
        let newest = tx.fetch_integer("SELECT max(generation) FROM signing_secrets", &[]).await?;
        tx.execute("UPDATE signing_secrets SET retired_at_ms = $1 WHERE retired_at_ms IS NULL", &args![now_ms]).await?;
        let fresh = SigningSecret {
            generation: newest + 1,
            secret: random_bytes(32),
            created_at_ms: now_ms,
            retired_at_ms: None,
        };
        tx.execute(
            "INSERT INTO signing_secrets (generation, secret, created_at_ms) VALUES ($1, $2, $3)",
            &[Arg::from(fresh.generation), Arg::Bytes(fresh.secret.clone().into()), Arg::from(now_ms)],
        )
        .await?;
        tx.execute(
            "DELETE FROM signing_secrets WHERE retired_at_ms IS NOT NULL AND (retired_at_ms < $1 OR generation <= $2)",
            &args![forget_retired_before_ms, fresh.generation - MAX_SECRETS],
        )
        .await?;
        bump_generation(&mut tx).await?;
        tx.commit().await?;
        Ok(fresh)
    }

    async fn api_keys(&self) -> Result<Vec<ApiKeyRecord>> {
        self.db
            .fetch_all(&format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at, api_key"), &[], read_key)
            .await
    }

    async fn put_api_key(&self, key: &ApiKeyRecord) -> Result<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            &format!(
                "INSERT INTO api_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (api_key) DO UPDATE SET secret_sha256 = excluded.secret_sha256,
                   user_id = excluded.user_id, projects = excluded.projects, role = excluded.role,
                   name = excluded.name, origin = excluded.origin, revoked_at = excluded.revoked_at"
            ),
            &args![
                &key.api_key,
                &key.secret_sha256,
                &key.user_id,
                json_text(&key.projects),
                key.role.as_str(),
                &key.name,
                key.origin.as_str(),
                &key.created_at,
                key.revoked_at.as_deref(),
            ],
        )
        .await?;
        for project in &key.projects {
            tx.execute(
                "INSERT INTO projects (id, name, created_at, updated_at) VALUES ($1, $1, $2, $2) ON CONFLICT (id) DO NOTHING",
                &args![project, &key.created_at],
            )
            .await?;
        }
        bump_generation(&mut tx).await?;
        tx.commit().await
    }

    async fn revoke_api_key(&self, api_key: &str, now: &str) -> Result<Revocation> {
        let mut tx = self.db.begin().await?;
        let found = tx
            .fetch_optional(
                &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE api_key = $1"),
                &args![api_key],
                read_key,
            )
            .await?;
        let outcome = match found {
            None => Revocation::Unknown,
            Some(k) if k.origin == KeyOrigin::Environment => Revocation::FromEnvironment,
            Some(k) if k.revoked_at.is_some() => Revocation::AlreadyRevoked,
            Some(_) => {
                tx.execute("UPDATE api_keys SET revoked_at = $1 WHERE api_key = $2", &args![now, api_key]).await?;
                bump_generation(&mut tx).await?;
                Revocation::Revoked
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn insert_project(&self, project: &ProjectRecord) -> Result<bool> {
        let mut tx = self.db.begin().await?;
        let inserted = tx
            .execute(
                &format!(
                    "INSERT INTO projects ({PROJECT_COLUMNS}) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING"
                ),
                &args![&project.id, &project.name, &project.created_at, &project.updated_at],
            )
            .await?
            > 0;
        if inserted {
            bump_generation(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    async fn project(&self, id: &str) -> Result<Option<ProjectRecord>> {
        self.db
            .fetch_optional(&format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE id = $1"), &args![id], read_project)
            .await
    }

    async fn projects(&self) -> Result<Vec<ProjectRecord>> {
        self.db.fetch_all(&format!("SELECT {PROJECT_COLUMNS} FROM projects ORDER BY id"), &[], read_project).await
    }

    async fn credentials_generation(&self) -> Result<Vec<u8>> {
        Ok(self
            .db
            .fetch_optional("SELECT value FROM settings WHERE name = 'credentials_generation'", &[], |r| {
                r.bytes("value")
            })
            .await?
            .flatten()
            .unwrap_or_default())
    }
}
