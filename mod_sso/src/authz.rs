//! Authorization: the providers `sso-group` and `group` (ours answers from
//! the ticket's groups under `AuthType SSO` and delegates to
//! mod_authz_groupfile otherwise), and the 403 for an authenticated user
//! that authorization refused.

use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicPtr, Ordering};

use crate::apr::{cstr, guard, rlog, str_of, LOG_DEBUG, LOG_ERR, LOG_INFO, LOG_WARNING};
use crate::authn::{authenticated, Authenticated};
use crate::config::dir_conf;
use crate::ffi;
use crate::request::{is_sso, AUTH_TYPE, DECLINED, HTTP_FORBIDDEN, HTTP_UNAUTHORIZED, OK};

/// Note set on a request whose SSO user was refused by authorization, so the
/// error answer becomes 403 (see [`forbid_authenticated`]).
const NOTE_DENIED: *const c_char = cstr!("sso-authz-denied");

/// The provider `group` found before ours (mod_authz_groupfile's), to which
/// `Require group` is delegated outside `AuthType SSO`.
static GROUPFILE_PROVIDER: AtomicPtr<ffi::authz_provider> = AtomicPtr::new(std::ptr::null_mut());

static SSO_GROUP_PROVIDER: ffi::authz_provider = ffi::authz_provider {
    check_authorization: Some(sso_group_check),
    parse_require_line: None,
};

static GROUP_PROVIDER: ffi::authz_provider = ffi::authz_provider {
    check_authorization: Some(group_check),
    parse_require_line: Some(group_parse),
};

/// Registers `sso-group` (never clashes) at load time.
pub unsafe fn register_providers(p: *mut ffi::apr_pool_t) {
    ffi::ap_register_auth_provider(
        p,
        ffi::AUTHZ_PROVIDER_GROUP.as_ptr() as *const c_char,
        cstr!("sso-group"),
        ffi::AUTHZ_PROVIDER_VERSION.as_ptr() as *const c_char,
        &SSO_GROUP_PROVIDER as *const _ as *const c_void,
        ffi::AP_AUTH_INTERNAL_PER_CONF as c_int,
    );
}

/// Takes over `group` after every module's register_hooks ran (so after
/// mod_authz_groupfile registered its own, whatever the LoadModule order),
/// and before any `Require` line is parsed: ours answers from the ticket's
/// groups under `AuthType SSO` and delegates to the saved provider otherwise.
pub unsafe fn take_over_group(pconf: *mut ffi::apr_pool_t) {
    {
        let existing = ffi::ap_lookup_provider(
            ffi::AUTHZ_PROVIDER_GROUP.as_ptr() as *const c_char,
            cstr!("group"),
            ffi::AUTHZ_PROVIDER_VERSION.as_ptr() as *const c_char,
        ) as *mut ffi::authz_provider;
        let ours = &GROUP_PROVIDER as *const _ as *mut ffi::authz_provider;
        GROUPFILE_PROVIDER.store(
            if existing == ours {
                std::ptr::null_mut()
            } else {
                existing
            },
            Ordering::SeqCst,
        );
        ffi::ap_register_auth_provider(
            pconf,
            ffi::AUTHZ_PROVIDER_GROUP.as_ptr() as *const c_char,
            cstr!("group"),
            ffi::AUTHZ_PROVIDER_VERSION.as_ptr() as *const c_char,
            ours as *const c_void,
            ffi::AP_AUTH_INTERNAL_PER_CONF as c_int,
        );
    }
}

/// The ticket of an SSO authentication that still holds: the request was
/// authenticated by `AuthType SSO` and `r->user` is still the ticket's
/// user. A later module that changed `r->user` (or the auth type) must not
/// hand its user the ticket's groups.
unsafe fn ticket_of_user<'a>(r: *mut ffi::request_rec) -> Option<&'a Authenticated> {
    let auth = authenticated(r)?;
    let user = str_of((*r).user)?;
    let sso = str_of((*r).ap_auth_type).is_some_and(|t| t.eq_ignore_ascii_case(AUTH_TYPE));
    (sso && user == auth.ticket.user).then_some(auth)
}

