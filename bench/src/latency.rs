//! `intake-bench latency`: the request latencies of target 10 (growth). A few concurrent
//! clients issue a fixed number of each request to each server named by `--server`, and the
//! command reports p50 and p99 of each, per server (computed here from every latency, after a
//! short warm-up that is not counted):
//! - `get`: `GET /v1/uploads/{id}` of the server's ids (imported uploads of the project,
//!   `intake-bench seed --sample-ids`), each asked once (warm-up included): at most
//!   `--requests`, fewer when the file holds fewer ids. Give every server the same number of
//!   ids and each measures the same number of distinct rows, none of them cached by an
//!   earlier GET;
//! - `listFirst`: the first page of `GET /v1/uploads`;
//! - `listFailed`: the first page of `GET /v1/uploads?status=failed`;
//! - `listDeep`: page `--deep-page` of `GET /v1/uploads?pageSize=1`, reached by following
//!   `paginationToken` from the first page (so it is that many rows deep at every size);
//! - `metrics`: `GET /metrics`, one client;
//! - `post`: `POST /v1/uploads` (an asset of 100 MiB in 10 parts), last, so the uploads it
//!   creates are not in the pages measured before.
//!
//! **Servers are measured together, request by request in turn** (the first server's first
//! request, the second's first, the first's second, ...): what the machine does meanwhile
//! (another tenant's burst, a page-cache writeback) falls on every server alike, so a ratio
//! of two servers' percentiles measures the servers, not the minute each was measured in.
//! On a shared 2-core machine measuring one server after the other moved a p99 by 2x from one
//! run to the next (BENCHMARKS.md, target 10).
//!
//! Requests carry `INTAKE_API_KEY` / `INTAKE_API_SECRET` (each server's default project for
//! that key is the one measured); any answer but 200 stops the command.

use anyhow::{bail, Context, Result};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Requests issued to each server before each measurement and not counted.
const WARM_UP: usize = 20;
/// The most requests of one kind to one server (memory for their latencies).
const MAX_REQUESTS: usize = 1_000_000;
/// The deepest page walked to.
const MAX_DEEP_PAGE: usize = 100_000;
/// The most servers measured together.
const MAX_SERVERS: usize = 8;

/// One server to measure: `NAME,URL,IDS` on the command line.
#[derive(Clone, Debug)]
pub struct ServerArg {
    pub name: String,
    pub url: String,
    pub ids: std::path::PathBuf,
}

impl std::str::FromStr for ServerArg {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let mut fields = text.splitn(3, ',');
        match (fields.next(), fields.next(), fields.next()) {
            (Some(name), Some(url), Some(ids)) if !name.is_empty() && !url.is_empty() && !ids.is_empty() => {
                Ok(Self { name: name.to_string(), url: url.trim_end_matches('/').to_string(), ids: ids.into() })
            }
            _ => Err(format!("expected NAME,URL,IDS_FILE, got {text:?}")),
        }
    }
}

/// What to measure, and how hard.
pub struct Options {
    pub requests: usize,
    pub clients: usize,
    pub servers: Vec<ServerArg>,
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

/// One kind of request to one server, built from its sequence number.
type MakeRequest = Arc<dyn Fn(&reqwest::Client, usize) -> reqwest::RequestBuilder + Send + Sync>;

/// A server being measured.
struct Server {
    base: String,
    ids: Vec<String>,
    /// The URL of page `--deep-page`, found by walking the listing.
    deep_url: reqwest::Url,
}

struct Bench {
    key: String,
    secret: String,
    http: reqwest::Client,
}

impl Bench {
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

    /// `count` requests to each server, made by that server's `makes` entry, in turn across
    /// the servers, from `clients` clients at once; each server's latencies.
    async fn measure(&self, count: usize, clients: usize, makes: &[MakeRequest]) -> Result<Vec<Vec<Duration>>> {
        for n in 0..WARM_UP {
            for make in makes {
                Self::send(make(&self.http, n)).await?;
            }
        }
        let servers = makes.len();
        let next = Arc::new(AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..clients.max(1) {
            let (next, makes, http) = (next.clone(), makes.to_vec(), self.http.clone());
            tasks.spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= count * servers {
                        return Ok::<_, anyhow::Error>(latencies);
                    }
                    let (server, sequence) = (n % servers, n / servers);
                    let start = Instant::now();
                    Self::send(makes[server](&http, WARM_UP + sequence)).await?;
                    latencies.push((server, start.elapsed()));
                }
            });
        }
        let mut all = vec![Vec::with_capacity(count); servers];
        while let Some(done) = tasks.join_next().await {
            for (server, latency) in done?? {
                all[server].push(latency);
            }
        }
        Ok(all)
    }

    /// The URL of page `deep_page` of `base`'s listing, one row a page.
    async fn deep_page_url(&self, base: &str, deep_page: usize) -> Result<reqwest::Url> {
        let page_url = |token: Option<&str>| -> Result<reqwest::Url> {
            let mut url = reqwest::Url::parse(&format!("{base}/v1/uploads"))?;
            url.query_pairs_mut().append_pair("pageSize", "1");
            if let Some(t) = token {
                url.query_pairs_mut().append_pair("paginationToken", t);
            }
            Ok(url)
        };
        let mut token: Option<String> = None;
        for _ in 1..deep_page {
            let body = Self::send(self.authed(self.http.get(page_url(token.as_deref())?))).await?;
            let page: serde_json::Value = serde_json::from_slice(&body)?;
            token = page["nextPaginationToken"].as_str().map(str::to_string);
            if token.is_none() {
                bail!("the listing of {base} ends before page {deep_page}");
            }
        }
        page_url(token.as_deref())
    }
}

