//! Reverse-proxy routes (`upstream = ...`): the gate stands in front of
//! the site. The flow decides first (from the request as the client sent
//! it: its cookies and `Authorization: SSO`); then every header a client
//! could use to claim an identity is removed, on every route, public ones
//! included, and the gate's own are set from the accepted ticket. Bodies
//! stream both ways (sso-gate/src/upstream.rs: kept-alive, pooled connections), and an
//! `Upgrade` (WebSocket) is joined end to end once the upstream agrees.

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use sso_core::flow::Action;

use crate::answer::{self, Identity, Style};
use crate::config::{Access, Route};
use crate::gate::{self, Body, Gate, Peer, Refusal};
use crate::original::Original;

/// Hop-by-hop headers (RFC 9110, 7.6.1): for one connection only. An
/// `Upgrade` is kept (with a `Connection: upgrade` of the gate's own).
static HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
];

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Whether a client may not pass `name` on as it sent it: one of the
/// gate's identity headers (`X-Forwarded-User`, `-Groups`, `Remote-User`,
/// `-Groups`) or any `X-Auth-Request-*`.
fn is_identity(name: &HeaderName) -> bool {
    answer::is_identity_header(name) || name.as_str().starts_with("x-auth-request-")
}

/// Removes every identity header a client may have sent: the gate's own
/// (`X-Forwarded-User`, `-Groups`, `Remote-User`, `-Groups`), every
/// `X-Auth-Request-*`, and an `Authorization: SSO` ticket (the upstream
/// learns the user from the gate, never from a ticket it cannot check).
pub fn strip_identity(h: &mut HeaderMap) {
    remove_where(h, is_identity);
    let sso_authorization = h.get_all(header::AUTHORIZATION).iter().any(|v| {
        v.to_str().map_or(true, |v| {
            sso_core::web::authorization_ticket(v).is_some() || v.trim().eq_ignore_ascii_case("sso")
        })
    });
    if sso_authorization {
        h.remove(header::AUTHORIZATION);
    }
}

/// Removes every header whose name `doomed` picks, in one pass over the
/// names (a request usually has none of them: nothing is allocated then).
fn remove_where(h: &mut HeaderMap, doomed: impl Fn(&HeaderName) -> bool) {
    let names: Vec<HeaderName> = h.keys().filter(|n| doomed(n)).cloned().collect();
    for n in names {
        h.remove(n);
    }
}

/// The request as the upstream gets it: hop-by-hop headers removed (an
/// `Upgrade` kept with its `Connection`), identity stripped, then the
/// forwarding headers and `identity` set.
pub fn upstream_headers(
    h: &mut HeaderMap,
    original: &Original,
    peer: Peer,
    host: Option<&str>,
    identity: Option<&Identity>,
) -> Result<(), Refusal> {
    remove_where(h, |n| HOP_BY_HOP.contains(n));
    if let Some(u) = h.get(header::UPGRADE).cloned() {
        h.insert(header::UPGRADE, u);
        h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    }
    strip_identity(h);
    let value = |v: &str| {
        HeaderValue::from_str(v).map_err(|_| Refusal::BadHeader(v.escape_debug().to_string()))
    };
    if let Peer::Tcp(addr) = peer {
        let ip = addr.ip().to_canonical().to_string();
        let xff = match h.get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
            Some(earlier) => format!("{earlier}, {ip}"),
            None => ip,
        };
        h.insert(X_FORWARDED_FOR, value(&xff)?);
    }
    h.insert(
        X_FORWARDED_PROTO,
        HeaderValue::from_static(if original.https { "https" } else { "http" }),
    );
    h.insert(X_FORWARDED_HOST, value(&original.host)?);
    if let Some(host) = host {
        h.insert(header::HOST, value(host)?);
    }
    if let Some(identity) = identity {
        identity
            .write(h)
            .map_err(|_| Refusal::BadHeader("the user or groups of the ticket".into()))?;
    }
    Ok(())
}

