//! The reverse proxy's connections to its upstreams: a small pool of
//! HTTP/1.1 connections over hyper's `client::conn::http1`, one list of
//! idle connections per upstream (`http://HOST:PORT` over TCP with
//! `TCP_NODELAY`, or `unix:PATH`).
//!
//! It does what hyper-util's pooled client did for the proxy, for fewer
//! instructions per request (no connector service, no pool-key
//! allocation, no task spawned per request to watch the connection):
//! - a connection goes back to its list only once its response body has
//!   been read to the end and the connection is ready for another request
//!   ([`PoolBody`] sees the end: on its last frame, or when hyper's server
//!   drops a body whose length it knew);
//! - the most recently used idle connection is taken first, and at most
//!   [`MAX_IDLE`] are kept per upstream (the least recently used one is
//!   closed to make room, as nginx's `keepalive`); one unused for [`IDLE`]
//!   is closed (checked every [`IDLE`]/6 by one task per upstream);
//! - a request sent on a kept-alive connection that the upstream had
//!   closed, which hyper hands back unwritten, is sent again on another
//!   connection (or a new one), as hyper-util's client does; so is an
//!   idempotent request without a body whose kept-alive connection closed
//!   before any answer (the close reached the connection only after the
//!   request had been written), as Go's client does: a copy of its head
//!   is kept for that when the connection has been idle for at least
//!   [`RESEND_AFTER`] (the copy costs a tenth of a request);
//! - a response that upgrades its connection (WebSocket: 101) takes it out
//!   of the pool for good: the connection task runs `with_upgrades`, so
//!   `hyper::upgrade::on(response)` gets the stream.

use std::collections::{HashMap, VecDeque};
use std::error::Error as StdError;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{self, HeaderValue};
use hyper::http::uri::{Authority, PathAndQuery};
use hyper::{Method, Request, Response, Uri};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::config::Upstream;

/// How long an unused connection to an upstream is kept.
pub const IDLE: Duration = Duration::from_secs(30);
/// Idle connections kept per upstream. A burst of N concurrent requests
/// opens N connections; any beyond this limit are closed when they come
/// back, and the next burst opens them again (with 1,000 client
/// connections, a limit of 64 meant hundreds of connects per burst).
/// nginx's `keepalive N` caps the same set; this one is sized for the
/// concurrency the gate serves, and idle connections still go after
/// [`IDLE`] (the upstream may close them sooner: they are then dropped).
pub const MAX_IDLE: usize = 1024;

/// How long a new connection to an upstream may take (TCP handshake and
/// unix connect). Without a bound a dropped SYN holds the client for the
/// kernel's retries (over two minutes); nginx answers 504 after 60 s,
/// Envoy after 5 s. An upstream that is down is refused at once anyway.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A request taken by a connection idle for this long or longer is
/// copied, to be sent again should the upstream have closed it meanwhile.
/// Upstreams close idle connections after seconds (gunicorn 2 s, Apache
/// and Node 5 s, nginx 75 s); one used more recently is closed without
/// warning only when the upstream stops, a race not worth a copy of every
/// request's headers.
pub const RESEND_AFTER: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("upstream URI: {0}")]
    Uri(#[from] hyper::http::uri::InvalidUri),
    #[error("upstream URI: {0}")]
    UriParts(#[from] hyper::http::uri::InvalidUriParts),
    #[error("upstream host: {0}")]
    Host(#[from] hyper::header::InvalidHeaderValue),
    #[error("connect to {0}: {1}")]
    Connect(String, std::io::Error),
    #[error("connect to {0}: no answer within {1:?}")]
    ConnectTimeout(String, Duration),
    /// hyper's error with its cause (hyper's own text is only the kind).
    #[error("{0}")]
    Http(String),
}

impl From<hyper::Error> for UpstreamError {
    fn from(e: hyper::Error) -> Self {
        match e.source() {
            Some(cause) => UpstreamError::Http(format!("{e}: {cause}")),
            None => UpstreamError::Http(e.to_string()),
        }
    }
}

/// What a request body must be to be sent on a pooled connection (the
/// gate's are [`Incoming`]; the tests send others).
pub trait SendBody:
    Body<Data: Send, Error: Into<Box<dyn StdError + Send + Sync>>> + Send + Unpin + 'static
{
}
impl<B> SendBody for B where
    B: Body<Data: Send, Error: Into<Box<dyn StdError + Send + Sync>>> + Send + Unpin + 'static
{
}

/// The body a pooled connection sends: the request's, or none (a request
/// sent again from the copy of its head).
pub enum Outgoing<B> {
    Given(B),
    Empty,
}

impl<B: Body + Unpin> Body for Outgoing<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        match self.get_mut() {
            Outgoing::Given(b) => Pin::new(b).poll_frame(cx),
            Outgoing::Empty => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Outgoing::Given(b) => b.is_end_stream(),
            Outgoing::Empty => true,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Outgoing::Given(b) => b.size_hint(),
            Outgoing::Empty => SizeHint::with_exact(0),
        }
    }
}

