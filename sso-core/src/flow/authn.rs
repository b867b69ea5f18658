//! Authentication of a request to a protected location: the
//! `Authorization: SSO` header (programs) or the ticket cookie (browsers),
//! and what happens without a valid ticket (redirect, 401 or 403).

use super::binding::{is_browser_ticket, proven_secret, BindingStore, REVOKED};
use super::cookies::{self, CookieNames};
use super::decision::{Accepted, Action, Decision, Level, Source};
use super::reason;
use super::settings::{Mode, Request, Settings};
use crate::web;
use crate::{ticket_fingerprint, Check, Error, Verified, VerifyCache};

/// Most ticket cookies of one name tried per request (and most nonce or
/// binding cookies compared): each costs a signature check, and a request
/// must not buy thousands of them with a long `Cookie` header. Honest
/// browsers send one, or two with a stale one under a broader path.
pub const MAX_COOKIES_TRIED: usize = 4;

/// Why the last ticket was refused.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Ticket(Error),
    Flow(&'static str),
}

impl Refusal {
    fn check(self) -> &'static str {
        match self {
            Refusal::Ticket(e) => e.check(),
            Refusal::Flow(r) => r,
        }
    }
}

/// Decides a request to a protected location (any path but the handlers).
pub fn authenticate(
    settings: &Settings,
    req: &Request<'_>,
    cache: &VerifyCache,
    bindings: &dyn BindingStore,
) -> Decision {
    let names = settings.cookie_names(req.https);
    if let Some(encoded) = req.authorization.and_then(web::authorization_ticket) {
        return from_header(settings, req, cache, encoded);
    }
    let check = Check {
        now: req.now,
        nonce: None,
        groups: &settings.groups,
    };
    let jar = cookies::Jar::parse(req.cookie_headers);
    let mut logs = Vec::new();
    for name in cookies::planted_names(&names, &settings.cookies) {
        if jar.has(&name) {
            logs.push(super::log_line(Level::Info, format!(
                "ignored cookie {name}: check '{}' failed: on https only the __Host- cookie {} counts",
                reason::PLANTED_COOKIE, names.ticket
            )));
        }
    }
    let mut last = None;
    let tickets = jar.values(&names.ticket);
    for encoded in tickets.into_iter().take(MAX_COOKIES_TRIED) {
        let refusal = match cache.verify_fingerprinted(&settings.verifier, encoded, &check) {
            Ok(v) => match check_binding(settings, req.now, &jar, &names, bindings, &v) {
                Ok(proof) => {
                    let accepted = Accepted::new(v.ticket, v.encoded, Source::Cookie, proof)
                        .with_fingerprint(v.fingerprint);
                    return Decision::new(Action::Accept(accepted)).with_logs(logs);
                }
                Err(r) => Refusal::Flow(r),
            },
            Err(e) => Refusal::Ticket(e),
        };
        logs.push(super::log_line(
            Level::Debug,
            format!(
                "cookie ticket {} refused: check '{}' failed{}",
                ticket_fingerprint(encoded),
                refusal.check(),
                super::check_detail(settings, refusal.check())
            ),
        ));
        last = Some(refusal);
    }
    if last == Some(Refusal::Ticket(Error::MissingGroup)) {
        // Sending this user to the login server again would loop: the login
        // server would refuse, or issue the same groups.
        return Decision::new(Action::Forbidden).with_logs(logs).log(
            Level::Info,
            format!(
                "refused: check 'missing group' failed: the ticket holds none of {:?}",
                settings.groups
            ),
        );
    }
    let why = last.map_or("no ticket", Refusal::check);
    if settings.mode == Mode::Api {
        return unauthorized(settings, why).with_logs(logs).log(
            Level::Info,
            format!("refused without a valid ticket ({why}): 401, this location never redirects"),
        );
    }
    if !req.can_redirect() {
        return unauthorized(settings, why).with_logs(logs).log(
            Level::Info,
            format!(
                "refused {} without a valid ticket ({why}): 401, a redirect cannot replay it",
                req.method
            ),
        );
    }
    redirect_to_login(settings, req, &names, why).with_logs(logs)
}

