//! The endpoints, one file each, and the router that picks one.
//!
//! - `GET /`: a ticket for a live session, else the login form ([`ticket`]);
//! - `POST /login`: the form's password check ([`login`]);
//! - `GET|POST /logout`: logout everywhere, behind a CSRF check ([`logout`]);
//! - `POST /second-factor`: the second-factor step ([`second_factor`]);
//! - `GET /webauthn.js`, `GET /webauthn/register`, `POST
//!   /webauthn/{register,login}/{start,finish}`: security keys ([`webauthn`]);
//! - `POST /exchange`: a ticket for another service ([`exchange`]);
//! - `GET /healthz`, `GET /style.css` ([`health`]);
//! - `GET /metrics` when enabled ([`metrics`]).

pub mod exchange;
pub mod health;
pub mod login;
pub mod logout;
pub mod metrics;
pub mod second_factor;
pub mod ticket;
pub mod webauthn;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, StatusCode};

use crate::app::{App, Cookies, Resp};

/// Largest form body accepted.
const MAX_BODY: usize = 16 * 1024;

/// Longest wait for a whole request body: hyper's header timeout does not
/// cover the body, and a client dribbling one byte at a time would keep its
/// connection slot for ever.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a request body was not read.
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

/// The methods each path answers, for `405` and its `Allow` header.
fn allowed_methods(path: &str, metrics: bool) -> Option<&'static str> {
    match path {
        "/login" | "/exchange" | "/second-factor" => Some("POST"),
        "/webauthn/register/start"
        | "/webauthn/register/finish"
        | "/webauthn/login/start"
        | "/webauthn/login/finish" => Some("POST"),
        "/webauthn.js" | "/webauthn/register" => Some("GET"),
        "/logout" => Some("GET, POST"),
        "/" | "/healthz" | "/style.css" => Some("GET"),
        "/metrics" if metrics => Some("GET"),
        _ => None,
    }
}

/// The `endpoint` label of the latency histogram: the known paths, and
/// `other` for the rest (a path a client made up must not become a series).
fn endpoint_label(path: &str) -> &'static str {
    match path {
        "/" => "/",
        "/login" => "/login",
        "/logout" => "/logout",
        "/exchange" => "/exchange",
        "/second-factor" => "/second-factor",
        "/webauthn.js" => "/webauthn.js",
        "/webauthn/register" => "/webauthn/register",
        "/webauthn/register/start" => "/webauthn/register/start",
        "/webauthn/register/finish" => "/webauthn/register/finish",
        "/webauthn/login/start" => "/webauthn/login/start",
        "/webauthn/login/finish" => "/webauthn/login/finish",
        "/healthz" => "/healthz",
        "/style.css" => "/style.css",
        "/metrics" => "/metrics",
        _ => "other",
    }
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

    /// Routes one request.
    async fn route(&self, req: Request<Incoming>, peer: IpAddr) -> Resp {
        let client = self.client_addr(peer, req.headers());
        let cookies = Cookies::from_headers(req.headers());
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let query = req.uri().query().unwrap_or("").to_owned();
        match (path.as_str(), &method) {
            ("/", &Method::GET) | ("/", &Method::HEAD) => {
                self.index(&query, &cookies, client).await
            }
            ("/login", &Method::POST) => match read_body(req).await {
                Ok(b) => self.login(&b, &cookies, client).await,
                Err(e) => self.error(e.status(), "Bad request", e.message()),
            },
            ("/second-factor", &Method::POST) => match read_body(req).await {
                Ok(b) => self.second_factor(&b, &cookies, client).await,
                Err(e) => self.error(e.status(), "Bad request", e.message()),
            },
            ("/webauthn.js", &Method::GET) => self.webauthn_script(),
            ("/webauthn/register", &Method::GET) => self.webauthn_register_page(&cookies, client),
            (
                "/webauthn/register/start"
                | "/webauthn/register/finish"
                | "/webauthn/login/start"
                | "/webauthn/login/finish",
                &Method::POST,
            ) => match read_body(req).await {
                Ok(b) => match path.as_str() {
                    "/webauthn/register/start" => {
                        self.webauthn_register_start(&b, &cookies, client)
                    }
                    "/webauthn/register/finish" => {
                        self.webauthn_register_finish(&b, &cookies, client)
                    }
                    "/webauthn/login/start" => self.webauthn_login_start(&b, &cookies, client),
                    _ => self.webauthn_login_finish(&b, &cookies, client).await,
                },
                Err(e) => self.text(e.status(), format!("{}\n", e.message())),
            },
            ("/logout", &Method::GET) => self.logout_get(&cookies, client),
            ("/logout", &Method::POST) => match read_body(req).await {
                Ok(b) => self.logout_post(&b, &cookies, client),
                Err(e) => self.error(e.status(), "Bad request", e.message()),
            },
            ("/exchange", &Method::POST) => match read_body(req).await {
                Ok(b) => self.exchange(&b, client).await,
                Err(e) => self.text(e.status(), format!("{}\n", e.message())),
            },
            ("/healthz", &Method::GET) => self.healthz(),
            ("/style.css", &Method::GET) => self.style(),
            ("/metrics", &Method::GET) if self.config.metrics_enabled => self.metrics_page(client),
            _ => match allowed_methods(&path, self.config.metrics_enabled) {
                Some(allow) => {
                    let mut r = self.error(
                        StatusCode::METHOD_NOT_ALLOWED,
                        "Method not allowed",
                        "This address does not accept that method.",
                    );
                    r.headers_mut()
                        .insert(header::ALLOW, HeaderValue::from_static(allow));
                    r
                }
                None => self.error(
                    StatusCode::NOT_FOUND,
                    "Not found",
                    "There is nothing at this address.",
                ),
            },
        }
    }
}
