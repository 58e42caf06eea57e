//! `intake-bench`: the pieces of `bench/run.sh` that a shell cannot do well.
//!
//! - `baseline`: the minimal axum server the API benchmark compares intake with. It answers
//!   `POST /v1/uploads` and `GET /v1/uploads/{id}` with fixed JSON bodies (captured from a real
//!   intake response by run.sh), so both servers send the same bytes.
//! - `origin`: a static file server for the URL-import benchmark (streams a file with its
//!   `Content-Length`, like any CDN; no ranges needed for an uninterrupted import).
//! - `upload`: a multipart upload through `intake-client` that times the `complete` call to
//!   `imported` by polling `GET /v1/uploads/{id}` every 20 ms.
//! - `import`: a URL import, timed from create to `imported` with the same 20 ms polling.
//!
//! - `pickle-file` and `pickle-read`: the pickle reader's files and timing (`pickles.rs`).
//! - `thumbnail-file` and `thumbnail`: thumbnail images and timing (`thumbnails.rs`).
//! - `validate-read`: the bytes and time validating a large file takes (`validate_read.rs`).
//! - `seed` and `latency`: a database of N uploads and the request latencies on it, for the
//!   growth target (`seed.rs`, `latency.rs`).
//! - `many-parts`: create, GET and complete of a 10,000-part upload, timed, with the server's
//!   extra memory (`parts.rs`, target 11).
//! - `s3-upload`: a file uploaded straight to the S3 store, intake's baseline (`s3put.rs`,
//!   target 12).
//!
//! The timed commands print one JSON object on stdout; the API ones read the server and the
//! credentials from `INTAKE_URL`, `INTAKE_API_KEY` and `INTAKE_API_SECRET`.

mod latency;
mod neighbour;
mod noise;
mod parts;
mod pickles;
mod s3put;
mod seed;
mod thumbnails;
mod validate_read;

