//! The route table: `/auth-request` and `/forward-auth` (a proxy asks
//! about a request), and every other path, which the gate serves itself
//! (`PATH/sso_login`, `PATH/sso_logout` of forward-auth routes, and
//! reverse-proxy routes). Each handler goes from the typed request to
//! `Result<Response, Refusal>`; the refusal is mapped once
//! ([`crate::gate::Refusal`]).

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderName};
use hyper::{Request, Response};
use sso_core::flow::Action;

use crate::answer::{self, Style};
use crate::config::{Access, Config, Route};
use crate::gate::{decide, header, respond, Body, Gate, Peer, Refusal};
use crate::original::{self, Forwarded, Original};
use crate::{log, routes};

static X_FORWARDED_METHOD: HeaderName = HeaderName::from_static("x-forwarded-method");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
static X_FORWARDED_URI: HeaderName = HeaderName::from_static("x-forwarded-uri");
static X_ORIGINAL_URL: HeaderName = HeaderName::from_static("x-original-url");
static HOST: HeaderName = hyper::header::HOST;

/// Every request: the route table.
pub async fn handle(
    gate: Arc<Gate>,
    req: Request<Incoming>,
    peer: Peer,
    tls: bool,
) -> Response<Body> {
    let config = gate.config.load_full();
    let result = match req.uri().path() {
        "/auth-request" => forward_auth(&gate, &config, &req, peer, Style::AuthRequest),
        "/forward-auth" => forward_auth(&gate, &config, &req, peer, Style::ForwardAuth),
        _ => site(&gate, &config, req, peer, tls).await,
    };
    result.unwrap_or_else(|refusal| refusal.response())
}

/// Whether `peer` may speak for the original request (`X-Forwarded-*`):
/// anyone when `trusted_proxies` is empty (the gate then listens on
/// loopback or a unix socket, docs/sso-gate.md), else only those.
fn peer_allowed(config: &Config, peer: Peer) -> bool {
    match peer {
        Peer::Unix => true,
        Peer::Tcp(addr) => {
            config.trusted_proxies.is_empty()
                || config.trusted_proxies.iter().any(|t| t.contains(addr.ip()))
        }
    }
}

/// `/auth-request` and `/forward-auth`.
fn forward_auth(
    gate: &Gate,
    config: &Config,
    req: &Request<Incoming>,
    peer: Peer,
    style: Style,
) -> Result<Response<Body>, Refusal> {
    if !peer_allowed(config, peer) {
        return Err(Refusal::UntrustedPeer);
    }
    let h = req.headers();
    let original = original::from_forwarded(&Forwarded {
        method: header(h, &X_FORWARDED_METHOD)?,
        proto: header(h, &X_FORWARDED_PROTO)?,
        host: header(h, &X_FORWARDED_HOST)?,
        uri: header(h, &X_FORWARDED_URI)?,
        original_url: header(h, &X_ORIGINAL_URL)?,
        own_method: req.method().as_str(),
        own_host: header(h, &HOST)?,
    })?;
    let route =
        routes::select(&config.routes, &original.host, &original.path).ok_or(Refusal::NoRoute)?;
    let Access::Protected(settings) = &route.access else {
        return respond(answer::anonymous());
    };
    let decision = decide(gate, settings, &original, h, false);
    log::flow_lines(&decision.logs, &route.path, config.debug_log);
    respond(answer::answer(&decision, style, settings, &original.query))
}

/// Every other path: the handlers of a forward-auth route (its proxy
/// sends `PATH/sso_login` and `PATH/sso_logout` here), or a reverse-proxy
/// route.
async fn site(
    gate: &Gate,
    config: &Config,
    req: Request<Incoming>,
    peer: Peer,
    tls: bool,
) -> Result<Response<Body>, Refusal> {
    let h = req.headers();
    let uri = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let host = match header(h, &HOST)? {
        Some(host) => Some(host),
        None => req.uri().authority().map(|a| a.as_str()),
    };
    let mut original = original::direct(req.method().as_str(), host, uri, tls)?;
    let route =
        routes::select(&config.routes, &original.host, &original.path).ok_or(Refusal::NoRoute)?;
    let forwarded_proto = header(h, &X_FORWARDED_PROTO)?;
    if route.upstream.is_some() {
        let peer_ip = match peer {
            Peer::Tcp(a) => Some(a.ip()),
            Peer::Unix => None,
        };
        original.https = sso_core::proxy::request_is_https(
            tls,
            peer_ip,
            &config.trusted_proxies,
            forwarded_proto,
        );
        return crate::proxy::serve(gate, route, original, req, peer).await;
    }
    // A forward-auth route: only its fronting proxy sends its handlers here,
    // and says the scheme as it does to the forward-auth endpoints.
    if !peer_allowed(config, peer) {
        return Err(Refusal::UntrustedPeer);
    }
    original.https = tls
        || forwarded_proto
            .and_then(|p| p.rsplit(',').next())
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    handlers(gate, route, &original, h)
}

/// `sso_login` and `sso_logout` answered by the gate itself; anything
/// else under a forward-auth route is not the gate's to serve.
fn handlers(
    gate: &Gate,
    route: &Route,
    original: &Original,
    h: &HeaderMap,
) -> Result<Response<Body>, Refusal> {
    let Access::Protected(settings) = &route.access else {
        return Err(Refusal::NoRoute);
    };
    let decision = decide(gate, settings, original, h, true);
    if matches!(decision.action, Action::Decline) {
        return Err(Refusal::NoRoute);
    }
    log::flow_lines(&decision.logs, &route.path, gate.config.load().debug_log);
    respond(answer::answer(
        &decision,
        Style::Direct,
        settings,
        &original.query,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Listen;
    use sso_core::proxy::TrustedProxy;

    fn config(trusted: &[&str]) -> Config {
        Config {
            path: "/etc/sso-gate/sso-gate.toml".into(),
            listen: Listen::Unix("/run/sso-gate/sock".into()),
            binding_store: crate::config::BindingStoreKind::Memory,
            workers: crate::runtime::Workers::Auto,
            debug_log: false,
            tls: None,
            routes: Vec::new(),
            trusted_proxies: trusted
                .iter()
                .map(|t| TrustedProxy::parse(t).unwrap())
                .collect(),
        }
    }

    #[test]
    fn only_trusted_proxies_may_ask_when_named() {
        let peer = |a: &str| Peer::Tcp(a.parse().unwrap());
        let open = config(&[]);
        assert!(peer_allowed(&open, peer("192.0.2.1:1")));
        let named = config(&["10.0.0.0/8"]);
        assert!(peer_allowed(&named, peer("10.1.2.3:1")));
        assert!(!peer_allowed(&named, peer("192.0.2.1:1")));
        assert!(peer_allowed(&named, Peer::Unix));
    }
}
