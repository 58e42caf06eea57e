//! What only [`S3Store`] promises, against a real S3-compatible store (Garage in
//! `scripts/test.sh`): presigned part URLs in the store's own form, part listings over more
//! than one page, staging in whole 8 MiB parts (another process resumes at a part
//! boundary), and a wrong secret refused at startup in the store's words. (This was
//! `tests/s3_store.rs`; its tests are kept whole, though the shared contract is also
//! checked by the other modules on every store.)

use super::support::{s3_config, NON_EMPTY};
use futures_util::StreamExt;
use intake_core::blob::s3::{S3Config, S3Store};
use intake_core::blob::{BlobStore, CompleteOutcome, PartDelivery, PartInfo, PresignsParts};
use intake_core::domain::ids::{new_id, IdKind};
use intake_core::domain::PartNumber;
use intake_core::validate::read_up_to;
use intake_core::Error;
use md5::Digest;
use std::time::Duration;

const MIB: usize = 1024 * 1024;

fn config() -> Option<S3Config> {
    s3_config()
}

fn p(n: u32) -> PartNumber {
    PartNumber::new(n).unwrap()
}

fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// PUTs a part the way a client does: straight to the presigned URL.
async fn put(store: &S3Store, key: &str, handle: &str, n: u32, bytes: Vec<u8>) -> String {
    let url = store.presigned_part_url(key, Some(handle), p(n), Duration::from_secs(60)).unwrap();
    let response = reqwest::Client::new().put(&url).body(bytes).send().await.unwrap();
    assert!(response.status().is_success(), "PUT part {n}: {}", response.status());
    response.headers()["etag"].to_str().unwrap().to_string()
}

