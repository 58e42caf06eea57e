//! Project B as a noisy neighbour (issue 15): trickling imports, trickling part PUTs,
//! slowloris connections and worst-case MP4s, all at once and all the time, until the
//! [`Noise`] is dropped. `intake-bench neighbour` (BENCHMARKS.md target 8) and the
//! black-box noisy-neighbour test (`crates/intake/tests/noisy_neighbour.rs`, which includes
//! this file) make the same noise with it.
//!
//! Everything here is bounded: a fixed number of tasks and connections, each reopened
//! when the server closes it, so the pressure stays constant for as long as it runs.

use intake_client::{Client, Kind, UploadOptions, WaitOptions};
use serde_json::json;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What project B does, and how much of it.
#[derive(Clone, Debug)]
pub struct Plan {
    /// intake's base URL (`http://127.0.0.1:PORT`).
    pub base: String,
    /// B's credentials and project.
    pub api_key: String,
    pub api_secret: String,
    pub project: String,
    /// URL imports from an origin that sends one byte a second, kept running (each one
    /// that ends is replaced). The server must let imports reach loopback.
    pub trickling_imports: usize,
    /// Part PUTs of one upload that send one byte a second (0 where parts go to an
    /// object store, not to intake).
    pub trickling_puts: usize,
    /// Connections that send a request's headers a line every two seconds, reopened when
    /// the server closes them.
    pub slowloris: usize,
    /// Tracks of the worst-case MP4 B uploads again and again (0: none); see
    /// `intake_core::validate::worst_case::worst_mp4`.
    pub mp4_tracks: usize,
    /// Where the MP4 is written.
    pub scratch: PathBuf,
}

/// What the noise did so far (read while it runs, to check it is really there).
#[derive(Debug, Default)]
pub struct Stats {
    /// Imports created.
    pub imports: AtomicU64,
    /// Part PUTs that have sent at least one byte of their body.
    pub puts_trickling: AtomicU64,
    /// Slowloris connections opened (first ones and reopened ones).
    pub slowloris_opened: AtomicU64,
    /// Worst-case MP4s that reached `complete`.
    pub mp4s_completed: AtomicU64,
}

/// The running noise; dropping it stops every task (their connections close).
pub struct Noise {
    tasks: Vec<JoinHandle<()>>,
    pub stats: Arc<Stats>,
}

impl Drop for Noise {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Starts everything `plan` asks for; returns once every trickling PUT is in flight.
pub async fn start(plan: Plan) -> Result<Noise, String> {
    let stats = Arc::new(Stats::default());
    let client = Client::builder(plan.base.clone())
        .credentials(plan.api_key.clone(), plan.api_secret.clone())
        .project_id(Some(plan.project.clone()))
        .build()
        .map_err(|e| e.to_string())?;
    let mut tasks = Vec::new();

    if plan.trickling_imports > 0 {
        let (origin, url) = trickling_origin().await.map_err(|e| e.to_string())?;
        tasks.push(origin);
        for _ in 0..plan.trickling_imports {
            tasks.push(tokio::spawn(keep_importing(client.clone(), url.clone(), stats.clone())));
        }
    }
    if plan.trickling_puts > 0 {
        tasks.push(trickling_puts(&client, plan.trickling_puts, &stats).await?);
    }
    let address = plan.base.trim_start_matches("http://").trim_end_matches('/').to_string();
    for _ in 0..plan.slowloris {
        tasks.push(tokio::spawn(slowloris(address.clone(), stats.clone())));
    }
    if plan.mp4_tracks > 0 {
        let path = plan.scratch.join("worst.mp4");
        std::fs::write(&path, intake_core::validate::worst_case::worst_mp4(plan.mp4_tracks))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        tasks.push(tokio::spawn(keep_uploading(client.clone(), path, stats.clone())));
    }
    Ok(Noise { tasks, stats })
}

/// An origin on loopback that announces a 1 GB file and sends it a byte a second.
async fn trickling_origin() -> std::io::Result<(JoinHandle<()>, String)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/trickle.bin", listener.local_addr()?);
    let task = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                if read_head(&mut socket).await.is_none() {
                    return;
                }
                let head =
                    "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: 1000000000\r\n\r\n";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                while socket.write_all(b"x").await.is_ok() {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            });
        }
    });
    Ok((task, url))
}

