//! The request path in one place: `check_authn` for `AuthType SSO`, and,
//! first in `header_parser`, `PATH/sso_login` and `PATH/sso_logout` of an
//! `AuthType SSO` location, answered before access control,
//! authentication and any handler (mod_proxy included) get the request.
//! The request → the flow's input → [`flow::authenticate`] or
//! [`flow::handle`] → the request (the user, the environment, the record
//! the authz providers read, or the answer: redirect, 401, 403, a page).

use std::ffi::c_int;
use std::sync::Arc;

use sso_core::flow::Settings;
use sso_core::flow::{self, Accepted, Action, BindingStore, Decision, Request as FlowRequest};
use sso_core::{Ticket, VerifyCache};

use crate::binding::SocacheBindings;
use crate::config::DirConf;
use crate::httpd::{Field, Level, Request, Tables, DECLINED, OK};
use crate::request::{self, AUTH_TYPE};

/// `header_parser`: the handlers of a location's service.
pub fn sso_handlers(r: &mut Request<'_>) -> c_int {
    if !r.is_main() || !request::is_sso(r) {
        return DECLINED;
    }
    // Only a path under a configured service can be a handler: other
    // requests must not answer 500 for an incomplete configuration here
    // (check_authn does, with the same message).
    let service = r.dir_config::<DirConf>().and_then(|d| d.service.as_ref());
    let (Some(uri), Some(service)) = (r.field(Field::Uri), service) else {
        return DECLINED;
    };
    match uri.strip_prefix(service.path()) {
        Some("sso_login" | "sso_logout") => through_flow(r, flow::handle),
        _ => DECLINED,
    }
}

pub fn check_authn(r: &mut Request<'_>) -> c_int {
    if !request::is_sso(r) {
        return DECLINED;
    }
    through_flow(r, flow::authenticate)
}

type Step = fn(&Settings, &FlowRequest<'_>, &VerifyCache, &dyn BindingStore) -> Decision;

/// Runs the flow's `step` on the request and applies its decision.
fn through_flow(r: &mut Request<'_>, step: Step) -> c_int {
    let (settings, dir) = match request::location(r) {
        Ok(l) => l,
        Err(missing) => return request::misconfigured(r, missing),
    };
    let bindings = SocacheBindings { pool: r.pool() };
    let cache = crate::cache::verify_cache(r);
    let decision = request::with_request(r, |req| step(&settings, req, cache, &bindings));
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
    r.set(Field::User, &ticket.user);
    r.set(Field::AuthType, AUTH_TYPE);
    let env = r.table(Tables::Env);
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
