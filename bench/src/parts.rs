//! Target 11: an upload of many parts (10,000, the most allowed). Times, and measures the
//! server's extra memory of, the three calls whose work grows with the part count: the
//! create, one `GET` while pending (it signs one URL per part) and `complete` with every part
//! sent (it lists and checks every part). The part bytes are one in-memory buffer of the
//! smallest part size, streamed to every part URL by `concurrency` senders at once, so the
//! sender costs no disk and little CPU.
//!
//! Extra memory is the server's peak resident set during the call minus its resident set
//! just before: the peak (`VmHWM`) is reset through `/proc/PID/clear_refs` before each call.
//!
//! It also times `GET` of the many-part upload against `GET` of a 1-part upload (the median
//! of `repeats` each), which is what the part URLs cost a request.
//!
//! Prints one JSON object; reads the server and credentials from `INTAKE_URL`,
//! `INTAKE_API_KEY` and `INTAKE_API_SECRET`.

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use intake_api::limits::MIN_PART_SIZE;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// What to measure.
pub struct Plan {
    /// The server's process id, for `/proc/PID/status` and `/proc/PID/clear_refs`.
    pub server_pid: u32,
    /// Parts of the upload that is created and read.
    pub parts: u32,
    /// Parts of the upload that is sent and completed: the same upload when equal to `parts`,
    /// otherwise a second upload of this many parts (smoke runs: no 49 GiB to send).
    pub complete_parts: u32,
    /// Part PUTs in flight at once.
    pub concurrency: usize,
    /// `GET`s of each upload for the many-part vs 1-part comparison.
    pub repeats: usize,
}

/// The API, with raw bodies: the timed calls stop when the last byte arrived, before any
/// JSON is parsed on this side.
struct Api {
    http: reqwest::Client,
    base: String,
    key: String,
    secret: String,
}

impl Api {
    fn from_env() -> Result<Self> {
        let var = |name: &str| std::env::var(name).with_context(|| format!("{name} is not set"));
        Ok(Self {
            http: reqwest::Client::builder().no_proxy().build()?,
            base: var("INTAKE_URL")?.trim_end_matches('/').to_string(),
            key: var("INTAKE_API_KEY")?,
            secret: var("INTAKE_API_SECRET")?,
        })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Bytes> {
        let response = request.basic_auth(&self.key, Some(&self.secret)).send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        if !status.is_success() {
            bail!("{status}: {}", String::from_utf8_lossy(&body));
        }
        Ok(body)
    }

    async fn create(&self, parts: u32) -> Result<Bytes> {
        let body = serde_json::json!({
            "fileName": "many-parts.bin",
            "contentType": "application/octet-stream",
            "fileSize": u64::from(parts) * MIN_PART_SIZE,
            "parts": parts,
            "kind": "asset",
        });
        self.send(self.http.post(format!("{}/v1/uploads", self.base)).json(&body)).await
    }

    async fn get(&self, id: &str) -> Result<Bytes> {
        self.send(self.http.get(format!("{}/v1/uploads/{id}", self.base))).await
    }

    async fn complete(&self, id: &str) -> Result<Bytes> {
        let body = serde_json::json!({"action": "complete"});
        self.send(self.http.post(format!("{}/v1/uploads/{id}/action", self.base)).json(&body)).await
    }
}

/// One field of `/proc/PID/status`, in KiB.
fn status_kib(pid: u32, field: &str) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.trim().strip_suffix("kB")?.trim().parse().ok())
        .with_context(|| format!("no {field} in /proc/{pid}/status"))
}

/// Seconds and extra KiB of one call.
#[derive(serde::Serialize)]
struct Cost {
    seconds: f64,
    #[serde(rename = "extraRssKib")]
    extra_rss_kib: u64,
}

/// Runs `call`, timing it and measuring the server's peak resident set above where it was.
async fn measured<T>(pid: u32, call: impl std::future::Future<Output = Result<T>>) -> Result<(T, Cost)> {
    // "5" resets the peak resident set size to the current one (proc(5), clear_refs).
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").context("resetting the server's VmHWM")?;
    let before = status_kib(pid, "VmRSS:")?;
    let start = Instant::now();
    let value = call.await?;
    let seconds = start.elapsed().as_secs_f64();
    let peak = status_kib(pid, "VmHWM:")?;
    Ok((value, Cost { seconds, extra_rss_kib: peak.saturating_sub(before) }))
}

