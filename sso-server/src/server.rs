//! The HTTP side: routing, the endpoints, cookies, security headers, the
//! event log, and the accept loop (plain or TLS).

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use sso_core::{Check, KeySet, PublicKey, Signer, Ticket, Verifier};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

use crate::auth::Backend;
use crate::config::Config;
use crate::html;
use crate::params::{ParamError, TicketRequest};
use crate::session::{valid_name, Sealer, Session};
use crate::throttle::{Throttle, Throttled};

/// Name of the pre-login cookie the CSRF tokens are bound to.
/// `__Host-`: browsers accept it only `Secure`, with `Path=/` and no
/// `Domain`, so a sibling host of the same site cannot plant its own pair
/// (login CSRF by cookie tossing).
pub const CSRF_COOKIE: &str = "__Host-sso_csrf";
/// Largest form body accepted.
const MAX_BODY: usize = 16 * 1024;

/// Sent with every answer. Tickets travel in URLs, so no referrer ever
/// leaves; no framing; no script at all; images only for logout.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' https:; \
form-action 'self' https:; frame-ancestors 'none'; base-uri 'none'";

/// Everything a request needs, built once at startup.
pub struct App {
    pub config: Config,
    pub signer: Signer,
    pub keys: KeySet,
    pub sealer: Sealer,
    pub throttle: Throttle,
    pub backend: Arc<dyn Backend>,
    /// Password checks running at once. Each one is a memory-hard hash
    /// (19 MiB with the default argon2id) or a backend round trip on a
    /// blocking thread: unbounded, a burst of POSTs would take hundreds of
    /// threads and gigabytes. Waiting logins queue here instead.
    pub auth_slots: tokio::sync::Semaphore,
}

/// How many password checks may run at once: two per core.
fn auth_parallelism() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()) * 2
}

type Resp = Response<Full<Bytes>>;

/// A log line for an event: values are quoted and escaped ({:?}) so a
/// hostile user name cannot forge lines. Never a password, ticket or secret.
pub fn log_event(event: &str, fields: &[(&str, &str)]) {
    use std::fmt::Write;
    let mut line = format!("sso-server: t={} event={event}", sso_core::unix_now());
    for (k, v) in fields {
        let _ = write!(line, " {k}={v:?}");
    }
    line.push('\n');
    // Not eprintln!: that panics when stderr is gone (a closed log pipe),
    // and a lost log line must not take a request down with it.
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
}

impl App {
    /// Loads keys and builds the state; errors name the file.
    pub fn new(config: Config, backend: Arc<dyn Backend>) -> Result<App, String> {
        let signer = Signer::from_file(&config.secret_key_file)
            .map_err(|e| format!("secret_key_file: {e}"))?;
        let mut public = Vec::new();
        for p in &config.public_key_files {
            public.push(PublicKey::from_file(p).map_err(|e| format!("public_key_files: {e}"))?);
        }
        let own = signer.public_key().to_raw();
        if !public.iter().any(|k| k.to_raw() == own) {
            return Err(format!(
                "public_key_files: none of them is the public key of {} (tickets this server \
                 mints could not be verified)",
                config.secret_key_file.display()
            ));
        }
        let keys = KeySet::new(&public).map_err(|e| format!("public_key_files: {e}"))?;
        let sealer = Sealer::new(&config.session_secrets);
        let throttle = Throttle::new(
            config.throttle_window,
            config.max_failures_per_user,
            config.max_failures_per_address,
        );
        Ok(App {
            config,
            signer,
            keys,
            sealer,
            throttle,
            backend,
            auth_slots: tokio::sync::Semaphore::new(auth_parallelism()),
        })
    }

    fn base_headers(&self, resp: &mut Resp) {
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if self.config.tls.is_some() {
            h.insert(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000"),
            );
        }
    }

    fn respond(&self, status: StatusCode, content_type: &'static str, body: String) -> Resp {
        let mut resp = Response::new(Full::new(Bytes::from(body)));
        *resp.status_mut() = status;
        self.base_headers(&mut resp);
        let h = resp.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        resp
    }

    fn page(&self, status: StatusCode, body: String) -> Resp {
        self.respond(status, "text/html; charset=utf-8", body)
    }

    fn error(&self, status: StatusCode, heading: &str, message: &str) -> Resp {
        self.page(
            status,
            html::error_page(&self.config.title, heading, message),
        )
    }

    fn text(&self, status: StatusCode, body: String) -> Resp {
        self.respond(status, "text/plain; charset=utf-8", body)
    }

