//! Part bodies that come to intake: a store either takes them itself ([`ReceivesParts`],
//! the local disk: `/parts` URLs point at intake) or presigns its own URLs ([`PresignsParts`],
//! S3) and has no way to take them. A store that takes them keeps nothing of a body that
//! breaks off, grows past its limit or is refused by the size check, and takes no part once
//! the upload is sealed.

use super::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torn_oversized_and_refused_bodies_leave_no_trace() {
    for b in backends().await {
        let s = b.store.as_ref();
        let key = key();
        let handle = s.begin_multipart(&key, "text/plain", NON_EMPTY).await.unwrap();
        let PartDelivery::ThroughIntake(r) = s.part_delivery(NON_EMPTY) else {
            s.abort_multipart(&key, handle.as_deref()).await.unwrap();
            continue;
        };
        let torn = r.put_part(&key, p(1), body(vec![b"hello".to_vec()], true), 100, &|_, _| Ok(())).await;
        assert!(matches!(torn, Err(Error::BodyAborted(_))), "{}: {torn:?}", b.name);
        let big = r.put_part(&key, p(1), body(vec![vec![b'x'; 11]], false), 10, &|_, _| Ok(())).await;
        assert!(matches!(big, Err(Error::TooLarge(_))), "{}: {big:?}", b.name);
        let check = |size: u64, _: &intake_core::blob::PartDigests| {
            if size == 3 {
                Err(Error::BadRequest("not 3 bytes".into()))
            } else {
                Ok(())
            }
        };
        let refused = r.put_part(&key, p(1), body(vec![b"abc".to_vec()], false), 100, &check).await;
        assert!(matches!(refused, Err(Error::BadRequest(_))), "{}: {refused:?}", b.name);
        assert!(s.list_parts(&key, handle.as_deref()).await.unwrap().is_empty(), "{}: no trace", b.name);

        put(s, &key, handle.as_deref(), 1, b"kept".to_vec()).await;
        let sealed = s.complete_multipart(&key, handle.as_deref(), &whole_file).await.unwrap();
        assert!(matches!(sealed, CompleteOutcome::Sealed { .. }), "{}: {sealed:?}", b.name);
        let late = r.put_part(&key, p(2), body(vec![b"late".to_vec()], false), 100, &|_, _| Ok(())).await;
        assert!(matches!(late, Err(Error::Conflict(_))), "{}: {late:?}", b.name);
        assert_eq!(read_range(s, &key, 0, 100).await, b"kept", "{}", b.name);
        s.delete(&key).await.unwrap();
    }
}
