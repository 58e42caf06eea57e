//! The two timeouts of a connection, kept by watching it rather than by hyper:
//! - **header read** (`INTAKE_HEADER_READ_TIMEOUT`): a request's headers must be complete
//!   within it, counted from when the connection was accepted or, on a keep-alive
//!   connection, from the first byte of the next request;
//! - **keep-alive** (`INTAKE_KEEPALIVE_TIMEOUT`): a connection with no request in flight and
//!   no byte of a next one is closed after it.
//!
//! hyper's own `header_read_timeout` starts its clock as soon as a keep-alive connection
//! goes idle (`hyper::proto::h1::conn`: the idle state sets `notify_read`, and the next
//! `poll_read_head` arms the timer), so it would close idle keep-alive connections after the
//! header timeout (10 s) instead of the keep-alive timeout (75 s). It is turned off, and
//! [`Activity`] tells the connection's task which deadline applies: [`WatchedIo`] notes the
//! first byte read while idle, [`ConnectionService`] notes when a request starts (its headers
//! are complete) and [`GuardedBody`] when its answer has been sent (hyper drops the body).
//! Nothing wakes the task when these change: on HTTP/1 they happen while the task polls the
//! connection, and it looks at the deadline after each poll; a deadline that moved later
//! (an answer sent on another task, with HTTP/2) is found when the earlier one passes.
//!
//! On HTTP/2 (prior knowledge, recognised by its preface) the bytes of an idle connection
//! may be pings and window updates, not a request: only the keep-alive timeout applies once
//! the first request has arrived; requests in flight are never cut by either timeout (a slow
//! part body has `INTAKE_BODY_IDLE_TIMEOUT`).

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::routing::future::RouteFuture;
use axum::Router;
use hyper::body::{Frame, Incoming, SizeHint};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;
use tower::Service;

/// "No such moment" in [`Activity`]'s millisecond fields.
const NEVER: u64 = u64::MAX;
/// What an HTTP/2 connection with prior knowledge starts with.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The two timeouts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    pub header_read: Duration,
    pub keepalive: Duration,
}

/// What one connection is doing, as far as its timeouts care. Moments are milliseconds
/// since [`Activity::accepted`].
pub(crate) struct Activity {
    accepted: Instant,
    /// Requests whose headers arrived and whose answer is not sent yet.
    in_flight: AtomicUsize,
    /// When the headers being read began ([`NEVER`]: none are being read). The accept
    /// itself starts the first request's headers.
    headers_since: AtomicU64,
    /// When the last answer was sent ([`NEVER`] before the first).
    idle_since: AtomicU64,
    /// The connection speaks HTTP/2.
    http2: AtomicBool,
}

impl Activity {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            accepted: Instant::now(),
            in_flight: AtomicUsize::new(0),
            headers_since: AtomicU64::new(0),
            idle_since: AtomicU64::new(NEVER),
            http2: AtomicBool::new(false),
        })
    }

    fn now(&self) -> u64 {
        self.accepted.elapsed().as_millis() as u64
    }

    fn at(&self, millis: u64) -> Instant {
        self.accepted + Duration::from_millis(millis)
    }

    /// When the connection is to be closed if nothing changes; `None` while a request is
    /// in flight.
    pub(crate) fn deadline(&self, timeouts: Timeouts) -> Option<Instant> {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return None;
        }
        match self.headers_since.load(Ordering::SeqCst) {
            NEVER => Some(self.at(self.idle_since.load(Ordering::SeqCst)) + timeouts.keepalive),
            since => Some(self.at(since) + timeouts.header_read),
        }
    }

    /// Which timeout a deadline passed now belongs to (for the log).
    pub(crate) fn waiting_for_headers(&self) -> bool {
        self.headers_since.load(Ordering::SeqCst) != NEVER
    }

    /// A request's headers are complete: no timeout applies until its answer is sent.
    fn request_started(self: &Arc<Self>) -> RequestGuard {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.headers_since.store(NEVER, Ordering::SeqCst);
        RequestGuard(self.clone())
    }

    /// Bytes arrived. On HTTP/1 with no request in flight they begin the next request's
    /// headers, whose clock starts now.
    fn bytes_read(&self) {
        if self.http2.load(Ordering::Relaxed) || self.in_flight.load(Ordering::SeqCst) > 0 {
            return;
        }
        let _ = self.headers_since.compare_exchange(NEVER, self.now(), Ordering::SeqCst, Ordering::SeqCst);
    }
}

/// Held from a request's start until its answer has been sent (or dropped).
pub(crate) struct RequestGuard(Arc<Activity>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let activity = &self.0;
        if activity.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            activity.idle_since.store(activity.now(), Ordering::SeqCst);
        }
    }
}

/// The connection's socket, noting in [`Activity`] when bytes arrive and whether the
/// client speaks HTTP/2.
pub(crate) struct WatchedIo<T> {
    inner: T,
    activity: Arc<Activity>,
    /// How many bytes of the start were compared with the HTTP/2 preface (`usize::MAX`
    /// once decided).
    preface_seen: usize,
}

impl<T> WatchedIo<T> {
    pub(crate) fn new(inner: T, activity: Arc<Activity>) -> Self {
        Self { inner, activity, preface_seen: 0 }
    }
}

