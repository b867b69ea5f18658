//! The reverse proxy's connections to its upstreams: hyper-util's pooled
//! client, which keeps HTTP/1.1 connections alive between requests (one
//! pool per upstream, idle ones closed after [`IDLE`]), and a connector for
//! `unix:PATH` upstreams. A WebSocket upgrade takes its connection out of
//! the pool.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::http::uri::{Authority, PathAndQuery, Scheme};
use hyper::{Request, Response, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::{Builder, Client};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};

use crate::config::Upstream;

/// How long an unused connection to an upstream is kept.
pub const IDLE: Duration = Duration::from_secs(30);
/// Idle connections kept per upstream.
pub const MAX_IDLE: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("upstream URI: {0}")]
    Uri(#[from] hyper::http::uri::InvalidUri),
    #[error("upstream URI: {0}")]
    UriParts(#[from] hyper::http::uri::InvalidUriParts),
    #[error("{0}: {1}")]
    Client(String, String),
}

impl From<hyper_util::client::legacy::Error> for UpstreamError {
    fn from(e: hyper_util::client::legacy::Error) -> Self {
        let cause = std::error::Error::source(&e)
            .map(ToString::to_string)
            .unwrap_or_default();
        UpstreamError::Client(e.to_string(), cause)
    }
}

/// Connects to one unix socket, whatever the URI.
#[derive(Clone)]
pub struct UnixConnector(Arc<PathBuf>);

type Connecting =
    Pin<Box<dyn Future<Output = std::io::Result<TokioIo<tokio::net::UnixStream>>> + Send>>;

impl tower_service::Service<Uri> for UnixConnector {
    type Response = TokioIo<tokio::net::UnixStream>;
    type Error = std::io::Error;
    type Future = Connecting;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Uri) -> Connecting {
        let path = Arc::clone(&self.0);
        Box::pin(async move { Ok(TokioIo::new(tokio::net::UnixStream::connect(&*path).await?)) })
    }
}

/// The pooled clients of every upstream (kept across reloads).
pub struct Pool {
    http: Client<HttpConnector, Incoming>,
    unix: Mutex<HashMap<PathBuf, Client<UnixConnector, Incoming>>>,
}

fn builder() -> Builder {
    let mut b = Client::builder(TokioExecutor::new());
    b.pool_timer(TokioTimer::new())
        .pool_idle_timeout(IDLE)
        .pool_max_idle_per_host(MAX_IDLE);
    b
}

impl Default for Pool {
    fn default() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Pool {
            http: builder().build(connector),
            unix: Mutex::default(),
        }
    }
}

impl Pool {
    /// Sends `req` (its URI in origin form, its headers ready) to
    /// `upstream` on a kept-alive connection, or a new one.
    pub async fn send(
        &self,
        upstream: &Upstream,
        mut req: Request<Incoming>,
    ) -> Result<Response<Incoming>, UpstreamError> {
        // The path and query as received (no parse again); the authority
        // is the configuration's.
        let pq = req
            .uri()
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        let authority = match upstream {
            Upstream::Http { authority } => authority.as_str(),
            Upstream::Unix(_) => "localhost",
        };
        let mut parts = hyper::http::uri::Parts::default();
        parts.scheme = Some(Scheme::HTTP);
        parts.authority = Some(Authority::try_from(authority)?);
        parts.path_and_query = Some(pq);
        *req.uri_mut() = Uri::from_parts(parts)?;
        match upstream {
            Upstream::Http { .. } => Ok(self.http.request(req).await?),
            Upstream::Unix(path) => {
                let client = {
                    let mut clients = self.unix.lock().unwrap_or_else(|e| e.into_inner());
                    clients
                        .entry(path.clone())
                        .or_insert_with(|| builder().build(UnixConnector(Arc::new(path.clone()))))
                        .clone()
                };
                Ok(client.request(req).await?)
            }
        }
    }
}
