//! Multipart uploads: parts in any order and sent again, listings, a refused completion
//! that loses nothing, sealing into one object, idempotent completion, abort.

use super::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_in_any_order_become_one_object_once_the_check_approves() {
    for b in backends().await {
        let s = b.store.as_ref();
        let key = key();
        let handle = s.begin_multipart(&key, "application/octet-stream", NON_EMPTY).await.unwrap();
        assert!(s.list_parts(&key, handle.as_deref()).await.unwrap().is_empty(), "{}: nothing yet", b.name);
        let file = noise(2 * 5 * MIB + 777, 1);
        // Part 1 too small at first: the store takes it, the check refuses it at complete.
        put(s, &key, handle.as_deref(), 1, file[..MIB].to_vec()).await;
        put(s, &key, handle.as_deref(), 3, file[10 * MIB..].to_vec()).await;
        let etag2 = put(s, &key, handle.as_deref(), 2, file[5 * MIB..10 * MIB].to_vec()).await;
        assert_eq!(etag2, etag_of(&file[5 * MIB..10 * MIB]), "{}", b.name);
        let listed = s.list_parts(&key, handle.as_deref()).await.unwrap();
        assert_eq!(sizes(&listed), vec![(1, MIB as u64), (2, 5 * MIB as u64), (3, 777)], "{}: sorted", b.name);
        // A listing carries the ETag where the store keeps it (S3 does, the disk does not).
        let listed_etag = listed[1].etag.as_deref();
        assert!(listed_etag.is_none() || listed_etag == Some(etag2.as_str()), "{}: {listed_etag:?}", b.name);

        let refused = s.complete_multipart(&key, handle.as_deref(), &whole_file).await.unwrap();
        assert_eq!(refused, CompleteOutcome::Refused { reason: "part 1 is too small".into() }, "{}", b.name);
        assert!(s.open(&key).await.is_err(), "{}: no object after a refusal", b.name);
        // Nothing was lost: the client sends part 1 again (it replaces the first) and completes.
        assert_eq!(s.list_parts(&key, handle.as_deref()).await.unwrap().len(), 3, "{}", b.name);
        put(s, &key, handle.as_deref(), 1, file[..5 * MIB].to_vec()).await;
        let listed = s.list_parts(&key, handle.as_deref()).await.unwrap();
        assert_eq!(sizes(&listed)[0], (1, 5 * MIB as u64), "{}: the part was replaced", b.name);
        let sealed = s.complete_multipart(&key, handle.as_deref(), &whole_file).await.unwrap();
        match &sealed {
            CompleteOutcome::Sealed { parts } => {
                assert_eq!(sizes(parts), vec![(1, 5 * MIB as u64), (2, 5 * MIB as u64), (3, 777)], "{}", b.name)
            }
            other => panic!("{}: {other:?}", b.name),
        }
        // Completing again (a retry after a crash) reports it sealed, and changes nothing.
        let again = s.complete_multipart(&key, handle.as_deref(), &whole_file).await.unwrap();
        assert!(matches!(again, CompleteOutcome::Sealed { .. }), "{}: {again:?}", b.name);
        assert_eq!(s.open(&key).await.unwrap().len(), file.len() as u64, "{}", b.name);
        assert!(read_range(s, &key, 0, file.len() as u64).await == file, "{}: the bytes, in order", b.name);
        s.delete(&key).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completion_with_no_part_is_refused_and_the_upload_stays_open() {
    for b in backends().await {
        let s = b.store.as_ref();
        let key = key();
        let handle = s.begin_multipart(&key, "text/plain", NON_EMPTY).await.unwrap();
        let refused = s.complete_multipart(&key, handle.as_deref(), &whole_file).await.unwrap();
        assert_eq!(refused, CompleteOutcome::Refused { reason: "no part arrived".into() }, "{}", b.name);
        put(s, &key, handle.as_deref(), 1, b"hello".to_vec()).await;
        let sealed = s.complete_multipart(&key, handle.as_deref(), &whole_file).await.unwrap();
        assert!(matches!(sealed, CompleteOutcome::Sealed { .. }), "{}: {sealed:?}", b.name);
        assert_eq!(read_range(s, &key, 0, 5).await, b"hello", "{}", b.name);
        s.delete(&key).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_handle_on_the_store_sees_the_same_parts_and_object() {
    for b in backends().await {
        let key = key();
        let handle = b.store.begin_multipart(&key, "text/plain", NON_EMPTY).await.unwrap();
        put(b.store.as_ref(), &key, handle.as_deref(), 1, b"from one process".to_vec()).await;
        let other = (b.reopen)().await;
        assert_eq!(sizes(&other.list_parts(&key, handle.as_deref()).await.unwrap()), vec![(1, 16)], "{}", b.name);
        let sealed = other.complete_multipart(&key, handle.as_deref(), &whole_file).await.unwrap();
        assert!(matches!(sealed, CompleteOutcome::Sealed { .. }), "{}: {sealed:?}", b.name);
        assert_eq!(read_range(b.store.as_ref(), &key, 0, 16).await, b"from one process", "{}", b.name);
        b.store.delete(&key).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_an_upload_that_was_never_sealed_changes_nothing() {
    for b in backends().await {
        let s = b.store.as_ref();
        let key = key();
        let handle = s.begin_multipart(&key, "text/plain", NON_EMPTY).await.unwrap();
        put(s, &key, handle.as_deref(), 1, b"kept".to_vec()).await;
        s.reopen_multipart(&key, handle.as_deref()).await.unwrap();
        assert_eq!(sizes(&s.list_parts(&key, handle.as_deref()).await.unwrap()), vec![(1, 4)], "{}", b.name);
        s.abort_multipart(&key, handle.as_deref()).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aborted_upload_loses_its_parts_and_never_becomes_an_object() {
    for b in backends().await {
        let s = b.store.as_ref();
        let key = key();
        let handle = s.begin_multipart(&key, "text/plain", NON_EMPTY).await.unwrap();
        put(s, &key, handle.as_deref(), 1, b"hello".to_vec()).await;
        s.abort_multipart(&key, handle.as_deref()).await.unwrap();
        // Aborting twice is not an error (the expiry sweep may race a client's abort).
        s.abort_multipart(&key, handle.as_deref()).await.unwrap();
        // The parts are gone: an empty listing, or the store no longer knows the upload.
        match s.list_parts(&key, handle.as_deref()).await {
            Ok(parts) => assert!(parts.is_empty(), "{}: {parts:?}", b.name),
            Err(e) => assert!(matches!(e, Error::Conflict(_)), "{}: {e}", b.name),
        }
        // Completing it seals nothing.
        let outcome = s.complete_multipart(&key, handle.as_deref(), &whole_file).await;
        assert!(!matches!(outcome, Ok(CompleteOutcome::Sealed { .. })), "{}: {outcome:?}", b.name);
        assert!(s.open(&key).await.is_err(), "{}: no object", b.name);
    }
}
