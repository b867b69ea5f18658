//! The request path in one place: `check_authn` for `AuthType SSO`, and,
//! first in `header_parser`, `PATH/sso_login` and `PATH/sso_logout` of an
//! `AuthType SSO` location, answered before access control,
//! authentication and any handler (mod_proxy included) get the request.
//! The request → the flow's input ([`FlowRequest`]) → [`flow::authenticate`]
//! or [`flow::handle`] → the request (log lines; the user, the environment
//! and the record the authz providers read; or the answer: redirect, 401,
//! 403, a page). No protocol decision is made here.

use std::borrow::Cow;
use std::ffi::c_int;
use std::sync::Arc;

use sso_core::flow::{
    self, Accepted, Action, BindingStore, Decision, Request as FlowRequest, Settings,
};
use sso_core::{Ticket, VerifyCache};

use crate::binding::SocacheBindings;
use crate::config::{DirConf, ServerConf};
use httpd::{Answer, Field, Level, Request, Tables, DECLINED, DONE, HTTP_SERVER_ERROR, OK};

/// `header_parser`: the handlers of a location's service.
pub fn sso_handlers(r: &mut Request<'_>) -> c_int {
    if !r.is_main() || !is_sso(r) {
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
    if !is_sso(r) {
        return DECLINED;
    }
    through_flow(r, flow::authenticate)
}

type Step = fn(&Settings, &FlowRequest<'_>, &VerifyCache, &dyn BindingStore) -> Decision;

/// Runs the flow's `step` on the request with its location's settings
/// (built once, see [`crate::config`]) and applies its decision.
fn through_flow(r: &mut Request<'_>, step: Step) -> c_int {
    let server = r.server().and_then(|s| s.config::<ServerConf>());
    let located = match (r.dir_config::<DirConf>(), server) {
        (Some(dir), Some(server)) => crate::config::settings(server, dir).map(|s| (s, dir)),
        (None, _) => Err("per-directory configuration"),
        (_, None) => Err("server configuration"),
    };
    let (settings, dir) = match located {
        Ok(located) => located,
        Err(missing) => {
            r.log(Level::Error, &format!("refused: {missing} is not set for this location (AuthType SSO needs SSOLoginServer, SSODomain, SSOPublicKeyFile and SSOService)"));
            return HTTP_SERVER_ERROR;
        }
    };
    if matches!(settings, Cow::Owned(_)) {
        r.log(Level::Debug, "this location's settings were built for the request: its directory records differ from those seen at startup and from the first ones after");
    }
    let bindings = SocacheBindings { pool: r.pool() };
    let cache = crate::cache::verify_cache(r);
    let decision = with_request(r, |req| step(&settings, req, cache, &bindings));
    match &decision.action {
        Action::Accept(accepted) => {
            log(r, &decision);
            // Formatted (and the ticket fingerprinted) only when logged.
            r.log_with(Level::Debug, || accepted.log_line().message);
            accept(r, dir, accepted)
        }
        _ => answer(r, &decision),
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
    env.set_joined(c"SSO_GROUPS", &ticket.groups, ",");
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

/// The auth type this module serves (`AuthType SSO`).
pub const AUTH_TYPE: &str = "SSO";

pub fn is_sso(r: &mut Request<'_>) -> bool {
    r.configured_auth_type()
        .is_some_and(|t| t.eq_ignore_ascii_case(AUTH_TYPE))
}

/// Runs `f` with what the request offers.
pub fn with_request<T>(r: &Request<'_>, f: impl FnOnce(&FlowRequest<'_>) -> T) -> T {
    let headers = r.table(Tables::HeadersIn);
    // Most requests carry one Cookie header: it is borrowed as it is, and
    // only several are gathered in a list.
    let mut cookies = headers.get_all("Cookie");
    let first = cookies.next();
    let first = first.as_deref();
    let rest: Vec<Cow<'_, str>> = cookies.collect();
    let several: Vec<&str>;
    let cookie_refs: &[&str] = match first {
        Some(one) if !rest.is_empty() => {
            several = std::iter::once(one)
                .chain(rest.iter().map(AsRef::as_ref))
                .collect();
            &several
        }
        _ => first.as_slice(),
    };
    let own_https = r.scheme().is_some_and(|s| s.eq_ignore_ascii_case("https"));
    // Behind a TLS-terminating proxy: its X-Forwarded-Proto, if the TCP
    // peer (not mod_remoteip's client address) is a trusted proxy.
    let trusted = r
        .server()
        .and_then(|s| s.config::<ServerConf>())
        .and_then(|c| c.trusted_proxies.as_deref())
        .unwrap_or(&[]);
    let https = own_https
        || (!trusted.is_empty()
            && sso_core::proxy::request_is_https(
                false,
                r.peer_ip().and_then(|ip| ip.parse().ok()),
                trusted,
                headers.get("X-Forwarded-Proto"),
            ));
    let req = FlowRequest {
        method: r.field(Field::Method).unwrap_or(""),
        path: r.field(Field::Uri).unwrap_or(""),
        query: r.field(Field::Args).unwrap_or(""),
        unparsed_uri: r.field(Field::UnparsedUri).unwrap_or(""),
        cookie_headers: cookie_refs,
        authorization: headers.get("Authorization"),
        https,
        now: r.time(),
    };
    f(&req)
}

/// Writes the decision's log lines under this module's name.
pub fn log(r: &Request<'_>, decision: &Decision) {
    for line in &decision.logs {
        let level = match line.level {
            flow::Level::Error => Level::Error,
            flow::Level::Warning => Level::Warning,
            flow::Level::Info => Level::Info,
            flow::Level::Debug => Level::Debug,
        };
        r.log(level, &line.message);
    }
}

/// Applies every answer but `Accept` to the request and returns the hook's
/// status.
pub fn answer(r: &mut Request<'_>, decision: &Decision) -> c_int {
    log(r, decision);
    if let Some(shown) = &decision.ticket_param_mask {
        mask_ticket_in_request(r, shown);
    }
    let logout = matches!(decision.action, Action::Logout { .. });
    for (name, value) in decision.headers() {
        // The logout page sends headers_out; error answers send
        // err_headers_out, but httpd reads Location from headers_out.
        let table = match logout || name == "Location" {
            true => r.table(Tables::HeadersOut),
            false => r.table(Tables::ErrHeadersOut),
        };
        match logout || name == "Set-Cookie" {
            true => table.add(&name, &value),
            false => table.set(&name, &value),
        }
    }
    if let Action::Logout { body, .. } = &decision.action {
        r.answer(Answer::Body(c"text/plain", body.as_bytes()));
        return DONE;
    }
    match decision.status() {
        0 => DECLINED,
        status => c_int::from(status),
    }
}

/// Replaces the `t` parameter in everything httpd's access log prints of
/// this request (`%r`, `%q`, `%U%q`) with `shown` (the ticket's fingerprint).
fn mask_ticket_in_request(r: &mut Request<'_>, shown: &str) {
    use sso_core::web::{mask_query_param, mask_request_line};
    for field in [
        Field::TheRequest,
        Field::UnparsedUri,
        Field::Args,
        Field::ParsedQuery,
    ] {
        let masked = match (field, r.field(field)) {
            (_, None) => continue,
            (Field::TheRequest | Field::UnparsedUri, Some(line)) => {
                mask_request_line(line, "t", shown)
            }
            (_, Some(query)) => mask_query_param(query, "t", shown),
        };
        r.set(field, &masked);
    }
}