    fn session_cookie(&self, session: &Session) -> HeaderValue {
        let value = self.sealer.seal(session);
        let max_age = session.expires.saturating_sub(sso_core::unix_now());
        header_value(format!(
            "{}={value}; Path=/; Max-Age={max_age}; HttpOnly; Secure; SameSite=Lax",
            self.config.cookie_name
        ))
    }

    fn clear_session_cookie(&self) -> HeaderValue {
        header_value(format!(
            "{}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax",
            self.config.cookie_name
        ))
    }

    fn session(&self, cookies: &HashMap<String, String>) -> Option<Session> {
        let v = cookies.get(&self.config.cookie_name)?;
        self.sealer.open(v, sso_core::unix_now())
    }

    /// The client's address: the peer, or, when the peer is a trusted
    /// proxy, the right-most X-Forwarded-For entry that is not one.
    ///
    /// Only the entries that trusted proxies appended (the right end) mean
    /// anything: the walk goes from the right, and at the first entry that
    /// does not parse it stops at the last hop it could trust. A client
    /// that sends `X-Forwarded-For: junk` through the proxy is still itself,
    /// never the proxy (which would throttle everyone behind it).
    fn client_addr(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let trusted = &self.config.trusted_proxies;
        if !trusted.contains(&peer) {
            return peer;
        }
        let values: Vec<&HeaderValue> = headers.get_all("x-forwarded-for").iter().collect();
        let mut hop = peer;
        for v in values.into_iter().rev() {
            let Ok(s) = v.to_str() else { return hop };
            for part in s.rsplit(',') {
                match part.trim().parse::<IpAddr>() {
                    Ok(a) if trusted.contains(&a) => hop = a,
                    Ok(a) => return a,
                    Err(_) => return hop,
                }
            }
        }
        hop
    }

    fn refuse_params(&self, e: &ParamError, client: IpAddr) -> Resp {
        log_event(
            "refused",
            &[("check", e.check()), ("addr", &client.to_string())],
        );
        self.error(StatusCode::BAD_REQUEST, "Bad request", &e.to_string())
    }

    fn refuse_service(&self, req: &TicketRequest, client: IpAddr, user: Option<&str>) -> Resp {
        log_event(
            "refused",
            &[
                ("check", "service not allowed"),
                ("service", &req.service),
                ("user", user.unwrap_or("")),
                ("addr", &client.to_string()),
            ],
        );
        self.error(
            StatusCode::FORBIDDEN,
            "Service not allowed",
            &format!(
                "This login server does not issue tickets for the service {}.",
                req.service
            ),
        )
    }

    /// The ticket request from a parsed parameter map, checked, and the
    /// service allowed.
    fn ticket_request(
        &self,
        p: &HashMap<String, String>,
        client: IpAddr,
        user: Option<&str>,
    ) -> Result<TicketRequest, Box<Resp>> {
        let get = |k: &str| p.get(k).map(String::as_str);
        let req = TicketRequest::from_params(get("s"), get("d"), get("n"), get("g"))
            .map_err(|e| Box::new(self.refuse_params(&e, client)))?;
        if !self.config.service_allowed(&req.service) {
            return Err(Box::new(self.refuse_service(&req, client, user)));
        }
        Ok(req)
    }

