//! Tests of the local-disk store: parts, seals, torn and oversized bodies, staged imports.

use super::*;
use crate::blob::PartDigests;
use crate::validate::read_up_to;
use md5::{Digest, Md5};

fn body(chunks: Vec<&'static [u8]>) -> PartBody {
    stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from_static(c)))).boxed()
}

/// The declared size of a file where only "not empty" matters (the disk does not look).
const NON_EMPTY: u64 = 64 << 20;

fn any_size(_: u64, _: &PartDigests) -> Result<()> {
    Ok(())
}

fn p(n: u32) -> PartNumber {
    PartNumber::new(n).unwrap()
}

async fn collect(s: ByteStream) -> Vec<u8> {
    s.map(|c| c.unwrap().to_vec()).concat().await
}

#[tokio::test]
async fn parts_become_one_object_without_copying() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).await.unwrap();
    store.begin_multipart("upload_a", "text/plain", NON_EMPTY).await.unwrap();
    let one = store.put_part("upload_a", p(1), body(vec![b"hello ", b"wor"]), 100, &any_size).await.unwrap();
    assert_eq!(one.size, 9);
    assert_eq!(one.etag, Some(format!("\"{}\"", hex::encode(Md5::digest(b"hello wor")))));
    store.put_part("upload_a", p(2), body(vec![b"ld!"]), 100, &any_size).await.unwrap();
    // A retry of part 1 replaces it.
    store.put_part("upload_a", p(1), body(vec![b"hello wor"]), 100, &any_size).await.unwrap();
    let outcome = store
        .complete_multipart("upload_a", None, &|parts| {
            if parts.len() == 2 {
                Ok(())
            } else {
                Err("missing".into())
            }
        })
        .await
        .unwrap();
    assert!(matches!(outcome, CompleteOutcome::Sealed { ref parts } if parts.len() == 2));
    let object = store.open("upload_a").await.unwrap();
    assert_eq!(object.len(), 12);
    assert_eq!(read_up_to(object.as_ref(), 0, 100).unwrap(), b"hello world!");
    assert_eq!(read_up_to(object.as_ref(), 7, 3).unwrap(), b"orl");
    assert_eq!(collect(store.read_range("upload_a", 4, 11).await.unwrap()).await, b"o world");
    // Completing again is idempotent, and late parts are refused.
    assert!(matches!(
        store.complete_multipart("upload_a", None, &|_| Ok(())).await.unwrap(),
        CompleteOutcome::Sealed { .. }
    ));
    let late = store.put_part("upload_a", p(3), body(vec![b"x"]), 100, &any_size).await;
    assert!(matches!(late, Err(Error::Conflict(_))), "{late:?}");
}

/// The upload's directory is made by its first part (and not fsynced until then): an
/// upload without one, never made or lost to an OS crash, still lists, completes and
/// takes parts.
#[tokio::test]
async fn an_upload_without_its_directory_still_takes_parts() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).await.unwrap();
    store.begin_multipart("upload_lost", "text/plain", NON_EMPTY).await.unwrap();
    assert!(store.list_parts("upload_lost", None).await.unwrap().is_empty());
    let refused = store.complete_multipart("upload_lost", None, &|parts| {
        if parts.is_empty() {
            Err("no part yet".into())
        } else {
            Ok(())
        }
    });
    assert_eq!(refused.await.unwrap(), CompleteOutcome::Refused { reason: "no part yet".into() });
    std::fs::remove_dir_all(dir.path().join("multipart/upload_lost")).unwrap();
    store.put_part("upload_lost", p(1), body(vec![b"kept"]), 100, &any_size).await.unwrap();
    let sealed = store.complete_multipart("upload_lost", None, &|_| Ok(())).await.unwrap();
    assert!(matches!(sealed, CompleteOutcome::Sealed { ref parts } if parts.len() == 1));
    assert_eq!(collect(store.read_range("upload_lost", 0, 4).await.unwrap()).await, b"kept");
    // Sealed: a late part finds `tmp` but no `parts`, and is refused, not resurrected.
    let late = store.put_part("upload_lost", p(2), body(vec![b"x"]), 100, &any_size).await;
    assert!(matches!(late, Err(Error::Conflict(_))), "{late:?}");
}

#[tokio::test]
async fn a_refused_complete_keeps_every_part() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).await.unwrap();
    store.begin_multipart("upload_b", "text/plain", NON_EMPTY).await.unwrap();
    store.put_part("upload_b", p(2), body(vec![b"second"]), 100, &any_size).await.unwrap();
    let outcome = store.complete_multipart("upload_b", None, &|_| Err("part 1 is missing".into())).await.unwrap();
    assert_eq!(outcome, CompleteOutcome::Refused { reason: "part 1 is missing".into() });
    store.put_part("upload_b", p(1), body(vec![b"first "]), 100, &any_size).await.unwrap();
    let parts = store.list_parts("upload_b", None).await.unwrap();
    assert_eq!(parts.iter().map(|p| (p.number, p.size)).collect::<Vec<_>>(), vec![(1, 6), (2, 6)]);
}

