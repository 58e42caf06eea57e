//! Target 12's baseline: a file uploaded straight to the S3 store with a plain multipart
//! client (rusty-s3's signed requests over reqwest, no intake in the path): create the
//! multipart upload, PUT the parts `concurrency` at once (each read from the file as it is
//! sent, as the intake CLI reads them), complete. The same steps the intake CLI drives
//! against Garage, minus intake's own calls, so the two times differ by intake's overhead.
//!
//! Reads the store from `INTAKE_TEST_S3_ENDPOINT`, `INTAKE_TEST_S3_BUCKET`,
//! `INTAKE_TEST_S3_REGION`, `INTAKE_TEST_S3_ACCESS_KEY_ID` and
//! `INTAKE_TEST_S3_SECRET_ACCESS_KEY` (scripts/scaleout.sh's env); prints one JSON object and
//! deletes the object it made.

use anyhow::{bail, Context, Result};
use rusty_s3::actions::{CompleteMultipartUpload, CreateMultipartUpload, DeleteObject, UploadPart};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long each signed request stays valid.
const TTL: Duration = Duration::from_secs(3600);

struct Store {
    bucket: Bucket,
    credentials: Credentials,
    http: reqwest::Client,
}

async fn checked(response: reqwest::Response, what: &str) -> Result<reqwest::Response> {
    if !response.status().is_success() {
        let status = response.status();
        bail!("{what}: {status}: {}", response.text().await.unwrap_or_default());
    }
    Ok(response)
}

pub async fn run(file: &Path, part_size: u64, concurrency: usize) -> Result<()> {
    let var = |name: &str| std::env::var(name).with_context(|| format!("{name} is not set"));
    let store = Arc::new(Store {
        bucket: Bucket::new(
            var("INTAKE_TEST_S3_ENDPOINT")?.parse()?,
            UrlStyle::Path,
            var("INTAKE_TEST_S3_BUCKET")?,
            var("INTAKE_TEST_S3_REGION")?,
        )?,
        credentials: Credentials::new(var("INTAKE_TEST_S3_ACCESS_KEY_ID")?, var("INTAKE_TEST_S3_SECRET_ACCESS_KEY")?),
        http: reqwest::Client::builder().no_proxy().build()?,
    });
    let len = std::fs::metadata(file)?.len();
    if part_size == 0 {
        bail!("--part-size must be positive");
    }
    let parts = len.div_ceil(part_size).max(1) as usize;
    let key = format!("bench-s3-{}-{}", std::process::id(), chrono::Utc::now().timestamp_millis());
    let file = Arc::new(std::fs::File::open(file)?);

    let start = Instant::now();
    let url = CreateMultipartUpload::new(&store.bucket, Some(&store.credentials), &key).sign(TTL);
    let body = checked(store.http.post(url).send().await?, "create").await?.text().await?;
    let upload_id = CreateMultipartUpload::parse_response(&body)?.upload_id().to_string();
    let upload_id = Arc::new(upload_id);
    let key = Arc::new(key);

    let etags: Arc<std::sync::Mutex<Vec<String>>> = Arc::new(std::sync::Mutex::new(vec![String::new(); parts]));
    let next = Arc::new(AtomicUsize::new(0));
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (store, file, next, etags, key, upload_id) =
            (store.clone(), file.clone(), next.clone(), etags.clone(), key.clone(), upload_id.clone());
        senders.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= parts {
                    return Ok::<_, anyhow::Error>(());
                }
                let offset = i as u64 * part_size;
                let size = part_size.min(len - offset) as usize;
                let file = file.clone();
                let bytes = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
                    let mut buffer = vec![0u8; size];
                    file.read_exact_at(&mut buffer, offset)?;
                    Ok(buffer)
                })
                .await??;
                let number = u16::try_from(i + 1)?;
                let url = UploadPart::new(&store.bucket, Some(&store.credentials), &key, number, &upload_id).sign(TTL);
                let response = checked(store.http.put(url).body(bytes).send().await?, "part").await?;
                let etag = response
                    .headers()
                    .get("etag")
                    .and_then(|v| v.to_str().ok())
                    .context("a part PUT answered no ETag")?
                    .to_string();
                etags.lock().expect("lock")[i] = etag;
            }
        });
    }
    while let Some(done) = senders.join_next().await {
        done??;
    }
    let etags = std::mem::take(&mut *etags.lock().expect("lock"));
    let complete = CompleteMultipartUpload::new(
        &store.bucket,
        Some(&store.credentials),
        &key,
        &upload_id,
        etags.iter().map(String::as_str),
    );
    let url = complete.sign(TTL);
    let body = complete.body();
    checked(store.http.post(url).body(body).send().await?, "complete").await?;
    let seconds = start.elapsed().as_secs_f64();

    let url = DeleteObject::new(&store.bucket, Some(&store.credentials), &key).sign(TTL);
    checked(store.http.delete(url).send().await?, "delete").await?;
    println!("{}", serde_json::json!({"bytes": len, "parts": parts, "seconds": seconds}));
    Ok(())
}
