//! Imports: bytes appended to a staged object as they arrive, kept when the download breaks
//! off so it resumes from [`BlobStore::staged_len`], and committed into the object at once.

use super::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_download_resumes_from_what_is_staged_and_commits_exactly_the_file() {
    for b in backends().await {
        let s = b.store.as_ref();
        let key = key();
        let file = noise(19 * MIB + 12_345, 7);
        assert_eq!(s.staged_len(&key).await.unwrap(), 0, "{}: nothing staged", b.name);

        // A first download breaks off after 11 MiB.
        let first: Vec<Vec<u8>> = file[..11 * MIB].chunks(MIB).map(<[u8]>::to_vec).collect();
        let aborted = s.append_staged(&key, body(first, true)).await;
        assert!(matches!(aborted, Err(Error::BodyAborted(_))), "{}: {aborted:?}", b.name);

        // Another process (or this one after a restart) resumes from what the store kept
        // durably: some of the 11 MiB, never more. Nothing is lost.
        let other = (b.reopen)().await;
        let kept = other.staged_len(&key).await.unwrap();
        assert!(kept > 0 && kept <= 11 * MIB as u64, "{}: {kept} bytes staged", b.name);
        let rest: Vec<Vec<u8>> = file[kept as usize..].chunks(3 * MIB + 1).map(<[u8]>::to_vec).collect();
        assert_eq!(other.append_staged(&key, body(rest, false)).await.unwrap(), file.len() as u64, "{}", b.name);
        assert!(other.open(&key).await.is_err(), "{}: nothing is visible before the commit", b.name);
        assert_eq!(other.commit_staged(&key).await.unwrap(), file.len() as u64, "{}", b.name);
        assert!(read_range(other.as_ref(), &key, 0, file.len() as u64).await == file, "{}", b.name);
        // Committing again (a retry after a crash) reports the object; nothing is staged any more.
        assert_eq!(other.commit_staged(&key).await.unwrap(), file.len() as u64, "{}", b.name);
        assert_eq!(other.staged_len(&key).await.unwrap(), 0, "{}", b.name);
        other.delete(&key).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_and_empty_imports_become_objects() {
    for b in backends().await {
        let s = b.store.as_ref();
        for len in [5usize, 0] {
            let key = key();
            let bytes = noise(len, 3);
            assert_eq!(
                s.append_staged(&key, body(vec![bytes.clone()], false)).await.unwrap(),
                len as u64,
                "{}",
                b.name
            );
            assert_eq!(s.commit_staged(&key).await.unwrap(), len as u64, "{}", b.name);
            assert_eq!(s.open(&key).await.unwrap().len(), len as u64, "{}", b.name);
            assert!(read_range(s, &key, 0, len as u64).await == bytes, "{}: {len} bytes", b.name);
            s.delete(&key).await.unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_in_several_calls_add_up() {
    for b in backends().await {
        let s = b.store.as_ref();
        let key = key();
        let file = noise(9 * MIB + 3, 5);
        let (one, two) = file.split_at(2 * MIB);
        assert_eq!(s.append_staged(&key, body(vec![one.to_vec()], false)).await.unwrap(), one.len() as u64);
        assert_eq!(s.append_staged(&key, body(vec![two.to_vec()], false)).await.unwrap(), file.len() as u64);
        assert_eq!(s.staged_len(&key).await.unwrap(), file.len() as u64, "{}", b.name);
        assert_eq!(s.commit_staged(&key).await.unwrap(), file.len() as u64, "{}", b.name);
        assert!(read_range(s, &key, 0, file.len() as u64).await == file, "{}", b.name);
        s.delete(&key).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discarding_drops_what_is_staged_and_a_new_download_starts_from_zero() {
    for b in backends().await {
        let s = b.store.as_ref();
        let key = key();
        s.append_staged(&key, body(vec![noise(9 * MIB, 1)], true)).await.unwrap_err();
        assert!(s.staged_len(&key).await.unwrap() > 0, "{}", b.name);
        s.discard_staged(&key).await.unwrap();
        // Discarding nothing is not an error.
        s.discard_staged(&key).await.unwrap();
        assert_eq!(s.staged_len(&key).await.unwrap(), 0, "{}", b.name);
        assert_eq!((b.reopen)().await.staged_len(&key).await.unwrap(), 0, "{}: for every process", b.name);
        assert_eq!(s.append_staged(&key, body(vec![b"fresh".to_vec()], false)).await.unwrap(), 5, "{}", b.name);
        assert_eq!(s.commit_staged(&key).await.unwrap(), 5, "{}", b.name);
        assert_eq!(read_range(s, &key, 0, 5).await, b"fresh", "{}", b.name);
        s.delete(&key).await.unwrap();
    }
}