/// The kept-alive connections of every upstream (kept across reloads:
/// the key is the upstream as configured; a reload drops those of an
/// upstream no route names any more, [`Pool::keep_only`]).
pub struct Pool<B = Incoming> {
    slots: Mutex<HashMap<Upstream, Arc<Slot<B>>>>,
    max_idle: usize,
    idle: Duration,
    resend_after: Duration,
    connect_timeout: Duration,
}

impl<B> Default for Pool<B> {
    fn default() -> Self {
        Pool::with_limits(MAX_IDLE, IDLE)
    }
}

impl<B: SendBody> Pool<B> {
    /// Sends `req` (its headers ready) to `upstream` on a kept-alive
    /// connection, or a new one. The response's body gives the connection
    /// back once read to its end.
    pub async fn send(
        &self,
        upstream: &Upstream,
        req: Request<B>,
    ) -> Result<Response<PoolBody<B>>, UpstreamError> {
        let mut req = req.map(Outgoing::Given);
        prepare(upstream, &mut req)?;
        let slot = self.slot(upstream);
        while let Some((mut conn, since)) = slot.take() {
            let copy = if since.elapsed() >= self.resend_after {
                resendable(&req)
            } else {
                None
            };
            match conn.try_send_request(req).await {
                Ok(resp) => return Ok(lease(resp, conn, slot)),
                Err(mut e) => match (e.take_message(), copy) {
                    // Never written (the upstream had closed the idle
                    // connection): safe to send again, whatever the method.
                    (Some(unsent), _) => req = unsent,
                    // Written, but the connection closed without an answer:
                    // the upstream had closed it as idle (or went away).
                    (None, Some(copy)) if e.error().is_incomplete_message() => req = copy,
                    (None, _) => return Err(e.into_error().into()),
                },
            }
        }
        let mut conn = tokio::time::timeout(self.connect_timeout, connect(upstream))
            .await
            .map_err(|_| {
                UpstreamError::ConnectTimeout(upstream.to_string(), self.connect_timeout)
            })??;
        let resp = conn.send_request(req).await?;
        Ok(lease(resp, conn, slot))
    }
}

impl<B> Pool<B> {
    /// A pool keeping at most `max_idle` idle connections per upstream,
    /// each for `idle` unused.
    pub fn with_limits(max_idle: usize, idle: Duration) -> Self {
        Pool {
            slots: Mutex::default(),
            max_idle,
            idle,
            resend_after: RESEND_AFTER,
            connect_timeout: CONNECT_TIMEOUT,
        }
    }

    /// The idle connections of `upstream` (one hash of the configured
    /// upstream, no allocation once it has been seen).
    fn slot(&self, upstream: &Upstream) -> Arc<Slot<B>>
    where
        B: Send + 'static,
    {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = slots.get(upstream) {
            return Arc::clone(slot);
        }
        let slot = Arc::new(Slot {
            idle: Mutex::default(),
            max_idle: self.max_idle,
        });
        slots.insert(upstream.clone(), Arc::clone(&slot));
        drop(slots);
        // `send` runs on the runtime; a pool used without one never keeps
        // a connection long enough to need the reaper.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(reap(Arc::downgrade(&slot), self.idle));
        }
        slot
    }

    /// Forgets every upstream but `upstreams` (after a reload): their idle
    /// connections close, and so does one in use when its answer ends.
    pub fn keep_only<'u>(&self, upstreams: impl IntoIterator<Item = &'u Upstream>) {
        let keep: Vec<&Upstream> = upstreams.into_iter().collect();
        let gone: Vec<Arc<Slot<B>>> = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            let names: Vec<Upstream> = slots
                .keys()
                .filter(|u| !keep.contains(u))
                .cloned()
                .collect();
            names.iter().filter_map(|u| slots.remove(u)).collect()
        };
        // Closed outside the lock.
        drop(gone);
    }

    /// Idle connections kept for `upstream` (for the tests).
    #[cfg(test)]
    fn idle_count(&self, upstream: &Upstream) -> usize {
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.get(upstream).map_or(0, |s| s.lock().len())
    }
}

