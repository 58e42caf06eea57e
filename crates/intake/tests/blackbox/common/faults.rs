//! A fault-injecting HTTP/1.1 proxy for client tests: a tokio TCP server on a loopback port
//! in front of a real intake server. Each request is matched against the rules in order;
//! the first rule that matches and has faults left injects its fault (answers 503 or 500 or
//! 429, drops the connection halfway through the request body, or stalls without ever
//! answering); otherwise the request is forwarded as it is. Every request is recorded with
//! what the proxy did, so tests can count attempts at the wire.
//!
//! It speaks just enough HTTP for the client under test: requests have a `Content-Length`
//! (or no body), and every forwarded exchange is `Connection: close`, so a connection the
//! proxy broke is never reused by the client's pool.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does instead of forwarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Reads the whole request, then answers this status with a JSON error body, and
    /// `Retry-After` when `retry_after` is set.
    Status { status: u16, retry_after: Option<u64> },
    /// Reads half of the request body (or just the head of a request without one), then
    /// closes the connection without an answer.
    DropMidBody,
    /// Reads the whole request and never answers, until the client gives up.
    Stall,
}

/// `503`, no `Retry-After`.
pub const UNAVAILABLE: Fault = Fault::Status { status: 503, retry_after: None };
/// `500`.
pub const INTERNAL: Fault = Fault::Status { status: 500, retry_after: None };

/// Which requests a rule applies to.
pub type Matcher = Box<dyn Fn(&str, &str) -> bool + Send + Sync>;

struct Rule {
    matches: Matcher,
    fault: Fault,
    /// How many matching requests get the fault (`u32::MAX`: all of them).
    times: u32,
    used: u32,
}

/// One request the proxy saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query.
    pub target: String,
    /// The fault injected, or `None` when the request was forwarded.
    pub fault: Option<Fault>,
    pub at: Instant,
    /// The request's headers, names in lowercase.
    pub headers: Vec<(String, String)>,
}

impl Seen {
    /// The value of header `name` (lowercase), if the request had it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

impl Seen {
    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }
}

#[derive(Default)]
struct Inner {
    rules: Vec<Rule>,
    seen: Vec<Seen>,
}

/// A running proxy.
#[derive(Clone)]
pub struct FaultProxy {
    /// `http://127.0.0.1:<port>`: give it to the client, and to the server as its public URL
    /// (so the part URLs the server hands out go through the proxy too).
    pub base: String,
    inner: Arc<Mutex<Inner>>,
    upstream: Arc<Mutex<Option<String>>>,
}

/// A part PUT of any upload: `PUT /parts/{uploadId}/{number}`.
pub fn part(number: u32) -> Matcher {
    Box::new(move |method, path| {
        method == "PUT" && path.starts_with("/parts/") && path.rsplit('/').next() == Some(&number.to_string())
    })
}

/// Every request with this method whose path is `path`.
pub fn route(method: &'static str, path: &'static str) -> Matcher {
    Box::new(move |m, p| m == method && p == path)
}

/// Every request with this method whose path starts with `prefix`.
pub fn prefix(method: &'static str, prefix: &'static str) -> Matcher {
    Box::new(move |m, p| m == method && p.starts_with(prefix))
}

