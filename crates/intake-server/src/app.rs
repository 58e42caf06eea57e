//! Startup and shutdown: open the stores the configuration names (embedded default or
//! scale-out), load the keys, bind the port, run the HTTP server
//! and the job workers until told to stop.

use crate::config::Config;
use crate::rate_limit::RateLimiter;
use crate::routes::{router, AppState, Shared};
use intake_core::blob::fs::FsStore;
use intake_core::blob::s3::S3Store;
use intake_core::blob::BlobStore;
use intake_core::jobs::{JobRunner, RunnerConfig};
use intake_core::metadata::MetadataStore;
use intake_core::service::auth::CreatedKey;
use intake_core::service::{Authenticator, Service, ServiceConfig};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// A built server: stores open, port bound, not yet serving.
pub struct Application {
    listener: TcpListener,
    local_addr: SocketAddr,
    state: AppState,
    runner: JobRunner,
    created_key: Option<CreatedKey>,
    meta: Arc<dyn MetadataStore>,
    /// The credentials generation read before the keys and secrets were.
    credentials_seen: Vec<u8>,
    /// With the embedded database: the lock that makes this process the data directory's
    /// only server (see [`lock_data_dir`]), held until the server has stopped.
    data_dir_lock: Option<std::fs::File>,
    serve_settings: crate::http::ServeSettings,
}

