//! `intake-bench latency`: the request latencies of target 10 (growth). A few concurrent
//! clients issue a fixed number of each request, and the command reports p50 and p99 of each
//! (computed here from every latency, after a short warm-up that is not counted):
//! - `get`: `GET /v1/uploads/{id}` of the ids in `--ids` (imported uploads of the project,
//!   `intake-bench seed --sample-ids`), each asked once (warm-up included): at most
//!   `--requests`, fewer when the file holds fewer ids. Give both sizes the same number of
//!   ids and each size measures the same number of distinct rows, none of them cached by an
//!   earlier GET;
//! - `listFirst`: the first page of `GET /v1/uploads`;
//! - `listFailed`: the first page of `GET /v1/uploads?status=failed`;
//! - `listDeep`: page `--deep-page` of `GET /v1/uploads?pageSize=1`, reached by following
//!   `paginationToken` from the first page (so it is that many rows deep at every size);
//! - `metrics`: `GET /metrics`, one client;
//! - `post`: `POST /v1/uploads` (an asset of 100 MiB in 10 parts), last, so the uploads it
//!   creates are not in the pages measured before.
//!
//! Requests go to `INTAKE_URL` with `INTAKE_API_KEY` / `INTAKE_API_SECRET` (the key's
//! default project is the one measured); any answer but 200 stops the command.

use anyhow::{bail, Context, Result};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Requests issued before each measurement and not counted.
const WARM_UP: usize = 20;
/// The most requests of one kind (memory for their latencies).
const MAX_REQUESTS: usize = 1_000_000;
/// The deepest page walked to.
const MAX_DEEP_PAGE: usize = 100_000;

/// What to measure, and how hard.
pub struct Options {
    pub requests: usize,
    pub clients: usize,
    pub ids: std::path::PathBuf,
    pub deep_page: usize,
}

/// p50 and p99 of `latencies`, in milliseconds.
fn percentiles(mut latencies: Vec<Duration>) -> serde_json::Value {
    latencies.sort_unstable();
    let at = |q: f64| {
        let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i].as_secs_f64() * 1000.0
    };
    serde_json::json!({"n": latencies.len(), "p50Ms": at(0.50), "p99Ms": at(0.99)})
}

/// One kind of request, built from its sequence number.
type MakeRequest = Arc<dyn Fn(&reqwest::Client, usize) -> reqwest::RequestBuilder + Send + Sync>;

struct Target {
    base: String,
    key: String,
    secret: String,
    http: reqwest::Client,
}

impl Target {
    fn authed(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.basic_auth(&self.key, Some(&self.secret))
    }

    /// Sends `request` and returns its body; fails unless the answer is 200.
    async fn send(request: reqwest::RequestBuilder) -> Result<bytes::Bytes> {
        let response = request.send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        if status != reqwest::StatusCode::OK {
            bail!("answered {status}: {}", String::from_utf8_lossy(&body));
        }
        Ok(body)
    }

    /// `count` requests made by `make`, from `clients` clients at once; their latencies.
    async fn measure(&self, count: usize, clients: usize, make: MakeRequest) -> Result<Vec<Duration>> {
        for n in 0..WARM_UP {
            Self::send(make(&self.http, n)).await?;
        }
        let next = Arc::new(AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..clients.max(1) {
            let (next, make, http) = (next.clone(), make.clone(), self.http.clone());
            tasks.spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= count {
                        return Ok::<_, anyhow::Error>(latencies);
                    }
                    let start = Instant::now();
                    Self::send(make(&http, WARM_UP + n)).await?;
                    latencies.push(start.elapsed());
                }
            });
        }
        let mut all = Vec::with_capacity(count);
        while let Some(done) = tasks.join_next().await {
            all.extend(done??);
        }
        Ok(all)
    }
}

