//! `sso_flow_decide` and `sso_flow_decision`: one request through the web
//! flow (`sso_core::flow::decide`), and its answer as plain C data: the
//! kind, the HTTP status, the headers to set, the body, the accepted
//! ticket and the lines to log. The adapter decides nothing itself.

use std::borrow::Cow;
use std::ffi::{c_char, CStr, CString};
use std::ptr;

use sso_core::flow::{self, Action, Decision, Level, Request};

use crate::boundary::{
    access, access_ptr, array, free_handle, guard_result, not_null, required_str,
};
use crate::flow_config::sso_flow_config;
use crate::result::sso_result;
use crate::ticket::sso_ticket;

/// What the flow decided.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sso_flow_kind {
    /// Not the flow's business: serve the request as if it were absent.
    /// (Never returned by `sso_flow_decide`, which authenticates every path
    /// but `sso_login` and `sso_logout`.)
    SSO_FLOW_DECLINE = 0,
    /// Authenticated: serve the request as the ticket's user
    /// (`sso_flow_decision_ticket`).
    SSO_FLOW_ACCEPT = 1,
    /// 302 to the login server (`Location`), setting the nonce cookie.
    SSO_FLOW_REDIRECT = 2,
    /// 302 answer of `sso_login`: cookies set, back to the target.
    SSO_FLOW_LOGIN_DONE = 3,
    /// 200 answer of `sso_logout`: cookies cleared, a text/plain body.
    SSO_FLOW_LOGOUT = 4,
    /// 401 with `WWW-Authenticate` naming the failed check.
    SSO_FLOW_UNAUTHORIZED = 5,
    /// 403: authenticated but not allowed, or a refused `sso_login`.
    SSO_FLOW_FORBIDDEN = 6,
    /// 400: a malformed `sso_login` request.
    SSO_FLOW_BAD_REQUEST = 7,
    /// 503: the binding store cannot record a login right now.
    SSO_FLOW_UNAVAILABLE = 8,
    /// 302 answer of a refused `sso_login`: to the same handler with
    /// `error=CHECK` and no ticket, whose page is 403 (503 for the binding
    /// store), so no page is shown at a URL holding a ticket.
    SSO_FLOW_LOGIN_REFUSED = 9,
}

/// The level of a log line, as syslog and httpd name them.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sso_log_level {
    SSO_LOG_ERROR = 3,
    SSO_LOG_WARNING = 4,
    SSO_LOG_INFO = 6,
    SSO_LOG_DEBUG = 7,
}

/// The answer to one request, owned by the caller until
/// `sso_flow_decision_free`. Strings read from it stay valid until then.
pub struct sso_flow_decision {
    kind: sso_flow_kind,
    status: u16,
    headers: Vec<(CString, CString)>,
    body: Option<CString>,
    ticket: Option<sso_ticket>,
    fingerprint: Option<CString>,
    logs: Vec<(sso_log_level, CString)>,
    ticket_param_mask: Option<CString>,
}

/// A string the flow produced, for C. The flow never puts a NUL in one
/// (its inputs are C strings and verified tickets); should it ever, the
/// call fails rather than hand C a cut value.
fn c_string(s: &str) -> Result<CString, sso_result> {
    CString::new(s).map_err(|_| sso_result::SSO_ERR_NUL_BYTE)
}

/// What an adapter reads of every decision, written in one call by
/// `sso_flow_decide_summary`: all a logged-in browser's request needs. The
/// pointers point into the decision written beside it, valid until
/// `sso_flow_decision_free`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sso_flow_summary {
    /// What was decided (`sso_flow_decision_kind`).
    pub kind: sso_flow_kind,
    /// How many log lines the decision holds (`sso_flow_decision_log_count`).
    pub log_count: usize,
    /// The accepted ticket (`sso_flow_decision_ticket`); NULL unless
    /// `SSO_FLOW_ACCEPT`. Never passed to `sso_ticket_free`.
    pub ticket: *const sso_ticket,
    /// The accepted ticket's fingerprint (`sso_flow_decision_fingerprint`);
    /// NULL unless `SSO_FLOW_ACCEPT`.
    pub fingerprint: *const c_char,
    /// The accepted ticket's user (`sso_ticket_user`); NULL unless
    /// `SSO_FLOW_ACCEPT`.
    pub user: *const c_char,
    /// The accepted ticket's expiry, Unix time (`sso_ticket_expires`); 0
    /// unless `SSO_FLOW_ACCEPT`.
    pub expires: u64,
}

