//! Projects, API keys and signing secrets: kept, revoked, rotated, and every change seen
//! through the credentials generation that running instances poll.

use super::support::*;
use intake_core::metadata::{KeyOrigin, ProjectRecord, Revocation, Role};

fn key(name: &str, origin: KeyOrigin, projects: &[&str]) -> ApiKeyRecord {
    ApiKeyRecord {
        api_key: name.into(),
        secret_sha256: "00".repeat(32),
        user_id: format!("user_{name}"),
        projects: projects.iter().map(|p| (*p).into()).collect(),
        role: Role::Reader,
        name: String::new(),
        origin,
        created_at: "2026-01-02T03:04:05.678Z".into(),
        revoked_at: None,
    }
}

#[tokio::test]
async fn projects_and_keys_are_rows_and_every_change_moves_the_generation() {
    for b in backends().await {
        let s = &b.store;
        let mut generation = s.credentials_generation().await.unwrap();
        let changed = |generation: &mut Vec<u8>, now: Vec<u8>, what: &str| {
            assert_ne!(&now, generation, "{}: {what} changes the generation", b.name);
            *generation = now;
        };
        let project = ProjectRecord {
            id: "proj_x".into(),
            name: "Team X".into(),
            created_at: "2026-01-02T03:04:05.678Z".into(),
            updated_at: "2026-01-02T03:04:05.678Z".into(),
        };
        assert!(s.insert_project(&project).await.unwrap(), "{}", b.name);
        changed(&mut generation, s.credentials_generation().await.unwrap(), "a project");
        assert!(!s.insert_project(&project).await.unwrap(), "{}: the id is taken", b.name);
        assert_eq!(s.project("proj_x").await.unwrap(), Some(project.clone()), "{}", b.name);

        s.put_api_key(&key("k_db", KeyOrigin::Database, &["proj_x"])).await.unwrap();
        changed(&mut generation, s.credentials_generation().await.unwrap(), "a key");
        s.put_api_key(&key("k_env", KeyOrigin::Environment, &["proj_env"])).await.unwrap();
        changed(&mut generation, s.credentials_generation().await.unwrap(), "an environment key");
        // A key's unknown project is recorded, named after its id.
        let names: Vec<(String, String)> =
            s.projects().await.unwrap().into_iter().map(|p| (p.id.into(), p.name)).collect();
        assert_eq!(
            names,
            vec![("proj_env".into(), "proj_env".into()), ("proj_x".into(), "Team X".into())],
            "{}",
            b.name
        );

        let now = "2026-01-03T00:00:00.000Z";
        assert_eq!(s.revoke_api_key("k_env", now).await.unwrap(), Revocation::FromEnvironment, "{}", b.name);
        assert_eq!(s.revoke_api_key("nope", now).await.unwrap(), Revocation::Unknown, "{}", b.name);
        assert_eq!(s.credentials_generation().await.unwrap(), generation, "{}: refusals change nothing", b.name);
        assert_eq!(s.revoke_api_key("k_db", now).await.unwrap(), Revocation::Revoked, "{}", b.name);
        changed(&mut generation, s.credentials_generation().await.unwrap(), "a revocation");
        assert_eq!(s.revoke_api_key("k_db", now).await.unwrap(), Revocation::AlreadyRevoked, "{}", b.name);
        let keys = s.api_keys().await.unwrap();
        let db = keys.iter().find(|k| k.api_key == "k_db").unwrap();
        assert_eq!((db.revoked_at.as_deref(), db.role), (Some(now), Role::Reader), "{}", b.name);
        let env = keys.iter().find(|k| k.api_key == "k_env").unwrap();
        assert_eq!((env.origin, env.revoked_at.as_deref()), (KeyOrigin::Environment, None), "{}", b.name);
    }
}

#[tokio::test]
async fn rotation_makes_a_new_secret_current_and_forgets_old_ones() {
    for b in backends().await {
        let s = &b.store;
        let first = s.signing_secrets().await.unwrap();
        assert_eq!(first.len(), 1, "{}", b.name);
        assert_eq!(first[0].retired_at_ms, None, "{}", b.name);
        let before = s.credentials_generation().await.unwrap();
        let second = s.rotate_signing_secret(10_000, 0).await.unwrap();
        assert_ne!(s.credentials_generation().await.unwrap(), before, "{}", b.name);
        assert_eq!(second.generation, first[0].generation + 1, "{}", b.name);
        assert_eq!(s.signing_secret().await.unwrap(), second.secret, "{}: the new one is current", b.name);
        let kept = s.signing_secrets().await.unwrap();
        assert_eq!(kept.len(), 2, "{}", b.name);
        assert_eq!(
            (kept[1].secret.clone(), kept[1].retired_at_ms),
            (first[0].secret.clone(), Some(10_000)),
            "{}",
            b.name
        );
        // A rotation long after forgets the secret retired before its horizon.
        let third = s.rotate_signing_secret(20_000, 15_000).await.unwrap();
        let kept: Vec<i64> = s.signing_secrets().await.unwrap().iter().map(|k| k.generation).collect();
        assert_eq!(kept, vec![third.generation, second.generation], "{}", b.name);
    }
}