    /// Mints a ticket for a logged-in user and redirects to the service;
    /// `send_cookie` when the session cookie must be (re)sent anyway.
    fn issue(
        &self,
        req: &TicketRequest,
        mut session: Session,
        client: IpAddr,
        mut send_cookie: bool,
    ) -> Resp {
        let addr = client.to_string();
        let Some(groups) = req.ticket_groups(&session.groups) else {
            log_event(
                "refused",
                &[
                    ("check", "not in groups"),
                    ("user", &session.user),
                    ("service", &req.service),
                    ("groups", &req.groups.join(",")),
                    ("addr", &addr),
                ],
            );
            let mut resp = self.error(
                StatusCode::FORBIDDEN,
                "Access denied",
                &format!(
                    "{} is not in any of the groups this service requires ({}).",
                    session.user,
                    req.groups.join(", ")
                ),
            );
            if send_cookie {
                resp.headers_mut()
                    .append(header::SET_COOKIE, self.session_cookie(&session));
            }
            return resp;
        };
        let now = sso_core::unix_now();
        let expires = now.saturating_add(self.config.ticket_lifetime(&req.service));
        let mut ticket = Ticket::new(&session.user, &req.service, &self.config.domain, expires);
        ticket.nonce = req.nonce.clone();
        ticket.groups = groups;
        let encoded = match self.signer.sign(&ticket) {
            Ok(t) => t,
            Err(e) => {
                log_event(
                    "error",
                    &[
                        ("check", e.check()),
                        ("user", &session.user),
                        ("service", &req.service),
                        ("addr", &addr),
                    ],
                );
                return self.error(
                    StatusCode::BAD_REQUEST,
                    "Cannot issue a ticket",
                    "A ticket cannot carry these values.",
                );
            }
        };
        send_cookie |= session.add_service(&req.service);
        log_event(
            "ticket",
            &[
                ("user", &session.user),
                ("service", &req.service),
                ("addr", &addr),
                ("ticket", &sso_core::ticket_fingerprint(&encoded)),
            ],
        );
        let mut resp = self.respond(
            StatusCode::FOUND,
            "text/plain; charset=utf-8",
            String::new(),
        );
        let h = resp.headers_mut();
        h.insert(header::LOCATION, header_value(req.redirect_url(&encoded)));
        if send_cookie {
            h.append(header::SET_COOKIE, self.session_cookie(&session));
        }
        resp
    }

    /// The login form (status 200, or the status of a failed attempt),
    /// with the CSRF cookie set when the browser has none.
    fn login_form(
        &self,
        status: StatusCode,
        req: &TicketRequest,
        cookies: &HashMap<String, String>,
        username: &str,
        error: Option<&str>,
    ) -> Resp {
        let (csrf_cookie, fresh) = match cookies.get(CSRF_COOKIE) {
            Some(c) if !c.is_empty() && c.len() <= 64 && is_token_chars(c) => (c.clone(), false),
            _ => (Sealer::new_csrf_cookie(), true),
        };
        let token = self.sealer.csrf_token(&csrf_cookie);
        let mut resp = self.page(
            status,
            html::login_form(&self.config.title, req, &token, username, error),
        );
        if fresh {
            resp.headers_mut().append(
                header::SET_COOKIE,
                header_value(format!(
                    "{CSRF_COOKIE}={csrf_cookie}; Path=/; HttpOnly; Secure; SameSite=Lax"
                )),
            );
        }
        resp
    }

    /// `GET /`: a ticket straight away with a live session, else the form.
    async fn index(&self, query: &str, cookies: &HashMap<String, String>, client: IpAddr) -> Resp {
        let params = match parse_params(query) {
            Some(p) => p,
            None => return self.refuse_params(&ParamError::DuplicateParameter, client),
        };
        let session = self.session(cookies);
        let req =
            match self.ticket_request(&params, client, session.as_ref().map(|s| s.user.as_str())) {
                Ok(r) => r,
                Err(resp) => return *resp,
            };
        match session {
            Some(s) => self.silent_ticket(&req, s, cookies, client).await,
            None => self.login_form(StatusCode::OK, &req, cookies, "", None),
        }
    }

