//! The two handlers under a service path: `sso_login` (where the login
//! server sends the browser back with `t=TICKET&d=TARGET`) and
//! `sso_logout` (clears the cookies).

use super::authn::MAX_COOKIES_TRIED;
use super::binding::{binding_digest, BindingError, BindingStore};
use super::cookies::{self, CookieNames};
use super::decision::{Action, Decision, Level};
use super::reason;
use super::settings::{Request, Settings};
use crate::web;
use crate::{ticket_fingerprint, Check, VerifyCache};

/// `PATH/sso_login` and `PATH/sso_logout` of the service; every other path
/// is declined (left to [`super::authenticate`]).
pub fn handle(
    settings: &Settings,
    req: &Request<'_>,
    cache: &VerifyCache,
    bindings: &dyn BindingStore,
) -> Decision {
    match req.path.strip_prefix(settings.service.path()) {
        Some("sso_login") => sso_login(settings, req, bindings),
        Some("sso_logout") => sso_logout(settings, req, cache, bindings),
        _ => Decision::new(Action::Decline),
    }
}

fn sso_login(settings: &Settings, req: &Request<'_>, bindings: &dyn BindingStore) -> Decision {
    let Some(encoded) = web::query_param(req.query, "t").filter(|t| !t.is_empty()) else {
        return Decision::new(Action::BadRequest).log(
            Level::Info,
            format!(
                "sso_login refused: check '{}' failed: no t parameter",
                reason::TICKET_PARAMETER
            ),
        );
    };
    let fp = ticket_fingerprint(&encoded);
    let mut decision = login_decision(settings, req, bindings, &encoded, &fp);
    decision.ticket_param_mask = Some(format!("ticket-{fp}"));
    decision
}

fn refuse_login(fp: &str, check: &str, detail: &str) -> Decision {
    Decision::new(Action::Forbidden).log(
        Level::Info,
        format!("sso_login refused ticket {fp}: check '{check}' failed{detail}"),
    )
}

fn login_decision(
    settings: &Settings,
    req: &Request<'_>,
    bindings: &dyn BindingStore,
    encoded: &str,
    fp: &str,
) -> Decision {
    let names = CookieNames::for_request(&settings.service, &settings.cookies, req.https);
    // The cookie holds the secret; the ticket carries its commitment.
    let commitments: Vec<String> = cookies::values(req.cookie_headers, &names.nonce)
        .into_iter()
        .filter(|n| !n.is_empty())
        .take(MAX_COOKIES_TRIED)
        .map(web::nonce_commitment)
        .collect();
    if commitments.is_empty() {
        let detail = format!(": no nonce cookie {}", names.nonce);
        return refuse_login(fp, reason::NONCE, &detail);
    }
    let nonces: Vec<&str> = commitments.iter().map(String::as_str).collect();
    let ticket =
        match settings
            .verifier
            .verify_with_nonces(encoded, &nonces, req.now, &settings.groups)
        {
            Ok(t) => t,
            Err(e) => {
                let detail = super::check_detail(settings, e.check());
                return refuse_login(fp, e.check(), &detail);
            }
        };
    if !web::fits_in_a_cookie(&names.ticket, encoded) {
        // A browser would drop the cookie, and the user would go round
        // login server → sso_login → service → login server for ever.
        let detail = format!(
            ": {} bytes with the cookie name, browsers keep at most {}",
            names.ticket.len() + 1 + encoded.len(),
            web::MAX_COOKIE_BYTES
        );
        return refuse_login(fp, reason::COOKIE_SIZE, &detail);
    }
    let mut set_cookies = vec![names.set(&names.ticket, encoded)];
    if settings.binding {
        let value = web::new_nonce();
        let until = ticket
            .expires
            .saturating_add(settings.verifier.clock_skew());
        match bindings.bind(fp, &binding_digest(&value), until, req.now) {
            Ok(()) => set_cookies.push(names.set(&names.binding, &value)),
            Err(BindingError::AlreadyBound) => {
                return refuse_login(
                    fp,
                    reason::REPLAYED_LOGIN,
                    ": this ticket was used at sso_login before",
                )
            }
            Err(BindingError::Unavailable) => {
                return Decision::new(Action::Unavailable).log(
                    Level::Error,
                    format!(
                        "sso_login refused ticket {fp}: check '{}' failed: the binding cannot be recorded",
                        reason::BINDING_STORE
                    ),
                )
            }
        }
    }
    set_cookies.push(names.clear(&names.nonce));
    let d = web::query_param(req.query, "d").unwrap_or_default();
    let target = web::safe_redirect_target(&d, &settings.service);
    let mut decision = Decision::new(Action::LoginDone {
        target: target.clone(),
        set_cookies,
    });
    if target != d {
        decision = decision.log(
            Level::Debug,
            "sso_login: redirect target outside the service replaced by the service root",
        );
    }
    decision.log(
        Level::Debug,
        format!(
            "sso_login accepted ticket {fp} for user {}: cookie set, redirecting",
            ticket.user
        ),
    )
}

/// Clears the three cookies, and revokes the binding of every valid ticket
/// cookie sent along, so neither the cookies nor a replay of the
/// `sso_login` URL work again.
fn sso_logout(
    settings: &Settings,
    req: &Request<'_>,
    cache: &VerifyCache,
    bindings: &dyn BindingStore,
) -> Decision {
    let names = CookieNames::for_request(&settings.service, &settings.cookies, req.https);
    let mut decision = Decision::new(Action::Logout {
        set_cookies: names.clear_all(),
        body: "OK".to_owned(),
    });
    if settings.binding {
        let check = Check::at(req.now);
        let tickets = cookies::values(req.cookie_headers, &names.ticket);
        for encoded in tickets.into_iter().take(MAX_COOKIES_TRIED) {
            if let Ok(ticket) = cache.verify(&settings.verifier, encoded, &check) {
                let fp = ticket_fingerprint(encoded);
                let until = ticket
                    .expires
                    .saturating_add(settings.verifier.clock_skew());
                bindings.revoke(&fp, until, req.now);
                decision = decision.log(
                    Level::Debug,
                    format!("sso_logout: binding of ticket {fp} revoked"),
                );
            }
        }
    }
    decision.log(
        Level::Debug,
        format!(
            "sso_logout: cookies of service {} cleared",
            settings.service.as_str()
        ),
    )
}