#[tokio::test]
async fn torn_and_oversized_parts_leave_no_trace() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).await.unwrap();
    store.begin_multipart("upload_c", "text/plain", NON_EMPTY).await.unwrap();
    store.put_part("upload_c", p(1), body(vec![b"good"]), 100, &any_size).await.unwrap();
    let torn: PartBody = stream::iter(vec![Ok(Bytes::from_static(b"bad")), Err(io::Error::other("reset"))]).boxed();
    assert!(matches!(store.put_part("upload_c", p(1), torn, 100, &any_size).await, Err(Error::BodyAborted(_))));
    assert!(matches!(
        store.put_part("upload_c", p(1), body(vec![b"0123456789"]), 5, &any_size).await,
        Err(Error::TooLarge(_))
    ));
    let refuse = |_: u64, _: &PartDigests| Err(Error::BadRequest("too small".into()));
    assert!(matches!(
        store.put_part("upload_c", p(1), body(vec![b"x"]), 100, &refuse).await,
        Err(Error::BadRequest(_))
    ));
    let parts = store.list_parts("upload_c", None).await.unwrap();
    assert_eq!(parts, vec![PartInfo { number: 1, size: 4, etag: None }]);
    let tmp = std::fs::read_dir(dir.path().join("multipart/upload_c/tmp")).unwrap().count();
    assert_eq!(tmp, 0, "no temp files remain");
}

#[tokio::test]
async fn unsafe_keys_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).await.unwrap();
    assert!(store.begin_multipart("../evil", "x/y", NON_EMPTY).await.is_err());
    assert!(store.open("a/b").await.is_err());
}

#[tokio::test]
async fn a_staged_import_survives_a_broken_body_and_commits_as_an_object() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).await.unwrap();
    assert_eq!(store.staged_len("imp1").await.unwrap(), 0);
    let broken: PartBody = stream::iter(vec![
        Ok(Bytes::from_static(b"hello ")),
        Err(io::Error::new(io::ErrorKind::ConnectionReset, "reset")),
    ])
    .boxed();
    let err = store.append_staged("imp1", broken).await.unwrap_err();
    assert!(matches!(err, Error::BodyAborted(_)), "{err}");
    // What arrived before the break is kept, so the download resumes from there.
    assert_eq!(store.staged_len("imp1").await.unwrap(), 6);
    assert_eq!(store.append_staged("imp1", body(vec![b"world"])).await.unwrap(), 11);
    assert!(store.open("imp1").await.is_err(), "not an object before the commit");
    assert_eq!(store.commit_staged("imp1").await.unwrap(), 11);
    assert_eq!(store.commit_staged("imp1").await.unwrap(), 11, "idempotent");
    assert_eq!(store.staged_len("imp1").await.unwrap(), 0);
    let object = store.open("imp1").await.unwrap();
    assert_eq!(read_up_to(object.as_ref(), 0, 100).unwrap(), b"hello world");
    assert_eq!(collect(store.read_range("imp1", 3, 8).await.unwrap()).await, b"lo wo");
    store.discard_staged("imp1").await.unwrap();
    assert_eq!(collect(store.read_range("imp1", 0, 11).await.unwrap()).await, b"hello world");
}

/// A staged import that grows by several writeback windows, from an offset that is not a
/// window's, keeps every byte in order.
#[tokio::test]
async fn a_staged_import_handed_to_the_disk_window_by_window_keeps_its_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).await.unwrap();
    let bytes: Vec<u8> = (0..(2 * WRITEBACK_WINDOW + 3 * 1024 * 1024 + 7)).map(|i| (i % 251) as u8).collect();
    let (head, tail) = bytes.split_at(3 * 1024 * 1024 + 7);
    let chunks = |b: &[u8]| -> PartBody {
        let chunks: Vec<io::Result<Bytes>> =
            b.chunks(1024 * 1024 + 13).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        stream::iter(chunks).boxed()
    };
    assert_eq!(store.append_staged("big", chunks(head)).await.unwrap(), head.len() as u64);
    assert_eq!(store.append_staged("big", chunks(tail)).await.unwrap(), bytes.len() as u64);
    assert_eq!(store.commit_staged("big").await.unwrap(), bytes.len() as u64);
    let object = store.open("big").await.unwrap();
    assert!(read_up_to(object.as_ref(), 0, bytes.len() + 1).unwrap() == bytes, "the bytes differ");
}

