//! Startup and shutdown: open the stores, load the keys, bind the port, run the HTTP server
//! and the job workers until told to stop.

use crate::config::Config;
use crate::rate_limit::RateLimiter;
use crate::routes::{router, AppState};
use intake_core::blob::fs::FsStore;
use intake_core::jobs::{JobRunner, RunnerConfig};
use intake_core::metadata::sqlite::SqliteStore;
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
}

impl Application {
    /// Opens the embedded stores under `config.data_dir`, loads the API keys (creating one
    /// on first start) and binds `config.listen`.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        tokio::fs::create_dir_all(&config.data_dir).await?;
        let sqlite = SqliteStore::open(&config.data_dir.join("intake.db")).await?;
        // This process is the only one using the SQLite file: whatever a previous run left
        // claimed is free to claim again.
        let released = sqlite.release_all_leases().await?;
        if released > 0 {
            tracing::info!(released, "re-queued jobs left running by the previous run");
        }
        let meta: Arc<dyn MetadataStore> = Arc::new(sqlite);
        let blobs = Arc::new(FsStore::open(config.data_dir.join("blobs")).await?);

        let listener = TcpListener::bind(config.listen).await?;
        let local_addr = listener.local_addr()?;
        let public_url = config.public_url.clone().unwrap_or_else(|| default_public_url(local_addr));
        let service_config = ServiceConfig {
            public_url: public_url.trim_end_matches('/').to_string(),
            part_url_ttl: config.part_url_ttl,
            file_url_ttl: config.file_url_ttl,
            upload_ttl: config.upload_ttl,
            import: config.import.clone(),
            max_file_size: config.max_file_size,
            max_pending_uploads: config.max_pending_uploads,
        };
        // The page PUTs parts and loads previews from where intake's URLs point.
        let web_csp = crate::routes::web::content_security_policy(
            &crate::routes::web::origin_of(&public_url).into_iter().collect::<Vec<_>>(),
        );
        let service = Arc::new(Service::new(meta.clone(), blobs, service_config).await?);
        // SQLite has one process, and it has not started serving: nothing is in flight.
        let swept = service.sweep_orphans(intake_core::service::SweepScope::OnlyProcessStarting).await?;
        if swept != Default::default() {
            tracing::info!(?swept, "removed what the previous run left behind");
        }
        let (auth, created_key) = Authenticator::load(meta.as_ref(), &config.api_keys).await?;
        // Sweep often enough that an upload expires at most a quarter of its TTL late.
        let sweep_interval =
            (config.upload_ttl / 4).clamp(std::time::Duration::from_millis(200), std::time::Duration::from_secs(60));
        let runner_config = RunnerConfig {
            workers: config.workers,
            lease: config.job_lease,
            sweep_interval,
            ..RunnerConfig::default()
        };
        let instance = format!("intake-{}-{}", std::process::id(), intake_core::domain::ids::random_base62(6));
        let runner = JobRunner::new(service.clone(), runner_config, &instance);
        let state = AppState {
            service,
            auth: Arc::new(auth),
            rate_limiter: Arc::new(RateLimiter::new(config.rate_limit_per_second, config.rate_limit_burst)),
            body_idle_timeout: config.body_idle_timeout,
            metrics: Arc::new(crate::metrics::Metrics::default()),
            web_csp: web_csp.into(),
        };
        Ok(Self { listener, local_addr, state, runner, created_key })
    }

    /// The address the server is bound to (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The API key created on this first start, if one was; shown once, never again.
    pub fn take_created_key(&mut self) -> Option<CreatedKey> {
        self.created_key.take()
    }

    /// Serves until `shutdown` completes, then stops taking requests, lets in-flight
    /// requests and jobs finish, and returns.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let workers = tokio::spawn(self.runner.run(stop_rx));
        let service = self.state.service.clone();
        let app = router(self.state);
        axum::serve(self.listener, app).with_graceful_shutdown(shutdown).await?;
        // Downloads stop at once (what they stored is kept and resumed on the next start);
        // other jobs finish the step in hand.
        service.begin_shutdown();
        let _ = stop_tx.send(true);
        workers.await?;
        Ok(())
    }

    /// Starts serving in the background; the returned handle stops it.
    pub fn spawn(self) -> RunningServer {
        let addr = self.local_addr;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(self.run_until_stopped(async move {
            let _ = rx.await;
        }));
        RunningServer { addr, stop: Some(tx), task }
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
}

impl RunningServer {
    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        default_public_url(self.addr)
    }

    /// Stops gracefully and waits until it has.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        (&mut self.task).await?
    }
}
