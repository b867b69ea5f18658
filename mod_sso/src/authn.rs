//! `check_authn` hook for `AuthType SSO`: the whole request path in one
//! place. The request → the flow's input → [`flow::authenticate`] → the
//! request (the user, the environment, the record the authz providers
//! read, or the answer: redirect, 401, 403).

use std::ffi::c_int;
use std::sync::Arc;

use sso_core::flow::{self, Accepted, Action};
use sso_core::Ticket;

use crate::binding::SocacheBindings;
use crate::config::DirConf;
use crate::httpd::{Level, Request, DECLINED, OK};
use crate::request::{self, AUTH_TYPE};

pub fn check_authn(r: &mut Request<'_>) -> c_int {
    if !request::is_sso(r) {
        return DECLINED;
    }
    let (settings, dir) = match request::location(r) {
        Ok(l) => l,
        Err(missing) => return request::misconfigured(r, missing),
    };
    let bindings = SocacheBindings { pool: r.pool() };
    let cache = crate::cache::verify_cache(r);
    let decision = request::with_request(r, |req| {
        flow::authenticate(&settings, req, cache, &bindings)
    });
    match &decision.action {
        Action::Accept(accepted) => {
            request::log(r, &decision);
            // Formatted (and the ticket fingerprinted) only when logged.
            if r.log_enabled(Level::Debug) {
                r.log(Level::Debug, &accepted.log_line().message);
            }
            accept(r, dir, accepted)
        }
        _ => request::answer(r, &decision),
    }
}

/// Per-request record of an SSO authentication, for the authz providers.
pub struct Authenticated {
    pub ticket: Arc<Ticket>,
}

fn accept(r: &mut Request<'_>, dir: &DirConf, accepted: &Accepted) -> c_int {
    let ticket = &accepted.ticket;
    r.set_user(&ticket.user);
    r.set_auth_type(AUTH_TYPE);
    let env = r.subprocess_env();
    env.set("SSO_USER", &ticket.user);
    env.set("SSO_GROUPS", &ticket.groups.join(","));
    env.set("SSO_SERVICE", &ticket.service);
    if dir.export_ticket == Some(true) {
        env.set("SSO_TICKET", &accepted.encoded);
        // A browser ticket buys nothing at the login server's /exchange
        // without the secret of its nonce (docs/protocol.md, "Ticket
        // binding"): the application gets it beside the ticket.
        if let Some(proof) = &accepted.proof {
            env.set("SSO_TICKET_PROOF", proof);
        }
    }
    r.set_data(Authenticated {
        ticket: Arc::clone(ticket),
    });
    OK
}
