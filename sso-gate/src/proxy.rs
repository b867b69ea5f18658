//! Reverse-proxy routes (`upstream = ...`): the gate stands in front of
//! the site. The flow decides first (from the request as the client sent
//! it: its cookies and `Authorization: SSO`); then every header a client
//! could use to claim an identity is removed, on every route, public ones
//! included, and the gate's own are set from the accepted ticket. Bodies
//! stream both ways (sso-gate/src/upstream.rs: kept-alive, pooled connections), and an
//! `Upgrade` (WebSocket) is joined end to end once the upstream agrees.

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use sso_core::flow::Action;

use crate::answer::{self, Identity, Style, GROUP_HEADERS, USER_HEADERS};
use crate::config::{Access, Route, Upstream};
use crate::gate::{self, Body, Gate, Peer, Refusal};
use crate::original::Original;

/// Hop-by-hop headers (RFC 9110, 7.6.1): for one connection only.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
];

/// Removes every identity header a client may have sent: the gate's own
/// (`X-Forwarded-User`, `-Groups`, `Remote-User`, `-Groups`), every
/// `X-Auth-Request-*`, and an `Authorization: SSO` ticket (the upstream
/// learns the user from the gate, never from a ticket it cannot check).
pub fn strip_identity(h: &mut HeaderMap) {
    let spoofable: Vec<HeaderName> = h
        .keys()
        .filter(|n| {
            let n = n.as_str();
            n.starts_with("x-auth-request-")
                || USER_HEADERS
                    .iter()
                    .chain(GROUP_HEADERS.iter())
                    .any(|u| n.eq_ignore_ascii_case(u))
        })
        .cloned()
        .collect();
    for n in spoofable {
        h.remove(&n);
    }
    let sso_authorization = h.get_all(hyper::header::AUTHORIZATION).iter().any(|v| {
        v.to_str().map_or(true, |v| {
            sso_core::web::authorization_ticket(v).is_some() || v.trim().eq_ignore_ascii_case("sso")
        })
    });
    if sso_authorization {
        h.remove(hyper::header::AUTHORIZATION);
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
    let upgrade = h.get(hyper::header::UPGRADE).cloned();
    for name in HOP_BY_HOP {
        h.remove(name);
    }
    h.remove(hyper::header::UPGRADE);
    if let Some(u) = upgrade {
        h.insert(hyper::header::UPGRADE, u);
        h.insert(
            hyper::header::CONNECTION,
            HeaderValue::from_static("upgrade"),
        );
    }
    strip_identity(h);
    let value = |v: &str| {
        HeaderValue::from_str(v).map_err(|_| Refusal::BadHeader(v.escape_debug().to_string()))
    };
    if let Peer::Tcp(addr) = peer {
        let ip = addr.ip().to_canonical().to_string();
        let xff = match h.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
            Some(earlier) => format!("{earlier}, {ip}"),
            None => ip,
        };
        h.insert("x-forwarded-for", value(&xff)?);
    }
    h.insert(
        "x-forwarded-proto",
        HeaderValue::from_static(if original.https { "https" } else { "http" }),
    );
    h.insert("x-forwarded-host", value(&original.host)?);
    if let Some(host) = host {
        h.insert(hyper::header::HOST, value(host)?);
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
    let host = if route.preserve_host {
        None
    } else {
        Some(match upstream {
            Upstream::Http { authority } => authority.as_str(),
            Upstream::Unix(_) => "localhost",
        })
    };
    upstream_headers(req.headers_mut(), &original, peer, host, identity.as_ref())?;
    let client_upgrade = req
        .headers()
        .contains_key(hyper::header::UPGRADE)
        .then(|| hyper::upgrade::on(&mut req));
    let mut resp = gate
        .pool
        .send(upstream, req)
        .await
        .map_err(|e| Refusal::Upstream(e.to_string()))?;
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
        for name in HOP_BY_HOP {
            resp.headers_mut().remove(name);
        }
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