/// Reads a request's head (up to 16 KiB); `None` if the peer went away first.
async fn read_head(socket: &mut TcpStream) -> Option<()> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = socket.read(&mut buf).await.ok().filter(|&n| n > 0)?;
        seen.extend_from_slice(&buf[..n]);
        if seen.len() > 16 << 10 {
            return None;
        }
    }
    Some(())
}

/// Keeps one trickling import running: creates it, waits for its end (too slow), repeats.
async fn keep_importing(client: Client, url: String, stats: Arc<Stats>) {
    loop {
        match client.create_upload(&json!({"url": url, "kind": "asset"})).await {
            Ok(upload) => {
                stats.imports.fetch_add(1, Ordering::Relaxed);
                let _ = client.wait(&upload.id, WaitOptions::default(), |_| {}).await;
            }
            Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
}

/// One upload of `count` parts whose PUTs all stay in flight, each sending a byte a second.
async fn trickling_puts(client: &Client, count: usize, stats: &Arc<Stats>) -> Result<JoinHandle<()>, String> {
    const PART: u64 = 5 << 20;
    let upload = client
        .create_upload(&json!({"fileName": "trickle.bin", "contentType": "application/octet-stream",
                               "fileSize": count as u64 * PART, "parts": count, "kind": "asset"}))
        .await
        .map_err(|e| format!("creating the trickling upload: {e}"))?;
    let mut writers = Vec::with_capacity(count);
    let mut readers = Vec::with_capacity(count);
    for part in upload.parts.iter().flatten() {
        let url = url::Url::parse(&part.url).map_err(|e| e.to_string())?;
        let address =
            format!("{}:{}", url.host_str().unwrap_or("127.0.0.1"), url.port_or_known_default().unwrap_or(80));
        let path = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        };
        let mut stream = TcpStream::connect(&address).await.map_err(|e| format!("{address}: {e}"))?;
        let head = format!("PUT {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: {PART}\r\n\r\n");
        stream.write_all(head.as_bytes()).await.map_err(|e| e.to_string())?;
        let (reader, writer) = stream.into_split();
        readers.push(reader);
        writers.push(writer);
    }
    let stats = stats.clone();
    Ok(tokio::spawn(async move {
        let _readers = readers; // held open: the answers come only when the bodies end
        let mut first = true;
        loop {
            for writer in &mut writers {
                let _ = writer.write_all(b"x").await;
            }
            if first {
                stats.puts_trickling.store(writers.len() as u64, Ordering::Relaxed);
                first = false;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }))
}

/// A slowloris connection: a header line every two seconds, never the end of the head;
/// reopened whenever the server closes it.
async fn slowloris(address: String, stats: Arc<Stats>) {
    loop {
        let Ok(mut stream) = TcpStream::connect(&address).await else {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        stats.slowloris_opened.fetch_add(1, Ordering::Relaxed);
        if stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: intake\r\n").await.is_err() {
            continue;
        }
        let mut buf = [0u8; 256];
        loop {
            tokio::select! {
                read = stream.read(&mut buf) => {
                    if matches!(read, Ok(0) | Err(_)) { break } // closed by the server
                }
                _ = tokio::time::sleep(Duration::from_secs(2)) => {
                    if stream.write_all(b"X-Slow: 1\r\n").await.is_err() { break }
                }
            }
        }
    }
}

/// Uploads the worst-case MP4 as a video again and again, each time waiting for its end.
async fn keep_uploading(client: Client, path: PathBuf, stats: Arc<Stats>) {
    loop {
        let options = UploadOptions { wait: Some(WaitOptions::default()), ..UploadOptions::default() };
        match client.upload_file(&path, Kind::Video, options).await {
            Ok(_) => {
                stats.mp4s_completed.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
}