    /// A ticket for a live session, once the backend has been asked about
    /// the account again (see `auth::current_account`): a deleted account
    /// gets the login form and its session cookie cleared, a removed group
    /// is gone from the ticket at once, and a backend that cannot tell
    /// answers 503 rather than trusting the cookie.
    async fn silent_ticket(
        &self,
        req: &TicketRequest,
        mut session: Session,
        cookies: &HashMap<String, String>,
        client: IpAddr,
    ) -> Resp {
        let addr = client.to_string();
        let account =
            crate::auth::current_account(&self.backend, &self.auth_slots, &session.user).await;
        let fields = [
            ("user", session.user.as_str()),
            ("service", &req.service),
            ("backend", self.backend.name()),
            ("addr", &addr),
        ];
        match account {
            Ok(Some(account)) => {
                session.groups = account
                    .groups
                    .into_iter()
                    .filter(|g| valid_name(g))
                    .collect();
                self.issue(req, session, client, false)
            }
            Ok(None) => {
                log_event(
                    "refused",
                    &[&[("check", "account gone")], &fields[..]].concat(),
                );
                let mut resp = self.login_form(StatusCode::OK, req, cookies, "", None);
                resp.headers_mut()
                    .append(header::SET_COOKIE, self.clear_session_cookie());
                resp
            }
            Err(e) => {
                let error = e.to_string();
                log_event(
                    "backend-error",
                    &[&[("error", error.as_str())], &fields[..]].concat(),
                );
                self.error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Login unavailable",
                    "The authentication service is not available right now. Try again later.",
                )
            }
        }
    }

    /// `POST /login`.
    async fn login(&self, body: &[u8], cookies: &HashMap<String, String>, client: IpAddr) -> Resp {
        let addr = client.to_string();
        let Some(form) = std::str::from_utf8(body).ok().and_then(parse_params) else {
            return self.refuse_params(&ParamError::DuplicateParameter, client);
        };
        let csrf_ok = match (cookies.get(CSRF_COOKIE), form.get("csrf")) {
            (Some(c), Some(t)) => self.sealer.csrf_valid(c, t),
            _ => false,
        };
        if !csrf_ok {
            log_event("refused", &[("check", "csrf"), ("addr", &addr)]);
            return self.error(
                StatusCode::FORBIDDEN,
                "Form expired",
                "The login form was not sent by this server or has expired. Go back and load \
                 the page again.",
            );
        }
        let req = match self.ticket_request(&form, client, None) {
            Ok(r) => r,
            Err(resp) => return *resp,
        };
        let username = form.get("username").map(String::as_str).unwrap_or("");
        let password = form.get("password").map(String::as_str).unwrap_or("");
        let now = sso_core::unix_now();
        if let Err(which) = self.throttle.begin(username, client, now) {
            log_event(
                "throttled",
                &[
                    (
                        "check",
                        match which {
                            Throttled::User => "too many failures for user",
                            Throttled::Address => "too many failures from address",
                        },
                    ),
                    ("user", username),
                    ("service", &req.service),
                    ("addr", &addr),
                ],
            );
            let mut resp = self.login_form(
                StatusCode::TOO_MANY_REQUESTS,
                &req,
                cookies,
                username,
                Some("Too many failed logins. Wait a few minutes and try again."),
            );
            resp.headers_mut().insert(
                header::RETRY_AFTER,
                header_value(self.config.throttle_window.to_string()),
            );
            return resp;
        }
        let outcome = if valid_name(username) && !password.is_empty() {
            self.authenticate(username, password).await
        } else {
            Ok(None)
        };
        match outcome {
            Ok(Some(groups)) => {
                self.throttle.succeeded(username, client);
                log_event(
                    "login",
                    &[
                        ("user", username),
                        ("service", &req.service),
                        ("backend", self.backend.name()),
                        ("addr", &addr),
                    ],
                );
                let session = Session {
                    user: username.to_owned(),
                    groups: groups.into_iter().filter(|g| valid_name(g)).collect(),
                    expires: now.saturating_add(self.config.session_lifetime),
                    services: Vec::new(),
                };
                self.issue(&req, session, client, true)
            }
            Ok(None) => {
                // Already counted by `begin`.
                log_event(
                    "login-failed",
                    &[
                        ("user", username),
                        ("service", &req.service),
                        ("backend", self.backend.name()),
                        ("addr", &addr),
                    ],
                );
                self.login_form(
                    StatusCode::UNAUTHORIZED,
                    &req,
                    cookies,
                    username,
                    Some("Wrong user name or password."),
                )
            }
            Err(e) => {
                self.throttle.release(username, client);
                log_event(
                    "backend-error",
                    &[
                        ("backend", self.backend.name()),
                        ("error", &e.to_string()),
                        ("user", username),
                        ("addr", &addr),
                    ],
                );
                self.error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Login unavailable",
                    "The authentication service is not available right now. Try again later.",
                )
            }
        }
    }

    /// Checks a password with the backend on a blocking thread, at most
    /// [`auth_parallelism`] at once.
    async fn authenticate(
        &self,
        user: &str,
        password: &str,
    ) -> Result<Option<Vec<String>>, crate::auth::BackendError> {
        let Ok(_slot) = self.auth_slots.acquire().await else {
            return Err(crate::auth::BackendError("shutting down".into()));
        };
        let backend = self.backend.clone();
        let (u, p) = (user.to_owned(), password.to_owned());
        match tokio::task::spawn_blocking(move || backend.authenticate(&u, &p)).await {
            Ok(r) => r,
            Err(_) => Err(crate::auth::BackendError("backend panicked".into())),
        }
    }

    /// `GET /logout`.
    fn logout(&self, cookies: &HashMap<String, String>, client: IpAddr) -> Resp {
        let session = self.session(cookies);
        let (user, services) = match &session {
            Some(s) => (Some(s.user.as_str()), s.services.as_slice()),
            None => (None, &[][..]),
        };
        log_event(
            "logout",
            &[
                ("user", user.unwrap_or("")),
                ("services", &services.join(",")),
                ("addr", &client.to_string()),
            ],
        );
        let mut resp = self.page(
            StatusCode::OK,
            html::logout_page(&self.config.title, user, services),
        );
        resp.headers_mut()
            .append(header::SET_COOKIE, self.clear_session_cookie());
        resp
    }

    /// `POST /exchange`: `t` (a ticket), `s` (the service wanted), optional
    /// `n` and `g`. Answers the new ticket as text.
    fn exchange(&self, body: &[u8], client: IpAddr) -> Resp {
        let addr = client.to_string();
        let refuse = |status: StatusCode, check: &str, detail: &str| {
            log_event(
                "exchange-refused",
                &[("check", check), ("detail", detail), ("addr", &addr)],
            );
            self.text(status, format!("{check}\n"))
        };
        let Some(form) = std::str::from_utf8(body).ok().and_then(parse_params) else {
            return refuse(StatusCode::BAD_REQUEST, "malformed request", "");
        };
        let t = form.get("t").map(String::as_str).unwrap_or("");
        if t.is_empty() || t.len() > sso_core::MAX_TICKET_LEN {
            return refuse(StatusCode::BAD_REQUEST, "missing or oversized ticket", "");
        }
        let get = |k: &str| form.get(k).map(String::as_str);
        let req = match TicketRequest::from_params(get("s"), None, get("n"), get("g")) {
            Ok(r) => r,
            Err(e) => return refuse(StatusCode::BAD_REQUEST, e.check(), ""),
        };
        if !self.config.service_allowed(&req.service) {
            return refuse(StatusCode::FORBIDDEN, "service not allowed", &req.service);
        }
        // The claimed service selects the verifier; the signature (our own
        // keys), expiry and domain are then checked for that service.
        let claimed = match sso_core::decode_unverified(t) {
            Ok(c) => c,
            Err(e) => return refuse(StatusCode::UNAUTHORIZED, e.check(), ""),
        };
        let now = sso_core::unix_now();
        let input = match Verifier::new(self.keys.clone(), &claimed.service, &self.config.domain)
            .map_err(|_| sso_core::Error::WrongService)
            .and_then(|v| v.verify(t, &Check::at(now)))
        {
            Ok(t) => t,
            Err(e) => return refuse(StatusCode::UNAUTHORIZED, e.check(), ""),
        };
        if !self.config.exchange_allowed(&input.service, &req.service) {
            return refuse(
                StatusCode::FORBIDDEN,
                "exchange not allowed",
                &format!("{} -> {}", input.service, req.service),
            );
        }
        let Some(groups) = req.ticket_groups(&input.groups) else {
            return refuse(StatusCode::FORBIDDEN, "not in groups", &input.user);
        };
        // Never outlive the ticket given in: exchange must not extend access.
        let expires = now
            .saturating_add(self.config.ticket_lifetime(&req.service))
            .min(input.expires);
        let mut out = Ticket::new(&input.user, &req.service, &self.config.domain, expires);
        out.nonce = req.nonce.clone();
        out.groups = groups;
        match self.signer.sign(&out) {
            Ok(encoded) => {
                log_event(
                    "exchange",
                    &[
                        ("user", &input.user),
                        ("from", &input.service),
                        ("service", &req.service),
                        ("addr", &addr),
                        ("in", &sso_core::ticket_fingerprint(t)),
                        ("ticket", &sso_core::ticket_fingerprint(&encoded)),
                    ],
                );
                self.text(StatusCode::OK, format!("{encoded}\n"))
            }
            Err(e) => refuse(StatusCode::BAD_REQUEST, e.check(), ""),
        }
    }

    /// Routes one request.
    pub async fn handle(&self, req: Request<Incoming>, peer: IpAddr) -> Resp {
        let client = self.client_addr(peer, req.headers());
        let cookies = parse_cookies(req.headers());
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
            ("/logout", &Method::GET) | ("/logout", &Method::POST) => self.logout(&cookies, client),
            ("/exchange", &Method::POST) => match read_body(req).await {
                Ok(b) => self.exchange(&b, client),
                Err(e) => self.text(e.status(), format!("{}\n", e.message())),
            },
            ("/healthz", &Method::GET) => self.text(StatusCode::OK, "ok\n".into()),
            ("/style.css", &Method::GET) => {
                let mut r = self.respond(
                    StatusCode::OK,
                    "text/css; charset=utf-8",
                    html::STYLE.into(),
                );
                r.headers_mut().insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=3600"),
                );
                r
            }
            ("/" | "/login" | "/logout" | "/exchange" | "/healthz" | "/style.css", _) => {
                let mut r = self.error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "Method not allowed",
                    "This address does not accept that method.",
                );
                let allow = match path.as_str() {
                    "/login" | "/exchange" => "POST",
                    "/logout" => "GET, POST",
                    _ => "GET",
                };
                r.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(allow));
                r
            }
            _ => self.error(
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing at this address.",
            ),
        }
    }
}

