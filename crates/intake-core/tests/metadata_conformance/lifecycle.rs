//! Every lifecycle change on every status, on both engines: a change applies exactly when
//! `domain::lifecycle` allows it from the status the row holds, and then does what it says
//! (status, recorded columns, job, entity, counters).

use super::support::*;
use intake_core::domain::lifecycle::{transition, Event};

/// An upload brought to `status` through the lifecycle (named after it).
async fn upload_in(s: &dyn MetadataStore, status: Status, tag: &str) -> String {
    let id = format!("upload_{tag}_{}", status.as_str());
    insert(s, &upload(&id, NOW + 60_000)).await.unwrap();
    let findings = serde_json::json!({"format": "png"});
    let a = asset(&format!("asset_{tag}_{}", status.as_str()), &id);
    let path: &[Change] = match status {
        Status::Pending => &[],
        Status::Complete => &[Change::Completed { job_id: "job_x" }],
        Status::Validating => &[Change::Completed { job_id: "job_x" }, Change::ValidationStarted],
        Status::Validated => &[
            Change::Completed { job_id: "job_x" },
            Change::ValidationStarted,
            Change::Validated { findings: &findings },
        ],
        Status::Imported => &[
            Change::Completed { job_id: "job_x" },
            Change::ValidationStarted,
            Change::Validated { findings: &findings },
            Change::ImportedAsset { asset: &a },
        ],
        Status::Failed => &[Change::Failed { message: "broken" }],
    };
    for (n, change) in path.iter().enumerate() {
        let change = match change {
            // Each upload gets its own job id.
            Change::Completed { .. } => Change::Completed { job_id: &format!("job_{tag}_{}", status.as_str()) },
            other => *other,
        };
        assert!(apply(s, &id, change, NOW + n as i64).await, "{id}: step {n}");
    }
    assert_eq!(s.upload(&id).await.unwrap().unwrap().status, status);
    id
}

#[tokio::test]
async fn every_change_applies_exactly_where_the_lifecycle_allows_it() {
    let file = ImportedFile {
        file_name: "f.png".into(),
        original_file_name: "f.png".into(),
        content_type: None,
        file_size: 9,
        config: serde_json::json!({}),
    };
    let findings = serde_json::json!({"format": "png"});
    for b in backends().await {
        let s = b.store.as_ref();
        for (c, from) in Status::ALL.iter().enumerate() {
            let a = asset(&format!("asset_c{c}"), "x");
            let m = model(&format!("model_c{c}"), "x");
            let changes: Vec<(&str, Change)> = vec![
                ("completed", Change::Completed { job_id: "job_c" }),
                ("downloaded", Change::Downloaded { file: &file }),
                ("started", Change::ValidationStarted),
                ("validated", Change::Validated { findings: &findings }),
                ("asset", Change::ImportedAsset { asset: &a }),
                ("model", Change::ImportedModel { model: &m }),
                ("failed", Change::Failed { message: "no" }),
            ];
            for (name, change) in changes {
                let id = upload_in(s, *from, &format!("{c}{name}")).await;
                // The entity records name the upload they belong to.
                let (a2, m2);
                let change = match change {
                    Change::ImportedAsset { asset } => {
                        a2 = AssetRecord {
                            upload_id: id.clone().into(),
                            id: format!("{}_{name}", asset.id).into(),
                            ..asset.clone()
                        };
                        Change::ImportedAsset { asset: &a2 }
                    }
                    Change::ImportedModel { model } => {
                        m2 = ModelRecord {
                            upload_id: id.clone().into(),
                            id: format!("{}_{name}", model.id).into(),
                            ..model.clone()
                        };
                        Change::ImportedModel { model: &m2 }
                    }
                    Change::Completed { .. } => Change::Completed { job_id: "job_c_unused" },
                    other => other,
                };
                let allowed = transition(*from, change.event());
                let applied = s.apply(&id, change, NOW + 100).await.unwrap();
                assert_eq!(applied, allowed.is_ok(), "{}: {from} + {name}", b.name);
                let now = s.upload(&id).await.unwrap().unwrap();
                let expected = allowed.unwrap_or(*from);
                assert_eq!(now.status, expected, "{}: {from} + {name}", b.name);
            }
        }
    }
}

#[tokio::test]
async fn each_change_records_what_it_carries() {
    for b in backends().await {
        let s = b.store.as_ref();
        // Failed: the message, and the quota given back.
        let id = upload_in(s, Status::Validating, "rec").await;
        assert_eq!(s.project_usage("proj_a").await.unwrap().bytes, 6 << 30, "{}", b.name);
        assert!(fail(s, &id, "it is not a PNG", NOW).await);
        let u = s.upload(&id).await.unwrap().unwrap();
        assert_eq!((u.error_message.as_deref(), u.reserved_bytes), (Some("it is not a PNG"), 0), "{}", b.name);
        assert_eq!(s.project_usage("proj_a").await.unwrap().bytes, 0, "{}: quota given back", b.name);
        // Expired: only a pending upload whose time ran out.
        let id = upload_in(s, Status::Pending, "exp").await;
        assert!(!expire(s, &id, "late", NOW).await, "{}: not yet due", b.name);
        assert!(expire(s, &id, "late", NOW + 60_001).await, "{}", b.name);
        assert_eq!(Change::Expired { message: "x" }.event(), Event::Failed);
        // Imported: the entity, inserted in the same transaction.
        let id = upload_in(s, Status::Validated, "ent").await;
        let m = model("model_rec", &id);
        assert!(apply(s, &id, Change::ImportedModel { model: &m }, NOW).await);
        let u = s.upload(&id).await.unwrap().unwrap();
        assert_eq!(u.entity_id.as_deref(), Some("model_rec"), "{}", b.name);
        assert_eq!(s.model("model_rec").await.unwrap(), Some(m), "{}", b.name);
    }
}

/// The gauges `/metrics` shows are counters kept by every change: after a mix of creates,
/// changes and refusals they equal what a count of the rows says.
#[tokio::test]
async fn upload_counts_follow_every_change() {
    for b in backends().await {
        let s = b.store.as_ref();
        for status in Status::ALL {
            upload_in(s, *status, "cnt").await;
        }
        let mut import = upload("upload_cnt_import", NOW);
        (import.source, import.job_id, import.kind) = (Source::Url, Some("job_cnt".into()), Kind::Model);
        s.insert_import(&import, NOW, &UNLIMITED).await.unwrap();
        let mut refused = upload("upload_cnt_refused", NOW);
        refused.owner_id = "proj_full".into();
        assert_ne!(s.insert_upload(&refused, &limit(0)).await.unwrap(), Admission::Stored);
        let mut counts = s.upload_counts().await.unwrap();
        counts.sort_by_key(|(status, kind, _)| (status.as_str(), kind.as_str()));
        let mut expected: Vec<(Status, Kind, u64)> = Status::ALL.iter().map(|st| (*st, Kind::Image, 1)).collect();
        expected.push((Status::Pending, Kind::Model, 1));
        expected.sort_by_key(|(status, kind, _)| (status.as_str(), kind.as_str()));
        assert_eq!(counts, expected, "{}", b.name);
        let reopened = (b.reopen)().await;
        assert_eq!(reopened.upload_counts().await.unwrap().len(), expected.len(), "{}: kept", b.name);
    }
}
