//! The answers several endpoints end in: the login form and the
//! second-factor step, the ticket (or the step the policy asks for first,
//! decided by [`crate::login_flow`]), and the refusals of a bad ticket
//! request or an unavailable store. The endpoint files call these and not
//! one another.

use std::net::IpAddr;

use hyper::header;
use hyper::StatusCode;
use sso_core::Ticket;

use crate::app::{log_event, App, Cookies, Resp};

use super::refusal::Refusal;
use crate::html;
use crate::login_flow::{self, Next, Offer};
use crate::params::{Params, TicketRequest};
use crate::second_factor::Unavailable;
use crate::session::Session;
use crate::target::{oidc_target, Target, OIDC_FIELD};
use crate::throttle_store::Refusal as ThrottleRefusal;

impl App {
    /// The ticket request from a parsed parameter map, checked, and the
    /// service allowed.
    pub(crate) fn ticket_request(
        &self,
        p: &Params,
        user: Option<&str>,
    ) -> Result<TicketRequest, Refusal> {
        let req = TicketRequest::from_map(p).map_err(Refusal::BadRequest)?;
        if !self.config.service_allowed(&req.service) {
            return Err(Refusal::ServiceNotAllowed {
                service: req.service,
                user: user.map(str::to_owned),
            });
        }
        Ok(req)
    }

    /// What a form's login is for: the authorization request it carries
    /// (`o`), else its ticket request.
    pub(crate) fn login_target(&self, p: &Params, user: Option<&str>) -> Result<Target, Refusal> {
        match p.get(OIDC_FIELD).filter(|o| !o.is_empty()) {
            Some(query) => {
                let provider = self.oidc.as_ref().ok_or(Refusal::NotFound)?;
                oidc_target(query, &provider.config)
                    .map(|(target, _)| target)
                    .map_err(|r| Refusal::Oidc(super::oidc_refusal::from_authorize(r)))
            }
            None => self.ticket_request(p, user).map(Target::Ticket),
        }
    }

    /// After the login (and the second factor) an authorization request
    /// resumes where it began, now with a session: the authorization
    /// endpoint answers it with a code.
    fn resume_oidc(&self, query: &str, session: &Session, send_cookie: bool) -> Resp {
        let location = self.oidc.as_ref().map_or_else(String::new, |p| {
            p.resume_url(&crate::oidc::resume_query(query))
        });
        let mut resp = self.redirect(location);
        let h = resp.headers_mut();
        if send_cookie {
            h.append(header::SET_COOKIE, self.session_cookie(session));
        }
        resp
    }

    /// Mints a ticket for a logged-in user and redirects to the service;
    /// `send_cookie` when the session cookie must be (re)sent anyway.
    pub(crate) fn issue(
        &self,
        req: &TicketRequest,
        mut session: Session,
        client: IpAddr,
        mut send_cookie: bool,
    ) -> Result<Resp, Refusal> {
        let addr = client.to_string();
        let Some(groups) = req.ticket_groups(&session.groups) else {
            let refusal = Refusal::NotInGroups {
                user: session.user.clone(),
                service: req.service.clone(),
                groups: req.groups.clone(),
            };
            return Err(self.keeping_session(refusal, &session, send_cookie));
        };
        let now = sso_core::unix_now();
        let expires = now.saturating_add(self.config.ticket_lifetime(&req.service));
        let mut ticket = Ticket::new(&session.user, &req.service, &self.config.domain, expires);
        ticket.nonce = req.nonce.clone();
        ticket.groups = groups;
        let encoded = self.signer.sign(&ticket).map_err(|e| Refusal::CannotSign {
            check: e.check(),
            user: session.user.clone(),
            service: req.service.clone(),
        })?;
        // `send_cookie` comes in true exactly when a password login has
        // just made the session; the silent path passes false.
        self.metrics
            .ticket_issued(if send_cookie { "login" } else { "silent" });
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
        let mut resp = self.redirect(req.redirect_url(&encoded));
        let h = resp.headers_mut();
        if send_cookie {
            h.append(header::SET_COOKIE, self.session_cookie(&session));
        }
        Ok(resp)
    }

    /// `refusal`, with the session cookie when `send_cookie` (the session
    /// was made by this request and must outlive the refusal).
    fn keeping_session(&self, refusal: Refusal, session: &Session, send_cookie: bool) -> Refusal {
        if !send_cookie {
            return refusal;
        }
        Refusal::KeepingSession {
            refusal: Box::new(refusal),
            cookie: self.session_cookie(session),
        }
    }

    /// The login form (status 200, or the status of a failed attempt),
    /// with the CSRF cookie set when the browser has none.
    pub(crate) fn login_form(
        &self,
        status: StatusCode,
        req: &Target,
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
        self.allow_form_action(&mut resp, req);
        resp
    }

