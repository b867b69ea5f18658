//! `check_authn` hook for `AuthType SSO`: the whole request path in one
//! place. request_rec → the flow's input → [`flow::authenticate`] →
//! request_rec (the user, the environment, the record the authz providers
//! read, or the answer: redirect, 401, 403).

use std::ffi::{c_int, c_void};
use std::sync::Arc;

use sso_core::flow::{self, Accepted, Action};
use sso_core::Ticket;

use crate::apr::{cstr, guard, log_r, pool_box, pstr, set_module_config, table_set};
use crate::binding::SocacheBindings;
use crate::config::DirConf;
use crate::ffi;
use crate::module_index;
use crate::request::{self, AUTH_TYPE, DECLINED, HTTP_SERVER_ERROR, OK};

pub unsafe extern "C" fn check_authn(r: *mut ffi::request_rec) -> c_int {
    guard(HTTP_SERVER_ERROR, || {
        if !request::is_sso(r) {
            return DECLINED;
        }
        let (settings, dir) = match request::location(r) {
            Ok(l) => l,
            Err(missing) => return request::misconfigured(r, missing),
        };
        let bindings = SocacheBindings { pool: (*r).pool };
        let cache = crate::cache::verify_cache(r);
        let decision = request::with_request(r, |req| {
            flow::authenticate(&settings, req, cache, &bindings)
        });
        match &decision.action {
            Action::Accept(accepted) => {
                request::log(r, &decision);
                // Formatted (and the ticket fingerprinted) only when logged.
                if crate::apr::log_enabled(r, crate::apr::LOG_DEBUG) {
                    log_r(r, crate::apr::LOG_DEBUG, &accepted.log_line().message);
                }
                accept(r, dir, accepted)
            }
            _ => request::answer(r, &decision),
        }
    })
}

/// Per-request record of an SSO authentication, for the authz providers.
pub struct Authenticated {
    pub ticket: Arc<Ticket>,
}

unsafe fn accept(r: *mut ffi::request_rec, dir: &DirConf, accepted: &Accepted) -> c_int {
    let ticket = &accepted.ticket;
    let pool = (*r).pool;
    (*r).user = pstr(pool, &ticket.user);
    (*r).ap_auth_type = pstr(pool, AUTH_TYPE);
    let env = (*r).subprocess_env;
    table_set(pool, env, cstr!("SSO_USER"), &ticket.user);
    table_set(pool, env, cstr!("SSO_GROUPS"), &ticket.groups.join(","));
    table_set(pool, env, cstr!("SSO_SERVICE"), &ticket.service);
    if dir.export_ticket == Some(true) {
        table_set(pool, env, cstr!("SSO_TICKET"), &accepted.encoded);
        // A browser ticket buys nothing at the login server's /exchange
        // without the secret of its nonce (docs/protocol.md, "Ticket
        // binding"): the application gets it beside the ticket.
        if let Some(proof) = &accepted.proof {
            table_set(pool, env, cstr!("SSO_TICKET_PROOF"), proof);
        }
    }
    let record = pool_box(
        pool,
        Authenticated {
            ticket: Arc::clone(ticket),
        },
    );
    set_module_config((*r).request_config, module_index(), record as *mut c_void);
    OK
}

/// The SSO authentication of `r` or of the request it derives from
/// (subrequests and internal redirects).
pub unsafe fn authenticated<'a>(mut r: *const ffi::request_rec) -> Option<&'a Authenticated> {
    let mut hops = 0;
    while !r.is_null() && hops < 32 {
        let rec =
            crate::apr::module_config((*r).request_config, module_index()) as *const Authenticated;
        if let Some(a) = rec.as_ref() {
            return Some(a);
        }
        r = if !(*r).main.is_null() {
            (*r).main
        } else {
            (*r).prev
        };
        hops += 1;
    }
    None
}
