//! The stores under test and the calls the tests share.
#![allow(dead_code)]

use futures_util::StreamExt;
use intake_core::blob::fs::FsStore;
use intake_core::blob::s3::{S3Config, S3Store};
pub use intake_core::blob::{
    BlobStore, CompleteOutcome, PartBody, PartDelivery, PartInfo, PresignsParts, ReceivesParts,
};
pub use intake_core::domain::ids::{new_id, IdKind};
pub use intake_core::domain::PartNumber;
pub use intake_core::Error;
pub use std::sync::Arc;
pub use std::time::Duration;

pub const MIB: usize = 1024 * 1024;
/// The declared size of a test's file where only "not empty" matters to the store (an
/// empty file is its own case: see `empty.rs`).
pub const NON_EMPTY: u64 = 64 << 20;

/// A store under test, with what keeps it alive.
pub struct Backend {
    pub name: &'static str,
    pub store: Arc<dyn BlobStore>,
    /// Opens a second handle on the same bytes (another process, as far as the store knows).
    pub reopen: Box<dyn Fn() -> futures_util::future::BoxFuture<'static, Arc<dyn BlobStore>> + Send + Sync>,
    pub _dir: Option<tempfile::TempDir>,
}

/// The S3 settings of this run, if there is an S3-compatible store to test.
pub fn s3_config() -> Option<S3Config> {
    let var = |n: &str| std::env::var(format!("INTAKE_TEST_S3_{n}")).ok().filter(|v| !v.is_empty());
    match (var("ENDPOINT"), var("BUCKET"), var("ACCESS_KEY_ID"), var("SECRET_ACCESS_KEY")) {
        (Some(endpoint), Some(bucket), Some(access_key_id), Some(secret_access_key)) => Some(S3Config {
            endpoint,
            bucket,
            region: var("REGION").unwrap_or_else(|| "us-east-1".into()),
            access_key_id,
            secret_access_key,
            path_style: true,
        }),
        _ if std::env::var("INTAKE_TEST_REQUIRE_S3").is_ok_and(|v| v == "1") => {
            panic!("INTAKE_TEST_REQUIRE_S3=1 but INTAKE_TEST_S3_* are not set")
        }
        _ => {
            eprintln!("S3 half SKIPPED: INTAKE_TEST_S3_* are not set (scripts/test.sh starts Garage and sets them)");
            None
        }
    }
}

/// The local disk in a fresh directory, and the S3-compatible store when configured.
pub async fn backends() -> Vec<Backend> {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("blobs");
    let fs: Arc<dyn BlobStore> = Arc::new(FsStore::open(&root).await.unwrap());
    let mut all = vec![Backend {
        name: "fs",
        store: fs,
        reopen: Box::new(move || {
            let root = root.clone();
            Box::pin(async move { Arc::new(FsStore::open(&root).await.unwrap()) as Arc<dyn BlobStore> })
        }),
        _dir: Some(dir),
    }];
    if let Some(config) = s3_config() {
        let store = S3Store::new(&config).unwrap();
        store.check_access().await.unwrap();
        all.push(Backend {
            name: "s3",
            store: Arc::new(store),
            reopen: Box::new(move || {
                let config = config.clone();
                Box::pin(async move { Arc::new(S3Store::new(&config).unwrap()) as Arc<dyn BlobStore> })
            }),
            _dir: None,
        });
    }
    all
}

pub fn p(n: u32) -> PartNumber {
    PartNumber::new(n).unwrap()
}

/// A fresh key, as the service names objects (an upload id: unique in a shared bucket).
pub fn key() -> String {
    new_id(IdKind::Upload)
}

/// Deterministic bytes that do not compress.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
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

/// Quoted hex MD5, as stores give ETags.
pub fn etag_of(bytes: &[u8]) -> String {
    use md5::Digest;
    format!("\"{}\"", hex::encode(md5::Md5::digest(bytes)))
}

/// Sends part `n` the way a client does: PUT to the store's presigned URL when it presigns
/// them, else through [`ReceivesParts::put_part`] (what intake's `/parts` route calls).
/// Returns the part's ETag.
pub async fn put(store: &dyn BlobStore, key: &str, handle: Option<&str>, n: u32, bytes: Vec<u8>) -> String {
    put_part_of(store, NON_EMPTY, key, handle, n, bytes).await
}

/// [`put`] for a part of a file of `file_size` bytes (stores may deliver an empty file's
/// part differently).
pub async fn put_part_of(
    store: &dyn BlobStore,
    file_size: u64,
    key: &str,
    handle: Option<&str>,
    n: u32,
    bytes: Vec<u8>,
) -> String {
    match store.part_delivery(file_size) {
        PartDelivery::Presigned(presigner) => {
            let url = presigner.presigned_part_url(key, handle, p(n), Duration::from_secs(60)).unwrap();
            let response = reqwest::Client::new().put(&url).body(bytes).send().await.unwrap();
            let (status, etag) = (response.status(), response.headers().get("etag").cloned());
            assert!(status.is_success(), "PUT part {n}: {status} {}", response.text().await.unwrap_or_default());
            etag.expect("the store answers a part's ETag").to_str().unwrap().to_string()
        }
        PartDelivery::ThroughIntake(receiver) => {
            let len = bytes.len() as u64;
            let info = receiver.put_part(key, p(n), body(vec![bytes], false), len, &|_, _| Ok(())).await.unwrap();
            assert_eq!((info.number, info.size), (n, len));
            info.etag.expect("the store keeps the part's MD5")
        }
    }
}

/// A body of `chunks`, optionally breaking off with an error after them.
pub fn body(chunks: Vec<Vec<u8>>, break_off: bool) -> PartBody {
    let mut items: Vec<std::io::Result<bytes::Bytes>> = chunks.into_iter().map(|c| Ok(c.into())).collect();
    if break_off {
        items.push(Err(std::io::Error::other("connection reset")));
    }
    futures_util::stream::iter(items).boxed()
}

/// Bytes `start..end` of a finished object, through [`BlobStore::read_range`].
pub async fn read_range(store: &dyn BlobStore, key: &str, start: u64, end: u64) -> Vec<u8> {
    store.read_range(key, start, end).await.unwrap().map(|c| c.unwrap().to_vec()).concat().await
}

/// `(number, size)` of each part.
pub fn sizes(parts: &[PartInfo]) -> Vec<(u32, u64)> {
    parts.iter().map(|p| (p.number, p.size)).collect()
}

/// intake's rule in small: parts 1..n without a gap, every part but the last at least
/// 5 MiB (the real rule lives in the domain; this one only has to refuse and approve).
pub fn whole_file(parts: &[PartInfo]) -> Result<(), String> {
    if parts.is_empty() {
        return Err("no part arrived".into());
    }
    for (i, part) in parts.iter().enumerate() {
        if part.number as usize != i + 1 {
            return Err(format!("part {} is missing", i + 1));
        }
        if i + 1 < parts.len() && part.size < 5 * MIB as u64 {
            return Err(format!("part {} is too small", part.number));
        }
    }
    Ok(())
}
