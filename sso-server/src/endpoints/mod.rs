//! The endpoints, one file each, and the router that picks one from the
//! route table (`ROUTES`, the one place a path is written). A handler
//! answers `Result<Resp, Refusal>`; the router turns a [`refusal::Refusal`]
//! into its status, page, log line and metrics. What several endpoints end
//! in (the forms, the ticket, the second-factor step) is in [`answers`],
//! and the decisions of a login are [`crate::login_flow`]: the endpoint
//! files do not call one another.
//!
//! - `GET /`: a ticket for a live session, else the login form ([`ticket`]);
//! - `POST /login`: the form's password check ([`login`]);
//! - `GET|POST /logout`: logout everywhere, behind a CSRF check ([`logout`]);
//! - `POST /second-factor`: the second-factor step ([`second_factor`]);
//! - `GET /webauthn.js`, `GET /webauthn/register`, `POST
//!   /webauthn/{register,login}/{start,finish}`: security keys ([`webauthn`]);
//! - `POST /exchange`: a ticket for another service ([`exchange`]);
//! - `GET /healthz`, `GET /style.css` ([`health`]);
//! - `GET /metrics` when enabled ([`metrics`]);
//! - with `[oidc]`, the OpenID Connect provider: `GET
//!   /.well-known/openid-configuration`, `GET /oidc/jwks`, `GET|POST
//!   /oidc/userinfo` ([`oidc_info`]), `GET|POST /oidc/authorize`
//!   ([`oidc_authorize`]), `POST /oidc/token` ([`oidc_token`]), `GET|POST
//!   /oidc/logout` ([`logout`]); their refusals in [`oidc_refusal`].

pub mod answers;
pub mod exchange;
pub mod health;
pub mod login;
pub mod logout;
pub mod metrics;
pub mod oidc_authorize;
pub mod oidc_info;
pub mod oidc_refusal;
pub mod oidc_token;
pub mod refusal;
pub mod second_factor;
pub mod ticket;
pub mod webauthn;

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, StatusCode};

use crate::app::{App, Cookies, Resp};

use refusal::Refusal;

/// Largest form body accepted.
const MAX_BODY: usize = 16 * 1024;

/// Longest wait for a whole request body: hyper's header timeout does not
/// cover the body, and a client dribbling one byte at a time would keep its
/// connection slot for ever.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a request body was not read.
#[derive(Debug)]
pub enum BodyRefused {
    /// Over [`MAX_BODY`], or the connection broke.
    TooLarge,
    /// Not complete within [`BODY_TIMEOUT`].
    TooSlow,
}

impl BodyRefused {
    pub fn status(&self) -> StatusCode {
        match self {
            BodyRefused::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            BodyRefused::TooSlow => StatusCode::REQUEST_TIMEOUT,
        }
    }

    pub fn message(&self) -> &'static str {
        match self {
            BodyRefused::TooLarge => "request too large",
            BodyRefused::TooSlow => "request body too slow",
        }
    }
}

async fn read_body(req: Request<Incoming>) -> Result<Bytes, BodyRefused> {
    let collect = Limited::new(req.into_body(), MAX_BODY).collect();
    match tokio::time::timeout(BODY_TIMEOUT, collect).await {
        Ok(Ok(c)) => Ok(c.to_bytes()),
        Ok(Err(_)) => Err(BodyRefused::TooLarge),
        Err(_) => Err(BodyRefused::TooSlow),
    }
}

/// How a route reads a `POST` body, and how it answers a body it refused:
/// with an HTML page (forms) or with plain text (scripts and services).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Body {
    /// No body is read.
    None,
    Page,
    Text,
}

/// What a handler is given: the request, read and parsed as far as every
/// endpoint needs it.
pub struct Input {
    pub method: Method,
    /// The query string, `""` when there is none.
    pub query: String,
    pub cookies: Cookies,
    /// The client's address (see [`App::client_addr`]).
    pub client: IpAddr,
    /// The body of a `POST` to a route that reads one; empty otherwise.
    pub body: Bytes,
    /// The `Authorization` header, when it is text.
    pub authorization: Option<String>,
}

impl Input {
    /// The parameters of a route that takes them in the query (`GET`) or
    /// in a form (`POST`): the text to parse (a body that is not UTF-8
    /// has none).
    fn query_or_form(&self) -> &str {
        if self.method == Method::POST {
            std::str::from_utf8(&self.body).unwrap_or("")
        } else {
            &self.query
        }
    }
}

