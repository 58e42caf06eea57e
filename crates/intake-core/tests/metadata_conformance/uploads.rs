//! Uploads: stored, read, counted, limited, and moved through their lifecycle.

use super::support::*;
use intake_api::{Kind, Source, Status};
use intake_core::metadata::{Admission, Change, ImportProgress, ImportedFile, Lane, ModelRecord, UploadStore};

#[tokio::test]
async fn the_signing_secret_is_made_once_and_shared() {
    for b in backends().await {
        let first = b.store.signing_secret().await.unwrap();
        assert!(first.len() >= 32, "{}", b.name);
        assert_eq!(b.store.signing_secret().await.unwrap(), first, "{}", b.name);
        let other = (b.reopen)().await;
        assert_eq!(other.signing_secret().await.unwrap(), first, "{}: another handle sees the same secret", b.name);
    }
}

#[tokio::test]
async fn api_keys_are_kept_and_replaced_by_name() {
    for b in backends().await {
        let s = &b.store;
        assert!(s.api_keys().await.unwrap().is_empty(), "{}", b.name);
        let mut key = ApiKeyRecord {
            api_key: "key_1".into(),
            secret_sha256: "00".repeat(32),
            user_id: "user_1".into(),
            projects: vec!["p1".into(), "p2".into()],
            role: intake_core::metadata::Role::Editor,
            name: "ci".into(),
            origin: intake_core::metadata::KeyOrigin::Database,
            created_at: "2026-01-02T03:04:05.678Z".into(),
            revoked_at: None,
        };
        s.put_api_key(&key).await.unwrap();
        key.projects = vec!["p3".into()];
        s.put_api_key(&key).await.unwrap();
        assert_eq!(s.api_keys().await.unwrap(), vec![key], "{}", b.name);
    }
}

#[tokio::test]
async fn uploads_round_trip_every_field() {
    for b in backends().await {
        let s = &b.store;
        let u = upload("upload_rt", NOW);
        insert(s.as_ref(), &u).await.unwrap();
        assert_eq!(s.upload("upload_rt").await.unwrap(), Some(u.clone()), "{}", b.name);
        let mut bare = upload("upload_bare", NOW);
        (bare.original_file_name, bare.content_type, bare.file_size, bare.parts_count) = (None, None, None, None);
        (bare.asset_options, bare.config, bare.store_handle) = (None, None, None);
        bare.kind = Kind::Model;
        bare.source = Source::HuggingFace;
        bare.provider = Some(intake_api::Provider::HuggingFace);
        insert(s.as_ref(), &bare).await.unwrap();
        assert_eq!(s.upload("upload_bare").await.unwrap(), Some(bare), "{}", b.name);
        assert_eq!(s.upload("upload_none").await.unwrap(), None, "{}", b.name);
        assert!(s.insert_upload(&u, &UNLIMITED).await.is_err(), "{}: ids are unique", b.name);
    }
}

