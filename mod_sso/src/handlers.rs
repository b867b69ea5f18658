//! `header_parser` hook, first: `PATH/sso_login` and `PATH/sso_logout` of an
//! `AuthType SSO` location are answered before access control,
//! authentication and any handler (mod_proxy included) get the request.

use std::ffi::c_int;

use sso_core::flow::{self, Action};

use crate::binding::SocacheBindings;
use crate::config::DirConf;
use crate::httpd::{Request, DECLINED};
use crate::request;

pub fn sso_handlers(r: &mut Request<'_>) -> c_int {
    if !r.is_main() || !request::is_sso(r) {
        return DECLINED;
    }
    // Only a path under a configured service can be a handler: other
    // requests must not answer 500 for an incomplete configuration here
    // (check_authn does, with the same message).
    let service = r.dir_config::<DirConf>().and_then(|d| d.service.as_ref());
    let (Some(uri), Some(service)) = (r.uri(), service) else {
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
    let bindings = SocacheBindings { pool: r.pool() };
    let cache = crate::cache::verify_cache(r);
    let decision = request::with_request(r, |req| flow::handle(&settings, req, cache, &bindings));
    match decision.action {
        Action::Decline => DECLINED,
        _ => request::answer(r, &decision),
    }
}