    /// A form whose submission ends at the pending authorization's
    /// `http://` redirect URI (a native app's loopback listener): the CSP's
    /// `form-action` names that origin exactly, beside `'self' https:`
    /// (browsers check `form-action` along the redirects after the form).
    fn allow_form_action(&self, resp: &mut Resp, req: &Target) {
        if let Some(origin) = req.form_action_origin() {
            let csp = crate::app::CSP.replace(
                "form-action 'self' https:",
                &format!("form-action 'self' https: {origin}"),
            );
            if let Ok(v) = header::HeaderValue::from_str(&csp) {
                resp.headers_mut()
                    .insert(header::CONTENT_SECURITY_POLICY, v);
            }
        }
    }

    /// A ticket, or the second-factor step when the policy asks for one
    /// that the session has not proven. `send_cookie` as for
    /// [`App::issue`]: the session cookie is sent with the step too.
    pub(crate) fn issue_or_second_factor(
        &self,
        req: &Target,
        session: Session,
        cookies: &Cookies,
        client: IpAddr,
        send_cookie: bool,
    ) -> Result<Resp, Refusal> {
        let service = req.service();
        let required = self
            .config
            .second_factor
            .required(&service, &session.groups);
        let next = login_flow::after_login(required, session.has_second_factor(), || {
            self.offer(&session.user)
        });
        let mut resp = match next {
            Ok(Next::Ticket) => {
                return match req {
                    Target::Ticket(req) => self.issue(req, session, client, send_cookie),
                    Target::Oidc(o) => Ok(self.resume_oidc(&o.query, &session, send_cookie)),
                }
            }
            Ok(Next::SecondFactor) => {
                log_event(
                    "second-factor-asked",
                    &[
                        ("user", &session.user),
                        ("service", &service),
                        ("addr", &client.to_string()),
                    ],
                );
                self.second_factor_form(StatusCode::OK, req, cookies, &session.user, None)
            }
            Ok(Next::NoFactorEnrolled) => {
                let refusal = Refusal::NoFactorEnrolled {
                    service,
                    user: session.user.clone(),
                };
                return Err(self.keeping_session(refusal, &session, send_cookie));
            }
            Err(error) => {
                return Err(Refusal::SecondFactorUnavailable {
                    error,
                    user: session.user.clone(),
                })
            }
        };
        if send_cookie {
            resp.headers_mut()
                .append(header::SET_COOKIE, self.session_cookie(&session));
        }
        Ok(resp)
    }

    /// The second factors `user` has enrolled. Err: a file cannot be read.
    pub(crate) fn offer(&self, user: &str) -> Result<Offer, Unavailable> {
        Ok(Offer {
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
    pub(crate) fn second_factor_form(
        &self,
        status: StatusCode,
        req: &Target,
        cookies: &Cookies,
        user: &str,
        error: Option<&str>,
    ) -> Resp {
        let (token, set_cookie) = self.csrf_token(cookies);
        // The step was shown, so a file was readable a moment ago; if it
        // no longer is, the form offers the TOTP code, whose check fails
        // closed.
        let offer = self.offer(user).unwrap_or(Offer {
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
        self.allow_form_action(&mut resp, req);
        resp
    }
}

impl App {
    /// The session's account as the backend sees it now, as on the silent
    /// ticket path: `Ok(true)` with the session's groups made current,
    /// `Ok(false)` for an account that is gone, a backend that cannot tell
    /// as its refusal (503, never trusting the cookie).
    pub(super) async fn recheck_account(
        &self,
        session: &mut Session,
        service: Option<String>,
    ) -> Result<bool, Refusal> {
        match crate::auth::current_account(&self.backend, &self.auth_slots, &session.user).await {
            Ok(Some(account)) => {
                session.groups = account
                    .groups
                    .into_iter()
                    .filter(|g| crate::session::valid_name(g))
                    .collect();
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(error) => Err(Refusal::Backend {
                backend: self.backend.name(),
                error,
                user: session.user.clone(),
                service,
            }),
        }
    }

    /// An attempt a throttle limit refused: counted in
    /// `sso_throttled_total` by limit and logged with `fields`.
    pub(super) fn note_throttled(
        &self,
        which: crate::throttle::Throttled,
        fields: &[(&str, &str)],
    ) {
        self.metrics
            .throttled
            .get_or_create(&crate::metrics::Limit {
                limit: which.label(),
            })
            .inc();
        log_event("throttled", &[&[("check", which.check())], fields].concat());
    }

    /// `resp` for a session whose account is gone: logged with `fields`,
    /// and the session cookie cleared.
    pub(super) fn account_gone(&self, fields: &[(&str, &str)], mut resp: Resp) -> Resp {
        log_event("refused", &[&[("check", "account gone")], fields].concat());
        resp.headers_mut()
            .append(header::SET_COOKIE, self.clear_session_cookie());
        resp
    }
    /// Counts a second-factor attempt (a TOTP code, a security key's
    /// answer) before it is checked: against the
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