#[tokio::test]
async fn pending_uploads_are_counted_per_project_through_every_status_change() {
    for b in backends().await {
        let s = &b.store;
        let count = |owner: &'static str| {
            let s = s.clone();
            async move { pending_of(s.as_ref(), owner).await }
        };
        assert_eq!(count("proj_a").await, 0, "{}", b.name);
        for id in ["upload_p1", "upload_p2", "upload_p3", "upload_p4"] {
            insert(s.as_ref(), &upload(id, NOW - 10)).await.unwrap();
        }
        let mut other = upload("upload_p5", NOW);
        other.owner_id = "proj_b".into();
        insert(s.as_ref(), &other).await.unwrap();
        let mut import = upload("upload_p6", NOW);
        (import.source, import.url, import.job_id) =
            (Source::Url, Some("https://example.com/a".into()), Some("job_p6".into()));
        assert_eq!(s.insert_import(&import, NOW, &UNLIMITED).await.unwrap(), Admission::Stored, "{}", b.name);
        assert_eq!((count("proj_a").await, count("proj_b").await), (5, 1), "{}", b.name);
        assert!(s.insert_upload(&upload("upload_p1", NOW), &UNLIMITED).await.is_err(), "{}", b.name);
        assert_eq!(count("proj_a").await, 5, "{}: a refused insert counts nothing", b.name);

        complete(s.as_ref(), "upload_p1", "job_p1", NOW).await;
        fail(s.as_ref(), "upload_p2", "broken", NOW).await;
        expire(s.as_ref(), "upload_p3", "expired", NOW).await;
        assert_eq!(count("proj_a").await, 2, "{}: complete, failed and expired leave pending", b.name);
        apply(s.as_ref(), "upload_p1", Change::ValidationStarted, NOW).await;
        assert!(!expire(s.as_ref(), "upload_p3", "again", NOW).await);
        assert_eq!(count("proj_a").await, 2, "{}: changes after pending count nothing", b.name);
        let file = ImportedFile {
            file_name: "a.png".into(),
            original_file_name: "a.png".into(),
            content_type: None,
            file_size: 1,
            config: serde_json::json!({}),
        };
        apply(s.as_ref(), "upload_p6", Change::Downloaded { file: &file }, NOW).await;
        assert_eq!((count("proj_a").await, count("proj_b").await), (1, 1), "{}", b.name);
        assert_eq!(count("proj_nobody").await, 0, "{}", b.name);
        let reopened = (b.reopen)().await;
        assert_eq!(pending_of(reopened.as_ref(), "proj_a").await, 1, "{}: kept across opens", b.name);
    }
}

#[tokio::test]
async fn a_project_at_its_pending_limit_gets_no_new_upload() {
    for b in backends().await {
        let s = &b.store;
        for i in 0..3 {
            let admitted = s.insert_upload(&upload(&format!("upload_l{i}"), NOW), &limit(3)).await.unwrap();
            assert_eq!(admitted, Admission::Stored, "{}", b.name);
        }
        let refused = s.insert_upload(&upload("upload_l3", NOW), &limit(3)).await.unwrap();
        assert_eq!(refused, Admission::ProjectFull { pending: 3 }, "{}", b.name);
        assert_eq!(s.upload("upload_l3").await.unwrap(), None, "{}: nothing stored", b.name);
        let mut other = upload("upload_l4", NOW);
        other.owner_id = "proj_b".into();
        assert_eq!(s.insert_upload(&other, &limit(3)).await.unwrap(), Admission::Stored, "{}: per project", b.name);
        complete(s.as_ref(), "upload_l0", "job_l0", NOW).await;
        let admitted = s.insert_upload(&upload("upload_l5", NOW), &limit(3)).await.unwrap();
        assert_eq!(admitted, Admission::Stored, "{}: room again", b.name);
        assert!(s.insert_upload(&upload("upload_l5", NOW), &limit(10)).await.is_err(), "{}: ids are unique", b.name);
    }
}

/// SQLite checks the limit inside the insert's transaction, PostgreSQL under a per-project
/// lock: creates racing for the last places (over the pool's many connections, as many
/// instances would) never overshoot it.
#[tokio::test]
async fn racing_creates_never_overshoot_the_pending_limit() {
    for b in backends().await {
        // Every third one is an import (its own transaction, with its job).
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let s = b.store.clone();
                tokio::spawn(async move {
                    let mut u = upload(&format!("upload_r{i}"), NOW);
                    if i % 3 == 0 {
                        (u.source, u.url, u.job_id) =
                            (Source::Url, Some("https://example.com/a".into()), Some(format!("job_r{i}").into()));
                        s.insert_import(&u, NOW, &limit(50)).await
                    } else {
                        s.insert_upload(&u, &limit(50)).await
                    }
                })
            })
            .collect();
        let mut stored = 0;
        for task in tasks {
            match task.await.unwrap().unwrap() {
                Admission::Stored => stored += 1,
                Admission::ProjectFull { pending } => assert!(pending >= 50, "{}: refused at {pending}", b.name),
                other => panic!("{}: {other:?}", b.name),
            }
        }
        assert_eq!(stored, 50, "{}", b.name);
        assert_eq!(pending_of(b.store.as_ref(), "proj_a").await, 50, "{}", b.name);
        // A refused import left no job behind: one queued job per stored import, no more.
        let mut stored_imports = 0;
        for i in (0..200).filter(|i| i % 3 == 0) {
            stored_imports += b.store.upload(&format!("upload_r{i}")).await.unwrap().is_some() as usize;
        }
        let mut jobs = 0;
        while let Some(job) = b.store.claim_job("w", &DOWNLOAD, NOW, NOW + 60_000).await.unwrap() {
            assert!(b.store.upload(&job.upload_id).await.unwrap().is_some(), "{}: a job without its import", b.name);
            jobs += 1;
        }
        assert_eq!(jobs, stored_imports, "{}", b.name);
    }
}