/// A copy of an idempotent request without a body (RFC 9110, 9.2.2: a
/// client may send it again), to send again if its kept-alive connection
/// turns out closed; `None` for others. (The extensions are not copied:
/// hyper's client does not read them, and an upgrade has been taken out.)
fn resendable<B: Body + Unpin>(req: &Request<Outgoing<B>>) -> Option<Request<Outgoing<B>>> {
    let idempotent = matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE
    );
    if !idempotent || !req.body().is_end_stream() {
        return None;
    }
    let mut copy = Request::new(Outgoing::Empty);
    *copy.method_mut() = req.method().clone();
    *copy.uri_mut() = req.uri().clone();
    *copy.version_mut() = req.version();
    *copy.headers_mut() = req.headers().clone();
    Some(copy)
}

/// The URI as the upstream gets it: hyper writes it as it is, so a client's
/// absolute form (`GET http://host/path`) becomes the origin form; a
/// `Host` is set when the client sent none (HTTP/1.0 with
/// `preserve_host`), as hyper-util's client did.
fn prepare<B>(upstream: &Upstream, req: &mut Request<B>) -> Result<(), UpstreamError> {
    if req.uri().scheme().is_some() || req.uri().authority().is_some() {
        let mut parts = hyper::http::uri::Parts::default();
        if req.method() == Method::CONNECT {
            parts.authority = Some(Authority::try_from(upstream.host())?);
        } else {
            parts.path_and_query = Some(
                req.uri()
                    .path_and_query()
                    .cloned()
                    .unwrap_or_else(|| PathAndQuery::from_static("/")),
            );
        }
        *req.uri_mut() = Uri::from_parts(parts)?;
    }
    if !req.headers().contains_key(header::HOST) {
        let host = HeaderValue::from_str(upstream.host())?;
        req.headers_mut().insert(header::HOST, host);
    }
    Ok(())
}

/// A new connection to `upstream`, its connection task spawned.
async fn connect<B: SendBody>(
    upstream: &Upstream,
) -> Result<SendRequest<Outgoing<B>>, UpstreamError> {
    let failed = |e| UpstreamError::Connect(upstream.to_string(), e);
    match upstream {
        Upstream::Http { authority } => {
            let tcp = tokio::net::TcpStream::connect(authority.as_str())
                .await
                .map_err(failed)?;
            // hyper writes a request's head and body in separate writes:
            // Nagle's algorithm would hold a small body back for the ACK.
            tcp.set_nodelay(true).map_err(failed)?;
            handshake(tcp).await
        }
        Upstream::Unix(path) => {
            let unix = tokio::net::UnixStream::connect(path)
                .await
                .map_err(failed)?;
            handshake(unix).await
        }
    }
}

async fn handshake<B, T>(io: T) -> Result<SendRequest<Outgoing<B>>, UpstreamError>
where
    B: SendBody,
    T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (conn, task) = http1::handshake(TokioIo::new(io)).await?;
    // Its errors reach the request that was on it (or nobody: an idle
    // connection that closes is dropped from the pool).
    tokio::spawn(async move {
        let _ = task.with_upgrades().await;
    });
    Ok(conn)
}

/// The response, its body holding the connection until read to the end.
fn lease<B: SendBody>(
    resp: Response<Incoming>,
    conn: SendRequest<Outgoing<B>>,
    slot: Arc<Slot<B>>,
) -> Response<PoolBody<B>> {
    // hyper marks a response that upgrades its connection (101, or a 2xx
    // to CONNECT): the connection is the tunnel's now, never the pool's.
    let upgraded = resp
        .extensions()
        .get::<hyper::upgrade::OnUpgrade>()
        .is_some();
    let lease = (!upgraded).then_some(Lease { slot, conn });
    resp.map(|inner| PoolBody { inner, lease })
}

/// The idle connections of one upstream, the most recently used last.
struct Slot<B> {
    idle: Mutex<VecDeque<Idle<B>>>,
    max_idle: usize,
}

