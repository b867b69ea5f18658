//! The login form and `POST /login`: CSRF check, throttle, password check
//! on a bounded pool of blocking threads, then a session and a ticket.

use std::net::IpAddr;

use hyper::header;
use hyper::StatusCode;

use crate::app::{header_value, log_event, App, Cookies, Resp};
use crate::auth::BackendError;
use crate::html;
use crate::params::{form_params, ParamError, TicketRequest};
use crate::session::{valid_name, Factor, Session};
use crate::throttle_store::Refusal;

impl App {
    /// The login form (status 200, or the status of a failed attempt),
    /// with the CSRF cookie set when the browser has none.
    pub(crate) fn login_form(
        &self,
        status: StatusCode,
        req: &TicketRequest,
        cookies: &Cookies,
        username: &str,
        error: Option<&str>,
    ) -> Resp {
        let (token, set_cookie) = self.csrf_token(cookies);
        let mut resp = self.page(
            status,
            html::login_form(&self.config.title, req, &token, username, error),
        );
        if let Some(c) = set_cookie {
            resp.headers_mut().append(header::SET_COOKIE, c);
        }
        resp
    }

    /// `POST /login`.
    pub async fn login(&self, body: &[u8], cookies: &Cookies, client: IpAddr) -> Resp {
        let addr = client.to_string();
        let Some(form) = form_params(body) else {
            self.metrics.login_failed("bad_request");
            return self.refuse_params(&ParamError::DuplicateParameter, client);
        };
        if !self.csrf_valid(cookies, form.get("csrf").map(String::as_str)) {
            self.metrics.login_failed("csrf");
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
            Err(resp) => {
                self.metrics.login_failed("bad_request");
                return *resp;
            }
        };
        let username = form.get("username").map(String::as_str).unwrap_or("");
        let password = form.get("password").map(String::as_str).unwrap_or("");
        let now = sso_core::unix_now();
        let which = match self.throttle.begin(username, client, now).await {
            Ok(()) => None,
            Err(Refusal::Throttled(which)) => Some(which),
            Err(Refusal::Unavailable(e)) => {
                return self.throttle_unavailable(&e, username, &addr);
            }
        };
        if let Some(which) = which {
            self.metrics
                .throttled
                .get_or_create(&crate::metrics::Limit {
                    limit: which.label(),
                })
                .inc();
            log_event(
                "throttled",
                &[
                    ("check", which.check()),
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
                header_value(self.config.throttle.window.to_string()),
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
                if let Err(e) = self.throttle.succeeded(username, client).await {
                    self.log_store_error(&e, username, &addr);
                }
                self.metrics.logins.inc();
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
                    expires: now.saturating_add(self.config.session.lifetime),
                    services: Vec::new(),
                    factors: vec![(Factor::Password, now)],
                };
                self.issue_or_second_factor(&req, session, cookies, client, true)
            }
            Ok(None) => {
                // Already counted by `begin`.
                self.metrics.login_failed("bad_credentials");
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
                if let Err(e) = self.throttle.release(username, client).await {
                    self.log_store_error(&e, username, &addr);
                }
                self.metrics.login_failed("backend_error");
                self.metrics.backend_errors.inc();
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

    /// The throttle store did not answer: the login is refused (fail
    /// closed) with 503 and a log line; nothing was counted or checked.
    pub(crate) fn throttle_unavailable(&self, error: &str, username: &str, addr: &str) -> Resp {
        self.metrics.login_failed("throttle_unavailable");
        self.log_store_error(error, username, addr);
        self.error(
            hyper::StatusCode::SERVICE_UNAVAILABLE,
            "Login unavailable",
            "Logging in is not possible right now. Try again in a few minutes.",
        )
    }

    pub(crate) fn log_store_error(&self, error: &str, username: &str, addr: &str) {
        log_event(
            "throttle-error",
            &[
                ("store", self.throttle.name()),
                ("error", error),
                ("user", username),
                ("addr", addr),
            ],
        );
    }

    /// Checks a password with the backend on a blocking thread, at most
    /// two per core at once (see [`App::auth_slots`]).
    async fn authenticate(
        &self,
        user: &str,
        password: &str,
    ) -> Result<Option<Vec<String>>, BackendError> {
        let Ok(_slot) = self.auth_slots.acquire().await else {
            return Err(BackendError("shutting down".into()));
        };
        let backend = self.backend.clone();
        let (u, p) = (user.to_owned(), password.to_owned());
        match tokio::task::spawn_blocking(move || backend.authenticate(&u, &p)).await {
            Ok(r) => r,
            Err(_) => Err(BackendError("backend panicked".into())),
        }
    }
}