/// The body of create, GET and complete alike.
#[derive(serde::Deserialize)]
struct Created {
    upload: Listed,
}

#[derive(serde::Deserialize)]
struct Listed {
    id: String,
    #[serde(default)]
    parts: Vec<Part>,
    status: String,
}

#[derive(serde::Deserialize)]
struct Part {
    url: String,
}

/// PUTs `buffer` to every URL, `concurrency` at once; fails on the first refusal.
async fn send_parts(http: &reqwest::Client, urls: Vec<String>, buffer: Bytes, concurrency: usize) -> Result<()> {
    let urls = Arc::new(urls);
    let next = Arc::new(AtomicUsize::new(0));
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (http, urls, next, buffer) = (http.clone(), urls.clone(), next.clone(), buffer.clone());
        senders.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(url) = urls.get(i) else { return Ok::<_, anyhow::Error>(()) };
                let response = http.put(url).body(buffer.clone()).send().await?;
                if !response.status().is_success() {
                    let status = response.status();
                    bail!("part {}: {status}: {}", i + 1, response.text().await.unwrap_or_default());
                }
            }
        });
    }
    while let Some(done) = senders.join_next().await {
        done??;
    }
    Ok(())
}

/// The median of `values` (sorted here).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Times `repeats` GETs of `id`; the median seconds and the body's length.
async fn get_median(api: &Api, id: &str, repeats: usize) -> Result<(f64, usize)> {
    let mut seconds = Vec::with_capacity(repeats);
    let mut len = 0;
    for _ in 0..repeats.max(1) {
        let start = Instant::now();
        len = api.get(id).await?.len();
        seconds.push(start.elapsed().as_secs_f64());
    }
    Ok((median(&mut seconds), len))
}

pub async fn run(plan: Plan) -> Result<()> {
    let api = Api::from_env()?;
    let pid = plan.server_pid;

    let (created, create) = measured(pid, api.create(plan.parts)).await?;
    let many: Created = serde_json::from_slice(&created)?;
    let many_id = many.upload.id;
    let (got, get) = measured(pid, api.get(&many_id)).await?;
    let got = serde_json::from_slice::<Created>(&got)?.upload;
    if got.parts.len() != plan.parts as usize {
        bail!("GET answered {} part URLs for {} parts", got.parts.len(), plan.parts);
    }

    let one: Created = serde_json::from_slice(&api.create(1).await?)?;
    let (one_get, one_len) = get_median(&api, &one.upload.id, plan.repeats).await?;
    let (many_get, many_len) = get_median(&api, &many_id, plan.repeats).await?;

    let (complete_id, urls) = if plan.complete_parts == plan.parts {
        (many_id.clone(), got.parts.into_iter().map(|p| p.url).collect::<Vec<_>>())
    } else {
        let other: Created = serde_json::from_slice(&api.create(plan.complete_parts).await?)?;
        (other.upload.id, other.upload.parts.into_iter().map(|p| p.url).collect())
    };
    let buffer: Bytes = (0..MIN_PART_SIZE).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let start = Instant::now();
    send_parts(&api.http, urls, buffer, plan.concurrency).await?;
    let send_seconds = start.elapsed().as_secs_f64();
    let (completed, complete) = measured(pid, api.complete(&complete_id)).await?;
    let completed = serde_json::from_slice::<Created>(&completed)?.upload;
    if completed.status == "pending" || completed.status == "failed" {
        bail!("complete left the upload {}", completed.status);
    }

    let report = serde_json::json!({
        "parts": plan.parts,
        "completeParts": plan.complete_parts,
        "create": create,
        "get": get,
        "complete": complete,
        "sendSeconds": send_seconds,
        "sentBytes": u64::from(plan.complete_parts) * MIN_PART_SIZE,
        "getManyMedianSeconds": many_get,
        "getManyBytes": many_len,
        "getOneMedianSeconds": one_get,
        "getOneBytes": one_len,
        "serverRssKib": status_kib(pid, "VmRSS:")?,
    });
    println!("{report}");
    Ok(())
}