impl sso_flow_decision {
    /// The summary of this decision, pointing into it: taken from the
    /// decision where it lives (its box), since `ticket` points at a field.
    fn summary(&self) -> sso_flow_summary {
        let ticket = self.ticket.as_ref();
        sso_flow_summary {
            kind: self.kind,
            log_count: self.logs.len(),
            ticket: ticket.map_or(ptr::null(), |t| t as *const sso_ticket),
            fingerprint: self
                .fingerprint
                .as_ref()
                .map_or(ptr::null(), |f| f.as_ptr()),
            user: ticket.map_or(ptr::null(), sso_ticket::user_ptr),
            expires: ticket.map_or(0, sso_ticket::expires),
        }
    }

    /// The decision with the log lines whose syslog level is at most
    /// `max_log_level`: the others are left out, and the acceptance's debug
    /// line is not even formatted unless debug lines are kept.
    fn from_decision_logging(
        d: &Decision,
        max_log_level: u32,
    ) -> Result<sso_flow_decision, sso_result> {
        use sso_flow_kind::*;
        let (kind, body, accepted) = match &d.action {
            Action::Decline => (SSO_FLOW_DECLINE, None, None),
            Action::Accept(a) => (SSO_FLOW_ACCEPT, None, Some(a)),
            Action::Redirect { .. } => (SSO_FLOW_REDIRECT, None, None),
            Action::LoginDone { .. } => (SSO_FLOW_LOGIN_DONE, None, None),
            Action::Logout { body, .. } => (SSO_FLOW_LOGOUT, Some(c_string(body)?), None),
            Action::Unauthorized { .. } => (SSO_FLOW_UNAUTHORIZED, None, None),
            Action::Forbidden => (SSO_FLOW_FORBIDDEN, None, None),
            Action::BadRequest => (SSO_FLOW_BAD_REQUEST, None, None),
            Action::Unavailable => (SSO_FLOW_UNAVAILABLE, None, None),
            Action::LoginRefused { .. } => (SSO_FLOW_LOGIN_REFUSED, None, None),
        };
        let headers = d
            .headers()
            .iter()
            .map(|(name, value)| Ok((c_string(name)?, c_string(value)?)))
            .collect::<Result<_, sso_result>>()?;
        // The acceptance's debug line is formatted only on request (the
        // flow leaves it out of `logs`); this ABI gives every line.
        let kept = |level: Level| log_level(level) as u32 <= max_log_level;
        let accept_line = accepted
            .filter(|_| kept(Level::Debug))
            .map(|a| a.log_line());
        let logs = d
            .logs
            .iter()
            .chain(accept_line.as_ref())
            .filter(|line| kept(line.level))
            .map(|line| Ok((log_level(line.level), c_string(&line.message)?)))
            .collect::<Result<_, sso_result>>()?;
        Ok(sso_flow_decision {
            kind,
            status: d.status(),
            headers,
            body,
            ticket: accepted
                .map(|a| sso_ticket::from_ticket(&a.ticket))
                .transpose()?,
            fingerprint: accepted.map(|a| c_string(a.fingerprint())).transpose()?,
            logs,
            ticket_param_mask: d.ticket_param_mask.as_deref().map(c_string).transpose()?,
        })
    }
}

fn log_level(level: Level) -> sso_log_level {
    match level {
        Level::Error => sso_log_level::SSO_LOG_ERROR,
        Level::Warning => sso_log_level::SSO_LOG_WARNING,
        Level::Info => sso_log_level::SSO_LOG_INFO,
        Level::Debug => sso_log_level::SSO_LOG_DEBUG,
    }
}

/// Decides one request to the location of `config`: `sso_login` and
/// `sso_logout` under the service path, and authentication everywhere
/// else. `method`, `path` (decoded, without the query), `query` (raw,
/// without `?`; "" when none) and `unparsed_uri` (as the client sent it:
/// the return URL) must be UTF-8, else `SSO_ERR_INVALID_ARGUMENT` (answer
/// 400). The `cookie_header_count` values of the `Cookie` header are read
/// leniently (bytes that are not UTF-8 never hide the other cookies);
/// `authorization` is the `Authorization` header or NULL, and one that is
/// not UTF-8 counts as absent (it cannot hold a ticket). `https` says
/// whether the request came over TLS; `now` is Unix time (0: the current
/// time). On success writes a new decision to `*decision_out`.
///
/// # Safety
/// `config` must be a live config; the strings NUL-terminated;
/// `cookie_headers` must point to `cookie_header_count` C strings;
/// `decision_out` must be valid for a write.
#[no_mangle]
pub unsafe extern "C" fn sso_flow_decide(
    config: *const sso_flow_config,
    method: *const c_char,
    path: *const c_char,
    query: *const c_char,
    unparsed_uri: *const c_char,
    cookie_headers: *const *const c_char,
    cookie_header_count: usize,
    authorization: *const c_char,
    https: bool,
    now: u64,
    decision_out: *mut *mut sso_flow_decision,
) -> sso_result {
    // The summary's variant with every log line kept; its summary is
    // written to a scratch place and dropped (this caller reads the
    // decision through the accessors).
    // SAFETY: the caller's contract is this function's, and `summary` is
    // valid for a write of one `sso_flow_summary`.
    let mut summary = std::mem::MaybeUninit::<sso_flow_summary>::uninit();
    sso_flow_decide_summary(
        config,
        method,
        path,
        query,
        unparsed_uri,
        cookie_headers,
        cookie_header_count,
        authorization,
        https,
        now,
        u32::MAX,
        summary.as_mut_ptr(),
        decision_out,
    )
}

