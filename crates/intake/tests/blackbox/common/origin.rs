//! A file origin for import tests: an axum server on a loopback port that serves files the
//! test made, honours `Range`, and can misbehave on purpose (slow, drop the connection
//! mid-body, stall, redirect, lie about the length). It records every request it gets.
#![allow(dead_code)]

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the origin answers for one path.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// The file, in full or the requested range.
    File { bytes: Vec<u8>, content_type: String, disposition: Option<String> },
    /// The file, sent in `chunk`-byte pieces with `delay` between them.
    Slow { bytes: Vec<u8>, chunk: usize, delay: Duration },
    /// The first `drops` requests send `after` bytes (of the full Content-Length) and then
    /// break the connection; later requests behave like `File` (with `Range`).
    DropsMidBody { bytes: Vec<u8>, after: usize, drops: usize },
    /// Sends `after` bytes, then goes silent forever.
    Stalls { bytes: Vec<u8>, after: usize },
    /// The file as a chunked body, without a Content-Length.
    NoLength { bytes: Vec<u8> },
    /// A redirect (302) to `location`.
    Redirect { location: String },
    /// A plain status with a short text body.
    Status { status: u16 },
}

/// One request the origin saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub range: Option<String>,
    pub authorization: Option<String>,
}

#[derive(Default)]
struct Inner {
    routes: HashMap<String, Behaviour>,
    seen: Vec<Seen>,
    served: HashMap<String, usize>,
}

/// A running origin.
#[derive(Clone)]
pub struct Origin {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

impl Origin {
    /// Starts an origin on `127.0.0.1:0` with no routes.
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0").await
    }

    /// Starts an origin on `addr` (e.g. `127.0.0.2:0`, another loopback address).
    pub async fn start_on(addr: &str) -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new().route("/{*path}", get(serve)).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, inner }
    }

    /// Sets how `path` (starting with `/`) answers.
    pub fn route(&self, path: &str, behaviour: Behaviour) -> String {
        self.inner.lock().unwrap().routes.insert(path.to_string(), behaviour);
        format!("{}{path}", self.base)
    }

    /// Serves `bytes` at `path`.
    pub fn file(&self, path: &str, bytes: Vec<u8>, content_type: &str) -> String {
        self.route(path, Behaviour::File { bytes, content_type: content_type.into(), disposition: None })
    }

    /// Every request seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.inner.lock().unwrap().seen.clone()
    }

    /// Requests seen for `path`.
    pub fn seen_at(&self, path: &str) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.path == path).collect()
    }
}

fn range_start(headers: &HeaderMap) -> Option<usize> {
    headers.get("range")?.to_str().ok()?.strip_prefix("bytes=")?.strip_suffix('-')?.parse().ok()
}

/// The file (or its range, when asked for one).
pub fn file_response(headers: &HeaderMap, bytes: &[u8], content_type: &str, disposition: Option<&str>) -> Response {
    let len = bytes.len();
    let mut response = match range_start(headers) {
        Some(start) if start < len => {
            let mut r = Response::new(Body::from(bytes[start..].to_vec()));
            *r.status_mut() = StatusCode::PARTIAL_CONTENT;
            r.headers_mut()
                .insert("content-range", HeaderValue::from_str(&format!("bytes {start}-{}/{len}", len - 1)).unwrap());
            r
        }
        Some(_) => {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
            return r;
        }
        None => Response::new(Body::from(bytes.to_vec())),
    };
    let h = response.headers_mut();
    h.insert("content-type", HeaderValue::from_str(content_type).unwrap());
    h.insert("accept-ranges", HeaderValue::from_static("bytes"));
    h.insert("etag", HeaderValue::from_str(&format!("\"{len}-fixed\"")).unwrap());
    if let Some(d) = disposition {
        h.insert("content-disposition", HeaderValue::from_str(d).unwrap());
    }
    response
}

