//! `SqlStore::load_uploads` (the bulk loader of `intake-bench seed`): what it writes reads
//! back like what the server writes, and the maintained counters (`upload_counts`,
//! `project_counts`) come out equal to a count of the rows, beside uploads created and moved
//! through their lifecycle the ordinary way.

use crate::support::*;
use intake_core::domain::ids::random_base62;
use intake_core::metadata::sql::bulk::{LoadedEntity, LoadedUpload};
use intake_core::metadata::{Counters, EntityStore, JobQueue, UploadStore};

/// Each engine, empty, as a `SqlStore` (the loader is not part of the ports).
async fn stores() -> Vec<(&'static str, SqlStore, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec![("sqlite", SqlStore::open_sqlite(&dir.path().join("bulk.db")).await.unwrap(), Some(dir))];
    if let Ok(admin) = std::env::var("INTAKE_TEST_DATABASE_URL") {
        if !admin.is_empty() {
            let name = format!("intake_bulk_{}", random_base62(12).to_lowercase());
            let url = SqlStore::create_postgres_database(&admin, &name).await.unwrap();
            all.push(("postgres", SqlStore::connect_postgres(&url, 4).await.unwrap(), None));
        }
    }
    all
}

/// Upload `i` of a mix: three projects, every status the loader is used for, every kind.
fn loaded(i: usize) -> LoadedUpload {
    let mut u = upload(&format!("upload_bulk{i:05}"), 4_000_000_000_000);
    u.owner_id = ["proj_a", "proj_b", "proj_c"][i % 3].into();
    u.kind = [Kind::Image, Kind::Model, Kind::Video, Kind::Asset][i % 4];
    u.created_at = format!("2026-11-27T12:{:02}:{:02}.000Z", i / 60 % 60, i % 60);
    u.file_size = Some(1_000 + i as u64);
    u.reserved_bytes = 1_000 + i as u64;
    let mut entity = None;
    let mut job_created_ms = None;
    match i % 10 {
        0 => u.status = Status::Pending,
        1 | 2 => {
            u.status = Status::Failed;
            u.error_message = Some(format!("failure {i}"));
            u.reserved_bytes = 0;
            u.job_id = Some(format!("job_bulk{i:05}").into());
            job_created_ms = Some(1_800_000_000_000);
        }
        _ => {
            u.status = Status::Imported;
            u.job_id = Some(format!("job_bulk{i:05}").into());
            job_created_ms = Some(1_800_000_000_000);
            if u.kind == Kind::Model {
                let mut m = model(&format!("model_bulk{i:05}"), &u.id);
                m.owner_id = u.owner_id.clone();
                u.entity_id = Some(m.id.to_string());
                entity = Some(LoadedEntity::Model(Box::new(m)));
            } else {
                let mut a = asset(&format!("asset_bulk{i:05}"), &u.id);
                a.owner_id = u.owner_id.clone();
                u.entity_id = Some(a.id.to_string());
                entity = Some(LoadedEntity::Asset(Box::new(a)));
            }
        }
    }
    LoadedUpload { upload: u, entity, job_created_ms }
}

/// The maintained counters equal a walk of the rows.
async fn assert_counters_match_rows(engine: &str, store: &SqlStore) {
    let mut kept = store.upload_counts().await.unwrap();
    kept.sort_by_key(|(s, k, _)| (s.as_str(), k.as_str()));
    let mut walked = store.count_uploads_by_walking().await.unwrap();
    walked.sort_by_key(|(s, k, _)| (s.as_str(), k.as_str()));
    assert_eq!(kept, walked, "{engine}: upload_counts against COUNT(*)");
    for (owner, pending, bytes) in store.project_usage_by_walking().await.unwrap() {
        let usage = store.project_usage(&owner).await.unwrap();
        assert_eq!((usage.pending, usage.bytes), (pending, bytes), "{engine}: project_counts of {owner}");
    }
}

#[tokio::test]
async fn loaded_uploads_read_back_and_the_counters_equal_a_count_of_the_rows() {
    for (engine, store, _dir) in stores().await {
        // Some uploads the ordinary way first: created, one completed and failed.
        for id in ["upload_plain1", "upload_plain2"] {
            let mut u = upload(id, 4_000_000_000_000);
            u.owner_id = "proj_b".into();
            assert_eq!(store.insert_upload(&u, &limit(1000)).await.unwrap(), Admission::Stored, "{engine}");
        }
        assert!(apply(&store, "upload_plain1", Change::Failed { message: "no" }, 1).await, "{engine}");

        let all: Vec<LoadedUpload> = (0..450).map(loaded).collect();
        // Two calls: the second adds to what the first counted.
        store.load_uploads(&all[..300]).await.unwrap();
        store.load_uploads(&all[300..]).await.unwrap();
        assert_counters_match_rows(engine, &store).await;
        let statuses: u64 = store.upload_counts().await.unwrap().iter().map(|(_, _, n)| n).sum();
        assert_eq!(statuses, 452, "{engine}");

        // A call with a taken id writes nothing, counters included.
        let clash = vec![loaded(1000), loaded(5)];
        assert!(store.load_uploads(&clash).await.is_err(), "{engine}");
        assert!(store.upload("upload_bulk01000").await.unwrap().is_none(), "{engine}");
        assert_counters_match_rows(engine, &store).await;

        // What was loaded reads back as written, through the server's own reads.
        for l in [&all[0], &all[1], &all[3], &all[5]] {
            assert_eq!(store.upload(&l.upload.id).await.unwrap().as_ref(), Some(&l.upload), "{engine}");
            match &l.entity {
                Some(LoadedEntity::Asset(a)) => {
                    assert_eq!(store.asset(&a.id).await.unwrap().as_ref(), Some(&**a), "{engine}")
                }
                Some(LoadedEntity::Model(m)) => {
                    assert_eq!(store.model(&m.id).await.unwrap().as_ref(), Some(&**m), "{engine}")
                }
                None => {}
            }
        }
        // The finished jobs are no work: nothing to claim, nothing queued.
        assert!(claim(&store, "w", 2_000_000_000_000, 2_000_000_060_000).await.is_none(), "{engine}");
        let stats = store.job_queue_stats(2_000_000_000_000).await.unwrap();
        assert_eq!((stats.queued, stats.running), (0, 0), "{engine}");
    }
}