/// Creates arrive together under load (SQLite commits them in batches): each one lands or
/// fails on its own, and every insert that returned is readable at once.
#[tokio::test]
async fn concurrent_inserts_each_land_or_fail_alone() {
    for b in backends().await {
        let s = &b.store;
        insert(s.as_ref(), &upload("upload_taken", NOW)).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..300 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                // Every 50th reuses an id that is taken; the others are new.
                let id = if i % 50 == 0 { "upload_taken".to_string() } else { format!("upload_c{i}") };
                let inserted = s.insert_upload(&upload(&id, NOW), &UNLIMITED).await;
                let read = s.upload(&id).await.unwrap();
                (id, inserted.is_ok(), read.is_some())
            }));
        }
        let mut landed = 0;
        for task in tasks {
            let (id, inserted, readable) = task.await.unwrap();
            assert_eq!(inserted, id != "upload_taken", "{}: {id}", b.name);
            assert!(readable, "{}: {id} is readable once insert returns", b.name);
            landed += inserted as u64;
        }
        assert_eq!(landed, 294, "{}", b.name);
        assert_eq!(pending_of(s.as_ref(), "proj_a").await, 295, "{}", b.name);
    }
}

#[tokio::test]
async fn status_changes_are_compare_and_set() {
    for b in backends().await {
        let s = &b.store;
        insert(s.as_ref(), &upload("upload_cas", NOW)).await.unwrap();
        let s = s.as_ref();
        assert!(!apply(s, "upload_cas", Change::ValidationStarted, NOW).await, "{}", b.name);
        assert!(complete(s, "upload_cas", "job_cas", NOW).await, "{}", b.name);
        assert!(!complete(s, "upload_cas", "job_again", NOW).await, "{}: only once", b.name);
        let u = s.upload("upload_cas").await.unwrap().unwrap();
        assert_eq!((u.status, u.job_id.as_deref()), (Status::Complete, Some("job_cas")), "{}", b.name);
        assert!(apply(s, "upload_cas", Change::ValidationStarted, NOW + 1).await);
        assert!(!apply(s, "upload_cas", Change::ValidationStarted, NOW + 1).await);
        let findings = serde_json::json!({"format": "png"});
        assert!(apply(s, "upload_cas", Change::Validated { findings: &findings }, NOW + 2).await, "{}", b.name);
        assert!(!apply(s, "upload_cas", Change::Validated { findings: &findings }, NOW + 2).await, "{}", b.name);
        let u = s.upload("upload_cas").await.unwrap().unwrap();
        assert_eq!((u.status, u.findings), (Status::Validated, Some(findings)), "{}", b.name);
        assert_eq!(u.updated_at, "2027-01-15T08:00:00.002Z", "{}: updated_at follows now_ms", b.name);

        let (first, second) = (asset("asset_1", "upload_cas"), asset("asset_2", "upload_cas"));
        assert!(apply(s, "upload_cas", Change::ImportedAsset { asset: &first }, NOW + 3).await, "{}", b.name);
        assert!(!apply(s, "upload_cas", Change::ImportedAsset { asset: &second }, NOW + 3).await, "{}: once", b.name);
        assert!(s.asset("asset_2").await.unwrap().is_none(), "{}: the losing import left no asset", b.name);
        let u = s.upload("upload_cas").await.unwrap().unwrap();
        assert_eq!((u.status, u.entity_id.as_deref()), (Status::Imported, Some("asset_1")), "{}", b.name);
        assert_eq!(s.asset("asset_1").await.unwrap(), Some(asset("asset_1", "upload_cas")), "{}", b.name);
        assert!(!fail(s, "upload_cas", "too late", NOW + 4).await, "{}: imported is final", b.name);
    }
}

