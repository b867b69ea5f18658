//! `header_parser` hook, first: `PATH/sso_login` and `PATH/sso_logout` of an
//! `AuthType SSO` location are answered before access control,
//! authentication and any handler (mod_proxy included) get the request.

use std::ffi::c_int;

use sso_core::flow::{self, Action};

use crate::apr::{guard, str_of};
use crate::binding::SocacheBindings;
use crate::config::dir_conf;
use crate::ffi;
use crate::request::{self, DECLINED, HTTP_SERVER_ERROR};

pub unsafe extern "C" fn sso_handlers(r: *mut ffi::request_rec) -> c_int {
    guard(HTTP_SERVER_ERROR, || {
        if !(*r).main.is_null() || !request::is_sso(r) {
            return DECLINED;
        }
        // Only a path under a configured service can be a handler: other
        // requests must not answer 500 for an incomplete configuration here
        // (check_authn does, with the same message).
        let (Some(uri), Some(service)) = (
            str_of((*r).uri),
            dir_conf(r).and_then(|d| d.service.as_ref()),
        ) else {
            return DECLINED;
        };
        if !matches!(
            uri.strip_prefix(service.path()),
            Some("sso_login" | "sso_logout")
        ) {
            return DECLINED;
        }
        let (settings, _) = match request::location(r) {
            Ok(l) => l,
            Err(missing) => return request::misconfigured(r, missing),
        };
        let bindings = SocacheBindings { pool: (*r).pool };
        let cache = crate::cache::verify_cache(r);
        let decision =
            request::with_request(r, |req| flow::handle(&settings, req, cache, &bindings));
        match decision.action {
            Action::Decline => DECLINED,
            _ => request::answer(r, &decision),
        }
    })
}
