//! The two handlers under a service path: `sso_login` (where the login
//! server sends the browser back with `t=TICKET&d=TARGET`) and
//! `sso_logout` (clears the cookies).

use super::authn::MAX_COOKIES_TRIED;
use super::binding::{BindingError, BindingStore, BOUND, REVOKED};
use super::cookies;
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
        if let Some(check) = web::query_param(req.query, "error") {
            return refusal_page(&check);
        }
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

/// Where a refused `sso_login` sends the browser: the same handler with the
/// name of the failed check and no ticket, so that no page is ever shown
/// at a URL holding one (whatever that page loads would carry it on in
/// `Referer`, and history keeps what it shows). A relative reference: the
/// browser stays on the scheme and host it came in on.
fn refusal_location(settings: &Settings, check: &str) -> String {
    format!(
        "{}sso_login?error={}",
        settings.service.path(),
        web::percent_encode(check)
    )
}

/// The page at `sso_login?error=CHECK`: 503 for a store that could not
/// record the login (trying again may work), 403 for every other refusal.
/// The check was logged with the ticket's fingerprint when it failed; the
/// value here comes from the URL and is not logged again.
fn refusal_page(check: &str) -> Decision {
    let action = if check == reason::BINDING_STORE {
        Action::Unavailable
    } else {
        Action::Forbidden
    };
    Decision::new(action).log(Level::Debug, "sso_login: the page of a refused login")
}

fn refuse_login(settings: &Settings, fp: &str, check: &str, detail: &str) -> Decision {
    Decision::new(Action::LoginRefused {
        location: refusal_location(settings, check),
    })
    .log(
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
    let names = settings.cookie_names(req.https);
    // Nothing is believed, or burnt, before the signature is ours.
    let ticket = match settings.verifier.verify_signature(encoded) {
        Ok(t) => t,
        Err(e) => {
            let detail = super::check_detail(settings, e.check());
            return refuse_login(settings, fp, e.check(), &detail);
        }
    };
    let until = ticket
        .expires
        .saturating_add(settings.verifier.clock_skew());
    // Any refusal of an authentic ticket burns it: a ticket minted for a
    // nonce this browser does not hold (an attacker can make a victim's
    // browser fetch `LOGIN/?s=..&n=C` for a C whose secret the attacker
    // knows) is then dead before its URL can leak anywhere. A ticket bound
    // already stays bound: whoever replays a leaked URL must not be able
    // to log its browser out.
    let burn = |check: &str, detail: &str| {
        let mut detail = detail.to_owned();
        if settings.binding && bindings.bind(fp, REVOKED, until, req.now).is_ok() {
            detail.push_str(" (ticket burnt)");
        }
        refuse_login(settings, fp, check, &detail)
    };
    // The cookie holds the secret; the ticket carries its commitment.
    let secrets: Vec<&str> = cookies::values(req.cookie_headers, &names.nonce)
        .into_iter()
        .filter(|n| !n.is_empty())
        .take(MAX_COOKIES_TRIED)
        .collect();
    if secrets.is_empty() {
        return burn(reason::NONCE, &format!(": no nonce cookie {}", names.nonce));
    }
    let mut claims = Err(crate::Error::NonceMismatch);
    let mut secret = "";
    for candidate in &secrets {
        let commitment = web::nonce_commitment(candidate);
        let check = Check {
            now: req.now,
            nonce: Some(&commitment),
            groups: &settings.groups,
        };
        claims = settings.verifier.check_claims(&ticket, &check);
        if claims != Err(crate::Error::NonceMismatch) {
            secret = candidate;
            break;
        }
    }
    if let Err(e) = claims {
        return burn(e.check(), "");
    }
    if !web::fits_in_a_cookie(&names.ticket, encoded) {
        // A browser would drop the cookie, and the user would go round
        // login server → sso_login → service → login server for ever.
        let detail = format!(
            ": {} bytes with the cookie name, browsers keep at most {}",
            names.ticket.len() + 1 + encoded.len(),
            web::MAX_COOKIE_BYTES
        );
        return burn(reason::COOKIE_SIZE, &detail);
    }
    let mut set_cookies = vec![names.set(&names.ticket, encoded)];
    if settings.binding {
        match bindings.bind(fp, BOUND, until, req.now) {
            // The binding cookie keeps the secret: every later request
            // proves it against the ticket's nonce.
            Ok(()) => set_cookies.push(names.set(&names.binding, secret)),
            Err(BindingError::AlreadyBound) => {
                return refuse_login(
                    settings,
                    fp,
                    reason::REPLAYED_LOGIN,
                    ": this ticket was used at sso_login before, or burnt",
                )
            }
            Err(BindingError::Unavailable) => {
                let mut d = refuse_login(
                    settings,
                    fp,
                    reason::BINDING_STORE,
                    ": the login cannot be recorded",
                );
                if let Some(line) = d.logs.last_mut() {
                    line.level = Level::Error;
                }
                return d;
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
    let names = settings.cookie_names(req.https);
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