use anyhow::{bail, Context, Result};
use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use clap::{Parser, Subcommand};
use intake_client::{Client, Event, Kind, Status, Upload, UploadOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the timed commands read the upload's status.
const POLL: Duration = Duration::from_millis(20);

#[derive(Parser)]
#[command(about = "Benchmark helpers for bench/run.sh")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve fixed JSON on the two API routes intake is compared on.
    Baseline {
        #[arg(long)]
        listen: String,
        /// Body answered to `POST /v1/uploads` (status 200, as intake answers).
        #[arg(long)]
        post_body: PathBuf,
        /// Body answered to `GET /v1/uploads/{id}`.
        #[arg(long)]
        get_body: PathBuf,
    },
    /// Serve the files of a directory at `/NAME`.
    Origin {
        #[arg(long)]
        listen: String,
        #[arg(long)]
        dir: PathBuf,
    },
    /// Upload FILE (kind asset) and time complete -> imported.
    Upload {
        file: PathBuf,
        #[arg(long, default_value_t = 8 << 20)]
        part_size: u64,
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
    /// Import URL (kind asset) and time create -> imported.
    Import { url: String },
    /// Write a pickle file of SHAPE (`small-opcodes` or `bulk-payload`) and about SIZE bytes.
    PickleFile {
        #[arg(long)]
        shape: String,
        #[arg(long)]
        size: u64,
        path: PathBuf,
    },
    /// Validate PATH as a model, as the worker does, and time it.
    PickleRead { path: PathBuf },
    /// Time project A's upload of FILE (create -> imported) idle, then beside project B's
    /// noise (target 8).
    Neighbour {
        file: PathBuf,
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Seconds the noise runs before A's rounds are timed.
        #[arg(long, default_value_t = 5)]
        settle: u64,
        #[arg(long, default_value_t = 8)]
        trickling_imports: usize,
        #[arg(long, default_value_t = 1000)]
        trickling_puts: usize,
        #[arg(long, default_value_t = 500)]
        slowloris: usize,
        /// Tracks of B's worst-case MP4 (160,000 make about 29 MiB).
        #[arg(long, default_value_t = 160_000)]
        mp4_tracks: usize,
        /// Where B's MP4 is written.
        #[arg(long)]
        scratch: PathBuf,
    },
    /// Write a WIDTH x HEIGHT test image to PATH (format from the extension).
    ThumbnailFile {
        #[arg(long)]
        width: u32,
        #[arg(long)]
        height: u32,
        path: PathBuf,
    },
    /// Time a decode of PATH, then its thumbnail as the worker makes it.
    Thumbnail { path: PathBuf },
    /// Validate PATH as KIND, as the worker does; print the time and the bytes read.
    ValidateRead {
        #[arg(long)]
        kind: String,
        path: PathBuf,
    },
    /// Fill a data directory or a PostgreSQL database with UPLOADS uploads (target 10).
    Seed {
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long)]
        uploads: u64,
        #[arg(long, default_value_t = 8)]
        projects: u32,
        #[arg(long, default_value = "proj_bench")]
        main_project: String,
        /// Write ids of imported uploads of the main project here, one a line.
        #[arg(long)]
        sample_ids: Option<PathBuf>,
        #[arg(long, default_value_t = 2000)]
        sample: usize,
    },
    /// p50/p99 of the API's reads, listings, /metrics and creates (target 10).
    Latency {
        #[arg(long, default_value_t = 2000)]
        requests: usize,
        #[arg(long, default_value_t = 4)]
        clients: usize,
        /// A server to measure, `NAME,URL,IDS_FILE` (the upload ids to GET, one a line);
        /// repeat it to measure several in turn, request by request.
        #[arg(long = "server", required = true)]
        servers: Vec<latency::ServerArg>,
        #[arg(long, default_value_t = 500)]
        deep_page: usize,
    },
    /// Time create, GET and complete of a PARTS-part upload, with the server's extra RSS
    /// (target 11).
    ManyParts {
        #[arg(long)]
        server_pid: u32,
        #[arg(long, default_value_t = 10_000)]
        parts: u32,
        /// Parts sent and completed: the same upload when equal to --parts, else another.
        #[arg(long)]
        complete_parts: Option<u32>,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        #[arg(long, default_value_t = 9)]
        repeats: usize,
    },
    /// Upload FILE straight to the S3 store (INTAKE_TEST_S3_*), multipart, and time it
    /// (target 12's baseline).
    S3Upload {
        file: PathBuf,
        #[arg(long, default_value_t = 8 << 20)]
        part_size: u64,
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Baseline { listen, post_body, get_body } => baseline(&listen, &post_body, &get_body).await,
        Command::Origin { listen, dir } => origin(&listen, dir).await,
        Command::Upload { file, part_size, concurrency } => upload(&file, part_size, concurrency).await,
        Command::Import { url } => import(&url).await,
        Command::PickleFile { shape, size, path } => pickles::write(&shape, size, &path),
        Command::PickleRead { path } => pickles::read(&path),
        Command::Neighbour {
            file,
            runs,
            settle,
            trickling_imports,
            trickling_puts,
            slowloris,
            mp4_tracks,
            scratch,
        } => {
            let amounts = neighbour::Amounts { trickling_imports, trickling_puts, slowloris, mp4_tracks };
            neighbour::run(&file, runs, Duration::from_secs(settle), amounts, &scratch).await
        }
        Command::ThumbnailFile { width, height, path } => thumbnails::write(width, height, &path),
        Command::Thumbnail { path } => thumbnails::run(&path),
        Command::ValidateRead { kind, path } => validate_read::run(&kind, &path),
        Command::Seed { data_dir, database_url, uploads, projects, main_project, sample_ids, sample } => {
            seed::run(seed::Options { data_dir, database_url, uploads, projects, main_project, sample_ids, sample })
                .await
        }
        Command::Latency { requests, clients, servers, deep_page } => {
            latency::run(latency::Options { requests, clients, servers, deep_page }).await
        }
        Command::ManyParts { server_pid, parts, complete_parts, concurrency, repeats } => {
            let complete_parts = complete_parts.unwrap_or(parts);
            parts::run(parts::Plan { server_pid, parts, complete_parts, concurrency, repeats }).await
        }
        Command::S3Upload { file, part_size, concurrency } => s3put::run(&file, part_size, concurrency).await,
    }
}