impl Application {
    /// Opens the stores the configuration names (SQLite and the local disk under
    /// `config.data_dir` by default; PostgreSQL and an S3-compatible bucket when configured),
    /// loads the API keys (creating one on first start) and binds `config.listen`.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let data_dir_lock = match config.database_url {
            None => lock_data_dir(&config.data_dir)?,
            Some(_) => None,
        };
        let meta = open_metadata(&config).await?;
        // Before any worker runs: SQLite re-queues what a previous run left claimed;
        // PostgreSQL leaves other live instances' jobs alone (see `recover_at_startup`).
        let released = meta.recover_at_startup().await?;
        if released > 0 {
            tracing::info!(released, "re-queued jobs left running by the previous run");
        }
        let blobs = open_blobs(&config).await?;

        // Every connection and file in use holds a descriptor.
        if let Some(limit) = crate::http::raise_open_file_limit() {
            tracing::debug!(limit, "open-file limit");
            if (limit as usize) < config.max_connections.saturating_mul(2) {
                tracing::warn!(
                    limit,
                    max_connections = config.max_connections,
                    "the open-file limit is low for INTAKE_MAX_CONNECTIONS (a connection with a part in flight holds two descriptors); raise the hard limit (ulimit -Hn) or lower the setting"
                );
            }
        }
        let serve_settings = crate::http::ServeSettings {
            max_connections: config.max_connections,
            timeouts: crate::http::Timeouts {
                header_read: config.header_read_timeout,
                keepalive: config.keepalive_timeout,
            },
        };
        let listener = TcpListener::bind(config.listen).await?;
        let local_addr = listener.local_addr()?;
        let public_url = config.public_url.clone().unwrap_or_else(|| default_public_url(local_addr));
        let service_config = ServiceConfig {
            links: Arc::new(crate::links::RouteLinks::new(&public_url)),
            part_url_ttl: config.part_url_ttl,
            file_url_ttl: config.file_url_ttl,
            upload_ttl: config.upload_ttl,
            import: config.import.clone(),
            max_file_size: config.max_file_size,
            max_pending_uploads: config.max_pending_uploads,
            project_quota_bytes: config.project_quota_bytes,
            min_free_bytes: config.min_free_bytes,
            // The disk that holds the SQLite database or the stored files, if either is local.
            local_dir: (config.database_url.is_none() || config.s3.is_none()).then(|| config.data_dir.clone()),
            validate_timeout: config.validate_timeout,
            pickle_policy: config.pickle_policy.clone(),
            thumbnails: config.thumbnails,
        };
        // The page PUTs parts and loads previews from where intake's URLs point: intake's
        // public URL, and the object store's endpoint when parts go straight to it.
        let mut page_origins: Vec<String> = crate::routes::web::origin_of(&public_url).into_iter().collect();
        if let Some(s3) = &config.s3 {
            page_origins.extend(store_origin(s3));
        }
        let web_csp = crate::routes::web::content_security_policy(&page_origins);
        let credentials_seen = meta.credentials_generation().await?;
        let service = Arc::new(Service::new(meta.clone(), blobs, service_config).await?);
        // With SQLite this is the only process, and it has not started serving: nothing is in
        // flight. With PostgreSQL other instances may be serving and working right now.
        let scope = match config.database_url {
            None => intake_core::service::SweepScope::OnlyProcessStarting,
            Some(_) => intake_core::service::SweepScope::Running,
        };
        let swept = service.sweep_orphans(scope).await?;
        if swept != Default::default() {
            tracing::info!(?swept, "removed what the previous run left behind");
        }
        let (auth, created_key) = Authenticator::load(meta.as_ref(), &config.api_keys).await?;
        // Sweep often enough that an upload expires at most a quarter of its TTL late.
        let sweep_interval =
            (config.upload_ttl / 4).clamp(std::time::Duration::from_millis(200), std::time::Duration::from_secs(60));
        let runner_config = RunnerConfig {
            workers: config.workers,
            import_workers: config.import_workers,
            max_attempts: config.job_max_attempts,
            lease: config.job_lease,
            sweep_interval,
            shutdown_grace: config.shutdown_grace,
            ..RunnerConfig::default()
        };
        let instance = format!("intake-{}-{}", std::process::id(), intake_core::domain::ids::random_base62(6));
        let runner = JobRunner::new(service.clone(), runner_config, &instance);
        let state = AppState::new(Shared {
            service,
            auth: Arc::new(auth),
            rate_limiter: Arc::new(RateLimiter::new(config.rate_limit_per_second, config.rate_limit_burst)),
            body_idle_timeout: config.body_idle_timeout,
            metrics: Arc::new(crate::metrics::Metrics::default()),
            web_csp: web_csp.into(),
            failed_logins: crate::failed_logins::FailedLogins::new(config.auth_failures_per_minute),
            readiness: Default::default(),
            metrics_token: config.metrics_token.clone(),
        });
        Ok(Self {
            listener,
            local_addr,
            state,
            runner,
            created_key,
            meta,
            credentials_seen,
            data_dir_lock,
            serve_settings,
        })
    }

    /// The address the server is bound to (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The API key created on this first start, if one was; shown once, never again.
    pub fn take_created_key(&mut self) -> Option<CreatedKey> {
        self.created_key.take()
    }

    /// Serves until `shutdown` completes, then stops taking requests and lets in-flight
    /// requests finish; meanwhile the job workers stop: downloads pause at once (what they
    /// stored is kept and resumed on the next start), other jobs get the shutdown grace to
    /// finish their step, and every job not finished is given back (its lease released).
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let refresher = Self::spawn_refresher(self.meta, &self.state, self.credentials_seen, stop_rx.clone());
        let workers = tokio::spawn(self.runner.run(stop_rx));
        Self::serve(self.listener, self.state, self.serve_settings, stop_tx, shutdown).await;
        workers.await?;
        refresher.await?;
        // Only now, with every worker stopped, may another process take the directory.
        drop(self.data_dir_lock);
        Ok(())
    }

    /// Reloads keys and signing secrets whenever another process changes them, until `stop`.
    fn spawn_refresher(
        meta: Arc<dyn MetadataStore>,
        state: &AppState,
        seen: Vec<u8>,
        stop: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(crate::credentials::refresh(meta, state.auth.clone(), state.service.clone(), seen, stop))
    }

    /// Serves HTTP until `shutdown` completes, then tells the workers (through `stop_tx`)
    /// and lets in-flight requests finish.
    async fn serve(
        listener: TcpListener,
        state: AppState,
        serve_settings: crate::http::ServeSettings,
        stop_tx: watch::Sender<bool>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) {
        let service = state.service.clone();
        let app = router(state);
        let stopping = async move {
            shutdown.await;
            service.begin_shutdown();
            let _ = stop_tx.send(true);
        };
        crate::http::serve(listener, app, serve_settings, stopping).await;
    }

    /// Starts serving in the background; the returned handle stops it.
    pub fn spawn(self) -> RunningServer {
        let addr = self.local_addr;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(self.run_until_stopped(async move {
            let _ = rx.await;
        }));
        RunningServer { addr, stop: Some(tx), task, manual_jobs: None }
    }

    /// Starts serving in the background with no job workers and no sweeper: jobs wait in
    /// the queue until [`RunningServer::run_pending_jobs`] runs them, so a test knows when
    /// they have run instead of waiting for it. For tests and embedders only; `intake
    /// serve` always runs its workers.
    pub fn spawn_with_manual_jobs(self) -> RunningServer {
        let addr = self.local_addr;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (stop_tx, stop_rx) = watch::channel(false);
        let refresher = Self::spawn_refresher(self.meta, &self.state, self.credentials_seen, stop_rx);
        let runner = Arc::new(self.runner);
        let (listener, state, serve_settings, data_dir_lock) =
            (self.listener, self.state, self.serve_settings, self.data_dir_lock);
        let task = tokio::spawn(async move {
            Self::serve(listener, state, serve_settings, stop_tx, async move {
                let _ = rx.await;
            })
            .await;
            refresher.await?;
            drop(data_dir_lock);
            Ok(())
        });
        RunningServer { addr, stop: Some(tx), task, manual_jobs: Some(runner) }
    }
}

/// The origin presigned part URLs point at: the endpoint's (path style) or the bucket's own
/// host under it (virtual-host style).
fn store_origin(s3: &intake_core::blob::s3::S3Config) -> Option<String> {
    let origin = crate::routes::web::origin_of(&s3.endpoint)?;
    if s3.path_style {
        return Some(origin);
    }
    let (scheme, host) = origin.split_once("://")?;
    Some(format!("{scheme}://{}.{host}", s3.bucket))
}

