//! Finished objects: random access for the validators, ranged streams for downloads,
//! deletion, and the readiness probe.

use super::support::*;
use intake_core::validate::read_up_to;

/// A sealed object of `file` in parts of 5 MiB; returns its key.
async fn object(s: &dyn BlobStore, file: &[u8]) -> String {
    let key = key();
    let handle = s.begin_multipart(&key, "application/octet-stream", NON_EMPTY).await.unwrap();
    for (i, chunk) in file.chunks(5 * MIB).enumerate() {
        put(s, &key, handle.as_deref(), i as u32 + 1, chunk.to_vec()).await;
    }
    let sealed = s.complete_multipart(&key, handle.as_deref(), &whole_file).await.unwrap();
    assert!(matches!(sealed, CompleteOutcome::Sealed { .. }), "{sealed:?}");
    key
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_reads_the_same_at_any_offset_across_its_parts() {
    for b in backends().await {
        let s = b.store.as_ref();
        let file = noise(2 * 5 * MIB + 700_001, 2);
        let key = object(s, &file).await;
        let source = s.open(&key).await.unwrap();
        assert_eq!(source.len(), file.len() as u64, "{}", b.name);
        let (expected, name) = (file.clone(), b.name);
        // From a blocking thread, as the validators read.
        tokio::task::spawn_blocking(move || {
            for (offset, len) in [(0, 16), (5 * MIB - 3, 10), (10 * MIB + 700, 200), (7, 3 * MIB), (1, 1)] {
                let got = read_up_to(source.as_ref(), offset as u64, len).unwrap();
                let end = (offset + len).min(expected.len());
                assert!(got == expected[offset..end], "{name}: bytes {offset}..{end}");
            }
            // Past the end: nothing, no error.
            assert_eq!(source.read_at(expected.len() as u64, &mut [0u8; 8]).unwrap(), 0, "{name}");
            // A whole sequential read, in small pieces.
            let mut all = Vec::new();
            let mut buf = vec![0u8; 100_000];
            loop {
                let n = source.read_at(all.len() as u64, &mut buf).unwrap();
                if n == 0 {
                    break;
                }
                all.extend_from_slice(&buf[..n]);
            }
            assert!(all == expected, "{name}: the whole object");
        })
        .await
        .unwrap();

        // Ranged streams, across a part boundary, to the end, past the end, and empty.
        let boundary = 5 * MIB as u64;
        assert_eq!(read_range(s, &key, boundary - 2, boundary + 2).await, file[5 * MIB - 2..5 * MIB + 2], "{}", b.name);
        let len = file.len() as u64;
        assert!(read_range(s, &key, len - 10, len).await == file[file.len() - 10..], "{}", b.name);
        assert!(read_range(s, &key, len - 10, len + 100).await == file[file.len() - 10..], "{}: clamped", b.name);
        assert!(read_range(s, &key, 4, 4).await.is_empty(), "{}: an empty range", b.name);
        s.delete(&key).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_object_is_gone_and_deleting_again_is_not_an_error() {
    for b in backends().await {
        let s = b.store.as_ref();
        let key = object(s, b"short-lived").await;
        assert_eq!(s.open(&key).await.unwrap().len(), 11, "{}", b.name);
        s.delete(&key).await.unwrap();
        assert!(s.open(&key).await.is_err(), "{}: deleted", b.name);
        s.delete(&key).await.unwrap();
        // A key that never was: no object either.
        assert!(s.open(&new_id(IdKind::Upload)).await.is_err(), "{}", b.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_working_store_answers_the_readiness_probe() {
    for b in backends().await {
        b.store.ping().await.unwrap_or_else(|e| panic!("{}: {e}", b.name));
    }
}