/// Runs the measurements (see the module's documentation) and prints them as one JSON object
/// keyed by server name.
pub async fn run(options: Options) -> Result<()> {
    if options.requests == 0 || options.requests > MAX_REQUESTS {
        bail!("--requests must be 1 to {MAX_REQUESTS}");
    }
    if options.deep_page == 0 || options.deep_page > MAX_DEEP_PAGE {
        bail!("--deep-page must be 1 to {MAX_DEEP_PAGE}");
    }
    if options.servers.is_empty() || options.servers.len() > MAX_SERVERS {
        bail!("give 1 to {MAX_SERVERS} --server");
    }
    let env = |name: &str| std::env::var(name).with_context(|| format!("{name} is not set"));
    let bench = Arc::new(Bench {
        key: env("INTAKE_API_KEY")?,
        secret: env("INTAKE_API_SECRET")?,
        http: reqwest::Client::builder().pool_max_idle_per_host(64).build()?,
    });
    let mut servers = Vec::new();
    for arg in &options.servers {
        let text = std::fs::read_to_string(&arg.ids).with_context(|| format!("{}", arg.ids.display()))?;
        let ids: Vec<String> = text.lines().filter(|l| !l.is_empty()).map(str::to_string).collect();
        if ids.len() <= WARM_UP {
            bail!("{} holds {} ids: more than {WARM_UP} are needed", arg.ids.display(), ids.len());
        }
        let deep_url = bench.deep_page_url(&arg.url, options.deep_page).await?;
        servers.push(Arc::new(Server { base: arg.url.clone(), ids, deep_url }));
    }

    let (n, c) = (options.requests, options.clients);
    let mut results: Vec<serde_json::Map<String, serde_json::Value>> = vec![serde_json::Map::new(); servers.len()];
    let mut record = |what: &str, latencies: Vec<Vec<Duration>>| {
        for (result, latencies) in results.iter_mut().zip(latencies) {
            result.insert(what.to_string(), percentiles(latencies));
        }
    };
    // One request builder per server from `make`.
    let each = |make: &dyn Fn(Arc<Server>) -> MakeRequest| -> Vec<MakeRequest> {
        servers.iter().map(|s| make(s.clone())).collect()
    };
    // Each id once: the warm-up takes the first ones, the measurement the rest.
    let fewest_ids = servers.iter().map(|s| s.ids.len()).min().unwrap_or(0);
    let gets = n.min(fewest_ids - WARM_UP);
    let b = &bench;
    let get = each(&|s| {
        let b = b.clone();
        Arc::new(move |http, i| b.authed(http.get(format!("{}/v1/uploads/{}", s.base, s.ids[i % s.ids.len()]))))
    });
    record("get", bench.measure(gets, c, &get).await.context("GET /v1/uploads/{id}")?);
    let first = each(&|s| {
        let (b, url) = (b.clone(), format!("{}/v1/uploads", s.base));
        Arc::new(move |http, _| b.authed(http.get(url.as_str())))
    });
    record("listFirst", bench.measure(n, c, &first).await.context("the first page")?);
    let failed = each(&|s| {
        let (b, url) = (b.clone(), format!("{}/v1/uploads?status=failed", s.base));
        Arc::new(move |http, _| b.authed(http.get(url.as_str())))
    });
    record("listFailed", bench.measure(n, c, &failed).await.context("?status=failed")?);
    let deep = each(&|s| {
        let b = b.clone();
        Arc::new(move |http, _| b.authed(http.get(s.deep_url.clone())))
    });
    record("listDeep", bench.measure(n, c, &deep).await.context("the deep page")?);
    let metrics = each(&|s| {
        let url = format!("{}/metrics", s.base);
        Arc::new(move |http, _| http.get(url.as_str()))
    });
    record("metrics", bench.measure(n.min(200), 1, &metrics).await.context("/metrics")?);
    let body = serde_json::json!({
        "fileName": "growth.bin", "contentType": "application/octet-stream",
        "fileSize": 104_857_600u64, "parts": 10, "kind": "asset",
    });
    let post = each(&|s| {
        let (b, url, body) = (b.clone(), format!("{}/v1/uploads", s.base), body.clone());
        Arc::new(move |http, _| b.authed(http.post(url.as_str()).json(&body)))
    });
    record("post", bench.measure(n, c, &post).await.context("POST /v1/uploads")?);
    let report: serde_json::Map<String, serde_json::Value> = options
        .servers
        .iter()
        .zip(results)
        .map(|(arg, result)| (arg.name.clone(), serde_json::Value::Object(result)))
        .collect();
    println!("{}", serde_json::Value::Object(report));
    Ok(())
}
