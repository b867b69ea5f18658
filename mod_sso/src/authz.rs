//! Authorization: the providers `sso-group` and `group` (ours answers from
//! the ticket's groups under `AuthType SSO`; [`httpd`] hands `group`
//! to mod_authz_groupfile otherwise), and the 403 for an authenticated user
//! that authorization refused.

use std::ffi::c_int;

use crate::authn::{is_sso, Authenticated, AUTH_TYPE};
use crate::config::DirConf;
use httpd::{
    Answer, Authz, Field, Level, Request, Tables, DECLINED, HTTP_FORBIDDEN, HTTP_UNAUTHORIZED, OK,
};

/// Note set on a request whose SSO user was refused by authorization, so the
/// error answer becomes 403 (see [`forbid_authenticated`]).
const NOTE_DENIED: &str = "sso-authz-denied";

/// The ticket of an SSO authentication that still holds: the request was
/// authenticated by `AuthType SSO` and `r->user` is still the ticket's
/// user. A later module that changed `r->user` (or the auth type) must not
/// hand its user the ticket's groups.
fn ticket_of_user<'r>(r: &Request<'r>) -> Option<&'r Authenticated> {
    let auth = r.data::<Authenticated>()?;
    let sso = r
        .field(Field::AuthType)
        .is_some_and(|t| t.eq_ignore_ascii_case(AUTH_TYPE));
    (sso && r.field(Field::User)? == auth.ticket.user).then_some(auth)
}

/// `Require group` under `AuthType SSO` (or for its user); `None` otherwise,
/// for mod_authz_groupfile's provider (`delegate`: it is loaded).
pub fn group_check(r: &mut Request<'_>, require_line: &str, delegate: bool) -> Option<Authz> {
    if is_sso(r) || ticket_of_user(r).is_some() {
        return Some(groups_check(r, require_line, "group"));
    }
    if !delegate {
        r.log(
            Level::Error,
            "Require group outside AuthType SSO needs mod_authz_groupfile, which is not loaded",
        );
        return Some(Authz::GeneralError);
    }
    None
}

pub fn groups_check(r: &mut Request<'_>, require_line: &str, spelling: &str) -> Authz {
    if !r.has_user() {
        return Authz::DeniedNoUser;
    }
    let Some(auth) = ticket_of_user(r) else {
        r.log(Level::Error, &format!("Require {spelling}: the user was not authenticated by AuthType SSO (or r->user is no longer the ticket's user), so there are no ticket groups"));
        return Authz::Denied;
    };
    let ticket = &auth.ticket;
    let wanted: Vec<&str> = require_line.split_whitespace().collect();
    if ticket.has_any_group(&wanted) {
        r.log_with(Level::Debug, || {
            format!("Require {spelling}: granted to {}", ticket.user)
        });
        return Authz::Granted;
    }
    r.log_with(Level::Info, || format!("Require {spelling} refused {}: check 'group' failed: ticket groups {:?}, wanted one of {:?}", ticket.user, ticket.groups, wanted));
    // The login server puts in a ticket only groups that SSOGroups asked
    // for (`g`): a group missing there is a configuration error that
    // refuses every member, so say it where the admin looks.
    let asked = r.dir_config::<DirConf>().map_or(&[][..], |d| d.groups());
    if !wanted.iter().any(|w| asked.iter().any(|a| a == w)) {
        r.log(Level::Warning, &format!("Require {spelling} {}: none of these groups is in SSOGroups for this location ({asked:?}), so no ticket for it can carry them: add them to SSOGroups", wanted.join(" ")));
    }
    Authz::Denied
}

/// `note_auth_failure` hook: mod_authz_core calls it when an authenticated
/// user is refused by authorization (and answers 401). For SSO users that
/// would invite a pointless retry: mark the request so the answer becomes 403.
pub fn note_auth_failure(r: &mut Request<'_>) -> c_int {
    if !is_sso(r) {
        return DECLINED;
    }
    if r.has_user() {
        r.table(Tables::Notes).set(NOTE_DENIED, "1");
        r.answer(Answer::ErrorDocument(HTTP_UNAUTHORIZED, c"\"<!DOCTYPE html>\n<html><head><title>403 Forbidden</title></head><body>\n<h1>Forbidden</h1>\n<p>You are signed in, but not allowed to access this resource.</p>\n</body></html>\n"));
    }
    OK
}

/// `insert_error_filter` hook: turns the 401 of an authenticated-but-refused
/// SSO user (see [`note_auth_failure`]) into 403.
pub fn forbid_authenticated(r: &mut Request<'_>) {
    if r.status() == HTTP_UNAUTHORIZED && r.table(Tables::Notes).get(NOTE_DENIED).is_some() {
        r.set_status(HTTP_FORBIDDEN);
    }
}