fn json_response(body: Bytes) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .expect("static response")
}

async fn baseline(listen: &str, post_body: &Path, get_body: &Path) -> Result<()> {
    let post_body = Bytes::from(std::fs::read(post_body).with_context(|| format!("{}", post_body.display()))?);
    let get_body = Bytes::from(std::fs::read(get_body).with_context(|| format!("{}", get_body.display()))?);
    let app = Router::new()
        .route(
            "/v1/uploads",
            post(move |_body: Bytes| {
                let body = post_body.clone();
                async move { json_response(body) }
            }),
        )
        .route(
            "/v1/uploads/{id}",
            get(move || {
                let body = get_body.clone();
                async move { json_response(body) }
            }),
        );
    let listener = tokio::net::TcpListener::bind(listen).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

async fn origin(listen: &str, dir: PathBuf) -> Result<()> {
    let dir = Arc::new(dir);
    let app = Router::new().route(
        "/{name}",
        get(move |axum::extract::Path(name): axum::extract::Path<String>| {
            let dir = dir.clone();
            async move {
                if name.contains('/') || name.starts_with('.') {
                    return Err(StatusCode::NOT_FOUND);
                }
                let file = tokio::fs::File::open(dir.join(&name)).await.map_err(|_| StatusCode::NOT_FOUND)?;
                let len = file.metadata().await.map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?.len();
                let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 << 10);
                Response::builder()
                    .header(header::CONTENT_LENGTH, len)
                    .header(header::CONTENT_TYPE, "application/octet-stream")
                    .body(Body::from_stream(stream))
                    .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(listen).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

/// Polls the upload every [`POLL`] until it is terminal; fails unless it is `imported`.
async fn poll_until_imported(client: &Client, id: &str) -> Result<Upload> {
    loop {
        let upload = client.get_upload(id).await?;
        match upload.status {
            Status::Imported => return Ok(upload),
            Status::Failed => bail!("upload {id} failed: {:?}", upload.error_message),
            _ => tokio::time::sleep(POLL).await,
        }
    }
}

async fn upload(file: &Path, part_size: u64, concurrency: usize) -> Result<()> {
    let client = Client::from_env()?;
    let completing: Arc<Mutex<Option<Instant>>> = Arc::default();
    let seen = completing.clone();
    let options = UploadOptions {
        part_size: Some(part_size),
        concurrency,
        content_type: Some("application/octet-stream".into()),
        observer: Some(Arc::new(move |event: &Event| {
            if matches!(event, Event::Completing) {
                *seen.lock().expect("lock") = Some(Instant::now());
            }
        })),
        ..UploadOptions::default()
    };
    let start = Instant::now();
    let outcome = client.upload_file(file, Kind::Asset, options).await?;
    let completed = Instant::now();
    let imported = poll_until_imported(&client, &outcome.upload.id).await?;
    let end = Instant::now();
    let complete_call = completing.lock().expect("lock").context("the upload never reached complete")?;
    let report = serde_json::json!({
        "id": imported.id,
        "bytes": outcome.file_size,
        "parts": outcome.parts,
        "totalSeconds": (end - start).as_secs_f64(),
        "partsSeconds": (complete_call - start).as_secs_f64(),
        "completeCallSeconds": (completed - complete_call).as_secs_f64(),
        "completeToImportedSeconds": (end - complete_call).as_secs_f64(),
    });
    println!("{report}");
    Ok(())
}

async fn import(url: &str) -> Result<()> {
    let client = Client::from_env()?;
    let start = Instant::now();
    let created = client.create_upload(&serde_json::json!({"url": url, "kind": "asset"})).await?;
    let imported = poll_until_imported(&client, &created.id).await?;
    let report = serde_json::json!({
        "id": imported.id,
        "bytes": imported.file_size,
        "totalSeconds": start.elapsed().as_secs_f64(),
    });
    println!("{report}");
    Ok(())
}