/// Runs the measurements (see the module's documentation) and prints them as one JSON object.
pub async fn run(options: Options) -> Result<()> {
    if options.requests == 0 || options.requests > MAX_REQUESTS {
        bail!("--requests must be 1 to {MAX_REQUESTS}");
    }
    if options.deep_page == 0 || options.deep_page > MAX_DEEP_PAGE {
        bail!("--deep-page must be 1 to {MAX_DEEP_PAGE}");
    }
    let env = |name: &str| std::env::var(name).with_context(|| format!("{name} is not set"));
    let target = Arc::new(Target {
        base: env("INTAKE_URL")?.trim_end_matches('/').to_string(),
        key: env("INTAKE_API_KEY")?,
        secret: env("INTAKE_API_SECRET")?,
        http: reqwest::Client::builder().pool_max_idle_per_host(64).build()?,
    });
    let text = std::fs::read_to_string(&options.ids).with_context(|| format!("{}", options.ids.display()))?;
    let ids: Arc<Vec<String>> = Arc::new(text.lines().filter(|l| !l.is_empty()).map(str::to_string).collect());
    if ids.is_empty() {
        bail!("{} holds no upload id", options.ids.display());
    }

    // The deep page: follow the tokens, one row a page.
    let mut token: Option<String> = None;
    for _ in 1..options.deep_page {
        let mut url = reqwest::Url::parse(&format!("{}/v1/uploads", target.base))?;
        url.query_pairs_mut().append_pair("pageSize", "1");
        if let Some(t) = &token {
            url.query_pairs_mut().append_pair("paginationToken", t);
        }
        let body = Target::send(target.authed(target.http.get(url))).await?;
        let page: serde_json::Value = serde_json::from_slice(&body)?;
        token = page["nextPaginationToken"].as_str().map(str::to_string);
        if token.is_none() {
            bail!("the listing ends before page {}", options.deep_page);
        }
    }
    let deep_url = {
        let mut url = reqwest::Url::parse(&format!("{}/v1/uploads", target.base))?;
        url.query_pairs_mut().append_pair("pageSize", "1");
        if let Some(t) = &token {
            url.query_pairs_mut().append_pair("paginationToken", t);
        }
        url
    };

    let (n, c) = (options.requests, options.clients);
    let mut report = serde_json::Map::new();
    let t = target.clone();
    // Each id once: the warm-up takes the first ones, the measurement the rest.
    let gets = n.min(ids.len().saturating_sub(WARM_UP));
    if gets == 0 {
        bail!("{} holds {} ids: more than {WARM_UP} are needed", options.ids.display(), ids.len());
    }
    let get: MakeRequest = Arc::new(move |http, i| {
        let id = &ids[i % ids.len()];
        t.authed(http.get(format!("{}/v1/uploads/{id}", t.base)))
    });
    report.insert("get".into(), percentiles(target.measure(gets, c, get).await.context("GET /v1/uploads/{id}")?));
    let (t, url) = (target.clone(), format!("{}/v1/uploads", target.base));
    let first: MakeRequest = Arc::new(move |http, _| t.authed(http.get(url.as_str())));
    report.insert("listFirst".into(), percentiles(target.measure(n, c, first).await.context("the first page")?));
    let (t, url) = (target.clone(), format!("{}/v1/uploads?status=failed", target.base));
    let failed: MakeRequest = Arc::new(move |http, _| t.authed(http.get(url.as_str())));
    report.insert("listFailed".into(), percentiles(target.measure(n, c, failed).await.context("?status=failed")?));
    let t = target.clone();
    let deep: MakeRequest = Arc::new(move |http, _| t.authed(http.get(deep_url.clone())));
    report.insert("listDeep".into(), percentiles(target.measure(n, c, deep).await.context("the deep page")?));
    let url = format!("{}/metrics", target.base);
    let metrics: MakeRequest = Arc::new(move |http, _| http.get(url.as_str()));
    let metrics_count = n.min(200);
    report.insert("metrics".into(), percentiles(target.measure(metrics_count, 1, metrics).await.context("/metrics")?));
    let (t, url) = (target.clone(), format!("{}/v1/uploads", target.base));
    let body = serde_json::json!({
        "fileName": "growth.bin", "contentType": "application/octet-stream",
        "fileSize": 104_857_600u64, "parts": 10, "kind": "asset",
    });
    let post: MakeRequest = Arc::new(move |http, _| t.authed(http.post(url.as_str()).json(&body)));
    report.insert("post".into(), percentiles(target.measure(n, c, post).await.context("POST /v1/uploads")?));
    println!("{}", serde_json::Value::Object(report));
    Ok(())
}