/// A handler's answer, or why it refused (see [`refusal`]); boxed so that
/// every route has one handler type.
type Answer<'a> = Pin<Box<dyn Future<Output = Result<Resp, Refusal>> + Send + 'a>>;

/// An endpoint: the state and the request in, the answer out.
type Handler = for<'a> fn(&'a App, Input) -> Answer<'a>;

/// One row of the route table.
struct Route {
    /// The path, matched exactly; also the `endpoint` label of the latency
    /// histogram.
    path: &'static str,
    /// The methods answered, in the order of the `Allow` header of a 405.
    methods: &'static [&'static str],
    body: Body,
    /// Answered only when the configuration enables it (404 otherwise).
    enabled: fn(&App) -> bool,
    handler: Handler,
}

fn always(_: &App) -> bool {
    true
}

fn oidc(app: &App) -> bool {
    app.oidc.is_some()
}

/// Every path the server answers: the one place a path is written.
static ROUTES: &[Route] = &[
    Route {
        path: "/",
        methods: &["GET", "HEAD"],
        body: Body::None,
        enabled: always,
        handler: |app, i| Box::pin(async move { app.index(&i.query, &i.cookies, i.client).await }),
    },
    Route {
        path: "/login",
        methods: &["POST"],
        body: Body::Page,
        enabled: always,
        handler: |app, i| Box::pin(async move { app.login(&i.body, &i.cookies, i.client).await }),
    },
    Route {
        path: "/logout",
        methods: &["GET", "POST"],
        body: Body::Page,
        enabled: always,
        handler: |app, i| {
            Box::pin(async move {
                Ok(if i.method == Method::POST {
                    app.logout_post(&i.body, &i.cookies, i.client).await
                } else {
                    app.logout_get(&i.cookies, i.client).await
                })
            })
        },
    },
    Route {
        path: "/exchange",
        methods: &["POST"],
        body: Body::Text,
        enabled: always,
        handler: |app, i| Box::pin(async move { Ok(app.exchange(&i.body, i.client).await) }),
    },
    Route {
        path: "/second-factor",
        methods: &["POST"],
        body: Body::Page,
        enabled: always,
        handler: |app, i| {
            Box::pin(async move { app.second_factor(&i.body, &i.cookies, i.client).await })
        },
    },
    Route {
        path: "/webauthn.js",
        methods: &["GET"],
        body: Body::None,
        enabled: always,
        handler: |app, _| Box::pin(async move { Ok(app.webauthn_script()) }),
    },
    Route {
        path: "/webauthn/register",
        methods: &["GET"],
        body: Body::None,
        enabled: always,
        handler: |app, i| Box::pin(async move { app.webauthn_register_page(&i.cookies) }),
    },
    Route {
        path: "/webauthn/register/start",
        methods: &["POST"],
        body: Body::Text,
        enabled: always,
        handler: |app, i| {
            Box::pin(async move { Ok(app.webauthn_register_start(&i.body, &i.cookies, i.client)) })
        },
    },
    Route {
        path: "/webauthn/register/finish",
        methods: &["POST"],
        body: Body::Text,
        enabled: always,
        handler: |app, i| {
            Box::pin(async move { Ok(app.webauthn_register_finish(&i.body, &i.cookies, i.client)) })
        },
    },
    Route {
        path: "/webauthn/login/start",
        methods: &["POST"],
        body: Body::Text,
        enabled: always,
        handler: |app, i| {
            Box::pin(async move { Ok(app.webauthn_login_start(&i.body, &i.cookies, i.client)) })
        },
    },
    Route {
        path: "/webauthn/login/finish",
        methods: &["POST"],
        body: Body::Text,
        enabled: always,
        handler: |app, i| {
            Box::pin(async move {
                app.webauthn_login_finish(&i.body, &i.cookies, i.client)
                    .await
            })
        },
    },
    Route {
        path: "/healthz",
        methods: &["GET"],
        body: Body::None,
        enabled: always,
        handler: |app, _| Box::pin(async move { Ok(app.healthz()) }),
    },
    Route {
        path: "/style.css",
        methods: &["GET"],
        body: Body::None,
        enabled: always,
        handler: |app, _| Box::pin(async move { Ok(app.style()) }),
    },
    Route {
        path: "/metrics",
        methods: &["GET"],
        body: Body::None,
        enabled: |app| app.config.metrics_enabled,
        handler: |app, i| Box::pin(async move { app.metrics_page(i.client) }),
    },
    Route {
        path: sso_oidc::discovery::WELL_KNOWN,
        methods: &["GET"],
        body: Body::None,
        enabled: oidc,
        handler: |app, _| Box::pin(async move { app.oidc_discovery() }),
    },
    Route {
        path: sso_oidc::discovery::JWKS,
        methods: &["GET"],
        body: Body::None,
        enabled: oidc,
        handler: |app, _| Box::pin(async move { app.oidc_jwks() }),
    },
    Route {
        path: sso_oidc::discovery::AUTHORIZE,
        methods: &["GET", "POST"],
        body: Body::Page,
        enabled: oidc,
        handler: |app, i| {
            Box::pin(async move {
                app.oidc_authorize(i.query_or_form(), &i.cookies, i.client)
                    .await
            })
        },
    },
    Route {
        path: sso_oidc::discovery::TOKEN,
        methods: &["POST"],
        body: Body::Text,
        enabled: oidc,
        handler: |app, i| {
            Box::pin(async move {
                app.oidc_token(&i.body, i.authorization.as_deref(), i.client)
                    .await
            })
        },
    },
    Route {
        path: sso_oidc::discovery::USERINFO,
        methods: &["GET", "POST"],
        body: Body::Text,
        enabled: oidc,
        handler: |app, i| {
            Box::pin(async move { app.oidc_userinfo(i.authorization.as_deref()).await })
        },
    },
    Route {
        path: sso_oidc::discovery::END_SESSION,
        methods: &["GET", "POST"],
        body: Body::Page,
        enabled: oidc,
        handler: |app, i| {
            Box::pin(async move {
                app.oidc_end_session(i.query_or_form(), &i.cookies, i.client)
                    .await
            })
        },
    },
];

