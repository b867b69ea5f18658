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
use crate::login_flow::{self, CodeOutcome};
use crate::session::Factor;
use crate::throttle_store::Refusal as ThrottleRefusal;
use crate::totp::Verdict;

use super::refusal::Refusal;

impl App {
    /// `POST /second-factor`: `csrf`, `code` and the ticket request.
    pub async fn second_factor(
        &self,
        body: &[u8],
        cookies: &Cookies,
        client: IpAddr,
    ) -> Result<Resp, Refusal> {
        let addr = client.to_string();
        let form = self.posted_form(body, cookies, false)?;
        let session = self.session(cookies);
        let req = self.login_target(&form, session.as_ref().map(|s| s.user.as_str()))?;
        let service = req.service();
        let Some(mut session) = session else {
            log_event(
                "refused",
                &[
                    ("check", "no session"),
                    ("service", &service),
                    ("addr", &addr),
                ],
            );
            return Ok(self.login_form(
                StatusCode::UNAUTHORIZED,
                &req,
                cookies,
                "",
                Some("Your login has expired. Log in again."),
            ));
        };
        let Some(totp) = &self.totp else {
            return self.issue_or_second_factor(&req, session, cookies, client, false);
        };
        // As on the silent path: the account as the backend sees it now
        // (a deleted account gets no ticket, the groups are current).
        if !self.recheck_account(&mut session, None).await? {
            let fields = [
                ("user", session.user.as_str()),
                ("service", &service),
                ("addr", &addr),
            ];
            let resp = self.login_form(StatusCode::UNAUTHORIZED, &req, cookies, "", None);
            return Ok(self.account_gone(&fields, resp));
        }
        let user = session.user.clone();
        let now = sso_core::unix_now();
        let which = match self.begin_code_attempt(&user, client, &addr, now).await {
            Ok(()) => None,
            Err(ThrottleRefusal::Throttled(which)) => Some(which),
            Err(ThrottleRefusal::Unavailable(error)) => {
                return Err(Refusal::ThrottleStore { error, user });
            }
        };
        if let Some(which) = which {
            self.note_throttled(
                which,
                &[("user", &user), ("service", &service), ("addr", &addr)],
            );
            let mut resp = self.second_factor_form(
                StatusCode::TOO_MANY_REQUESTS,
                &req,
                cookies,
                &user,
                Some("Too many failed attempts. Wait a few minutes and try again."),
            );
            let t = &self.config.throttle;
            let wait = login_flow::retry_after(which, t.window, t.second_factor_window);
            resp.headers_mut()
                .insert(header::RETRY_AFTER, header_value(wait.to_string()));
            return Ok(resp);
        }
        let code = form.get("code").map(|c| c.trim()).unwrap_or("");
        let verdict = match totp.verify(&user, code, now) {
            Ok(v) => v,
            Err(e) => {
                self.release_code_attempt(&user, client, &addr).await;
                return Err(Refusal::SecondFactorUnavailable {
                    error: e.into(),
                    user,
                });
            }
        };
        // Asked for an accepted step only (see `login_flow::after_code`).
        let claimed = match verdict {
            Verdict::Accepted(step) => match self.throttle.claim_totp_step(&user, step).await {
                Ok(claimed) => claimed,
                Err(error) => {
                    self.release_code_attempt(&user, client, &addr).await;
                    return Err(Refusal::ThrottleStore { error, user });
                }
            },
            _ => true,
        };
        let (verdict, outcome) = login_flow::after_code(verdict, claimed);
        let fields = [
            ("user", user.as_str()),
            ("service", service.as_str()),
            ("addr", addr.as_str()),
        ];
        match outcome {
            CodeOutcome::Proven => {
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
            CodeOutcome::NotEnrolled => {
                self.release_code_attempt(&user, client, &addr).await;
                self.issue_or_second_factor(&req, session, cookies, client, false)
            }
            CodeOutcome::Refused => {
                // Counted as a failure by `begin_code_attempt`, in the
                // second-factor count too, which no password clears.
                log_event(
                    "second-factor-failed",
                    &[&[("check", verdict.check())], &fields[..]].concat(),
                );
                Ok(self.second_factor_form(
                    StatusCode::UNAUTHORIZED,
                    &req,
                    cookies,
                    &user,
                    Some("Wrong or already used code."),
                ))
            }
        }
    }
}
