//! [`Client`]: the API's calls, one method each, with credentials, project, timeouts and
//! retries of the requests that are safe to repeat.

use crate::error::{ApiError, Error, Result};
use crate::retry::RetryPolicy;
use intake_api::{
    ActionRequest, Asset, AssetResponse, DryRunResponse, Model, ModelResponse, Project, ProjectList, Upload,
    UploadList, UploadResponse,
};
use reqwest::{Method, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;

/// An API key and its secret (HTTP Basic on every `/v1` call).
#[derive(Clone)]
pub struct Credentials {
    pub api_key: String,
    pub api_secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("api_key", &self.api_key).field("api_secret", &"…").finish()
    }
}

/// A connection to an Uploads API server. Cheap to clone; clones share connections.
#[derive(Debug, Clone)]
pub struct Client {
    pub(crate) http: reqwest::Client,
    /// Server root without `/v1` and without a trailing slash.
    base: String,
    credentials: Option<Credentials>,
    project_id: Option<String>,
    pub(crate) retry: RetryPolicy,
    pub(crate) idle_timeout: Duration,
    pub(crate) response_timeout: Duration,
}

/// Settings of a [`Client`] (see [`Client::builder`]).
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    base_url: String,
    credentials: Option<Credentials>,
    project_id: Option<String>,
    retry: RetryPolicy,
    connect_timeout: Duration,
    request_timeout: Duration,
    idle_timeout: Duration,
    user_agent: String,
}

impl ClientBuilder {
    /// API key and secret.
    pub fn credentials(mut self, api_key: impl Into<String>, api_secret: impl Into<String>) -> Self {
        self.credentials = Some(Credentials { api_key: api_key.into(), api_secret: api_secret.into() });
        self
    }

    /// The project every call acts in (`?projectId=`); default: the key's own project.
    pub fn project_id(mut self, project: Option<String>) -> Self {
        self.project_id = project;
        self
    }

    /// How requests that failed for a reason a retry may fix are retried.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Longest wait for a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Longest wait for an API call's answer (default 60 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// A part PUT that moves no byte for this long is abandoned and retried (default 60 s).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// The `User-Agent` header.
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = agent.into();
        self
    }

    /// The client. Fails only on a base URL that is not `http(s)://…`.
    pub fn build(self) -> Result<Client> {
        let trimmed = self.base_url.trim().trim_end_matches('/');
        let base = trimmed.strip_suffix("/v1").unwrap_or(trimmed).to_string();
        let parsed = reqwest::Url::parse(&base)
            .map_err(|e| Error::Invalid(format!("server URL {:?} is not a URL: {e}", self.base_url)))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(Error::Invalid(format!("server URL {:?} must start with http:// or https://", self.base_url)));
        }
        let http = reqwest::Client::builder()
            .user_agent(self.user_agent)
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.idle_timeout)
            // Part URLs are signed for one place: never follow a redirect with their bytes.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Invalid(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            http,
            base,
            credentials: self.credentials,
            project_id: self.project_id,
            retry: self.retry,
            idle_timeout: self.idle_timeout,
            response_timeout: self.request_timeout,
        })
    }
}

/// How [`Client::wait`] polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOptions {
    /// Give up after this long (default: one day).
    pub timeout: Duration,
    /// The first poll comes this soon; then each comes a quarter of the time waited so far
    /// after the last (never sooner than this, never later than `max_interval`), so the
    /// news of `imported` arrives at most a quarter late (default 25 ms: a local-disk import
    /// takes tens of milliseconds, and a wait of a second costs about sixteen `GET`s).
    pub min_interval: Duration,
    /// The slowest polling (default 2 s, what Scenario's clients use).
    pub max_interval: Duration,
}

impl WaitOptions {
    /// How long to sleep before the next poll, `waited` after the first: a quarter of it,
    /// within `min_interval..=max_interval`.
    fn interval_after(&self, waited: Duration) -> Duration {
        (waited / 4).clamp(self.min_interval, self.max_interval.max(self.min_interval))
    }
}

impl Default for WaitOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(24 * 3600),
            min_interval: Duration::from_millis(25),
            max_interval: Duration::from_secs(2),
        }
    }
}

/// What [`Client::list_uploads`] asks for; every field is optional. It is the contract's
/// query type, the one the server reads.
pub type ListUploadsOptions = intake_api::ListUploadsQuery;

/// The server's receipt for a part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartReceipt {
    /// The HTTP status (any 2xx).
    pub status: u16,
    /// The part's `ETag` (quoted MD5 of its bytes), when the store sent one.
    pub etag: Option<String>,
}