fn header_value(s: String) -> HeaderValue {
    // Values are built from checked names and URL-encoded data; a value
    // that still is not a valid header becomes empty rather than a panic.
    HeaderValue::try_from(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn is_token_chars(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Query string or form body → map. Duplicate keys are refused (`None`):
/// which of two `s` values counts must never be ambiguous.
pub fn parse_params(s: &str) -> Option<HashMap<String, String>> {
    let mut map = HashMap::new();
    for (k, v) in form_urlencoded::parse(s.as_bytes()) {
        if map.insert(k.into_owned(), v.into_owned()).is_some() {
            return None;
        }
    }
    Some(map)
}

/// The request's cookies; the first of two same-named ones wins.
pub fn parse_cookies(headers: &HeaderMap) -> HashMap<String, String> {
    let mut map = HashMap::new();
    for v in headers.get_all(header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for pair in s.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=') {
                map.entry(k.trim().to_owned())
                    .or_insert_with(|| v.trim().trim_matches('"').to_owned());
            }
        }
    }
    map
}

/// Longest wait for a whole request body: hyper's header timeout does not
/// cover the body, and a client dribbling one byte at a time would keep its
/// connection slot for ever.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a request body was not read.
enum BodyRefused {
    /// Over [`MAX_BODY`], or the connection broke.
    TooLarge,
    /// Not complete within [`BODY_TIMEOUT`].
    TooSlow,
}

impl BodyRefused {
    fn status(&self) -> StatusCode {
        match self {
            BodyRefused::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            BodyRefused::TooSlow => StatusCode::REQUEST_TIMEOUT,
        }
    }

    fn message(&self) -> &'static str {
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

/// Builds the TLS acceptor from PEM files (rustls with the ring provider).
pub fn tls_acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<tokio_rustls::TlsAcceptor, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls;
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("tls.cert_file: {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("tls.cert_file: {}: no certificate", cert.display()));
    }
    let key_der = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("tls.key_file: {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| format!("tls: {}/{}: {e}", cert.display(), key.display()))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(cfg)))
}

async fn serve_connection<S>(app: Arc<App>, io: S, peer: SocketAddr)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = service_fn(move |req| {
        let app = app.clone();
        async move { Ok::<_, Infallible>(app.handle(req, peer.ip()).await) }
    });
    let _ = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(20))
        .serve_connection(TokioIo::new(io), svc)
        .await;
}