/// A body fed by the test: what is sent on the channel arrives; until then it waits.
fn fed_body() -> (tokio::sync::mpsc::UnboundedSender<io::Result<Bytes>>, PartBody) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    (tx, tokio_stream_of(rx))
}

fn tokio_stream_of(rx: tokio::sync::mpsc::UnboundedReceiver<io::Result<Bytes>>) -> PartBody {
    stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) }).boxed()
}

/// With a blocking pool of one thread, parts whose bodies wait for bytes leave it free: a
/// part that arrives whole is stored meanwhile, and the waiting ones finish when their
/// bytes come (issue 15: a PUT that waits for bytes holds no blocking thread).
#[test]
fn parts_waiting_for_bytes_hold_no_blocking_thread() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(FsStore::open(dir.path()).await.unwrap());
        store.begin_multipart("upload_w", "text/plain", NON_EMPTY).await.unwrap();
        let mut senders = Vec::new();
        let mut waiting = Vec::new();
        for n in 1..=20 {
            let (tx, body) = fed_body();
            tx.send(Ok(Bytes::from_static(b"first "))).unwrap();
            senders.push(tx);
            let store = store.clone();
            waiting.push(tokio::spawn(async move { store.put_part("upload_w", p(n), body, 100, &any_size).await }));
        }
        tokio::task::yield_now().await;
        let whole = store.put_part("upload_w", p(21), body(vec![b"whole"]), 100, &any_size);
        let stored = tokio::time::timeout(Duration::from_secs(20), whole).await.expect("the pool is free").unwrap();
        assert_eq!(stored.size, 5);
        for tx in &senders {
            tx.send(Ok(Bytes::from_static(b"second"))).unwrap();
        }
        drop(senders);
        for (i, task) in waiting.into_iter().enumerate() {
            let part = task.await.unwrap().unwrap();
            assert_eq!(part.size, 12, "part {}", i + 1);
            assert_eq!(part.etag, Some(format!("\"{}\"", hex::encode(Md5::digest(b"first second")))));
        }
        assert_eq!(store.list_parts("upload_w", None).await.unwrap().len(), 21);
    });
}

/// Bytes in every size around the disk chunk give the same file and MD5 as the whole body
/// at once; a large buffer held while the body is quiet reaches the file meanwhile.
#[tokio::test]
async fn a_body_in_odd_pieces_with_a_pause_keeps_its_bytes_and_md5() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::open(dir.path()).await.unwrap());
    store.begin_multipart("upload_odd", "application/octet-stream", NON_EMPTY).await.unwrap();
    let bytes: Vec<u8> = (0..(3 * writer::DISK_CHUNK + 12345)).map(|i| (i * 7 % 251) as u8).collect();
    let (tx, body) = fed_body();
    let put = {
        let store = store.clone();
        tokio::spawn(async move { store.put_part("upload_odd", p(1), body, u64::MAX, &any_size).await })
    };
    // 100,001 bytes, then quiet: they reach the temp file though the buffer is not full.
    tx.send(Ok(Bytes::copy_from_slice(&bytes[..1]))).unwrap();
    tx.send(Ok(Bytes::copy_from_slice(&bytes[1..100_001]))).unwrap();
    let tmp = dir.path().join("multipart/upload_odd/tmp");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let on_disk: u64 = std::fs::read_dir(&tmp)
            .map(|entries| entries.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum())
            .unwrap_or(0);
        if on_disk == 100_001 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the held bytes never reached the disk ({on_disk})");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sizes = [writer::DISK_CHUNK - 1, 2, writer::DISK_CHUNK + 3, 70_000, 1];
    let mut at = 100_001;
    for size in sizes.iter().cycle() {
        if at == bytes.len() {
            break;
        }
        let end = (at + size).min(bytes.len());
        tx.send(Ok(Bytes::copy_from_slice(&bytes[at..end]))).unwrap();
        at = end;
    }
    drop(tx);
    let part = put.await.unwrap().unwrap();
    assert_eq!(part.size, bytes.len() as u64);
    assert_eq!(part.etag, Some(format!("\"{}\"", hex::encode(Md5::digest(&bytes)))));
    store.complete_multipart("upload_odd", None, &|_| Ok(())).await.unwrap();
    let object = store.open("upload_odd").await.unwrap();
    assert!(read_up_to(object.as_ref(), 0, bytes.len() + 1).unwrap() == bytes, "the bytes differ");
}

