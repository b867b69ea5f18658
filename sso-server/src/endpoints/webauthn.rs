//! WebAuthn endpoints (see [`crate::webauthn`]), driven by the one static
//! script `/webauthn.js` (the pages carry no inline script):
//!
//! - `GET /webauthn/register`: the enrolment page, for a logged-in session;
//! - `POST /webauthn/register/start`, `.../finish`: the enrolment ceremony;
//! - `POST /webauthn/login/start`, `.../finish`: the second factor of the
//!   session's user; on success the session records `webauthn` and the
//!   script asks `/` again for the ticket (the silent path, which checks the
//!   account and the policy as for any ticket).
//!
//! Who may enrol is decided by [`crate::enrolment`], at the start and again
//! at the finish (which spends an enrolment code).
//!
//! The ceremony endpoints take form fields (`csrf`, `code` to start an
//! enrolment, and `id` and `credential` to finish) and answer JSON: `{"id": ..., "options": ...}`,
//! `{"ok": true}`, or `{"error": CHECK}` with a 4xx or 5xx status.

use std::net::IpAddr;

use hyper::header;
use hyper::StatusCode;
use serde_json::json;

use crate::app::{header_value, log_event, App, Cookies, Resp};
use crate::enrolment::{self, Code, Facts, Grant};
use crate::enrolment_codes::{self, CodeHash};
use crate::html;
use crate::login_flow;
use crate::params::form_params;
use crate::second_factor::Unavailable;
use crate::session::{Factor, Session};
use crate::throttle_store::Refusal as ThrottleRefusal;
use crate::webauthn::{Refusal, WebauthnStore};

use super::refusal::Refusal as PageRefusal;

/// The script of the WebAuthn pages.
const SCRIPT: &str = include_str!("../../static/webauthn.js");

impl App {
    /// `GET /webauthn.js`.
    pub fn webauthn_script(&self) -> Resp {
        let mut r = self.respond(
            StatusCode::OK,
            "text/javascript; charset=utf-8",
            SCRIPT.to_owned(),
        );
        r.headers_mut().insert(
            header::CACHE_CONTROL,
            hyper::header::HeaderValue::from_static("no-cache"),
        );
        r
    }

    fn json(&self, status: StatusCode, value: serde_json::Value) -> Resp {
        self.respond(status, "application/json", value.to_string())
    }

    fn json_refusal(&self, status: StatusCode, check: &str) -> Resp {
        self.json(status, json!({ "error": check }))
    }

    /// Whether `session` may enrol a new credential now, with the
    /// enrolment code `code` if one was given (see [`crate::enrolment`]).
    /// Err: a file cannot be read (fail closed).
    fn enrolment(
        &self,
        session: &Session,
        code: Option<&CodeHash>,
        now: u64,
    ) -> Result<Result<Grant, enrolment::Refusal>, Unavailable> {
        let config = self.config.webauthn.as_ref();
        let offer = self.offer(&session.user)?;
        let code = match (code, config.and_then(|c| c.enrolment_codes_file.as_deref())) {
            (None, _) => Code::NotGiven,
            (Some(hash), Some(path)) => {
                if enrolment_codes::valid(path, &session.user, hash, now)? {
                    Code::Valid
                } else {
                    Code::Invalid
                }
            }
            (Some(_), None) => Code::Invalid,
        };
        Ok(enrolment::decide(Facts {
            session_proved_factor: session.has_second_factor(),
            has_factor: offer.totp || offer.webauthn,
            self_enrolment: config.is_some_and(|c| c.self_enrolment),
            code,
        }))
    }

    /// The finish's second look: the rule must still allow the enrolment,
    /// and an enrolment code is spent (once: a second use finds it gone).
    fn authorise_enrolment(
        &self,
        session: &Session,
        code: Option<&CodeHash>,
        now: u64,
    ) -> Result<Grant, Refusal> {
        let grant = self
            .enrolment(session, code, now)
            .map_err(Refusal::Store)?
            .map_err(Refusal::Enrolment)?;
        if grant == Grant::Code {
            let path = self
                .config
                .webauthn
                .as_ref()
                .and_then(|c| c.enrolment_codes_file.as_deref());
            let spent = match (path, code) {
                (Some(path), Some(hash)) => enrolment_codes::spend(path, &session.user, hash, now)
                    .map_err(|e| Refusal::Store(e.into()))?,
                _ => false,
            };
            if !spent {
                return Err(Refusal::Enrolment(enrolment::Refusal::BadCode));
            }
        }
        Ok(grant)
    }

