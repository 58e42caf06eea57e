//! The HTTP server around the router: accepts connections (at most
//! `INTAKE_MAX_CONNECTIONS` at once), serves each with hyper (HTTP/1.1, and HTTP/2 with
//! prior knowledge), closes the ones that break the header-read or keep-alive timeout
//! ([`watchdog`]), and stops gracefully.
//!
//! It replaces `axum::serve`, which had no timeouts and no connection cap, and keeps what
//! it did on shutdown: once the signal comes no connection is accepted, every connection is
//! told to finish (an idle one closes at once, one with a request in flight after its
//! answer), and [`serve`] returns when the last one has closed.
//!
//! Past the cap the loop stops calling `accept`: new connections wait in the kernel's
//! backlog (and are refused by the kernel once it is full) instead of costing a file
//! descriptor each. An accept that fails for lack of descriptors or memory (`EMFILE`,
//! `ENFILE`, `ENOBUFS`, `ENOMEM`) waits for a connection to close, or a second, before the
//! next try, so it never spins.

mod open_files;
mod watchdog;

pub(crate) use open_files::raise_open_file_limit;
pub(crate) use watchdog::Timeouts;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use watchdog::{Activity, ConnectionService, WatchedIo};

/// How long a connection closed for a timeout may take to say goodbye (an HTTP/2 GOAWAY)
/// before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// The longest an accept that failed for lack of resources waits before the next try.
const ACCEPT_RETRY: Duration = Duration::from_secs(1);

/// How connections are served.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServeSettings {
    /// Connections served at once.
    pub max_connections: usize,
    pub timeouts: Timeouts,
}

/// What every connection's task shares with the accept loop.
struct Shared {
    router: Router,
    builder: auto::Builder<TokioExecutor>,
    timeouts: Timeouts,
    /// Closed (every receiver dropped) when the shutdown signal came.
    signal: watch::Sender<()>,
    /// Woken when a connection closes (an accept that ran out of descriptors waits for it).
    closed: Notify,
}

/// Serves `router` on `listener` until `shutdown` completes and every connection is done.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    settings: ServeSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let (signal, signal_rx) = watch::channel(());
    tokio::spawn(async move {
        shutdown.await;
        drop(signal_rx);
    });
    // Each connection holds a receiver; `serve` returns when all are gone.
    let (all_closed, connection_open) = watch::channel(());
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The watchdog keeps the header timeout (hyper's would also cut idle keep-alive
    // connections; see `watchdog`).
    builder.http1().header_read_timeout(None);
    let shared = Arc::new(Shared { router, builder, timeouts: settings.timeouts, signal, closed: Notify::new() });
    let permits = Arc::new(Semaphore::new(settings.max_connections.max(1)));
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            _ = shared.signal.closed() => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shared.signal.closed() => break,
        };
        match accepted {
            Ok((stream, remote)) => {
                tokio::spawn(serve_connection(shared.clone(), stream, remote, permit, connection_open.clone()));
            }
            Err(e) if is_connection_error(&e) => {}
            Err(e) => {
                tracing::warn!(error = %e, "cannot accept connections; waiting for one to close");
                let _ = tokio::time::timeout(ACCEPT_RETRY, shared.closed.notified()).await;
            }
        }
    }
    drop(connection_open);
    drop(listener);
    all_closed.closed().await;
}

/// Errors of one incoming connection (it went away before it was accepted), not of the
/// listener: the next accept may go on at once.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset | Interrupted | WouldBlock)
}

/// What woke a connection's task.
enum Event {
    /// The connection is over.
    Finished,
    /// The shutdown signal came.
    Stop,
    /// The armed deadline passed.
    Deadline,
}

/// Serves one connection until it ends, breaks a timeout, or shutdown has let it finish.
async fn serve_connection(
    shared: Arc<Shared>,
    stream: TcpStream,
    remote: SocketAddr,
    permit: OwnedSemaphorePermit,
    open: watch::Receiver<()>,
) {
    let timeouts = shared.timeouts;
    let activity = Activity::new();
    let io = TokioIo::new(WatchedIo::new(stream, activity.clone()));
    let service = ConnectionService { router: shared.router.clone(), remote, activity: activity.clone() };
    let mut connection = pin!(shared.builder.serve_connection(io, service));
    let mut stop_signal = pin!(shared.signal.closed());
    let mut stopping = false;
    // Armed at the deadline, or earlier: when it passes, the deadline is looked at again.
    let mut timer = pin!(tokio::time::sleep_until(Instant::now() + timeouts.header_read));
    // Set once the connection was told to close for a timeout: when it must be gone.
    let mut closing: Option<Instant> = None;
    loop {
        let event = std::future::poll_fn(|cx| {
            if connection.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Event::Finished);
            }
            if !stopping && stop_signal.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Event::Stop);
            }
            // What the poll above did (bytes read, a request started or answered) may
            // have brought the deadline nearer.
            if closing.is_none() {
                if let Some(deadline) = activity.deadline(timeouts) {
                    if deadline < timer.deadline() {
                        timer.as_mut().reset(deadline);
                    }
                }
            }
            timer.as_mut().poll(cx).map(|()| Event::Deadline)
        })
        .await;
        match event {
            Event::Finished => break,
            Event::Stop => {
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
            Event::Deadline if closing.is_some() => break, // it did not go in its grace: drop it
            Event::Deadline => {
                let now = Instant::now();
                match activity.deadline(timeouts) {
                    Some(deadline) if deadline <= now => {
                        let timeout = if activity.waiting_for_headers() { "header read" } else { "keep-alive" };
                        tracing::debug!(%remote, timeout, "closing a connection");
                        if !stopping {
                            stopping = true;
                            connection.as_mut().graceful_shutdown();
                        }
                        closing = Some(now + CLOSE_GRACE);
                        timer.as_mut().reset(now + CLOSE_GRACE);
                    }
                    Some(later) => timer.as_mut().reset(later),
                    // A request in flight: no timeout, look again later.
                    None => timer.as_mut().reset(now + timeouts.keepalive),
                }
            }
        }
    }
    drop(permit);
    drop(open);
    shared.closed.notify_one();
}
