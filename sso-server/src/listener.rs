//! The listener: accepts connections (plain or TLS with rustls), bounds
//! how many are served at once, and hands each request to [`App::handle`]
//! of the generation current when the request starts (see
//! [`crate::reload`]).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

use crate::app::App;
use crate::reload::Shared;

/// Most connections served at once; further ones wait in the listen
/// queue (a flood of idle connections cannot exhaust file descriptors).
pub const MAX_CONNECTIONS: usize = 10_000;

/// Longest wait for a request's headers, and for a TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(20);

async fn serve_connection<S>(shared: Shared, io: S, peer: SocketAddr)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = service_fn(move |req| {
        // Held until the answer is built: a reload meanwhile does not
        // change the state this request sees.
        let app: Arc<App> = shared.load().app.clone();
        async move { Ok::<_, Infallible>(app.handle(req, peer.ip()).await) }
    });
    let _ = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HANDSHAKE_TIMEOUT)
        .serve_connection(TokioIo::new(io), svc)
        .await;
}

/// Accepts connections forever; each one is served plain or with the TLS
/// certificate of the generation current when it is accepted.
pub async fn serve(shared: Shared, listener: TcpListener) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                // Out of file descriptors and the like: wait, don't spin.
                eprintln!("sso-server: accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let tls = shared.load().tls.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            let _slot = slot;
            match tls {
                Some(acceptor) => {
                    if let Ok(Ok(s)) =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                    {
                        serve_connection(shared, s, peer).await;
                    }
                }
                None => serve_connection(shared, stream, peer).await,
            }
        });
    }
}