impl Client {
    /// Settings for a client of the server at `base_url` (`http://host:port`, with or
    /// without the trailing `/v1`).
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            credentials: None,
            project_id: None,
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            user_agent: format!("intake-client/{}", env!("CARGO_PKG_VERSION")),
        }
    }

    /// A client of `base_url` with a key and secret, and default settings.
    pub fn new(base_url: &str, api_key: &str, api_secret: &str) -> Result<Self> {
        Self::builder(base_url).credentials(api_key, api_secret).build()
    }

    /// A client configured from the environment: the server from `INTAKE_URL` or
    /// `SCENARIO_BASE_URL` (default `http://127.0.0.1:8080`), the key from `INTAKE_API_KEY`
    /// or `SCENARIO_API_KEY`, the secret from `INTAKE_API_SECRET` or `SCENARIO_API_SECRET`,
    /// the project from `INTAKE_PROJECT_ID` (optional). intake's names win over Scenario's.
    pub fn from_env() -> Result<Self> {
        let var = |names: &[&str]| names.iter().find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()));
        let base = var(&["INTAKE_URL", "SCENARIO_BASE_URL"]).unwrap_or_else(|| "http://127.0.0.1:8080".into());
        let key = var(&["INTAKE_API_KEY", "SCENARIO_API_KEY"])
            .ok_or_else(|| Error::Invalid("no API key: set INTAKE_API_KEY (or SCENARIO_API_KEY)".into()))?;
        let secret = var(&["INTAKE_API_SECRET", "SCENARIO_API_SECRET"])
            .ok_or_else(|| Error::Invalid("no API secret: set INTAKE_API_SECRET (or SCENARIO_API_SECRET)".into()))?;
        Self::builder(base).credentials(key, secret).project_id(var(&["INTAKE_PROJECT_ID"])).build()
    }

    /// The server root this client talks to (without `/v1`).
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The project calls act in, if one was chosen.
    pub fn project_id(&self) -> Option<&str> {
        self.project_id.as_deref()
    }

    /// The same client acting in another project.
    pub fn with_project(&self, project: Option<String>) -> Self {
        Self { project_id: project, ..self.clone() }
    }

    /// `POST /v1/uploads`. `body` is usually a [`intake_api::CreateUploadRequest`]; any
    /// serializable body is sent as it is (e.g. fields this SDK does not know yet). Retried
    /// only when nothing can have been created (no connection, 429).
    pub async fn create_upload<B: Serialize + ?Sized>(&self, body: &B) -> Result<Upload> {
        let response: UploadResponse =
            self.call(Method::POST, &["uploads"], &[], Some(body), Repeat::IfNotReceived, "create upload").await?;
        Ok(response.upload)
    }

    /// `POST /v1/uploads?dryRun=true`: what the upload would cost; nothing is created.
    pub async fn dry_run<B: Serialize + ?Sized>(&self, body: &B) -> Result<DryRunResponse> {
        self.call(Method::POST, &["uploads"], &[("dryRun", "true")], Some(body), Repeat::Always, "dry run").await
    }

    /// `GET /v1/uploads/{id}`; while `pending`, with freshly signed part URLs.
    pub async fn get_upload(&self, id: &str) -> Result<Upload> {
        let response: UploadResponse =
            self.call(Method::GET, &["uploads", id], &[], None::<&()>, Repeat::Always, "get upload").await?;
        Ok(response.upload)
    }

    /// `GET /v1/uploads` (an intake extension of the API): one page of the project's
    /// uploads, newest first, without part URLs. Read the next page by passing
    /// `next_pagination_token` back as `pagination_token`.
    pub async fn list_uploads(&self, options: &ListUploadsOptions) -> Result<UploadList> {
        let pairs = options.to_pairs();
        let query: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.call(Method::GET, &["uploads"], &query, None::<&()>, Repeat::Always, "list uploads").await
    }

    /// `GET /v1/projects`, every page (100 pages of 100 at most): the ids of the projects
    /// this key may act for, its default first.
    pub async fn list_projects(&self) -> Result<Vec<String>> {
        Ok(self.list_project_objects().await?.into_iter().map(|p| p.id).collect())
    }

    /// `GET /v1/projects`, every page (100 pages of 100 at most): the projects this key may
    /// act for, its default first, with the keys it may see.
    pub async fn list_project_objects(&self) -> Result<Vec<Project>> {
        let mut projects = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..100 {
            let mut query = vec![("pageSize", "100")];
            if let Some(t) = &token {
                query.push(("paginationToken", t.as_str()));
            }
            let page: ProjectList =
                self.call(Method::GET, &["projects"], &query, None::<&()>, Repeat::Always, "list projects").await?;
            projects.extend(page.projects);
            match page.next_pagination_token {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        Ok(projects)
    }

    /// `POST /v1/uploads/{id}/action` with `{"action": "complete"}`. Idempotent: calling it
    /// again returns the current state.
    pub async fn complete_upload(&self, id: &str) -> Result<Upload> {
        self.action(id, "complete").await
    }

    /// `POST /v1/uploads/{id}/action` with any action name (only `complete` exists today).
    pub async fn action(&self, id: &str, action: &str) -> Result<Upload> {
        let body = ActionRequest { action: action.to_string() };
        let response: UploadResponse =
            self.call(Method::POST, &["uploads", id, "action"], &[], Some(&body), Repeat::Always, action).await?;
        Ok(response.upload)
    }

    /// `GET /v1/assets/{id}`.
    pub async fn get_asset(&self, id: &str) -> Result<Asset> {
        let response: AssetResponse =
            self.call(Method::GET, &["assets", id], &[], None::<&()>, Repeat::Always, "get asset").await?;
        Ok(response.asset)
    }

    /// `GET /v1/models/{id}`.
    pub async fn get_model(&self, id: &str) -> Result<Model> {
        let response: ModelResponse =
            self.call(Method::GET, &["models", id], &[], None::<&()>, Repeat::Always, "get model").await?;
        Ok(response.model)
    }

    /// Polls `GET /v1/uploads/{id}` until the upload is `imported` or `failed`, calling
    /// `on_status` with each state read. A `failed` upload is returned, not an error: look
    /// at its `status` and `errorMessage`.
    pub async fn wait(&self, id: &str, options: WaitOptions, on_status: impl Fn(&Upload)) -> Result<Upload> {
        let started = tokio::time::Instant::now();
        let mut interval = options.min_interval;
        loop {
            let upload = self.get_upload(id).await?;
            on_status(&upload);
            if upload.status.is_terminal() {
                return Ok(upload);
            }
            if started.elapsed() >= options.timeout {
                return Err(Error::WaitTimeout {
                    id: id.to_string(),
                    status: upload.status,
                    waited: started.elapsed(),
                });
            }
            tokio::time::sleep(interval).await;
            interval = options.interval_after(started.elapsed());
        }
    }

    /// Downloads a file URL (an asset's `url`) to `path`, through a temporary file renamed
    /// into place once complete; returns the bytes written.
    pub async fn download(&self, url: &str, path: &std::path::Path) -> Result<u64> {
        use futures_util::StreamExt;
        use tokio::io::AsyncWriteExt;
        let response = self.http.get(url).send().await.map_err(|e| Error::transport("download", e))?;
        let response = check(response, "download").await?;
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        let tmp = dir.join(format!(
            ".{}.part-{}",
            path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default(),
            std::process::id()
        ));
        let mut file = tokio::fs::File::create(&tmp).await.map_err(|e| Error::io(&tmp, e))?;
        let mut written = 0u64;
        let mut body = response.bytes_stream();
        let result = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| Error::transport("download", e))?;
                file.write_all(&chunk).await.map_err(|e| Error::io(&tmp, e))?;
                written += chunk.len() as u64;
            }
            file.sync_all().await.map_err(|e| Error::io(&tmp, e))?;
            tokio::fs::rename(&tmp, path).await.map_err(|e| Error::io(path, e))
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result.map(|()| written)
    }

    /// The URL of an API path: `/v1/` + the percent-encoded segments.
    pub(crate) fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> reqwest::Url {
        let mut url = reqwest::Url::parse(&self.base).expect("checked at build");
        url.path_segments_mut().expect("http(s) URL").pop_if_empty().push("v1").extend(segments);
        {
            let mut pairs = url.query_pairs_mut();
            if let Some(project) = &self.project_id {
                pairs.append_pair("projectId", project);
            }
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        url
    }

    fn authorized(&self, request: RequestBuilder) -> RequestBuilder {
        match &self.credentials {
            Some(c) => request.basic_auth(&c.api_key, Some(&c.api_secret)),
            None => request,
        }
    }

    async fn call<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<&B>,
        repeat: Repeat,
        context: &str,
    ) -> Result<T> {
        let url = self.url(segments, query);
        let mut attempt = 1;
        loop {
            let mut request = self.authorized(self.http.request(method.clone(), url.clone()));
            request = request.timeout(self.response_timeout);
            if let Some(body) = body {
                request = request.json(body);
            }
            let result = match request.send().await {
                Ok(response) => match check(response, context).await {
                    Ok(response) => return parse(response, context).await,
                    Err(e) => e,
                },
                Err(e) => Error::transport(context, e),
            };
            let may_repeat = match repeat {
                Repeat::Always => result.is_retryable(),
                Repeat::IfNotReceived => match &result {
                    Error::Api(api) => api.status == 429,
                    Error::Transport { source, .. } => source.is_connect(),
                    _ => false,
                },
            };
            if !may_repeat || attempt >= self.retry.max_attempts {
                return Err(result);
            }
            let wait = self.retry.delay(attempt, result.api().and_then(|a| a.retry_after));
            tracing::debug!(%context, attempt, ?wait, error = %result, "retrying");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

/// Which failed requests may be sent again.
#[derive(Clone, Copy)]
enum Repeat {
    /// Idempotent requests: any retryable error.
    Always,
    /// Requests that must not run twice: only when the server cannot have acted.
    IfNotReceived,
}

/// Turns an error status into [`ApiError`], reading the API's JSON error body.
pub(crate) async fn check(response: Response, context: &str) -> Result<Response> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let text = response.text().await.map_err(|e| Error::transport(context, e))?;
    let body: Option<intake_api::ErrorBody> = serde_json::from_str(&text).ok();
    let reason = match &body {
        Some(b) => b.reason.clone(),
        None if !text.trim().is_empty() => text.trim().chars().take(500).collect(),
        None => status.canonical_reason().unwrap_or("error").to_string(),
    };
    Err(Error::Api(ApiError {
        status: status.as_u16(),
        reason,
        trace_id: body.as_ref().map(|b| b.trace_id.clone()).filter(|t| !t.is_empty()),
        code: body.and_then(|b| b.code),
        retry_after,
    }))
}

async fn parse<T: DeserializeOwned>(response: Response, context: &str) -> Result<T> {
    let bytes = response.bytes().await.map_err(|e| Error::transport(context, e))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::InvalidResponse { context: context.to_string(), message: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_come_a_quarter_of_the_wait_apart_within_the_bounds() {
        let options = WaitOptions::default();
        let ms = Duration::from_millis;
        // Simulate the schedule: when does a wait notice an upload that ended at `done`?
        let noticed = |done: Duration| {
            let (mut at, mut interval) = (Duration::ZERO, options.min_interval);
            while at < done {
                at += interval;
                interval = options.interval_after(at);
            }
            at
        };
        for done in [ms(30), ms(100), ms(900), ms(3_500), ms(10_000), ms(60_000)] {
            let late = noticed(done) - done;
            assert!(late <= (done / 4).max(options.min_interval).min(options.max_interval), "{done:?}: {late:?} late");
        }
        // What a wait costs the server: the GETs made until `done`, the first one included.
        let polls = |done: Duration| {
            let (mut at, mut interval, mut n) = (Duration::ZERO, options.min_interval, 1);
            while at < done {
                at += interval;
                n += 1;
                interval = options.interval_after(at);
            }
            n
        };
        assert!(polls(Duration::from_secs(1)) <= 16, "{}", polls(Duration::from_secs(1)));
        assert!(polls(Duration::from_secs(60)) <= 52, "{}", polls(Duration::from_secs(60)));
        // An hour is polled every 2 s, as Scenario's clients do: not many more than 1,800.
        assert!(polls(Duration::from_secs(3600)) <= 1_825, "{}", polls(Duration::from_secs(3600)));
        assert_eq!(options.interval_after(Duration::ZERO), ms(25));
        assert_eq!(options.interval_after(Duration::from_secs(3600)), Duration::from_secs(2));
        // A maximum below the minimum does not panic: the minimum wins.
        let odd = WaitOptions { min_interval: ms(500), max_interval: ms(100), ..options };
        assert_eq!(odd.interval_after(Duration::from_secs(10)), ms(500));
    }

    #[test]
    fn urls_keep_ids_in_one_segment_and_accept_scenario_style_bases() {
        let client = Client::builder("https://api.cloud.scenario.com/v1/").build().unwrap();
        assert_eq!(client.base_url(), "https://api.cloud.scenario.com");
        assert_eq!(
            client.url(&["uploads", "a/../b"], &[]).as_str(),
            "https://api.cloud.scenario.com/v1/uploads/a%2F..%2Fb"
        );
        let client = client.with_project(Some("proj 1".into()));
        assert_eq!(
            client.url(&["uploads"], &[("dryRun", "true")]).as_str(),
            "https://api.cloud.scenario.com/v1/uploads?projectId=proj+1&dryRun=true"
        );
        assert!(Client::builder("ftp://x").build().is_err());
        assert!(Client::builder("localhost:8080").build().is_err());
    }
}