/// A body that sends `bytes[..after]` and then breaks (or stalls), under a full Content-Length.
fn broken_body(bytes: &[u8], after: usize, stall: bool) -> Response {
    let first = Bytes::from(bytes[..after].to_vec());
    let tail = futures_util::stream::once(async move {
        if stall {
            std::future::pending::<()>().await;
        }
        Err::<Bytes, std::io::Error>(std::io::Error::other("connection dropped on purpose"))
    });
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(first) }).chain(tail);
    let mut r = Response::new(Body::from_stream(stream));
    r.headers_mut().insert("content-length", HeaderValue::from(bytes.len()));
    r.headers_mut().insert("content-type", HeaderValue::from_static("application/octet-stream"));
    r.headers_mut().insert("accept-ranges", HeaderValue::from_static("bytes"));
    r.headers_mut().insert("etag", HeaderValue::from_str(&format!("\"{}-fixed\"", bytes.len())).unwrap());
    r
}

async fn serve(State(inner): State<Arc<Mutex<Inner>>>, Path(path): Path<String>, headers: HeaderMap) -> Response {
    let path = format!("/{path}");
    let (behaviour, served) = {
        let mut inner = inner.lock().unwrap();
        inner.seen.push(Seen {
            path: path.clone(),
            range: headers.get("range").map(|v| v.to_str().unwrap().to_string()),
            authorization: headers.get("authorization").map(|v| v.to_str().unwrap().to_string()),
        });
        let served = inner.served.entry(path.clone()).or_default();
        *served += 1;
        let served = *served;
        (inner.routes.get(&path).cloned(), served)
    };
    match behaviour {
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
        Some(Behaviour::File { bytes, content_type, disposition }) => {
            file_response(&headers, &bytes, &content_type, disposition.as_deref())
        }
        Some(Behaviour::Slow { bytes, chunk, delay }) => {
            let start = range_start(&headers).unwrap_or(0).min(bytes.len());
            let total = bytes.len();
            let pieces: Vec<Bytes> = bytes[start..].chunks(chunk.max(1)).map(|c| Bytes::from(c.to_vec())).collect();
            let stream = futures_util::stream::iter(pieces).then(move |piece| async move {
                // The scenario: a slow origin's pace.
                tokio::time::sleep(delay).await;
                Ok::<_, std::io::Error>(piece)
            });
            let mut r = Response::new(Body::from_stream(stream));
            r.headers_mut().insert("content-length", HeaderValue::from(total - start));
            r.headers_mut().insert("accept-ranges", HeaderValue::from_static("bytes"));
            r.headers_mut().insert("content-type", HeaderValue::from_static("application/octet-stream"));
            if start > 0 {
                *r.status_mut() = StatusCode::PARTIAL_CONTENT;
                r.headers_mut().insert(
                    "content-range",
                    HeaderValue::from_str(&format!("bytes {start}-{}/{total}", total - 1)).unwrap(),
                );
            }
            r
        }
        Some(Behaviour::DropsMidBody { bytes, after, drops }) => {
            if served <= drops {
                broken_body(&bytes, after, false)
            } else {
                file_response(&headers, &bytes, "application/octet-stream", None)
            }
        }
        Some(Behaviour::NoLength { bytes }) => {
            let pieces: Vec<Result<Bytes, std::io::Error>> =
                bytes.chunks(1000).map(|c| Ok(Bytes::from(c.to_vec()))).collect();
            Response::new(Body::from_stream(futures_util::stream::iter(pieces)))
        }
        Some(Behaviour::Stalls { bytes, after }) => broken_body(&bytes, after, true),
        Some(Behaviour::Redirect { location }) => {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::FOUND;
            r.headers_mut().insert("location", HeaderValue::from_str(&location).unwrap());
            r
        }
        Some(Behaviour::Status { status }) => {
            (StatusCode::from_u16(status).unwrap(), format!("status {status} on purpose")).into_response()
        }
    }
}