/// A staged import whose origin waits for bytes holds no blocking thread either.
#[test]
fn a_staged_import_waiting_for_bytes_holds_no_blocking_thread() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(FsStore::open(dir.path()).await.unwrap());
        let (tx, slow) = fed_body();
        tx.send(Ok(Bytes::from_static(b"slow "))).unwrap();
        let waiting = {
            let store = store.clone();
            tokio::spawn(async move { store.append_staged("imp_slow", slow).await })
        };
        tokio::task::yield_now().await;
        let other = store.append_staged("imp_fast", body(vec![b"fast"]));
        assert_eq!(tokio::time::timeout(Duration::from_secs(20), other).await.expect("the pool is free").unwrap(), 4);
        tx.send(Ok(Bytes::from_static(b"origin"))).unwrap();
        drop(tx);
        assert_eq!(waiting.await.unwrap().unwrap(), 11);
    });
}

/// Waits (20 s at most) until `done` holds.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "{what} never happened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An import whose future is dropped mid-body (a download paused by a shutdown) keeps
/// every byte it received, held in memory or not, for the resume; a part PUT dropped
/// mid-body leaves no temp file.
#[tokio::test]
async fn a_dropped_body_keeps_an_imports_bytes_and_no_part_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::open(dir.path()).await.unwrap());
    let received = 2 * writer::DISK_CHUNK + 1234;
    let (tx, slow) = fed_body();
    for piece in vec![7u8; received].chunks(100_000) {
        tx.send(Ok(Bytes::copy_from_slice(piece))).unwrap();
    }
    let append = {
        let store = store.clone();
        tokio::spawn(async move { store.append_staged("imp_paused", slow).await })
    };
    // Once the first megabyte is on the disk (the rest is held, less than a chunk), the
    // download is stopped mid-body.
    eventually("the first chunk reaching the disk", || {
        std::fs::metadata(dir.path().join("imports/imp_paused")).is_ok_and(|m| m.len() >= writer::DISK_CHUNK as u64)
    })
    .await;
    append.abort();
    let _ = append.await;
    eventually("the held bytes reaching the disk", || {
        std::fs::metadata(dir.path().join("imports/imp_paused")).is_ok_and(|m| m.len() == received as u64)
    })
    .await;
    assert_eq!(store.staged_len("imp_paused").await.unwrap(), received as u64);
    drop(tx);

    store.begin_multipart("upload_dropped", "application/octet-stream", NON_EMPTY).await.unwrap();
    let (tx, body) = fed_body();
    tx.send(Ok(Bytes::from(vec![1u8; writer::DISK_CHUNK + 10]))).unwrap();
    let put = {
        let store = store.clone();
        tokio::spawn(async move { store.put_part("upload_dropped", p(1), body, u64::MAX, &any_size).await })
    };
    let tmp = dir.path().join("multipart/upload_dropped/tmp");
    let temp_files = || std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0);
    eventually("the part's temp file", || temp_files() == 1).await;
    put.abort();
    let _ = put.await;
    eventually("the temp file's removal", || temp_files() == 0).await;
    assert!(store.list_parts("upload_dropped", None).await.unwrap().is_empty());
}

#[tokio::test]
async fn parts_are_hashed_as_they_land_and_the_digest_is_handed_over_once() {
    use sha2::Sha256;
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).await.unwrap();
    let whole = |parts: &[&[u8]]| hex::encode(Sha256::digest(parts.concat()));
    // Out of order: part 2 waits until part 1 lands, and is hashed then.
    store.put_part("upload_h", p(2), body(vec![b"world"]), 100, &any_size).await.unwrap();
    store.put_part("upload_h", p(1), body(vec![b"hello ", b"big "]), 100, &any_size).await.unwrap();
    store.complete_multipart("upload_h", None, &|_| Ok(())).await.unwrap();
    // The sweep removes what is left of a sealed upload's multipart directory: the digest
    // stays for the import.
    store.abort_multipart("upload_h", None).await.unwrap();
    let prefix = store.hashed_prefix("upload_h").await.expect("both parts were hashed as they landed");
    assert_eq!(prefix.digest_of_whole(15), Some(whole(&[b"hello big ", b"world"])));
    assert!(store.hashed_prefix("upload_h").await.is_none(), "handed over once");

    // A retried part that was already hashed: no prefix is offered, so the import reads the
    // file as it now is.
    store.put_part("upload_r", p(1), body(vec![b"first"]), 100, &any_size).await.unwrap();
    store.put_part("upload_r", p(1), body(vec![b"again"]), 100, &any_size).await.unwrap();
    store.complete_multipart("upload_r", None, &|_| Ok(())).await.unwrap();
    assert!(store.hashed_prefix("upload_r").await.is_none());

    // An aborted upload is forgotten.
    store.put_part("upload_x", p(1), body(vec![b"x"]), 100, &any_size).await.unwrap();
    store.abort_multipart("upload_x", None).await.unwrap();
    assert!(store.hashed_prefix("upload_x").await.is_none());
}