impl FaultProxy {
    /// Binds a loopback port; requests fail until [`FaultProxy::forward_to`] names the server.
    pub async fn bind() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let proxy = Self { base, inner: Arc::default(), upstream: Arc::default() };
        let serving = proxy.clone();
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else { continue };
                let proxy = serving.clone();
                tokio::spawn(async move { proxy.handle(socket).await });
            }
        });
        proxy
    }

    /// Forwards to `upstream` (`http://host:port`).
    pub fn forward_to(&self, upstream: &str) {
        let host = upstream.trim_start_matches("http://").trim_end_matches('/').to_string();
        *self.upstream.lock().unwrap() = Some(host);
    }

    /// Injects `fault` into the first `times` requests that `matches` (`u32::MAX`: always).
    pub fn rule(&self, matches: Matcher, fault: Fault, times: u32) {
        self.inner.lock().unwrap().rules.push(Rule { matches, fault, times, used: 0 });
    }

    /// Every request seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.inner.lock().unwrap().seen.clone()
    }

    /// Requests seen that `matches`.
    pub fn seen_matching(&self, matches: Matcher) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| matches(&s.method, s.path())).collect()
    }

    /// Faults injected so far.
    pub fn faults_injected(&self) -> usize {
        self.seen().iter().filter(|s| s.fault.is_some()).count()
    }

    async fn handle(&self, mut client: TcpStream) {
        let Some((head, mut body_start)) = read_head(&mut client).await else { return };
        let mut lines = head.split("\r\n");
        let mut request_line = lines.next().unwrap_or_default().split(' ');
        let (method, target) =
            (request_line.next().unwrap_or_default().to_string(), request_line.next().unwrap_or_default().to_string());
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let length: usize =
            headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
        let path = target.split('?').next().unwrap_or_default().to_string();
        let fault = {
            let mut inner = self.inner.lock().unwrap();
            let fault = inner.rules.iter_mut().find(|r| r.used < r.times && (r.matches)(&method, &path)).map(|r| {
                r.used += 1;
                r.fault
            });
            inner.seen.push(Seen {
                method: method.clone(),
                target: target.clone(),
                fault,
                at: Instant::now(),
                headers: headers.clone(),
            });
            fault
        };
        match fault {
            Some(Fault::DropMidBody) => {
                let _ = read_body(&mut client, &mut body_start, length / 2).await;
                // Dropping the socket with unread bytes resets the connection.
            }
            Some(Fault::Stall) => {
                let _ = read_body(&mut client, &mut body_start, length).await;
                // Hold the connection open until the client gives up and closes it.
                let mut buf = [0u8; 1024];
                while matches!(
                    tokio::time::timeout(Duration::from_secs(120), client.read(&mut buf)).await,
                    Ok(Ok(n)) if n > 0
                ) {}
            }
            Some(Fault::Status { status, retry_after }) => {
                if read_body(&mut client, &mut body_start, length).await.is_none() {
                    return;
                }
                let body = format!(
                    r#"{{"reason":"injected by the test proxy: {status}","traceId":"proxy","code":"injected"}}"#
                );
                let retry = retry_after.map(|s| format!("retry-after: {s}\r\n")).unwrap_or_default();
                let answer = format!(
                    "HTTP/1.1 {status} Injected\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{retry}connection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = client.write_all(answer.as_bytes()).await;
                let _ = client.shutdown().await;
            }
            None => {
                let Some(upstream) = self.upstream.lock().unwrap().clone() else { return };
                let _ = forward(client, &upstream, &method, &target, &headers, body_start, length).await;
            }
        }
    }
}

/// Reads up to the end of the head; returns it and the body bytes read past it.
async fn read_head(socket: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            return Some((head, buf[end + 4..].to_vec()));
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 64 * 1024 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Reads the body until `want` bytes are in `already`; `None` if the client went away.
async fn read_body(socket: &mut TcpStream, already: &mut Vec<u8>, want: usize) -> Option<()> {
    let mut chunk = vec![0u8; 64 * 1024];
    while already.len() < want {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        already.extend_from_slice(&chunk[..n]);
    }
    Some(())
}

/// Sends the request upstream (`Connection: close`), streams the body through, and copies
/// the answer back until the server closes.
async fn forward(
    mut client: TcpStream,
    upstream: &str,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body_start: Vec<u8>,
    length: usize,
) -> std::io::Result<()> {
    let mut server = TcpStream::connect(upstream).await?;
    let mut head = format!("{method} {target} HTTP/1.1\r\n");
    for (k, v) in headers.iter().filter(|(k, _)| k != "connection" && k != "keep-alive") {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("connection: close\r\n\r\n");
    server.write_all(head.as_bytes()).await?;
    server.write_all(&body_start).await?;
    let rest = length.saturating_sub(body_start.len()) as u64;
    let (mut client_read, mut client_write) = client.split();
    let mut body = (&mut client_read).take(rest);
    tokio::io::copy(&mut body, &mut server).await?;
    tokio::io::copy(&mut server, &mut client_write).await?;
    client_write.shutdown().await?;
    Ok(())
}