fn sizes(parts: &[PartInfo]) -> Vec<(u32, u64)> {
    parts.iter().map(|p| (p.number, p.size)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_go_to_the_store_and_become_one_object() {
    let Some(config) = config() else { return };
    let store = S3Store::new(&config).unwrap();
    store.check_access().await.unwrap();
    let key = new_id(IdKind::Upload);
    let handle =
        store.begin_multipart(&key, "application/octet-stream", NON_EMPTY).await.unwrap().expect("an UploadId");
    let url = store.presigned_part_url(&key, Some(&handle), p(3), Duration::from_secs(60)).unwrap();
    assert!(url.starts_with(&config.endpoint) && url.contains("partNumber=3") && url.contains("X-Amz-Signature"));

    let file = noise(2 * 5 * MIB + 777, 1);
    // Part 1 too small at first: the store takes it, intake's check refuses it at complete.
    put(&store, &key, &handle, 1, file[..MIB].to_vec()).await;
    put(&store, &key, &handle, 3, file[10 * MIB..].to_vec()).await;
    let etag2 = put(&store, &key, &handle, 2, file[5 * MIB..10 * MIB].to_vec()).await;
    assert_eq!(etag2, format!("\"{}\"", hex::encode(md5::Md5::digest(&file[5 * MIB..10 * MIB]))));
    let listed = store.list_parts(&key, Some(&handle)).await.unwrap();
    assert_eq!(sizes(&listed), vec![(1, MIB as u64), (2, 5 * MIB as u64), (3, 777)]);
    assert_eq!(listed[1].etag.as_deref(), Some(etag2.as_str()));

    let rule = |parts: &[PartInfo]| {
        if parts.iter().any(|p| p.number < 3 && p.size < 5 * MIB as u64) {
            Err("part 1 is too small".to_string())
        } else {
            Ok(())
        }
    };
    let refused = store.complete_multipart(&key, Some(&handle), &rule).await.unwrap();
    assert_eq!(refused, CompleteOutcome::Refused { reason: "part 1 is too small".into() });
    // Nothing was lost: the client sends part 1 again and completes.
    assert_eq!(store.list_parts(&key, Some(&handle)).await.unwrap().len(), 3);
    put(&store, &key, &handle, 1, file[..5 * MIB].to_vec()).await;
    let sealed = store.complete_multipart(&key, Some(&handle), &rule).await.unwrap();
    assert!(matches!(sealed, CompleteOutcome::Sealed { ref parts } if parts.len() == 3), "{sealed:?}");
    // Completing again (a retry after a crash) reports it sealed.
    assert!(matches!(
        store.complete_multipart(&key, Some(&handle), &rule).await.unwrap(),
        CompleteOutcome::Sealed { .. }
    ));

    // Random access through ranged GETs, from a blocking thread like the validators.
    let object = store.open(&key).await.unwrap();
    assert_eq!(object.len(), file.len() as u64);
    let expected = file.clone();
    tokio::task::spawn_blocking(move || {
        for (offset, len) in [(0, 16), (5 * MIB - 3, 10), (10 * MIB + 700, 200), (7, 3 * MIB), (1, 1)] {
            let got = read_up_to(object.as_ref(), offset as u64, len).unwrap();
            let end = (offset + len).min(expected.len());
            assert!(got == expected[offset..end], "bytes {offset}..{end}");
        }
        // A whole sequential read, in small pieces.
        let mut all = Vec::new();
        let mut buf = vec![0u8; 100_000];
        loop {
            let n = object.read_at(all.len() as u64, &mut buf).unwrap();
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
        }
        assert!(all == expected);
    })
    .await
    .unwrap();

    let streamed: Vec<u8> = store
        .read_range(&key, 5 * MIB as u64 - 2, 5 * MIB as u64 + 2)
        .await
        .unwrap()
        .map(|c| c.unwrap().to_vec())
        .concat()
        .await;
    assert_eq!(streamed, file[5 * MIB - 2..5 * MIB + 2]);
    assert!(store.read_range(&key, 4, 4).await.unwrap().next().await.is_none());

    assert!(matches!(store.part_delivery(NON_EMPTY), PartDelivery::Presigned(_)), "S3 presigns part URLs");
    assert!(
        matches!(store.part_delivery(0), PartDelivery::ThroughIntake(_)),
        "an empty file's part comes through intake (Garage refuses an empty UploadPart)"
    );

    store.delete(&key).await.unwrap();
    assert!(store.open(&key).await.is_err(), "deleted");
    store.delete(&key).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_follows_every_page() {
    let Some(config) = config() else { return };
    let store = std::sync::Arc::new(S3Store::new(&config).unwrap());
    let key = new_id(IdKind::Upload);
    let handle = store.begin_multipart(&key, "text/plain", NON_EMPTY).await.unwrap().unwrap();
    // More parts than one ListParts page holds (1,000).
    const PARTS: u32 = 1003;
    futures_util::stream::iter(1..=PARTS)
        .for_each_concurrent(16, |n| {
            let (store, key, handle) = (store.clone(), key.clone(), handle.clone());
            async move {
                put(&store, &key, &handle, n, vec![b'x'; (n % 7 + 1) as usize]).await;
            }
        })
        .await;
    let parts = store.list_parts(&key, Some(&handle)).await.unwrap();
    assert_eq!(parts.len(), PARTS as usize);
    assert!(parts.iter().enumerate().all(|(i, p)| p.number as usize == i + 1 && p.size == (p.number % 7 + 1) as u64));
    store.abort_multipart(&key, Some(&handle)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aborted_upload_is_gone_from_the_store() {
    let Some(config) = config() else { return };
    let store = S3Store::new(&config).unwrap();
    let key = new_id(IdKind::Upload);
    let handle = store.begin_multipart(&key, "text/plain", NON_EMPTY).await.unwrap().unwrap();
    put(&store, &key, &handle, 1, b"hello".to_vec()).await;
    store.abort_multipart(&key, Some(&handle)).await.unwrap();
    store.abort_multipart(&key, Some(&handle)).await.unwrap();
    assert!(matches!(store.list_parts(&key, Some(&handle)).await, Err(Error::Conflict(_))));
    let outcome = store.complete_multipart(&key, Some(&handle), &|_| Ok(())).await;
    assert!(matches!(outcome, Err(Error::Conflict(_))), "{outcome:?}");
    // A part sent late is refused by the store itself.
    let url = store.presigned_part_url(&key, Some(&handle), p(2), Duration::from_secs(60)).unwrap();
    assert_eq!(reqwest::Client::new().put(&url).body("late").send().await.unwrap().status(), 404);
}

/// A body of `chunks`, optionally breaking off with an error after them.
fn body(chunks: Vec<Vec<u8>>, break_off: bool) -> intake_core::blob::PartBody {
    let mut items: Vec<std::io::Result<bytes::Bytes>> = chunks.into_iter().map(|c| Ok(c.into())).collect();
    if break_off {
        items.push(Err(std::io::Error::other("connection reset")));
    }
    futures_util::stream::iter(items).boxed()
}

async fn read_all(store: &S3Store, key: &str, len: u64) -> Vec<u8> {
    store.read_range(key, 0, len).await.unwrap().map(|c| c.unwrap().to_vec()).concat().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_are_staged_in_parts_and_committed_without_a_copy() {
    let Some(config) = config() else { return };
    let store = S3Store::new(&config).unwrap();
    let key = new_id(IdKind::Upload);
    let file = noise(19 * MIB + 12_345, 7);
    assert_eq!(store.staged_len(&key).await.unwrap(), 0);

    // A first download breaks off after 11 MiB: one full 8 MiB part is in the store, the
    // rest is this process's tail.
    let first: Vec<Vec<u8>> = file[..11 * MIB].chunks(MIB).map(<[u8]>::to_vec).collect();
    let aborted = store.append_staged(&key, body(first, true)).await;
    assert!(matches!(aborted, Err(Error::BodyAborted(_))), "{aborted:?}");
    assert_eq!(store.staged_len(&key).await.unwrap(), 11 * MIB as u64);

    // Another instance (or this one after a restart) has no tail: it resumes at the part
    // boundary, and nothing is lost.
    let other = S3Store::new(&config).unwrap();
    assert_eq!(other.staged_len(&key).await.unwrap(), 8 * MIB as u64);
    let rest: Vec<Vec<u8>> = file[8 * MIB..].chunks(3 * MIB + 1).map(<[u8]>::to_vec).collect();
    assert_eq!(other.append_staged(&key, body(rest, false)).await.unwrap(), file.len() as u64);
    assert!(other.open(&key).await.is_err(), "nothing is visible before the commit");
    assert_eq!(other.commit_staged(&key).await.unwrap(), file.len() as u64);
    assert!(read_all(&other, &key, file.len() as u64).await == file);
    // Committing again (a retry after a crash) reports the object; nothing is staged any more.
    assert_eq!(other.commit_staged(&key).await.unwrap(), file.len() as u64);
    assert_eq!(other.staged_len(&key).await.unwrap(), 0);
    other.delete(&key).await.unwrap();

    // A small file is one short part; an empty one is one empty part.
    for len in [5usize, 0] {
        let key = new_id(IdKind::Upload);
        let bytes = noise(len, 3);
        assert_eq!(store.append_staged(&key, body(vec![bytes.clone()], false)).await.unwrap(), len as u64);
        assert_eq!(store.commit_staged(&key).await.unwrap(), len as u64);
        assert_eq!(store.open(&key).await.unwrap().len(), len as u64);
        assert!(read_all(&store, &key, len as u64).await == bytes);
        store.delete(&key).await.unwrap();
    }

    // Discarding drops the staged parts and the tail; a new download starts from zero.
    let key = new_id(IdKind::Upload);
    store.append_staged(&key, body(vec![noise(9 * MIB, 1)], true)).await.unwrap_err();
    assert_eq!(store.staged_len(&key).await.unwrap(), 9 * MIB as u64);
    store.discard_staged(&key).await.unwrap();
    store.discard_staged(&key).await.unwrap();
    assert_eq!(store.staged_len(&key).await.unwrap(), 0);
    assert_eq!(store.append_staged(&key, body(vec![b"fresh".to_vec()], false)).await.unwrap(), 5);
    assert_eq!(store.commit_staged(&key).await.unwrap(), 5);
    assert_eq!(read_all(&store, &key, 5).await, b"fresh");
    store.delete(&key).await.unwrap();
}

#[tokio::test]
async fn a_wrong_secret_fails_at_startup_with_the_stores_words() {
    let Some(mut config) = config() else { return };
    config.secret_access_key = "0".repeat(64);
    let err = S3Store::new(&config).unwrap().check_access().await.unwrap_err();
    assert!(err.to_string().contains("not usable"), "{err}");
}

/// A reader that streams through an object gets GETs fetched ahead of it; whatever it then
/// does (read on in small pieces, jump back to the head, jump past what was fetched ahead,
/// stop halfway) it reads exactly the object's bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_ahead_returns_the_objects_bytes_whatever_the_reader_does() {
    let Some(config) = config() else { return };
    let store = S3Store::new(&config).unwrap();
    let key = new_id(IdKind::Upload);
    let handle =
        store.begin_multipart(&key, "application/octet-stream", NON_EMPTY).await.unwrap().expect("an UploadId");
    // 61 MiB and a bit: a streaming reader reaches 8 MiB GETs, then reads four ahead.
    let file = noise(12 * 5 * MIB + 12_345, 7);
    for (i, part) in file.chunks(5 * MIB).enumerate() {
        put(&store, &key, &handle, i as u32 + 1, part.to_vec()).await;
    }
    let sealed = store.complete_multipart(&key, Some(&handle), &super::support::whole_file).await.unwrap();
    assert!(matches!(sealed, CompleteOutcome::Sealed { .. }), "{sealed:?}");

    let expected = file.clone();
    let object = store.open(&key).await.unwrap();
    tokio::task::spawn_blocking(move || {
        let mut buf = vec![0u8; MIB];
        let read_from = |offset: usize, buf: &mut [u8]| {
            let n = object.read_at(offset as u64, buf).unwrap();
            assert!(n > 0 && buf[..n] == expected[offset..offset + n], "bytes {offset}..{}", offset + n);
            n
        };
        // Stream 30 MiB in 1 MiB pieces (the read-ahead starts), then look at the head.
        let mut offset = 0;
        while offset < 30 * MIB {
            offset += read_from(offset, &mut buf);
        }
        read_from(16, &mut buf[..100]);
        // Go on streaming: the windows fetched ahead are still used.
        while offset < 40 * MIB {
            offset += read_from(offset, &mut buf);
        }
        // Jump past everything fetched ahead, and read to the end in odd sizes.
        let mut offset = 59 * MIB + 3;
        let mut odd = vec![0u8; 777_777];
        while offset < expected.len() {
            offset += read_from(offset, &mut odd);
        }
        assert_eq!(object.read_at(expected.len() as u64, &mut buf).unwrap(), 0);
    })
    .await
    .unwrap();
    // A second reader stops at 20 MiB with GETs in flight: dropping it does not hang.
    let halfway = store.open(&key).await.unwrap();
    tokio::task::spawn_blocking(move || {
        let mut buf = vec![0u8; MIB];
        for i in 0..20 {
            halfway.read_at((i * MIB) as u64, &mut buf).unwrap();
        }
    })
    .await
    .unwrap();
    store.delete(&key).await.unwrap();
}