unsafe fn groups_check(
    r: *mut ffi::request_rec,
    require_line: *const c_char,
    spelling: &str,
) -> ffi::authz_status::Type {
    if (*r).user.is_null() {
        return ffi::authz_status::AUTHZ_DENIED_NO_USER;
    }
    let Some(auth) = ticket_of_user(r) else {
        rlog!(r, LOG_ERR, "Require {spelling}: the user was not authenticated by AuthType SSO (or r->user is no longer the ticket's user), so there are no ticket groups");
        return ffi::authz_status::AUTHZ_DENIED;
    };
    let wanted: Vec<&str> = str_of(require_line)
        .unwrap_or("")
        .split_whitespace()
        .collect();
    if auth.ticket.has_any_group(&wanted) {
        rlog!(
            r,
            LOG_DEBUG,
            "Require {spelling}: granted to {}",
            auth.ticket.user
        );
        ffi::authz_status::AUTHZ_GRANTED
    } else {
        rlog!(r, LOG_INFO, "Require {spelling} refused {}: check 'group' failed: ticket groups {:?}, wanted one of {:?}", auth.ticket.user, auth.ticket.groups, wanted);
        // The login server puts in a ticket only groups that SSOGroups
        // asked for (`g`): a group missing there is a configuration error
        // that refuses every member, so say it where the admin looks.
        let asked = dir_conf(r).map_or(&[][..], |d| d.groups());
        if !wanted.iter().any(|w| asked.iter().any(|a| a == w)) {
            rlog!(r, LOG_WARNING, "Require {spelling} {}: none of these groups is in SSOGroups for this location ({asked:?}), so no ticket for it can carry them: add them to SSOGroups", wanted.join(" "));
        }
        ffi::authz_status::AUTHZ_DENIED
    }
}

unsafe extern "C" fn sso_group_check(
    r: *mut ffi::request_rec,
    require_line: *const c_char,
    _parsed: *const c_void,
) -> ffi::authz_status::Type {
    guard(ffi::authz_status::AUTHZ_GENERAL_ERROR, || {
        groups_check(r, require_line, "sso-group")
    })
}

/// What our `group` parser keeps: the delegate's own parsed form.
#[repr(C)]
struct GroupParsed {
    delegate: *const c_void,
}

unsafe extern "C" fn group_parse(
    cmd: *mut ffi::cmd_parms,
    require_line: *const c_char,
    parsed: *mut *const c_void,
) -> *const c_char {
    guard(cstr!("Require group: internal error in mod_sso"), || {
        let mut delegate_parsed: *const c_void = std::ptr::null();
        let delegate = GROUPFILE_PROVIDER.load(Ordering::SeqCst);
        if let Some(d) = delegate.as_ref() {
            if let Some(parse) = d.parse_require_line {
                let err = parse(cmd, require_line, &mut delegate_parsed);
                if !err.is_null() {
                    return err;
                }
            }
        }
        let rec =
            ffi::apr_palloc((*cmd).pool, std::mem::size_of::<GroupParsed>()) as *mut GroupParsed;
        rec.write(GroupParsed {
            delegate: delegate_parsed,
        });
        *parsed = rec as *const c_void;
        std::ptr::null()
    })
}

unsafe extern "C" fn group_check(
    r: *mut ffi::request_rec,
    require_line: *const c_char,
    parsed: *const c_void,
) -> ffi::authz_status::Type {
    guard(ffi::authz_status::AUTHZ_GENERAL_ERROR, || {
        if is_sso(r) || authenticated(r).is_some() {
            return groups_check(r, require_line, "group");
        }
        let delegate = GROUPFILE_PROVIDER.load(Ordering::SeqCst);
        match delegate.as_ref().and_then(|d| d.check_authorization) {
            Some(check) => {
                let inner = (parsed as *const GroupParsed)
                    .as_ref()
                    .map_or(std::ptr::null(), |p| p.delegate);
                check(r, require_line, inner)
            }
            None => {
                rlog!(r, LOG_ERR, "Require group outside AuthType SSO needs mod_authz_groupfile, which is not loaded");
                ffi::authz_status::AUTHZ_GENERAL_ERROR
            }
        }
    })
}

/// `note_auth_failure` hook: mod_authz_core calls it when an authenticated
/// user is refused by authorization (and answers 401). For SSO users that
/// would invite a pointless retry: mark the request so the answer becomes 403.
pub unsafe extern "C" fn note_auth_failure(
    r: *mut ffi::request_rec,
    auth_type: *const c_char,
) -> c_int {
    guard(DECLINED, || {
        if !str_of(auth_type).is_some_and(|t| t.eq_ignore_ascii_case(AUTH_TYPE)) {
            return DECLINED;
        }
        if !(*r).user.is_null() {
            ffi::apr_table_setn((*r).notes, NOTE_DENIED, cstr!("1"));
            ffi::ap_custom_response(
                r,
                HTTP_UNAUTHORIZED,
                cstr!("\"<!DOCTYPE html>\n<html><head><title>403 Forbidden</title></head><body>\n<h1>Forbidden</h1>\n<p>You are signed in, but not allowed to access this resource.</p>\n</body></html>\n"),
            );
        }
        OK
    })
}

/// `insert_error_filter` hook: turns the 401 of an authenticated-but-refused
/// SSO user (see [`note_auth_failure`]) into 403.
pub unsafe extern "C" fn forbid_authenticated(r: *mut ffi::request_rec) {
    guard((), || {
        if (*r).status == HTTP_UNAUTHORIZED
            && !ffi::apr_table_get((*r).notes, NOTE_DENIED).is_null()
        {
            (*r).status = HTTP_FORBIDDEN;
            (*r).status_line = std::ptr::null();
        }
    })
}