    /// `GET /webauthn/register`.
    pub fn webauthn_register_page(&self, cookies: &Cookies) -> Result<Resp, PageRefusal> {
        if self.webauthn.is_none() {
            return Err(PageRefusal::SecurityKeysDisabled);
        }
        let Some(session) = self.session(cookies) else {
            return Err(PageRefusal::NotLoggedIn);
        };
        let codes = self
            .config
            .webauthn
            .as_ref()
            .is_some_and(|c| c.enrolment_codes_file.is_some());
        let ask_code = match self.enrolment(&session, None, sso_core::unix_now()) {
            Ok(Ok(_)) => false,
            // The administrator may have issued a code: ask for it.
            Ok(Err(_)) if codes => true,
            Ok(Err(enrolment::Refusal::FactorRequired)) => {
                return Err(PageRefusal::EnrolmentNeedsFactor)
            }
            Ok(Err(_)) => return Err(PageRefusal::EnrolmentNeedsCode),
            Err(error) => {
                return Err(PageRefusal::SecondFactorUnavailable {
                    error,
                    user: session.user,
                })
            }
        };
        let (token, set_cookie) = self.csrf_token(cookies);
        let mut resp = self.page(
            StatusCode::OK,
            html::webauthn_register_page(&self.config.title, &session.user, &token, ask_code),
        );
        if let Some(c) = set_cookie {
            resp.headers_mut().append(header::SET_COOKIE, c);
        }
        Ok(resp)
    }

    /// The common checks of the ceremony endpoints: configured, the form,
    /// the CSRF token, a session. Err: the answer to send.
    fn ceremony_request(
        &self,
        body: &[u8],
        cookies: &Cookies,
        client: IpAddr,
    ) -> Result<(&WebauthnStore, crate::params::Params, Session), Box<Resp>> {
        let Some(store) = self.webauthn.as_deref() else {
            return Err(Box::new(
                self.json_refusal(StatusCode::NOT_FOUND, "webauthn not enabled"),
            ));
        };
        let Some(form) = form_params(body) else {
            return Err(Box::new(
                self.json_refusal(StatusCode::BAD_REQUEST, "duplicate parameter"),
            ));
        };
        if !self.csrf_valid(cookies, form.get("csrf").map(String::as_str)) {
            log_event(
                "refused",
                &[("check", "csrf"), ("addr", &client.to_string())],
            );
            return Err(Box::new(self.json_refusal(StatusCode::FORBIDDEN, "csrf")));
        }
        let Some(session) = self.session(cookies) else {
            return Err(Box::new(
                self.json_refusal(StatusCode::UNAUTHORIZED, "no session"),
            ));
        };
        Ok((store, form, session))
    }

    fn ceremony_refused(&self, r: &Refusal, event: &str, user: &str, client: IpAddr) -> Resp {
        let addr = client.to_string();
        let mut fields = vec![
            ("check", r.check()),
            ("user", user),
            ("addr", addr.as_str()),
        ];
        let error = match r {
            Refusal::Store(e) => e.to_string(),
            _ => String::new(),
        };
        if let Refusal::Store(_) = r {
            fields.push(("error", error.as_str()));
        }
        log_event(event, &fields);
        let status = match r {
            Refusal::Store(_) | Refusal::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Refusal::NotEnrolled | Refusal::TooMany | Refusal::Enrolment(_) => {
                StatusCode::FORBIDDEN
            }
            Refusal::Malformed => StatusCode::BAD_REQUEST,
            Refusal::NoCeremony | Refusal::Rejected => StatusCode::UNAUTHORIZED,
        };
        self.json_refusal(status, r.check())
    }

    /// `POST /webauthn/register/start`.
    pub fn webauthn_register_start(&self, body: &[u8], cookies: &Cookies, client: IpAddr) -> Resp {
        let (store, form, session) = match self.ceremony_request(body, cookies, client) {
            Ok(x) => x,
            Err(r) => return *r,
        };
        let now = sso_core::unix_now();
        let typed = form.get("code").map(|c| c.trim()).filter(|c| !c.is_empty());
        let code = match typed.map(|t| enrolment_codes::hash(&session.user, t)) {
            None => None,
            Some(Some(hash)) => Some(hash),
            Some(None) => {
                let r = Refusal::Enrolment(enrolment::Refusal::BadCode);
                return self.ceremony_refused(&r, "webauthn-refused", &session.user, client);
            }
        };
        let grant = match self.enrolment(&session, code.as_ref(), now) {
            Ok(Ok(grant)) => grant,
            Ok(Err(r)) => {
                let r = Refusal::Enrolment(r);
                return self.ceremony_refused(&r, "webauthn-refused", &session.user, client);
            }
            Err(e) => {
                let r = Refusal::Store(e);
                return self.ceremony_refused(&r, "webauthn-refused", &session.user, client);
            }
        };
        // Only a code that opens the enrolment goes with the ceremony, to be
        // spent at its finish.
        let code = code.filter(|_| grant == Grant::Code);
        match store.start_register(&session.user, code, now) {
            Ok((options, id)) => self.json(StatusCode::OK, json!({ "id": id, "options": options })),
            Err(r) => self.ceremony_refused(&r, "webauthn-refused", &session.user, client),
        }
    }