#[tokio::test]
async fn imports_arrive_with_their_job_and_complete_with_what_was_downloaded() {
    for b in backends().await {
        let s = &b.store;
        let mut u = upload("upload_imp", NOW + 60_000);
        (u.source, u.file_size, u.parts_count, u.url) = (Source::Url, None, None, Some("https://example.com/a".into()));
        (u.job_id, u.reserved_bytes) = (Some("job_imp".into()), 0);
        assert_eq!(s.insert_import(&u, NOW, &UNLIMITED).await.unwrap(), Admission::Stored, "{}", b.name);
        assert_eq!(s.upload("upload_imp").await.unwrap(), Some(u.clone()), "{}", b.name);
        assert!(
            claim(s.as_ref(), "w0", NOW, NOW + 30_000).await.is_none(),
            "{}: a download is no processing job",
            b.name
        );
        let job = s.claim_job("w1", &DOWNLOAD, NOW, NOW + 30_000).await.unwrap().expect("queued at once");
        assert_eq!((job.id.as_str(), job.upload_id.as_str()), ("job_imp", "upload_imp"), "{}", b.name);
        assert_eq!((job.lane, job.owner_id.as_str()), (Lane::Download, "proj_a"), "{}", b.name);

        let resolved = serde_json::json!({"huggingFace": {"repo": "a/b"}});
        assert!(s.set_upload_config("upload_imp", &resolved, NOW + 1).await.unwrap(), "{}", b.name);
        assert_eq!(s.upload("upload_imp").await.unwrap().unwrap().config, Some(resolved), "{}", b.name);
        let progress = ImportProgress { received: 10, total: Some(20) };
        assert!(s.set_import_progress("upload_imp", progress, NOW + 1).await.unwrap(), "{}", b.name);
        assert_eq!(s.upload("upload_imp").await.unwrap().unwrap().import_progress, Some(progress), "{}", b.name);
        let unknown_total = ImportProgress { received: 12, total: None };
        assert!(s.set_import_progress("upload_imp", unknown_total, NOW + 1).await.unwrap(), "{}", b.name);
        assert_eq!(s.upload("upload_imp").await.unwrap().unwrap().import_progress, Some(unknown_total), "{}", b.name);

        let file = ImportedFile {
            file_name: "a.png".into(),
            original_file_name: "a (1).png".into(),
            content_type: Some("image/png".into()),
            file_size: 20,
            config: serde_json::json!({"receivedBytes": 20, "totalBytes": 20}),
        };
        assert!(apply(s.as_ref(), "upload_imp", Change::Downloaded { file: &file }, NOW + 2).await, "{}", b.name);
        assert!(
            !apply(s.as_ref(), "upload_imp", Change::Downloaded { file: &file }, NOW + 3).await,
            "{}: once",
            b.name
        );
        assert!(!s.set_upload_config("upload_imp", &file.config, NOW + 3).await.unwrap(), "{}: pending only", b.name);
        assert!(!s.set_import_progress("upload_imp", progress, NOW + 3).await.unwrap(), "{}: pending only", b.name);
        let done = s.upload("upload_imp").await.unwrap().unwrap();
        assert_eq!(done.status, Status::Complete, "{}", b.name);
        assert_eq!(done.file_name, "a.png", "{}", b.name);
        assert_eq!(done.original_file_name.as_deref(), Some("a (1).png"), "{}", b.name);
        assert_eq!((done.content_type.as_deref(), done.file_size), (Some("image/png"), Some(20)), "{}", b.name);
        assert_eq!(done.config, Some(file.config.clone()), "{}", b.name);
        assert_eq!(
            done.import_progress,
            Some(ImportProgress { received: 20, total: Some(20) }),
            "{}: all of it",
            b.name
        );
        // The job moved to the processing lane, attempts counted afresh; the download worker
        // no longer holds it.
        assert!(!s.extend_lease("job_imp", "w1", NOW + 60_000).await.unwrap(), "{}", b.name);
        let processing = claim(s.as_ref(), "w2", NOW + 3, NOW + 30_000).await.expect("queued for processing");
        assert_eq!((processing.id.as_str(), processing.lane, processing.attempts), ("job_imp", Lane::Process, 1));

        let mut jobless = upload("upload_jobless", NOW);
        jobless.source = Source::Url;
        assert!(s.insert_import(&jobless, NOW, &UNLIMITED).await.is_err(), "{}: an import needs its job", b.name);
        assert_eq!(s.upload("upload_jobless").await.unwrap(), None, "{}", b.name);
    }
}