struct Idle<B> {
    conn: SendRequest<Outgoing<B>>,
    since: Instant,
}

impl<B> Slot<B> {
    fn lock(&self) -> MutexGuard<'_, VecDeque<Idle<B>>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The most recently used connection still ready, and since when it
    /// has been idle (the others, closed by their upstream, are dropped on
    /// the way).
    fn take(&self) -> Option<(SendRequest<Outgoing<B>>, Instant)> {
        let mut idle = self.lock();
        while let Some(c) = idle.pop_back() {
            if c.conn.is_ready() {
                return Some((c.conn, c.since));
            }
        }
        None
    }

    fn put(&self, conn: SendRequest<Outgoing<B>>) {
        let since = Instant::now();
        let evicted = {
            let mut idle = self.lock();
            let evicted = if idle.len() >= self.max_idle {
                idle.pop_front()
            } else {
                None
            };
            if self.max_idle > 0 {
                idle.push_back(Idle { conn, since });
            }
            evicted
        };
        // Dropping a sender ends its connection: outside the lock.
        drop(evicted);
    }

    /// Drops the connections unused for `idle` or closed by the upstream.
    fn reap(&self, idle: Duration) {
        let now = Instant::now();
        let mut gone = Vec::new();
        {
            let mut list = self.lock();
            while let Some(c) = list.pop_front() {
                if now.saturating_duration_since(c.since) < idle && !c.conn.is_closed() {
                    list.push_front(c);
                    break;
                }
                gone.push(c);
            }
            list.retain(|c| !c.conn.is_closed());
        }
        drop(gone);
    }
}

/// Closes the idle connections of one upstream after `idle`; ends with
/// the pool.
async fn reap<B>(slot: Weak<Slot<B>>, idle: Duration) {
    // tokio's interval panics on a zero period (`with_limits` with no idle
    // time): at least a millisecond.
    let mut every = tokio::time::interval((idle / 6).max(Duration::from_millis(1)));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let Some(slot) = slot.upgrade() else { return };
        slot.reap(idle);
    }
}

/// A connection lent to one request.
struct Lease<B> {
    slot: Arc<Slot<B>>,
    conn: SendRequest<Outgoing<B>>,
}

impl<B: Send + 'static> Lease<B> {
    /// The body has been read to its end: back to the pool once the
    /// connection is ready for another request. It usually is already
    /// (hyper's connection task asks for the next request right after it
    /// has passed on the last bytes); if not, a small task waits for it
    /// (or for the connection to close, e.g. `Connection: close`).
    fn give_back(self) {
        let Lease { slot, mut conn } = self;
        if conn.is_ready() {
            slot.put(conn);
        } else if !conn.is_closed() {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    if std::future::poll_fn(|cx| conn.poll_ready(cx)).await.is_ok() {
                        slot.put(conn);
                    }
                });
            }
        }
    }
}

/// An upstream's response body: streams [`Incoming`] and gives its
/// connection back to the pool once read to the end. Dropped before that
/// (the client went away, an error), the connection is closed.
pub struct PoolBody<B: Send + 'static = Incoming> {
    inner: Incoming,
    lease: Option<Lease<B>>,
}

impl<B: Send + 'static> std::fmt::Debug for PoolBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolBody")
            .field("inner", &self.inner)
            .field("pooled", &self.lease.is_some())
            .finish()
    }
}

impl<B: Send + 'static> PoolBody<B> {
    fn end(&mut self) {
        if let Some(lease) = self.lease.take() {
            lease.give_back();
        }
    }
}

impl<B: Send + 'static> Body for PoolBody<B> {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        let frame = Pin::new(&mut this.inner).poll_frame(cx);
        match &frame {
            // A chunked body ends here, one of known length after its
            // last bytes.
            Poll::Ready(None) => this.end(),
            Poll::Ready(Some(Ok(_))) if this.inner.is_end_stream() => this.end(),
            Poll::Ready(Some(Err(_))) => this.lease = None,
            _ => {}
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B: Send + 'static> Drop for PoolBody<B> {
    fn drop(&mut self) {
        // hyper's server never polls a body it knows has ended (an empty
        // one, or one of known length after its last bytes were taken):
        // the end is seen here.
        if self.inner.is_end_stream() {
            self.end();
        }
    }
}

#[cfg(test)]
mod tests;
