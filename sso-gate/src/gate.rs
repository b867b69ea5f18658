//! What every handler shares: the state requests are served with, the one
//! refusal type (mapped to its status and log line in one place), the
//! flow's decision on a rebuilt request (every protocol decision is
//! `sso_core::flow`'s), and an answer turned into a response.

use std::net::SocketAddr;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::Response;
use sso_core::flow::{self, Decision, MemoryBindingStore, Settings};
use sso_core::VerifyCache;

use crate::answer::Answer;
use crate::bindings::{self, Bindings};
use crate::config::{BindingStoreKind, Config};
use crate::log;
use crate::original::{Malformed, Original};
use crate::upstream::{Pool, UpstreamError};

/// Response bodies: whole answers of the gate, or an upstream's stream.
pub type Body = BoxBody<Bytes, hyper::Error>;

/// What the gate serves with: the configuration (swapped whole on SIGHUP)
/// and what outlives a reload (the verification cache, the bindings).
pub struct Gate {
    pub config: ArcSwap<Config>,
    pub cache: VerifyCache,
    pub bindings: Bindings,
    /// Kept-alive connections to the reverse proxy's upstreams.
    pub pool: Pool,
}

impl Gate {
    /// The binding store is chosen here, once (a reload keeps it).
    pub fn new(config: Config) -> Result<Gate, redis::RedisError> {
        let bindings = match &config.binding_store {
            BindingStoreKind::Memory => {
                Bindings::Memory(MemoryBindingStore::new(bindings::MEMORY_CAPACITY))
            }
            BindingStoreKind::Redis(url) => Bindings::Redis(bindings::RedisBindings::new(url)?),
        };
        Ok(Gate {
            config: ArcSwap::from_pointee(config),
            cache: VerifyCache::new(sso_core::DEFAULT_CACHE_ENTRIES),
            bindings,
            pool: Pool::default(),
        })
    }
}

/// Who is connected.
#[derive(Debug, Clone, Copy)]
pub enum Peer {
    Tcp(SocketAddr),
    /// A unix socket: whoever may open it is the fronting proxy.
    Unix,
}

/// Why a request is refused before (or instead of) a flow decision.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("malformed request: {0}")]
    Malformed(#[from] Malformed),
    #[error("no route for this host and path")]
    NoRoute,
    #[error("the peer is not in trusted_proxies")]
    UntrustedPeer,
    #[error("a header of the answer cannot be sent: {0}")]
    BadHeader(String),
    #[error("upstream: {0}")]
    Upstream(#[from] UpstreamError),
}

impl Refusal {
    fn status(&self) -> u16 {
        match self {
            Refusal::Malformed(_) => 400,
            Refusal::NoRoute => 404,
            Refusal::UntrustedPeer | Refusal::BadHeader(_) => 403,
            // As nginx: an upstream that did not answer in time is a 504.
            Refusal::Upstream(UpstreamError::ConnectTimeout(..)) => 504,
            Refusal::Upstream(_) => 502,
        }
    }

    /// The one mapping of a refusal: its log line and its answer.
    pub fn response(&self) -> Response<Body> {
        let status = self.status();
        log::event(
            "refused",
            &[
                ("status", &status.to_string()),
                ("reason", &self.to_string()),
            ],
        );
        let text = match status {
            400 => "Bad request",
            404 => "Not found",
            502 => "Bad gateway",
            504 => "Gateway timeout",
            _ => "Forbidden",
        };
        let mut r = Response::new(full(text));
        *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
        r.headers_mut()
            .insert("cache-control", HeaderValue::from_static("no-store"));
        r
    }
}

/// A whole body; an empty one allocates nothing.
pub fn full(text: impl Into<Bytes>) -> Body {
    let text = text.into();
    if text.is_empty() {
        return Empty::new().map_err(|never| match never {}).boxed();
    }
    Full::new(text).map_err(|never| match never {}).boxed()
}

/// A header's value; present but not visible ASCII is malformed. `name`
/// is a `static` (a name parsed from text at every request costs a scan).
pub fn header<'a>(
    h: &'a HeaderMap,
    name: &'static HeaderName,
) -> Result<Option<&'a str>, Malformed> {
    match h.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(Some)
            .map_err(|_| Malformed::Invalid(name.as_str(), "not visible ASCII")),
    }
}

/// The flow's decision on `original`, whose cookies and `Authorization`
/// are `h`'s. `handlers_only`: `sso_login`/`sso_logout` or decline.
pub fn decide(
    gate: &Gate,
    settings: &Settings,
    original: &Original,
    h: &HeaderMap,
    handlers_only: bool,
) -> Decision {
    // Bytes that are not UTF-8 elsewhere in a Cookie header must not hide
    // the ticket beside them (as at mod_sso): such bytes become U+FFFD.
    // (`from_utf8` first: it checks a valid header faster than the lossy
    // conversion walks it.)
    let owned: Vec<std::borrow::Cow<'_, str>> = h
        .get_all(hyper::header::COOKIE)
        .iter()
        .map(|v| match std::str::from_utf8(v.as_bytes()) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(v.as_bytes()),
        })
        .collect();
    let cookies: Vec<&str> = owned.iter().map(|c| c.as_ref()).collect();
    let req = flow::Request {
        method: &original.method,
        path: &original.path,
        query: &original.query,
        unparsed_uri: &original.uri,
        cookie_headers: &cookies,
        authorization: h
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
        https: original.https,
        now: sso_core::unix_now(),
    };
    let store = gate.bindings.store();
    let run = || {
        if handlers_only {
            flow::handle(settings, &req, &gate.cache, store)
        } else {
            flow::decide(settings, &req, &gate.cache, store)
        }
    };
    if gate.bindings.blocks() {
        // Redis is asked synchronously: let the runtime move the other
        // tasks of this worker elsewhere meanwhile.
        tokio::task::block_in_place(run)
    } else {
        run()
    }
}

/// An [`Answer`] as a response.
pub fn respond(a: Answer) -> Result<Response<Body>, Refusal> {
    let mut r = Response::new(full(a.body));
    *r.status_mut() = hyper::StatusCode::from_u16(a.status)
        .map_err(|_| Refusal::BadHeader(format!("status {}", a.status)))?;
    for (name, value) in a.headers {
        let n = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Refusal::BadHeader(name.clone()))?;
        let v = HeaderValue::from_str(&value).map_err(|_| Refusal::BadHeader(name.clone()))?;
        r.headers_mut().append(n, v);
    }
    if let Some(identity) = a.identity {
        identity
            .write(r.headers_mut())
            .map_err(|_| Refusal::BadHeader("the user or groups of the ticket".into()))?;
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::time::Duration;

    use super::*;

    #[test]
    fn an_upstream_is_a_502_and_one_that_never_answered_a_504() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        let down = Refusal::from(UpstreamError::Connect("http://127.0.0.1:9".into(), refused));
        assert_eq!(down.response().status(), 502);
        let slow =
            UpstreamError::ConnectTimeout("http://10.0.0.1:80".into(), Duration::from_secs(10));
        assert_eq!(Refusal::from(slow).response().status(), 504);
    }
}