/// A program's ticket decides alone: 401 with the reason, or 403 for a
/// missing group. A browser ticket (one with a nonce) is refused here when
/// binding is on: it is only good together with its binding cookie.
fn from_header(
    settings: &Settings,
    req: &Request<'_>,
    cache: &VerifyCache,
    encoded: &str,
) -> Decision {
    let check = Check {
        now: req.now,
        nonce: None,
        groups: &settings.groups,
    };
    let refusal = match cache.verify_fingerprinted(&settings.verifier, encoded, &check) {
        Ok(v) if settings.binding && is_browser_ticket(&v.ticket) => {
            Refusal::Flow(reason::NONCE_TICKET_IN_HEADER)
        }
        Ok(v) => {
            let accepted = Accepted::new(v.ticket, v.encoded, Source::Header, None)
                .with_fingerprint(v.fingerprint);
            return Decision::new(Action::Accept(accepted));
        }
        Err(Error::MissingGroup) => {
            return Decision::new(Action::Forbidden).log(
                Level::Info,
                format!(
                    "refused Authorization ticket {}: check 'missing group' failed (needs one of {:?})",
                    ticket_fingerprint(encoded),
                    settings.groups
                ),
            );
        }
        Err(e) => Refusal::Ticket(e),
    };
    let fp = ticket_fingerprint(encoded);
    unauthorized(settings, refusal.check()).log(
        Level::Info,
        format!(
            "refused Authorization ticket {fp}: check '{}' failed{}",
            refusal.check(),
            super::check_detail(settings, refusal.check())
        ),
    )
}

/// A browser ticket (with a nonce) from a cookie needs its binding: a
/// binding cookie holding the secret whose commitment is the ticket's
/// nonce. That proof needs no store; the store only says whether the
/// ticket was revoked (logout, a burnt `sso_login`). A store that cannot
/// answer refuses, which sends the browser to a silent re-login. Returns
/// the proven secret, or `None` for a ticket that needs no binding. The
/// store's key is the ticket's fingerprint, which comes from the
/// verification cache.
fn check_binding(
    settings: &Settings,
    now: u64,
    jar: &cookies::Jar<'_>,
    names: &CookieNames,
    bindings: &dyn BindingStore,
    verified: &Verified,
) -> Result<Option<String>, &'static str> {
    if !settings.binding || !is_browser_ticket(&verified.ticket) {
        return Ok(None);
    }
    let values = jar.values(&names.binding);
    if values.is_empty() {
        return Err(reason::NO_BINDING_COOKIE);
    }
    let Some(secret) = proven_secret(&verified.ticket, &values, MAX_COOKIES_TRIED) else {
        return Err(reason::BINDING_MISMATCH);
    };
    match bindings.lookup(&verified.fingerprint, now) {
        Ok(Some(v)) if v == REVOKED => Err(reason::REVOKED),
        Ok(_) => Ok(Some(secret.to_owned())),
        Err(_) => Err(reason::BINDING_STORE),
    }
}

fn unauthorized(settings: &Settings, why: &str) -> Decision {
    Decision::new(Action::Unauthorized {
        www_authenticate: web::www_authenticate(settings.service.as_str(), Some(why)),
    })
}

/// 302 to the login server. The browser keeps a fresh secret in its nonce
/// cookie until `sso_login`; the login server is asked for the secret's
/// commitment ([`web::nonce_commitment`]), which the ticket then carries.
fn redirect_to_login(
    settings: &Settings,
    req: &Request<'_>,
    names: &CookieNames,
    why: &str,
) -> Decision {
    let secret = web::new_nonce();
    let nonce = web::nonce_commitment(&secret);
    let path = if req.unparsed_uri.starts_with('/') {
        req.unparsed_uri.to_owned()
    } else if req.query.is_empty() {
        req.path.to_owned()
    } else {
        format!("{}?{}", req.path, req.query)
    };
    let original = format!("https://{}{}", settings.service.host_port(), path);
    let location = web::login_redirect_url(
        &settings.login_server,
        settings.service.as_str(),
        &original,
        &nonce,
        &settings.groups,
    );
    Decision::new(Action::Redirect {
        location,
        set_cookies: vec![names.set(&names.nonce, &secret)],
    })
    .log(
        Level::Debug,
        format!("no valid ticket ({why}): redirecting to the login server"),
    )
}
