//! An admin key managing the keys of its projects over the API: create a key for one of
//! them, revoke one. The same rows `intake keys create|revoke` writes, so every instance
//! sees a change within the credentials reload interval; this instance sees it at once.

use super::auth::{new_key, Authenticator, Caller};
use super::Service;
use crate::domain::time::format_time;
use crate::metadata::{ApiKeyRecord, KeyOrigin, Revocation, Role};
use crate::{Error, Result};

/// The most active keys a project may have.
pub const MAX_ACTIVE_KEYS_PER_PROJECT: usize = 100;
/// The most key rows (revoked ones too) that may name a project: revoked keys stay listed
/// as `inactive`, so creating and revoking in a loop must end somewhere.
pub const MAX_KEYS_PER_PROJECT: usize = 1000;
/// The longest key name, in characters.
pub const MAX_KEY_NAME_CHARS: usize = 100;

impl Service {
    /// Creates a key of `role` for `project` on behalf of `caller`, an admin key of that
    /// project; returns the key and its secret (shown once, only its hash is kept).
    pub async fn create_key(
        &self,
        auth: &Authenticator,
        caller: &Caller,
        project: &str,
        role: Role,
        name: String,
    ) -> Result<(ApiKeyRecord, String)> {
        require_project_admin(auth, caller, project, "creating API keys")?;
        if name.chars().count() > MAX_KEY_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(Error::BadRequest(format!(
                "name must be at most {MAX_KEY_NAME_CHARS} characters with no control characters"
            )));
        }
        let (active, all) = auth.keys_in(project);
        if active >= MAX_ACTIVE_KEYS_PER_PROJECT || all >= MAX_KEYS_PER_PROJECT {
            return Err(Error::Conflict(format!(
                "project {project} has {active} active API keys and {all} in all (at most \
                 {MAX_ACTIVE_KEYS_PER_PROJECT} active and {MAX_KEYS_PER_PROJECT} in all); revoke one first"
            )));
        }
        let (record, secret) = new_key(vec![project.to_string()], role, name);
        self.meta.put_api_key(&record).await?;
        auth.reload(self.meta.as_ref()).await?;
        tracing::info!(api_key = %record.api_key, project, role = role.as_str(), by = %caller.api_key, "API key created");
        Ok((record, secret))
    }

    /// Revokes `api_key`, a key of `project`, on behalf of `caller`, an admin key of that
    /// project and of every other project the key belongs to; answers the key as it now is.
    /// Revoking a revoked key answers it unchanged.
    pub async fn revoke_key(
        &self,
        auth: &Authenticator,
        caller: &Caller,
        project: &str,
        api_key: &str,
    ) -> Result<ApiKeyRecord> {
        require_project_admin(auth, caller, project, "revoking API keys")?;
        let not_found = || Error::NotFound(format!("no API key {api_key:?} in project {project}"));
        let target = auth.record(api_key).filter(|k| k.projects.iter().any(|p| p == project)).ok_or_else(not_found)?;
        let administered = auth.projects_of(caller);
        if let Some(other) = target.projects.iter().find(|p| !administered.contains(p)) {
            return Err(Error::Forbidden(format!(
                "API key {api_key} also belongs to project {other}, which this admin key does not administer"
            )));
        }
        match self.meta.revoke_api_key(api_key, &format_time(chrono::Utc::now())).await? {
            Revocation::Revoked => {
                tracing::info!(api_key, project, by = %caller.api_key, "API key revoked");
            }
            Revocation::AlreadyRevoked => {}
            Revocation::FromEnvironment => {
                return Err(Error::Conflict(format!(
                    "API key {api_key} comes from INTAKE_API_KEYS; the operator removes it there"
                )))
            }
            Revocation::Unknown => return Err(not_found()),
        }
        auth.reload(self.meta.as_ref()).await?;
        auth.record(api_key).filter(|k| k.origin == KeyOrigin::Database).ok_or_else(not_found)
    }
}

/// Refuses unless `caller`'s key belongs to `project` (404 otherwise, as for any project
/// not the key's) with the admin role.
fn require_project_admin(auth: &Authenticator, caller: &Caller, project: &str, what: &str) -> Result<()> {
    if !auth.projects_of(caller).iter().any(|p| p == project) {
        return Err(Error::NotFound(format!("no project {project:?} among this API key's projects")));
    }
    caller.require_admin(what)
}
