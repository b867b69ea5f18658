//! The listener: TCP or a unix socket (`listen = "unix:PATH"`), a bound
//! on connections served at once, HTTP/1.1 with upgrades (WebSocket through
//! the reverse proxy). Each request reads the configuration current when
//! it starts.

use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};

use crate::config::Listen;
use crate::gate::{Gate, Peer};
use crate::log;

/// Most connections served at once; further ones wait in the listen queue.
pub const MAX_CONNECTIONS: usize = 10_000;

/// Longest wait for a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(20);

/// A bound socket.
pub enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Listener {
    /// Binds `listen`; a stale unix socket file is replaced (only a socket:
    /// any other file there is an error).
    pub async fn bind(listen: &Listen) -> std::io::Result<Listener> {
        match listen {
            Listen::Tcp(addr) => TcpListener::bind(addr).await.map(Listener::Tcp),
            Listen::Unix(path) => {
                remove_stale_socket(path)?;
                UnixListener::bind(path).map(Listener::Unix)
            }
        }
    }
}

fn remove_stale_socket(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => std::fs::remove_file(path),
        Ok(_) => Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "a file that is not a socket is in the way",
        )),
        Err(_) => Ok(()),
    }
}

async fn serve_connection<S>(gate: Arc<Gate>, io: S, peer: Peer, tls: bool)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = service_fn(move |req| {
        let gate = gate.clone();
        async move { Ok::<_, Infallible>(crate::table::handle(gate, req, peer, tls).await) }
    });
    let _ = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(io), svc)
        .with_upgrades()
        .await;
}

/// A connection, served plain or with the certificate of the configuration
/// current when it was accepted.
async fn accepted<S>(gate: Arc<Gate>, s: S, peer: Peer)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let tls = gate.config.load().tls.clone();
    match tls {
        Some(t) => {
            if let Ok(Ok(s)) = tokio::time::timeout(HEADER_TIMEOUT, t.0.accept(s)).await {
                serve_connection(gate, s, peer, true).await;
            }
        }
        None => serve_connection(gate, s, peer, false).await,
    }
}

/// Accepts connections forever.
pub async fn serve(gate: Arc<Gate>, listener: Listener) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let gate = gate.clone();
        let accepted = match &listener {
            Listener::Tcp(l) => l.accept().await.map(|(s, a)| {
                let _ = s.set_nodelay(true);
                tokio::spawn(async move {
                    let _slot = slot;
                    accepted(gate, s, Peer::Tcp(a)).await;
                });
            }),
            Listener::Unix(l) => l.accept().await.map(|(s, _)| {
                tokio::spawn(async move {
                    let _slot = slot;
                    accepted(gate, s, Peer::Unix).await;
                });
            }),
        };
        if let Err(e) = accepted {
            // Out of file descriptors and the like: wait, don't spin.
            log::event("accept-failed", &[("error", &e.to_string())]);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
