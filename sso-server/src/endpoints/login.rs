//! The login form and `POST /login`: CSRF check, throttle, password check
//! on a bounded pool of blocking threads, then a session and a ticket.

use std::net::IpAddr;

use hyper::header;
use hyper::StatusCode;

use crate::app::{header_value, log_event, App, Cookies, Resp};
use crate::auth::BackendError;
use crate::params::{form_params, ParamError, Params};
use crate::session::{valid_name, Factor, Session};
use crate::throttle_store::Refusal as ThrottleRefusal;

use super::refusal::Refusal;

impl App {
    /// The fields of a posted form of the login pages, once its CSRF token
    /// is checked against the browser's cookie; a stale one is
    /// `FormExpired` (its page says so on the login form when
    /// `login_form`).
    pub(super) fn posted_form(
        &self,
        body: &[u8],
        cookies: &Cookies,
        login_form: bool,
    ) -> Result<Params, Refusal> {
        let form = form_params(body).ok_or(Refusal::BadRequest(ParamError::DuplicateParameter))?;
        if !self.csrf_valid(cookies, form.get("csrf").map(String::as_str)) {
            return Err(Refusal::FormExpired { login_form });
        }
        Ok(form)
    }

    /// `POST /login`.
    pub async fn login(
        &self,
        body: &[u8],
        cookies: &Cookies,
        client: IpAddr,
    ) -> Result<Resp, Refusal> {
        let addr = client.to_string();
        let form = self.posted_form(body, cookies, true)?;
        let req = self.login_target(&form, None)?;
        let service = req.service();
        let username = form.get("username").map(String::as_str).unwrap_or("");
        let password = form.get("password").map(String::as_str).unwrap_or("");
        let now = sso_core::unix_now();
        let which = match self.throttle.begin(username, client, now).await {
            Ok(()) => None,
            Err(ThrottleRefusal::Throttled(which)) => Some(which),
            Err(ThrottleRefusal::Unavailable(error)) => {
                return Err(Refusal::ThrottleStore {
                    error,
                    user: username.to_owned(),
                });
            }
        };
        if let Some(which) = which {
            self.note_throttled(
                which,
                &[("user", username), ("service", &service), ("addr", &addr)],
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
            return Ok(resp);
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
                        ("service", &service),
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
                        ("service", &service),
                        ("backend", self.backend.name()),
                        ("addr", &addr),
                    ],
                );
                Ok(self.login_form(
                    StatusCode::UNAUTHORIZED,
                    &req,
                    cookies,
                    username,
                    Some("Wrong user name or password."),
                ))
            }
            Err(error) => {
                if let Err(e) = self.throttle.release(username, client).await {
                    self.log_store_error(&e, username, &addr);
                }
                Err(Refusal::Backend {
                    backend: self.backend.name(),
                    error,
                    user: username.to_owned(),
                    service: None,
                })
            }
        }
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
