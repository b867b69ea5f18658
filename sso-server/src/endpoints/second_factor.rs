//! The second-factor step. A ticket for a service that the
//! `[[second_factor]]` policy covers (see [`crate::second_factor`]) is only
//! minted for a session that proved a second factor; a password-only
//! session, whether it just logged in or comes back on the silent path,
//! gets the TOTP form instead. `POST /second-factor` checks the code (CSRF
//! token, throttle, one use per code), records the factor in the session
//! and then mints the ticket.

use std::net::IpAddr;

use hyper::header;
use hyper::StatusCode;

use crate::app::{header_value, log_event, App, Cookies, Resp};
use crate::html;
use crate::params::{form_params, ParamError, TicketRequest};
use crate::session::{valid_name, Factor, Session};
use crate::throttle::Throttled;
use crate::throttle_store::Refusal as ThrottleRefusal;
use crate::totp::Verdict;

impl App {
    /// A ticket, or the second-factor step when the policy asks for one
    /// that the session has not proven. `send_cookie` as for
    /// [`App::issue`]: the session cookie is sent with the step too.
    pub(crate) fn issue_or_second_factor(
        &self,
        req: &TicketRequest,
        session: Session,
        cookies: &Cookies,
        client: IpAddr,
        send_cookie: bool,
    ) -> Resp {
        if session.has_second_factor()
            || !self
                .config
                .second_factor
                .required(&req.service, &session.groups)
        {
            return self.issue(req, session, client, send_cookie);
        }
        let addr = client.to_string();
        let mut resp = match self.offer(&session.user) {
            Ok(offer) if offer.totp || offer.webauthn => {
                log_event(
                    "second-factor-asked",
                    &[
                        ("user", &session.user),
                        ("service", &req.service),
                        ("addr", &addr),
                    ],
                );
                self.second_factor_form(StatusCode::OK, req, cookies, &session.user, None)
            }
            Ok(_) => {
                log_event(
                    "refused",
                    &[
                        ("check", Verdict::NotEnrolled.check()),
                        ("user", &session.user),
                        ("service", &req.service),
                        ("addr", &addr),
                    ],
                );
                self.error(
                    StatusCode::FORBIDDEN,
                    "Second factor required",
                    &format!(
                        "The service {} requires a second factor, and {} has none enrolled. \
                         Ask the administrator to enrol one.",
                        req.service, session.user
                    ),
                )
            }
            Err(e) => return self.second_factor_unavailable(&e, &session.user, client),
        };
        if send_cookie {
            resp.headers_mut()
                .append(header::SET_COOKIE, self.session_cookie(&session));
        }
        resp
    }

    /// The second factors `user` has enrolled. Err: a file cannot be read.
    pub(crate) fn offer(&self, user: &str) -> Result<html::Offer, String> {
        Ok(html::Offer {
            totp: match &self.totp {
                Some(t) => t.enrolled(user)?,
                None => false,
            },
            webauthn: match &self.webauthn {
                Some(w) => w.enrolled(user)?,
                None => false,
            },
        })
    }

    /// The second-factor step, with the CSRF cookie set when the browser
    /// has none.
    fn second_factor_form(
        &self,
        status: StatusCode,
        req: &TicketRequest,
        cookies: &Cookies,
        user: &str,
        error: Option<&str>,
    ) -> Resp {
        let (token, set_cookie) = self.csrf_token(cookies);
        // The step was shown, so a file was readable a moment ago; if it
        // no longer is, the form offers the TOTP code, whose check fails
        // closed.
        let offer = self.offer(user).unwrap_or(html::Offer {
            totp: true,
            webauthn: false,
        });
        let mut resp = self.page(
            status,
            html::second_factor_form(&self.config.title, req, &token, user, error, offer),
        );
        if let Some(c) = set_cookie {
            resp.headers_mut().append(header::SET_COOKIE, c);
        }
        resp
    }