#[tokio::test]
async fn models_are_imported_like_assets() {
    for b in backends().await {
        let s = &b.store;
        insert(s.as_ref(), &upload("upload_m", NOW)).await.unwrap();
        let (s, m) = (s.as_ref(), model("model_1", "upload_m"));
        assert!(!apply(s, "upload_m", Change::ImportedModel { model: &m }, NOW).await, "{}: not validated", b.name);
        complete(s, "upload_m", "job_m", NOW).await;
        apply(s, "upload_m", Change::ValidationStarted, NOW).await;
        apply(s, "upload_m", Change::Validated { findings: &serde_json::json!({}) }, NOW).await;
        assert!(apply(s, "upload_m", Change::ImportedModel { model: &m }, NOW).await, "{}", b.name);
        assert_eq!(s.model("model_1").await.unwrap(), Some(model("model_1", "upload_m")), "{}", b.name);
        assert_eq!(s.model("model_2").await.unwrap(), None, "{}", b.name);
    }
}

#[tokio::test]
async fn models_are_walked_in_id_order_a_page_at_a_time() {
    for b in backends().await {
        let s = b.store.as_ref();
        for id in ["model_c", "model_a", "model_b"] {
            let upload_id = format!("upload_{id}");
            insert(s, &upload(&upload_id, NOW)).await.unwrap();
            complete(s, &upload_id, &format!("job_{id}"), NOW).await;
            apply(s, &upload_id, Change::ValidationStarted, NOW).await;
            apply(s, &upload_id, Change::Validated { findings: &serde_json::json!({}) }, NOW).await;
            assert!(
                apply(s, &upload_id, Change::ImportedModel { model: &model(id, &upload_id) }, NOW).await,
                "{}",
                b.name
            );
        }
        let ids = |page: Vec<ModelRecord>| page.into_iter().map(|m| m.id).collect::<Vec<_>>();
        assert_eq!(ids(s.models_after(None, 2).await.unwrap()), ["model_a", "model_b"], "{}", b.name);
        assert_eq!(ids(s.models_after(Some("model_b"), 2).await.unwrap()), ["model_c"], "{}", b.name);
        assert!(s.models_after(Some("model_c"), 2).await.unwrap().is_empty(), "{}", b.name);
        assert_eq!(s.models_after(Some("model_a"), 1).await.unwrap()[0], model("model_b", "upload_model_b"));
    }
}

#[tokio::test]
async fn failing_keeps_the_reason_and_is_final() {
    for b in backends().await {
        let s = &b.store;
        insert(s.as_ref(), &upload("upload_f", NOW)).await.unwrap();
        assert!(fail(s.as_ref(), "upload_f", "the file is not a PNG", NOW).await, "{}", b.name);
        assert!(!fail(s.as_ref(), "upload_f", "again", NOW).await, "{}", b.name);
        let u = s.upload("upload_f").await.unwrap().unwrap();
        assert_eq!((u.status, u.error_message.as_deref()), (Status::Failed, Some("the file is not a PNG")));
    }
}