/// Most connections served at once; further ones wait in the listen
/// queue (a flood of idle connections cannot exhaust file descriptors).
pub const MAX_CONNECTIONS: usize = 10_000;

/// Accepts connections forever.
pub async fn serve(app: Arc<App>, listener: TcpListener, tls: Option<tokio_rustls::TlsAcceptor>) {
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
        let app = app.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _slot = slot;
            match tls {
                Some(acceptor) => {
                    if let Ok(Ok(s)) =
                        tokio::time::timeout(Duration::from_secs(20), acceptor.accept(stream)).await
                    {
                        serve_connection(app, s, peer).await;
                    }
                }
                None => serve_connection(app, stream, peer).await,
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_refuse_duplicates_and_decode() {
        let p = parse_params("s=a.org%2F&d=https%3A%2F%2Fa.org%2F%3Fx%3D1&g=a%2Cb").unwrap();
        assert_eq!(p["s"], "a.org/");
        assert_eq!(p["d"], "https://a.org/?x=1");
        assert_eq!(p["g"], "a,b");
        assert!(parse_params("s=a&s=b").is_none());
    }

    #[test]
    fn cookies_first_wins() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; b=\"2\"; a=3"),
        );
        h.append(header::COOKIE, HeaderValue::from_static("c=4"));
        let c = parse_cookies(&h);
        assert_eq!(c["a"], "1");
        assert_eq!(c["b"], "2");
        assert_eq!(c["c"], "4");
    }
}