/// A request under a reverse-proxy route.
pub async fn serve(
    gate: &Gate,
    route: &Route,
    original: Original,
    mut req: Request<Incoming>,
    peer: Peer,
) -> Result<Response<Body>, Refusal> {
    let identity = match &route.access {
        Access::Public => None,
        Access::Protected(settings) => {
            let decision = gate::decide(gate, settings, &original, req.headers(), false);
            crate::log::flow_lines(&decision.logs, &route.path, gate.config.load().debug_log);
            match &decision.action {
                Action::Accept(a) => Some(Identity::of(&a.ticket)),
                _ => {
                    return gate::respond(answer::answer(
                        &decision,
                        Style::Direct,
                        settings,
                        &original.query,
                    ))
                }
            }
        }
    };
    let Some(upstream) = &route.upstream else {
        return Err(Refusal::NoRoute);
    };
    let host = (!route.preserve_host).then(|| upstream.host());
    upstream_headers(req.headers_mut(), &original, peer, host, identity.as_ref())?;
    let client_upgrade = req
        .headers()
        .contains_key(header::UPGRADE)
        .then(|| hyper::upgrade::on(&mut req));
    let mut resp = gate.pool.send(upstream, req).await?;
    if resp.status() == hyper::StatusCode::SWITCHING_PROTOCOLS {
        if let Some(client) = client_upgrade {
            let server = hyper::upgrade::on(&mut resp);
            tokio::spawn(async move {
                if let (Ok(c), Ok(s)) = (client.await, server.await) {
                    let _ =
                        tokio::io::copy_bidirectional(&mut TokioIo::new(c), &mut TokioIo::new(s))
                            .await;
                }
            });
        }
    } else {
        remove_where(resp.headers_mut(), |n| HOP_BY_HOP.contains(n));
    }
    Ok(resp.map(|b| b.boxed()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn original() -> Original {
        Original {
            method: "GET".into(),
            https: true,
            host: "app.example.org".into(),
            path: "/".into(),
            query: String::new(),
            uri: "/".into(),
        }
    }

    fn spoofed() -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in [
            ("remote-user", "root"),
            ("Remote-Groups", "admins"),
            ("x-forwarded-user", "root"),
            ("x-forwarded-groups", "admins"),
            ("x-auth-request-user", "root"),
            ("x-auth-request-email", "root@example.org"),
            ("authorization", "SSO abc"),
            ("connection", "close"),
            ("accept", "text/html"),
        ] {
            h.append(
                HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_static(v),
            );
        }
        h
    }

    #[test]
    fn spoofed_identity_never_reaches_the_upstream() {
        let mut h = spoofed();
        let peer = Peer::Tcp("192.0.2.1:5000".parse().unwrap());
        upstream_headers(&mut h, &original(), peer, None, None).unwrap();
        for gone in [
            "remote-user",
            "remote-groups",
            "x-forwarded-user",
            "x-forwarded-groups",
            "x-auth-request-user",
            "x-auth-request-email",
            "authorization",
            "connection",
        ] {
            assert!(!h.contains_key(gone), "{gone} kept");
        }
        assert_eq!(h["accept"], "text/html");
        assert_eq!(h["x-forwarded-for"], "192.0.2.1");
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-host"], "app.example.org");
    }

    #[test]
    fn the_gate_sets_the_identity_and_keeps_other_authorization() {
        let mut h = spoofed();
        h.insert("authorization", HeaderValue::from_static("Basic dTpw"));
        let identity = Identity {
            user: "alice".into(),
            groups: "staff".into(),
        };
        upstream_headers(
            &mut h,
            &original(),
            Peer::Unix,
            Some("up:80"),
            Some(&identity),
        )
        .unwrap();
        assert_eq!(
            h.get_all("remote-user").iter().collect::<Vec<_>>(),
            ["alice"]
        );
        assert_eq!(h["authorization"], "Basic dTpw");
        assert_eq!(h["host"], "up:80");
        assert!(!h.contains_key("x-forwarded-for"));
    }

    #[test]
    fn an_upgrade_keeps_its_connection_header() {
        let mut h = HeaderMap::new();
        h.insert("upgrade", HeaderValue::from_static("websocket"));
        h.insert("connection", HeaderValue::from_static("Upgrade"));
        upstream_headers(&mut h, &original(), Peer::Unix, None, None).unwrap();
        assert_eq!(h["upgrade"], "websocket");
        assert_eq!(h["connection"], "upgrade");
    }
}