#[tokio::test]
async fn only_pending_uploads_past_their_time_expire() {
    for b in backends().await {
        let s = &b.store;
        for (id, expires) in [("upload_e1", NOW - 10), ("upload_e2", NOW - 20), ("upload_e3", NOW + 10)] {
            insert(s.as_ref(), &upload(id, expires)).await.unwrap();
        }
        insert(s.as_ref(), &upload("upload_e4", NOW - 30)).await.unwrap();
        complete(s.as_ref(), "upload_e4", "job_e4", NOW).await;
        let due: Vec<String> = s.expired_uploads(NOW, 10).await.unwrap().into_iter().map(|u| u.id.into()).collect();
        assert_eq!(due, vec!["upload_e2", "upload_e1"], "{}: oldest first, pending only", b.name);
        assert_eq!(s.expired_uploads(NOW, 1).await.unwrap().len(), 1, "{}: limit", b.name);
        assert!(expire(s.as_ref(), "upload_e1", "expired", NOW).await, "{}", b.name);
        assert!(!expire(s.as_ref(), "upload_e1", "expired", NOW).await, "{}", b.name);
        assert!(!expire(s.as_ref(), "upload_e3", "expired", NOW).await, "{}: not yet due", b.name);
        assert!(!expire(s.as_ref(), "upload_e4", "expired", NOW).await, "{}: completed", b.name);
        assert_eq!(s.upload("upload_e1").await.unwrap().unwrap().status, Status::Failed, "{}", b.name);
    }
}

/// A project's quota counts the declared size of every upload that did not fail; a failed or
/// expired upload gives its bytes back.
#[tokio::test]
async fn a_project_over_its_quota_gets_no_new_upload() {
    for b in backends().await {
        let s = b.store.as_ref();
        let quota = ProjectLimits { max_pending: u64::MAX, quota_bytes: Some(100) };
        let sized = |id: &str, bytes: u64| {
            let mut u = upload(id, NOW + 60_000);
            (u.file_size, u.reserved_bytes) = (Some(bytes), bytes);
            u
        };
        assert_eq!(s.insert_upload(&sized("upload_q1", 60), &quota).await.unwrap(), Admission::Stored);
        assert_eq!(s.insert_upload(&sized("upload_q2", 40), &quota).await.unwrap(), Admission::Stored);
        assert_eq!(
            s.insert_upload(&sized("upload_q3", 1), &quota).await.unwrap(),
            Admission::OverQuota { used: 100, quota: 100 },
            "{}",
            b.name
        );
        assert_eq!(s.upload("upload_q3").await.unwrap(), None, "{}: nothing stored", b.name);
        let mut elsewhere = sized("upload_q4", 100);
        elsewhere.owner_id = "proj_b".into();
        assert_eq!(s.insert_upload(&elsewhere, &quota).await.unwrap(), Admission::Stored, "{}: per project", b.name);
        // Completing keeps the bytes; failing gives them back.
        assert!(complete(s, "upload_q1", "job_q1", NOW).await);
        assert_eq!(s.project_usage("proj_a").await.unwrap(), ProjectUsage { pending: 1, bytes: 100 }, "{}", b.name);
        assert!(fail(s, "upload_q2", "no", NOW).await);
        assert_eq!(s.project_usage("proj_a").await.unwrap(), ProjectUsage { pending: 0, bytes: 60 }, "{}", b.name);
        assert_eq!(s.insert_upload(&sized("upload_q5", 40), &quota).await.unwrap(), Admission::Stored, "{}", b.name);
    }
}