/// `sso_flow_decide` for an adapter's every request, with what it reads
/// of the decision written at once to `*summary_out`
/// (`sso_flow_summary`): a logged-in browser's request costs this call
/// and `sso_flow_decision_free`. The decision keeps only the log lines
/// whose level is at most `max_log_level` (a syslog number:
/// `SSO_LOG_DEBUG` keeps all, 0 none); the others are not even formatted.
/// Every other argument and the decision are as for `sso_flow_decide`;
/// on success writes both `*summary_out` and `*decision_out`, on failure
/// neither.
///
/// # Safety
/// As for `sso_flow_decide`; `summary_out` must be valid for a write.
#[no_mangle]
pub unsafe extern "C" fn sso_flow_decide_summary(
    config: *const sso_flow_config,
    method: *const c_char,
    path: *const c_char,
    query: *const c_char,
    unparsed_uri: *const c_char,
    cookie_headers: *const *const c_char,
    cookie_header_count: usize,
    authorization: *const c_char,
    https: bool,
    now: u64,
    max_log_level: u32,
    summary_out: *mut sso_flow_summary,
    decision_out: *mut *mut sso_flow_decision,
) -> sso_result {
    guard_result(|| {
        not_null(summary_out)?;
        not_null(decision_out)?;
        let decision = decide(
            config,
            [method, path, query, unparsed_uri],
            cookie_headers,
            cookie_header_count,
            authorization,
            https,
            now,
        )?;
        let out = Box::new(sso_flow_decision::from_decision_logging(
            &decision,
            max_log_level,
        )?);
        // The summary points into the decision where it stays (the box),
        // not where it was built.
        let summary = out.summary();
        // SAFETY: both checked non-NULL above; the caller guarantees they
        // are valid for a write.
        *summary_out = summary;
        *decision_out = Box::into_raw(out);
        Ok(())
    })
}

/// The flow's decision on the request the arguments of `sso_flow_decide`
/// describe (`strings`: method, path, query, unparsed URI).
///
/// # Safety
/// As for `sso_flow_decide`.
unsafe fn decide(
    config: *const sso_flow_config,
    strings: [*const c_char; 4],
    cookie_headers: *const *const c_char,
    cookie_header_count: usize,
    authorization: *const c_char,
    https: bool,
    now: u64,
) -> Result<Decision, sso_result> {
    not_null(config)?;
    let [method, path, query, unparsed_uri] = strings;
    // SAFETY: `config` is non-NULL and, by the caller's contract, live.
    let config = &*config;
    let cookies = lenient_strings(cookie_headers, cookie_header_count)?;
    let cookie_refs: Vec<&str> = cookies.iter().map(|c| c.as_ref()).collect();
    let authorization = if authorization.is_null() {
        None
    } else {
        // SAFETY: non-NULL, and NUL-terminated by the caller's contract.
        CStr::from_ptr(authorization).to_str().ok()
    };
    let req = Request {
        method: required_str(method)?,
        path: required_str(path)?,
        query: required_str(query)?,
        unparsed_uri: required_str(unparsed_uri)?,
        cookie_headers: &cookie_refs,
        authorization,
        https,
        now: if now == 0 { sso_core::unix_now() } else { now },
    };
    Ok(flow::decide(
        &config.settings,
        &req,
        &config.cache,
        &config.bindings,
    ))
}

/// `count` C strings, invalid UTF-8 replaced (NULL allowed when `count` is 0).
///
/// # Safety
/// `arr` must point to `count` valid C string pointers.
unsafe fn lenient_strings<'a>(
    arr: *const *const c_char,
    count: usize,
) -> Result<Vec<Cow<'a, str>>, sso_result> {
    array(arr, count)?
        .iter()
        .map(|&p| {
            if p.is_null() {
                Err(sso_result::SSO_ERR_NULL_ARGUMENT)
            } else {
                Ok(CStr::from_ptr(p).to_string_lossy())
            }
        })
        .collect()
}

/// Frees a decision. NULL is ignored.
///
/// # Safety
/// `decision` must come from `sso_flow_decide` and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn sso_flow_decision_free(decision: *mut sso_flow_decision) {
    free_handle(decision)
}