    /// The TOTP or credentials file cannot be read or no longer parses:
    /// fail closed.
    pub(crate) fn second_factor_unavailable(
        &self,
        error: &str,
        user: &str,
        client: IpAddr,
    ) -> Resp {
        log_event(
            "backend-error",
            &[
                ("backend", "second-factor"),
                ("error", error),
                ("user", user),
                ("addr", &client.to_string()),
            ],
        );
        self.error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Login unavailable",
            "The second-factor service is not available right now. Try again later.",
        )
    }

    /// `POST /second-factor`: `csrf`, `code` and the ticket request.
    pub async fn second_factor(&self, body: &[u8], cookies: &Cookies, client: IpAddr) -> Resp {
        let addr = client.to_string();
        let Some(form) = form_params(body) else {
            return self.refuse_params(&ParamError::DuplicateParameter, client);
        };
        if !self.csrf_valid(cookies, form.get("csrf").map(String::as_str)) {
            log_event("refused", &[("check", "csrf"), ("addr", &addr)]);
            return self.error(
                StatusCode::FORBIDDEN,
                "Form expired",
                "The form was not sent by this server or has expired. Go back and load the \
                 page again.",
            );
        }
        let session = self.session(cookies);
        let req =
            match self.ticket_request(&form, client, session.as_ref().map(|s| s.user.as_str())) {
                Ok(r) => r,
                Err(resp) => return *resp,
            };
        let Some(mut session) = session else {
            log_event(
                "refused",
                &[
                    ("check", "no session"),
                    ("service", &req.service),
                    ("addr", &addr),
                ],
            );
            return self.login_form(
                StatusCode::UNAUTHORIZED,
                &req,
                cookies,
                "",
                Some("Your login has expired. Log in again."),
            );
        };
        let Some(totp) = &self.totp else {
            return self.issue_or_second_factor(&req, session, cookies, client, false);
        };
        // As on the silent path: the account as the backend sees it now
        // (a deleted account gets no ticket, the groups are current).
        match crate::auth::current_account(&self.backend, &self.auth_slots, &session.user).await {
            Ok(Some(account)) => {
                session.groups = account
                    .groups
                    .into_iter()
                    .filter(|g| valid_name(g))
                    .collect();
            }
            Ok(None) => {
                log_event(
                    "refused",
                    &[
                        ("check", "account gone"),
                        ("user", &session.user),
                        ("service", &req.service),
                        ("addr", &addr),
                    ],
                );
                let mut resp = self.login_form(StatusCode::UNAUTHORIZED, &req, cookies, "", None);
                resp.headers_mut()
                    .append(header::SET_COOKIE, self.clear_session_cookie());
                return resp;
            }
            Err(e) => {
                self.metrics.backend_errors.inc();
                log_event(
                    "backend-error",
                    &[
                        ("backend", self.backend.name()),
                        ("error", &e.to_string()),
                        ("user", &session.user),
                        ("addr", &addr),
                    ],
                );
                return self.error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Login unavailable",
                    "The authentication service is not available right now. Try again later.",
                );
            }
        }
        let user = session.user.clone();
        let now = sso_core::unix_now();
        let which = match self.begin_code_attempt(&user, client, &addr, now).await {
            Ok(()) => None,
            Err(ThrottleRefusal::Throttled(which)) => Some(which),
            Err(ThrottleRefusal::Unavailable(e)) => {
                return self.throttle_unavailable(&e, &user, &addr);
            }
        };
        if let Some(which) = which {
            log_event(
                "throttled",
                &[
                    ("check", which.check()),
                    ("user", &user),
                    ("service", &req.service),
                    ("addr", &addr),
                ],
            );
            let mut resp = self.second_factor_form(
                StatusCode::TOO_MANY_REQUESTS,
                &req,
                cookies,
                &user,
                Some("Too many failed attempts. Wait a few minutes and try again."),
            );
            let wait = match which {
                Throttled::SecondFactor => self.config.throttle.second_factor_window,
                _ => self.config.throttle.window,
            };
            resp.headers_mut()
                .insert(header::RETRY_AFTER, header_value(wait.to_string()));
            return resp;
        }
        let code = form.get("code").map(|c| c.trim()).unwrap_or("");
        let verdict = match totp.verify(&user, code, now) {
            Ok(v) => v,
            Err(e) => {
                self.release_code_attempt(&user, client, &addr).await;
                return self.second_factor_unavailable(&e, &user, client);
            }
        };
        // This process had not seen the step used; replicas sharing a store
        // ask it too, so a code is used once across all of them.
        let verdict = match verdict {
            Verdict::Accepted(step) => match self.throttle.claim_totp_step(&user, step).await {
                Ok(true) => verdict,
                Ok(false) => Verdict::Replayed,
                Err(e) => {
                    self.release_code_attempt(&user, client, &addr).await;
                    return self.throttle_unavailable(&e, &user, &addr);
                }
            },
            other => other,
        };
        let fields = [
            ("user", user.as_str()),
            ("service", req.service.as_str()),
            ("addr", addr.as_str()),
        ];
        match verdict {
            Verdict::Accepted(_) => {
                if let Err(e) = self.throttle.succeeded(&user, client).await {
                    self.log_store_error(&e, &user, &addr);
                }
                if let Err(e) = self.throttle.second_factor_succeeded(&user).await {
                    self.log_store_error(&e, &user, &addr);
                }
                log_event(
                    "second-factor",
                    &[&[("factor", Factor::Totp.name())], &fields[..]].concat(),
                );
                session.add_factor(Factor::Totp, now);
                self.issue_or_second_factor(&req, session, cookies, client, true)
            }
            Verdict::NotEnrolled => {
                self.release_code_attempt(&user, client, &addr).await;
                self.issue_or_second_factor(&req, session, cookies, client, false)
            }
            Verdict::Wrong | Verdict::Replayed => {
                // Counted as a failure by `begin_code_attempt`, in the
                // second-factor count too, which no password clears.
                log_event(
                    "second-factor-failed",
                    &[&[("check", verdict.check())], &fields[..]].concat(),
                );
                self.second_factor_form(
                    StatusCode::UNAUTHORIZED,
                    &req,
                    cookies,
                    &user,
                    Some("Wrong or already used code."),
                )
            }
        }
    }
}

impl App {
    /// Counts a code attempt before the code is checked: against the
    /// user's second-factor count (stricter, cleared by a right code only)
    /// and against the password throttle's keys (address, pair, user).
    /// Refused when either is at its limit; nothing stays counted then.
    pub(super) async fn begin_code_attempt(
        &self,
        user: &str,
        client: IpAddr,
        addr: &str,
        now: u64,
    ) -> Result<(), ThrottleRefusal> {
        self.throttle.second_factor_begin(user, now).await?;
        if let Err(refusal) = self.throttle.begin(user, client, now).await {
            if let Err(e) = self.throttle.second_factor_release(user).await {
                self.log_store_error(&e, user, addr);
            }
            return Err(refusal);
        }
        Ok(())
    }

    /// The code attempt ended in neither yes nor no: both counts get it
    /// back.
    pub(super) async fn release_code_attempt(&self, user: &str, client: IpAddr, addr: &str) {
        if let Err(e) = self.throttle.release(user, client).await {
            self.log_store_error(&e, user, addr);
        }
        if let Err(e) = self.throttle.second_factor_release(user).await {
            self.log_store_error(&e, user, addr);
        }
    }
}
