//! The translator between httpd and sso-core's flow: `request_rec` → the
//! location's [`Settings`] and the request's [`Request`], and a
//! [`Decision`] → `request_rec` (log lines, headers, status). No protocol
//! decision is made here.

use std::borrow::Cow;
use std::ffi::{c_int, c_void};

use sso_core::flow::{Action, Decision, Level, Request, Settings};
use sso_core::unix_now;

use crate::apr::{
    cstr, log_r, pstr, str_of, table_add, table_get, table_get_all, table_set, LOG_DEBUG, LOG_ERR,
    LOG_INFO, LOG_WARNING,
};
use crate::config::{dir_conf, server_conf, DirConf};
use crate::ffi;

pub const OK: c_int = ffi::OK as c_int;
pub const DECLINED: c_int = ffi::DECLINED;
pub const DONE: c_int = ffi::DONE;
pub const HTTP_UNAUTHORIZED: c_int = ffi::HTTP_UNAUTHORIZED as c_int;
pub const HTTP_FORBIDDEN: c_int = ffi::HTTP_FORBIDDEN as c_int;
pub const HTTP_SERVER_ERROR: c_int = ffi::HTTP_INTERNAL_SERVER_ERROR as c_int;

/// The auth type this module serves (`AuthType SSO`).
pub const AUTH_TYPE: &str = "SSO";

pub unsafe fn is_sso(r: *mut ffi::request_rec) -> bool {
    str_of(ffi::ap_auth_type(r)).is_some_and(|t| t.eq_ignore_ascii_case(AUTH_TYPE))
}

/// The location's settings (built once at post_config, see
/// [`crate::config`]) and directory record, or the name of the directive
/// that is missing.
pub unsafe fn location<'a>(
    r: *mut ffi::request_rec,
) -> Result<(Cow<'a, Settings>, &'a DirConf), &'static str> {
    let dir = dir_conf(r).ok_or("per-directory configuration")?;
    let server = server_conf((*r).server).ok_or("server configuration")?;
    let settings = crate::config::settings(server, dir)?;
    if matches!(settings, Cow::Owned(_)) && crate::apr::log_enabled(r, LOG_DEBUG) {
        log_r(
            r,
            LOG_DEBUG,
            "this location's settings were built for the request: its directory \
             records differ from those seen at startup and from the first ones after",
        );
    }
    Ok((settings, dir))
}

/// The answer to a location whose configuration is incomplete.
pub unsafe fn misconfigured(r: *mut ffi::request_rec, missing: &str) -> c_int {
    log_r(r, LOG_ERR, &format!("refused: {missing} is not set for this location (AuthType SSO needs SSOLoginServer, SSODomain, SSOPublicKeyFile and SSOService)"));
    HTTP_SERVER_ERROR
}

/// Runs `f` with what request `r` offers.
pub unsafe fn with_request<T>(r: *mut ffi::request_rec, f: impl FnOnce(&Request<'_>) -> T) -> T {
    let cookies: Vec<Cow<'_, str>> = table_get_all((*r).headers_in, "Cookie");
    let cookie_refs: Vec<&str> = cookies.iter().map(|c| c.as_ref()).collect();
    let own_https =
        str_of(ffi::ap_run_http_scheme(r)).is_some_and(|s| s.eq_ignore_ascii_case("https"));
    // Behind a TLS-terminating proxy: its X-Forwarded-Proto, if the TCP
    // peer (not mod_remoteip's client address) is a trusted proxy.
    let trusted = server_conf((*r).server)
        .and_then(|c| c.trusted_proxies.as_deref())
        .unwrap_or(&[]);
    let https = own_https
        || (!trusted.is_empty()
            && sso_core::proxy::request_is_https(
                false,
                (*r).connection
                    .as_ref()
                    .and_then(|c| str_of(c.client_ip))
                    .and_then(|ip| ip.parse().ok()),
                trusted,
                table_get((*r).headers_in, cstr!("X-Forwarded-Proto")),
            ));
    let req = Request {
        method: str_of((*r).method).unwrap_or(""),
        path: str_of((*r).uri).unwrap_or(""),
        query: str_of((*r).args).unwrap_or(""),
        unparsed_uri: str_of((*r).unparsed_uri).unwrap_or(""),
        cookie_headers: &cookie_refs,
        authorization: table_get((*r).headers_in, cstr!("Authorization")),
        https,
        now: unix_now(),
    };
    f(&req)
}

/// Writes the decision's log lines under this module's name.
pub unsafe fn log(r: *mut ffi::request_rec, decision: &Decision) {
    for line in &decision.logs {
        let level = match line.level {
            Level::Error => LOG_ERR,
            Level::Warning => LOG_WARNING,
            Level::Info => LOG_INFO,
            Level::Debug => LOG_DEBUG,
        };
        if crate::apr::log_enabled(r, level) {
            log_r(r, level, &line.message);
        }
    }
}

/// Applies every answer but `Accept` to `r` and returns the hook's status.
pub unsafe fn answer(r: *mut ffi::request_rec, decision: &Decision) -> c_int {
    log(r, decision);
    if let Some(shown) = &decision.ticket_param_mask {
        mask_ticket_in_request(r, shown);
    }
    let pool = (*r).pool;
    if let Action::Logout { body, .. } = &decision.action {
        for (name, value) in decision.headers() {
            table_add(pool, (*r).headers_out, pstr(pool, &name), &value);
        }
        ffi::ap_set_content_type(r, cstr!("text/plain"));
        ffi::ap_set_content_length(r, body.len() as ffi::apr_off_t);
        ffi::ap_rwrite(body.as_ptr() as *const c_void, body.len() as c_int, r);
        return DONE;
    }
    for (name, value) in decision.headers() {
        // Error answers send err_headers_out; httpd reads Location from
        // headers_out.
        let table = if name == "Location" {
            (*r).headers_out
        } else {
            (*r).err_headers_out
        };
        if name == "Set-Cookie" {
            table_add(pool, table, pstr(pool, &name), &value);
        } else {
            table_set(pool, table, pstr(pool, &name), &value);
        }
    }
    match decision.status() {
        0 => DECLINED,
        status => c_int::from(status),
    }
}

/// Replaces the `t` parameter in everything httpd's access log prints of
/// this request (`%r`, `%q`, `%U%q`) with `shown` (the ticket's fingerprint).
unsafe fn mask_ticket_in_request(r: *mut ffi::request_rec, shown: &str) {
    use sso_core::web::{mask_query_param, mask_request_line};
    let pool = (*r).pool;
    if let Some(line) = str_of((*r).the_request) {
        (*r).the_request = pstr(pool, &mask_request_line(line, "t", shown));
    }
    if let Some(uri) = str_of((*r).unparsed_uri) {
        (*r).unparsed_uri = pstr(pool, &mask_request_line(uri, "t", shown));
    }
    for query in [&mut (*r).args, &mut (*r).parsed_uri.query] {
        if let Some(q) = str_of(*query) {
            *query = pstr(pool, &mask_query_param(q, "t", shown));
        }
    }
}
