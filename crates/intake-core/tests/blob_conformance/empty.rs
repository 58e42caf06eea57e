//! Empty files: an upload of `fileSize: 0` takes one empty part and becomes an empty object
//! on every store, including those that refuse an empty `UploadPart` (Garage), where the
//! part comes through intake; and no byte ever gets into an empty file.

use super::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_file_becomes_an_empty_object_on_every_store() {
    for b in backends().await {
        let s = b.store.as_ref();
        let key = key();
        let handle = s.begin_multipart(&key, "text/plain", 0).await.unwrap();
        assert!(s.list_parts(&key, handle.as_deref()).await.unwrap().is_empty(), "{}: nothing yet", b.name);
        let refused = s.complete_multipart(&key, handle.as_deref(), &whole_file).await.unwrap();
        assert_eq!(refused, CompleteOutcome::Refused { reason: "no part arrived".into() }, "{}", b.name);

        put_part_of(s, 0, &key, handle.as_deref(), 1, Vec::new()).await;
        assert_eq!(sizes(&s.list_parts(&key, handle.as_deref()).await.unwrap()), vec![(1, 0)], "{}", b.name);
        let sealed = s.complete_multipart(&key, handle.as_deref(), &whole_file).await.unwrap();
        assert_eq!(sizes(&sealed_parts(&sealed)), vec![(1, 0)], "{}", b.name);
        let again = s.complete_multipart(&key, handle.as_deref(), &whole_file).await.unwrap();
        assert!(matches!(again, CompleteOutcome::Sealed { .. }), "{}: idempotent, {again:?}", b.name);
        assert_eq!(s.open(&key).await.unwrap().len(), 0, "{}", b.name);
        assert!(read_range(s, &key, 0, 0).await.is_empty(), "{}", b.name);
        s.delete(&key).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_files_part_refuses_any_byte_and_an_abort_drops_it() {
    for b in backends().await {
        let s = b.store.as_ref();
        let key = key();
        let handle = s.begin_multipart(&key, "application/octet-stream", 0).await.unwrap();
        let PartDelivery::ThroughIntake(receiver) = s.part_delivery(0) else {
            panic!("{}: an empty file's part must come through intake, where its size is enforced", b.name)
        };
        let refused = receiver.put_part(&key, p(1), body(vec![b"x".to_vec()], false), 0, &|_, _| Ok(())).await;
        assert!(matches!(refused, Err(Error::TooLarge(_))), "{}: {refused:?}", b.name);
        assert!(s.list_parts(&key, handle.as_deref()).await.unwrap().is_empty(), "{}: nothing written", b.name);

        put_part_of(s, 0, &key, handle.as_deref(), 1, Vec::new()).await;
        // An abandoned empty file (the expiry sweep aborts it) leaves nothing behind.
        s.abort_multipart(&key, handle.as_deref()).await.unwrap();
        assert!(s.list_parts(&key, handle.as_deref()).await.map(|p| p.is_empty()).unwrap_or(true), "{}", b.name);
        assert!(s.open(&key).await.is_err(), "{}: aborted", b.name);
    }
}

fn sealed_parts(outcome: &CompleteOutcome) -> Vec<PartInfo> {
    match outcome {
        CompleteOutcome::Sealed { parts } => parts.clone(),
        other => panic!("not sealed: {other:?}"),
    }
}