/// What was decided; `SSO_FLOW_FORBIDDEN` for a NULL decision (fail closed).
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[no_mangle]
pub unsafe extern "C" fn sso_flow_decision_kind(
    decision: *const sso_flow_decision,
) -> sso_flow_kind {
    access(decision, sso_flow_kind::SSO_FLOW_FORBIDDEN, |d| d.kind)
}

/// The HTTP status to answer with; 0 for `SSO_FLOW_ACCEPT` (serve the
/// request) and `SSO_FLOW_DECLINE`, 500 for a NULL decision.
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[no_mangle]
pub unsafe extern "C" fn sso_flow_decision_status(decision: *const sso_flow_decision) -> u16 {
    access(decision, 500, |d| d.status)
}

/// How many response headers to set (`Set-Cookie` may repeat; answers
/// other than accept end with `Cache-Control: no-store`).
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[no_mangle]
pub unsafe extern "C" fn sso_flow_decision_header_count(
    decision: *const sso_flow_decision,
) -> usize {
    access(decision, 0, |d| d.headers.len())
}

/// The name of header `index`; NULL when out of range.
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[no_mangle]
pub unsafe extern "C" fn sso_flow_decision_header_name(
    decision: *const sso_flow_decision,
    index: usize,
) -> *const c_char {
    access_ptr(decision, |d| d.headers.get(index).map(|h| h.0.as_ptr()))
}

/// The value of header `index`; NULL when out of range.
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[no_mangle]
pub unsafe extern "C" fn sso_flow_decision_header_value(
    decision: *const sso_flow_decision,
    index: usize,
) -> *const c_char {
    access_ptr(decision, |d| d.headers.get(index).map(|h| h.1.as_ptr()))
}

/// The text/plain body to send (`SSO_FLOW_LOGOUT`); NULL when the answer
/// has none.
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[no_mangle]
pub unsafe extern "C" fn sso_flow_decision_body(
    decision: *const sso_flow_decision,
) -> *const c_char {
    access_ptr(decision, |d| d.body.as_ref().map(|b| b.as_ptr()))
}

/// The accepted ticket (`SSO_FLOW_ACCEPT`), read with the `sso_ticket_*`
/// accessors; NULL for every other answer. Owned by the decision: valid
/// until `sso_flow_decision_free`, and never passed to `sso_ticket_free`.
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[no_mangle]
pub unsafe extern "C" fn sso_flow_decision_ticket(
    decision: *const sso_flow_decision,
) -> *const sso_ticket {
    access_ptr(decision, |d| {
        d.ticket.as_ref().map(|t| t as *const sso_ticket)
    })
}

/// The accepted ticket's fingerprint, what a log may name instead of the
/// ticket; NULL unless `SSO_FLOW_ACCEPT`.
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[no_mangle]
pub unsafe extern "C" fn sso_flow_decision_fingerprint(
    decision: *const sso_flow_decision,
) -> *const c_char {
    access_ptr(decision, |d| d.fingerprint.as_ref().map(|f| f.as_ptr()))
}

/// At `sso_login`: what the server must log instead of the `t` parameter
/// wherever it logs the request line or query (`ticket-FINGERPRINT`);
/// NULL otherwise.
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[no_mangle]
pub unsafe extern "C" fn sso_flow_decision_ticket_param_mask(
    decision: *const sso_flow_decision,
) -> *const c_char {
    access_ptr(decision, |d| {
        d.ticket_param_mask.as_ref().map(|m| m.as_ptr())
    })
}

/// How many lines the server should log for this decision (none of them
/// holds a ticket: only fingerprints).
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[no_mangle]
pub unsafe extern "C" fn sso_flow_decision_log_count(decision: *const sso_flow_decision) -> usize {
    access(decision, 0, |d| d.logs.len())
}

/// The level of log line `index`; `SSO_LOG_ERROR` when out of range.
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[no_mangle]
pub unsafe extern "C" fn sso_flow_decision_log_level(
    decision: *const sso_flow_decision,
    index: usize,
) -> sso_log_level {
    access(decision, sso_log_level::SSO_LOG_ERROR, |d| {
        d.logs
            .get(index)
            .map_or(sso_log_level::SSO_LOG_ERROR, |l| l.0)
    })
}

/// The text of log line `index`; NULL when out of range.
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[no_mangle]
pub unsafe extern "C" fn sso_flow_decision_log_message(
    decision: *const sso_flow_decision,
    index: usize,
) -> *const c_char {
    access_ptr(decision, |d| d.logs.get(index).map(|l| l.1.as_ptr()))
}

#[cfg(test)]
#[path = "flow_decision_tests.rs"]
mod tests;