/// An import's size is known only once its download starts: it is reserved then (or
/// refused), and its final size replaces the reservation when it completes.
#[tokio::test]
async fn imports_reserve_their_size_once_known() {
    for b in backends().await {
        let s = b.store.as_ref();
        let mut u = upload("upload_iq", NOW + 60_000);
        (u.source, u.job_id, u.file_size, u.reserved_bytes) = (Source::Url, Some("job_iq".into()), None, 0);
        s.insert_import(&u, NOW, &UNLIMITED).await.unwrap();
        insert(s, &{
            let mut other = upload("upload_iq_other", NOW);
            (other.file_size, other.reserved_bytes) = (Some(30), 30);
            other
        })
        .await
        .unwrap();
        assert_eq!(
            s.reserve_import_bytes("upload_iq", 80, Some(100)).await.unwrap(),
            Reservation::OverQuota { used: 30, quota: 100 },
            "{}",
            b.name
        );
        assert_eq!(s.reserve_import_bytes("upload_iq", 70, Some(100)).await.unwrap(), Reservation::Reserved);
        assert_eq!(s.project_usage("proj_a").await.unwrap().bytes, 100, "{}", b.name);
        // A second attempt learns a different size: it replaces the first reservation.
        assert_eq!(s.reserve_import_bytes("upload_iq", 50, Some(100)).await.unwrap(), Reservation::Reserved);
        assert_eq!(s.project_usage("proj_a").await.unwrap().bytes, 80, "{}", b.name);
        let file = ImportedFile {
            file_name: "a".into(),
            original_file_name: "a".into(),
            content_type: None,
            file_size: 45,
            config: serde_json::json!({}),
        };
        assert!(apply(s, "upload_iq", Change::Downloaded { file: &file }, NOW).await);
        assert_eq!(s.project_usage("proj_a").await.unwrap().bytes, 75, "{}: the final size counts", b.name);
        assert_eq!(s.reserve_import_bytes("upload_iq", 1, None).await.unwrap(), Reservation::NotPending);
    }
}

/// SQLite reads an upload that is not in memory on the blocking pool: a read that waits on the
/// file (here a lock; in production a disk read of a page the OS no longer caches) must leave
/// the async worker free for every other request. On this one-thread runtime a read in place
/// would hold the only thread until SQLite gives up (about 10 s, then an error); off the
/// thread, the task below runs, releases the lock, and the read succeeds.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "current_thread")]
async fn a_sqlite_read_that_waits_on_the_file_does_not_hold_the_runtime() {
    use std::os::fd::AsRawFd;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.db");
    let writer = SqlStore::open_sqlite(&path).await.unwrap();
    writer.insert_upload(&upload("upload_cold", NOW), &UNLIMITED).await.unwrap();
    // A second handle, so the row is in no cache.
    let reader = SqlStore::open_sqlite(&path).await.unwrap();

    // Every WAL read slot (SQLite's locks on bytes 123-127 of the -shm file) taken for
    // writing by an open-file-description lock, which conflicts with SQLite's own locks even
    // within this process: no read transaction can begin until it is released.
    let shm = std::fs::OpenOptions::new().read(true).write(true).open(dir.path().join("meta.db-shm")).unwrap();
    let lock = |kind: libc::c_short| {
        let mut range: libc::flock = unsafe { std::mem::zeroed() };
        range.l_type = kind;
        range.l_whence = libc::SEEK_SET as libc::c_short;
        range.l_start = 123;
        range.l_len = 5;
        // SAFETY: a valid descriptor and a fully initialized `flock`.
        let done = unsafe { libc::fcntl(shm.as_raw_fd(), libc::F_OFD_SETLK, &range) };
        assert_eq!(done, 0, "{}", std::io::Error::last_os_error());
    };
    lock(libc::F_WRLCK as libc::c_short);
    let read = tokio::spawn(async move { reader.upload("upload_cold").await });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!read.is_finished(), "the read waits for its read slot");
    lock(libc::F_UNLCK as libc::c_short);
    let record = read.await.unwrap().expect("the read succeeds once the slots are free");
    assert_eq!(record.map(|u| u.id).as_deref(), Some("upload_cold"));
}