fn find_route(path: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.path == path)
}

/// The `endpoint` label of the latency histogram: the path of a route,
/// and `other` for the rest (a path a client made up must not become a
/// series).
fn endpoint_label(path: &str) -> &'static str {
    find_route(path).map_or("other", |r| r.path)
}

impl App {
    /// Answers one request and records how long that took.
    pub async fn handle(&self, req: Request<Incoming>, peer: IpAddr) -> Resp {
        let started = Instant::now();
        let endpoint = endpoint_label(req.uri().path());
        let resp = crate::layout::scope(self.ui.clone(), self.route(req, peer)).await;
        self.metrics.observe(endpoint, started.elapsed());
        resp
    }

    /// Routes one request: its route's handler, or 405 with the methods
    /// the path answers, or 404.
    async fn route(&self, req: Request<Incoming>, peer: IpAddr) -> Resp {
        let client = self.client_addr(peer, req.headers());
        let path = req.uri().path().to_owned();
        match self.dispatch(req, client).await {
            Ok(resp) => resp,
            Err(refusal) => self.refuse(&refusal, &path, client),
        }
    }

    async fn dispatch(&self, req: Request<Incoming>, client: IpAddr) -> Result<Resp, Refusal> {
        let Some(route) = find_route(req.uri().path()).filter(|r| (r.enabled)(self)) else {
            return Err(Refusal::NotFound);
        };
        let method = req.method().clone();
        if !route.methods.contains(&method.as_str()) {
            return Err(Refusal::MethodNotAllowed {
                allow: route.methods.join(", "),
            });
        }
        let cookies = Cookies::from_headers(req.headers());
        let query = req.uri().query().unwrap_or("").to_owned();
        let authorization = req
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = if method == Method::POST && route.body != Body::None {
            match read_body(req).await {
                Ok(b) => b,
                Err(e) if route.body == Body::Page => return Err(Refusal::Body(e)),
                Err(e) => return Ok(self.text(e.status(), format!("{}\n", e.message()))),
            }
        } else {
            Bytes::new()
        };
        let input = Input {
            method,
            query,
            cookies,
            client,
            body,
            authorization,
        };
        (route.handler)(self, input).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_is_routed_once_and_labelled_by_itself() {
        for (i, r) in ROUTES.iter().enumerate() {
            assert!(
                ROUTES[..i].iter().all(|o| o.path != r.path),
                "{} twice",
                r.path
            );
            assert_eq!(endpoint_label(r.path), r.path);
            assert!(!r.methods.is_empty(), "{}", r.path);
            assert_eq!(
                r.body != Body::None,
                r.methods.contains(&"POST"),
                "{}: a POST route reads its body",
                r.path
            );
        }
        assert_eq!(endpoint_label("/nowhere"), "other");
        assert_eq!(endpoint_label("/login/"), "other");
    }
}