    /// `POST /webauthn/register/finish`.
    pub fn webauthn_register_finish(&self, body: &[u8], cookies: &Cookies, client: IpAddr) -> Resp {
        let (store, form, session) = match self.ceremony_request(body, cookies, client) {
            Ok(x) => x,
            Err(r) => return *r,
        };
        let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
        let now = sso_core::unix_now();
        let mut granted = None;
        let authorise = |code: Option<&CodeHash>| {
            granted = Some(self.authorise_enrolment(&session, code, now)?);
            Ok(())
        };
        match store.finish_register(&session.user, get("id"), get("credential"), now, authorise) {
            Ok(()) => {
                log_event(
                    "webauthn-enrolled",
                    &[
                        ("user", &session.user),
                        ("by", granted.map_or("", Grant::name)),
                        ("addr", &client.to_string()),
                    ],
                );
                self.json(StatusCode::OK, json!({ "ok": true }))
            }
            Err(r) => self.ceremony_refused(&r, "webauthn-refused", &session.user, client),
        }
    }

    /// `POST /webauthn/login/start`.
    pub fn webauthn_login_start(&self, body: &[u8], cookies: &Cookies, client: IpAddr) -> Resp {
        let (store, _, session) = match self.ceremony_request(body, cookies, client) {
            Ok(x) => x,
            Err(r) => return *r,
        };
        match store.start_authenticate(&session.user, sso_core::unix_now()) {
            Ok((options, id)) => self.json(StatusCode::OK, json!({ "id": id, "options": options })),
            Err(r) => self.ceremony_refused(&r, "second-factor-failed", &session.user, client),
        }
    }

    /// `POST /webauthn/login/finish`: counted in the throttle like a code.
    pub async fn webauthn_login_finish(
        &self,
        body: &[u8],
        cookies: &Cookies,
        client: IpAddr,
    ) -> Result<Resp, PageRefusal> {
        let (store, form, mut session) = match self.ceremony_request(body, cookies, client) {
            Ok(x) => x,
            Err(r) => return Ok(*r),
        };
        let user = session.user.clone();
        let now = sso_core::unix_now();
        // Counted like a code: against the password throttle and the
        // user's second-factor failures, which a correct password leaves alone.
        let which = match self
            .begin_code_attempt(&user, client, &client.to_string(), now)
            .await
        {
            Ok(()) => None,
            Err(ThrottleRefusal::Throttled(which)) => Some(which),
            Err(ThrottleRefusal::Unavailable(error)) => {
                return Err(PageRefusal::ThrottleStore { error, user });
            }
        };
        if let Some(which) = which {
            self.note_throttled(which, &[("user", &user), ("addr", &client.to_string())]);
            let wait = login_flow::retry_after(
                which,
                self.config.throttle.window,
                self.config.throttle.second_factor_window,
            );
            let mut resp = self.json_refusal(StatusCode::TOO_MANY_REQUESTS, which.check());
            resp.headers_mut()
                .insert(header::RETRY_AFTER, header_value(wait.to_string()));
            return Ok(resp);
        }
        let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
        match store.finish_authenticate(&user, get("id"), get("credential"), now) {
            Ok(()) => {
                if let Err(e) = self.throttle.succeeded(&user, client).await {
                    self.log_store_error(&e, &user, &client.to_string());
                }
                if let Err(e) = self.throttle.second_factor_succeeded(&user).await {
                    self.log_store_error(&e, &user, &client.to_string());
                }
                log_event(
                    "second-factor",
                    &[
                        ("factor", Factor::Webauthn.name()),
                        ("user", &user),
                        ("addr", &client.to_string()),
                    ],
                );
                session.add_factor(Factor::Webauthn, now);
                let mut resp = self.json(StatusCode::OK, json!({ "ok": true }));
                resp.headers_mut()
                    .append(header::SET_COOKIE, self.session_cookie(&session));
                Ok(resp)
            }
            Err(r) => {
                if matches!(r, Refusal::Store(_) | Refusal::Busy) {
                    self.release_code_attempt(&user, client, &client.to_string())
                        .await;
                }
                Ok(self.ceremony_refused(&r, "second-factor-failed", &user, client))
            }
        }
    }
}