/// Compares the first bytes of a connection with the HTTP/2 preface; `seen` counts the
/// bytes compared so far (`usize::MAX` once decided).
fn recognise(seen: &mut usize, activity: &Activity, read: &[u8]) {
    let expected = &H2_PREFACE[*seen..];
    let n = read.len().min(expected.len());
    if read[..n] != expected[..n] {
        *seen = usize::MAX;
    } else if *seen + n == H2_PREFACE.len() {
        activity.http2.store(true, Ordering::Relaxed);
        *seen = usize::MAX;
    } else {
        *seen += n;
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WatchedIo<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            if this.preface_seen != usize::MAX {
                recognise(&mut this.preface_seen, &this.activity, &buf.filled()[before..]);
            }
            this.activity.bytes_read();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WatchedIo<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The router as one connection's hyper service: each request carries the client's
/// address (axum's [`ConnectInfo`]) and holds a [`RequestGuard`] until its answer is sent.
#[derive(Clone)]
pub(crate) struct ConnectionService {
    pub router: Router,
    pub remote: SocketAddr,
    pub activity: Arc<Activity>,
}

impl hyper::service::Service<hyper::Request<Incoming>> for ConnectionService {
    type Response = hyper::Response<GuardedBody>;
    type Error = Infallible;
    type Future = Served;

    fn call(&self, mut request: hyper::Request<Incoming>) -> Served {
        let guard = self.activity.request_started();
        request.extensions_mut().insert(ConnectInfo(self.remote));
        Served { future: self.router.clone().call(request), guard: Some(guard) }
    }
}

/// A request being answered; its answer's body takes the guard along.
pub(crate) struct Served {
    future: RouteFuture<Infallible>,
    guard: Option<RequestGuard>,
}

impl Future for Served {
    type Output = Result<hyper::Response<GuardedBody>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let response = match Pin::new(&mut self.future).poll(cx) {
            Poll::Ready(Ok(response)) => response,
            Poll::Ready(Err(never)) => match never {},
            Poll::Pending => return Poll::Pending,
        };
        let guard = self.guard.take();
        Poll::Ready(Ok(response.map(|body| GuardedBody { body, _guard: guard })))
    }
}

/// An answer's body; when hyper drops it (sent, or the connection broke), the request is
/// over.
pub(crate) struct GuardedBody {
    body: Body,
    _guard: Option<RequestGuard>,
}

impl hyper::body::Body for GuardedBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUTS: Timeouts = Timeouts { header_read: Duration::from_secs(10), keepalive: Duration::from_secs(75) };

    #[tokio::test]
    async fn the_deadline_follows_the_connection() {
        let activity = Activity::new();
        let accepted = activity.accepted;
        // A new connection has the header timeout from its accept, bytes or not.
        assert_eq!(activity.deadline(TIMEOUTS), Some(accepted + TIMEOUTS.header_read));
        activity.bytes_read();
        assert_eq!(activity.deadline(TIMEOUTS), Some(accepted + TIMEOUTS.header_read));
        // A request in flight has none, and its body's bytes change nothing.
        let guard = activity.request_started();
        activity.bytes_read();
        assert_eq!(activity.deadline(TIMEOUTS), None);
        drop(guard);
        // Idle keep-alive: the keep-alive timeout from the answer, not the header timeout.
        let idle = activity.at(activity.idle_since.load(Ordering::SeqCst));
        assert_eq!(activity.deadline(TIMEOUTS), Some(idle + TIMEOUTS.keepalive));
        assert!(!activity.waiting_for_headers());
        // The next request's first byte starts its header clock.
        activity.bytes_read();
        assert!(activity.waiting_for_headers());
        let since = activity.at(activity.headers_since.load(Ordering::SeqCst));
        assert_eq!(activity.deadline(TIMEOUTS), Some(since + TIMEOUTS.header_read));
        // Two requests at once (HTTP/2): no deadline until both are answered.
        let (a, b) = (activity.request_started(), activity.request_started());
        drop(a);
        assert_eq!(activity.deadline(TIMEOUTS), None);
        drop(b);
        assert!(activity.deadline(TIMEOUTS).is_some());
    }

    #[tokio::test]
    async fn http2_is_recognised_by_its_preface_even_in_pieces() {
        for pieces in [vec![H2_PREFACE.len()], vec![1, 3, 20], vec![24, 10]] {
            let activity = Activity::new();
            let mut seen = 0;
            let mut at = 0;
            let mut bytes = H2_PREFACE.to_vec();
            bytes.extend_from_slice(b"\0\0\0\x04\0\0\0\0\0");
            for n in pieces {
                if seen != usize::MAX {
                    recognise(&mut seen, &activity, &bytes[at..at + n]);
                }
                at += n;
            }
            assert!(activity.http2.load(Ordering::Relaxed));
            // On HTTP/2, idle bytes do not start a header clock.
            drop(activity.request_started());
            activity.bytes_read();
            assert!(!activity.waiting_for_headers());
        }
        let activity = Activity::new();
        let mut seen = 0;
        recognise(&mut seen, &activity, b"PRI * HTTP/1.1\r\n");
        assert_eq!(seen, usize::MAX, "decided by the first bytes");
        assert!(!activity.http2.load(Ordering::Relaxed));
    }
}