/// With the embedded database one process owns the data directory: at start it re-queues
/// the jobs it finds claimed and sweeps part files as a previous run's leftovers, and the
/// SQLite store keeps uploads and pending counts in memory. A second `intake serve` on the
/// same directory would do all of that under the running one; an exclusive lock on
/// `<data_dir>/intake.lock` makes it refuse to start instead. The lock goes with the
/// process, however it ends. A file system without locks gets a warning, not a refusal.
fn lock_data_dir(dir: &std::path::Path) -> anyhow::Result<Option<std::fs::File>> {
    create_private_dir(dir)?;
    let path = dir.join("intake.lock");
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(anyhow::anyhow!(
            "another intake process is serving the data directory {} (it holds {}); stop it, or give this one its own INTAKE_DATA_DIR (several instances share work through PostgreSQL: INTAKE_DATABASE_URL)",
            dir.display(),
            path.display()
        )),
        Err(std::fs::TryLockError::Error(e)) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot lock the data directory; make sure no other intake serves it");
            Ok(None)
        }
    }
}

/// Creates `dir` (and any missing parent) readable by its owner only (0700), unless it exists.
pub fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// The metadata store the configuration names, opened without serving and without touching
/// the jobs (for the commands that manage projects, keys and the schema).
pub async fn open_metadata_store(config: &Config) -> anyhow::Result<Arc<dyn MetadataStore>> {
    open_metadata(config).await
}

/// The stores the configuration names, opened without serving and without touching the
/// jobs (for commands such as `intake models scan` that only read them).
pub async fn open_stores(config: &Config) -> anyhow::Result<(Arc<dyn MetadataStore>, Arc<dyn BlobStore>)> {
    Ok((open_metadata(config).await?, open_blobs(config).await?))
}

/// The metadata store: PostgreSQL when a database URL is configured, else SQLite.
async fn open_metadata(config: &Config) -> anyhow::Result<Arc<dyn MetadataStore>> {
    match &config.database_url {
        Some(url) => {
            let store = intake_core::metadata::SqlStore::connect_postgres_with(
                url,
                config.database_max_connections,
                config.schema,
            )
            .await
            .map_err(|e| anyhow::anyhow!("connecting to PostgreSQL (INTAKE_DATABASE_URL): {e}"))?;
            tracing::info!("metadata in PostgreSQL");
            Ok(Arc::new(store))
        }
        None => {
            create_private_dir(&config.data_dir)?;
            let path = config.data_dir.join("intake.db");
            Ok(Arc::new(intake_core::metadata::SqlStore::open_sqlite_with(&path, config.schema).await?))
        }
    }
}

/// The blob store: the S3-compatible bucket when configured, else the local disk.
async fn open_blobs(config: &Config) -> anyhow::Result<Arc<dyn BlobStore>> {
    match &config.s3 {
        Some(s3) => {
            let store = S3Store::new(s3)?;
            store.check_access().await?;
            tracing::info!(endpoint = %s3.endpoint, bucket = %s3.bucket, "files in S3-compatible storage");
            Ok(Arc::new(store))
        }
        None => {
            if config.database_url.is_some() {
                tracing::warn!(
                    data_dir = %config.data_dir.display(),
                    "metadata is in PostgreSQL but files are on the local disk: every instance must share this directory; configure INTAKE_S3_* to run several instances"
                );
            }
            Ok(Arc::new(FsStore::open(config.data_dir.join("blobs")).await?))
        }
    }
}

/// `http://<addr>`, with a reachable host when listening on every interface.
fn default_public_url(addr: SocketAddr) -> String {
    let host = match addr.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    format!("http://{host}:{}", addr.port())
}

/// A server running in the background (tests and embedders).
pub struct RunningServer {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    /// The jobs' runner, when the server was spawned without workers.
    manual_jobs: Option<Arc<JobRunner>>,
}

impl RunningServer {
    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        default_public_url(self.addr)
    }

    /// On a server from [`Application::spawn_with_manual_jobs`]: expires abandoned uploads,
    /// then runs every job that is due, and those they enqueue, until none is due (see
    /// [`JobRunner::run_pending`]); returns how many ran. A server with workers of its own
    /// refuses, since "none is due" would not mean "all have run" there.
    pub async fn run_pending_jobs(&self) -> anyhow::Result<usize> {
        let runner = self
            .manual_jobs
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("this server runs its own job workers; spawn it with manual jobs"))?;
        Ok(runner.run_pending().await?)
    }

    /// Stops gracefully and waits until it has.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        (&mut self.task).await?
    }
}

#[cfg(test)]
mod tests {
    use super::store_origin;
    use intake_core::blob::s3::S3Config;

    #[test]
    fn the_page_may_reach_the_stores_part_urls() {
        let mut s3 = S3Config {
            endpoint: "https://s3.eu-west-1.amazonaws.com/".into(),
            bucket: "assets".into(),
            region: "eu-west-1".into(),
            access_key_id: "k".into(),
            secret_access_key: "s".into(),
            path_style: false,
        };
        assert_eq!(store_origin(&s3).as_deref(), Some("https://assets.s3.eu-west-1.amazonaws.com"));
        s3.endpoint = "http://127.0.0.1:3900".into();
        s3.path_style = true;
        assert_eq!(store_origin(&s3).as_deref(), Some("http://127.0.0.1:3900"));
    }
}
