//! The request side: the `sso_login`/`sso_logout` handlers, `AuthType SSO`
//! authentication, the authz providers `sso-group` and `group`, and the
//! per-process verification cache.

use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, OnceLock};

use sso_core::web::{self, ServiceName};
use sso_core::{ticket_fingerprint, unix_now, Check, Error, Ticket, Verifier, VerifyCache};

use crate::apr::{
    cstr, guard, log_s, pool_box, pstr, rlog, set_module_config, str_of, table_add, table_get,
    table_get_all, table_set, LOG_DEBUG, LOG_ERR, LOG_INFO, LOG_WARNING,
};
use crate::config::{dir_conf, server_conf, CookieSecure, DirConf, ServerConf};
use crate::{ffi, module_index};

const OK: c_int = ffi::OK as c_int;
const DECLINED: c_int = ffi::DECLINED;
const DONE: c_int = ffi::DONE;
const HTTP_FOUND: c_int = ffi::HTTP_MOVED_TEMPORARILY as c_int;
const HTTP_BAD_REQUEST: c_int = ffi::HTTP_BAD_REQUEST as c_int;
const HTTP_UNAUTHORIZED: c_int = ffi::HTTP_UNAUTHORIZED as c_int;
const HTTP_FORBIDDEN: c_int = ffi::HTTP_FORBIDDEN as c_int;
const HTTP_SERVER_ERROR: c_int = ffi::HTTP_INTERNAL_SERVER_ERROR as c_int;

/// The auth type this module serves (`AuthType SSO`).
const AUTH_TYPE: &str = "SSO";
/// Note set on a request whose SSO user was refused by authorization, so the
/// error answer becomes 403 (see [`forbid_authenticated`]).
const NOTE_DENIED: *const c_char = cstr!("sso-authz-denied");

/// The verification cache of this process. Built lazily in each child (the
/// parent never verifies, so a fork never copies a cache in use); a graceful
/// restart starts new children with an empty one, and entries are keyed by
/// the key set anyway, so changed key files never see stale results.
static CACHE: OnceLock<VerifyCache> = OnceLock::new();

fn cache(size: usize) -> &'static VerifyCache {
    CACHE.get_or_init(|| VerifyCache::new(size))
}

pub unsafe extern "C" fn child_init(_p: *mut ffi::apr_pool_t, s: *mut ffi::server_rec) {
    guard((), || {
        let size = server_conf(s)
            .and_then(|c| c.cache_size)
            .unwrap_or(sso_core::DEFAULT_CACHE_ENTRIES);
        cache(size);
    })
}

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
pub unsafe extern "C" fn pre_config(
    pconf: *mut ffi::apr_pool_t,
    _plog: *mut ffi::apr_pool_t,
    _ptemp: *mut ffi::apr_pool_t,
) -> c_int {
    // A panic here aborts startup (non-OK) rather than run half set up.
    guard(HTTP_SERVER_ERROR, || {
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
        OK
    })
}

/// Checks at startup that every server that has SSO settings has them all,
/// so a missing SSODomain or SSOPublicKeyFile shows in the error log at once
/// (requests still refuse with 500 if one is used anyway).
pub unsafe extern "C" fn post_config(
    _pconf: *mut ffi::apr_pool_t,
    _plog: *mut ffi::apr_pool_t,
    _ptemp: *mut ffi::apr_pool_t,
    s: *mut ffi::server_rec,
) -> c_int {
    // A panic here aborts startup (non-OK) rather than run half set up.
    guard(HTTP_SERVER_ERROR, || {
        let mut server = s;
        while !server.is_null() {
            if let Some(conf) = server_conf(server) {
                let any =
                    conf.login_server.is_some() || conf.domain.is_some() || !conf.keys.is_empty();
                if any {
                    if let Some(missing) = missing_server_setting(conf) {
                        log_s(server, LOG_WARNING, &format!("mod_sso: {missing} is not set: AuthType SSO locations of this server will answer 500"));
                    }
                    log_s(
                        server,
                        LOG_DEBUG,
                        &format!(
                            "mod_sso: {} public key(s) from {:?}",
                            conf.keys.len(),
                            conf.key_files
                        ),
                    );
                }
            }
            server = (*server).next;
        }
        OK
    })
}

fn missing_server_setting(conf: &ServerConf) -> Option<&'static str> {
    if conf.login_server.is_none() {
        Some("SSOLoginServer")
    } else if conf.domain.is_none() {
        Some("SSODomain")
    } else if conf.key_set.is_none() {
        Some("SSOPublicKeyFile")
    } else {
        None
    }
}

unsafe fn is_sso(r: *mut ffi::request_rec) -> bool {
    str_of(ffi::ap_auth_type(r)).is_some_and(|t| t.eq_ignore_ascii_case(AUTH_TYPE))
}

/// Everything a request under `AuthType SSO` needs, or the name of the
/// directive that is missing.
struct Ctx<'a> {
    dir: &'a DirConf,
    service: &'a ServiceName,
    login_server: &'a str,
    verifier: Verifier,
    cache_size: usize,
}

unsafe fn context<'a>(r: *mut ffi::request_rec) -> Result<Ctx<'a>, &'static str> {
    let dir = dir_conf(r).ok_or("per-directory configuration")?;
    let server = server_conf((*r).server).ok_or("server configuration")?;
    let service = dir.service.as_ref().ok_or("SSOService")?;
    if let Some(missing) = missing_server_setting(server) {
        return Err(missing);
    }
    let (Some(login_server), Some(domain), Some(keys)) =
        (&server.login_server, &server.domain, &server.key_set)
    else {
        return Err("SSOLoginServer");
    };
    let verifier = Verifier::new(keys.clone(), service.as_str(), domain)
        .map_err(|_| "SSODomain")?
        .with_clock_skew(server.clock_skew.unwrap_or(0));
    Ok(Ctx {
        dir,
        service,
        login_server,
        verifier,
        // SSOCacheSize is main-server only; virtual hosts inherit it.
        cache_size: server.cache_size.unwrap_or(sso_core::DEFAULT_CACHE_ENTRIES),
    })
}

unsafe fn secure_cookies(r: *mut ffi::request_rec, dir: &DirConf) -> bool {
    match dir.cookie_secure.unwrap_or(CookieSecure::Auto) {
        CookieSecure::On => true,
        CookieSecure::Off => false,
        CookieSecure::Auto => {
            str_of(ffi::ap_run_http_scheme(r)).is_some_and(|s| s.eq_ignore_ascii_case("https"))
        }
    }
}

unsafe fn cookie_headers<'a>(r: *mut ffi::request_rec) -> Vec<std::borrow::Cow<'a, str>> {
    table_get_all((*r).headers_in, "Cookie")
}

/// Most ticket cookies of one name tried per request, and most nonce
/// cookies at `sso_login`: each costs a signature check, and a request
/// must not buy thousands of them with a long `Cookie` header. Honest
/// browsers send one or two (a stale one under a broader path).
const MAX_COOKIES_TRIED: usize = 4;

unsafe fn no_store(r: *mut ffi::request_rec) {
    table_set(
        (*r).pool,
        (*r).err_headers_out,
        cstr!("Cache-Control"),
        "no-store",
    );
}

/// `header_parser` hook, first: answers `PATH/sso_login` and
/// `PATH/sso_logout` of an `AuthType SSO` location before access control,
/// authentication and any handler (mod_proxy included) get the request.
pub unsafe extern "C" fn sso_handlers(r: *mut ffi::request_rec) -> c_int {
    guard(HTTP_SERVER_ERROR, || {
        if !(*r).main.is_null() || !is_sso(r) {
            return DECLINED;
        }
        let Some(uri) = str_of((*r).uri) else {
            return DECLINED;
        };
        let Some(dir) = dir_conf(r) else {
            return DECLINED;
        };
        let Some(service) = dir.service.as_ref() else {
            return DECLINED;
        };
        let Some(handler) = uri.strip_prefix(service.path()) else {
            return DECLINED;
        };
        match handler {
            "sso_login" => match context(r) {
                Ok(ctx) => sso_login(r, &ctx),
                Err(missing) => misconfigured(r, missing),
            },
            "sso_logout" => sso_logout(r, dir, service),
            _ => DECLINED,
        }
    })
}

unsafe fn misconfigured(r: *mut ffi::request_rec, missing: &str) -> c_int {
    rlog!(r, LOG_ERR, "refused: {missing} is not set for this location (AuthType SSO needs SSOLoginServer, SSODomain, SSOPublicKeyFile and SSOService)");
    HTTP_SERVER_ERROR
}

unsafe fn sso_login(r: *mut ffi::request_rec, ctx: &Ctx<'_>) -> c_int {
    let args = str_of((*r).args).unwrap_or("");
    let Some(encoded) = web::query_param(args, "t").filter(|t| !t.is_empty()) else {
        rlog!(
            r,
            LOG_INFO,
            "sso_login refused: check 'ticket parameter' failed: no t parameter"
        );
        return HTTP_BAD_REQUEST;
    };
    let fp = ticket_fingerprint(&encoded);
    mask_ticket_in_request(r, &fp);
    let d = web::query_param(args, "d").unwrap_or_default();
    let nonce_cookie = ctx.dir.nonce_cookie();
    let headers = cookie_headers(r);
    let nonces: Vec<&str> = headers
        .iter()
        .flat_map(|h| web::cookie_values(h, &nonce_cookie))
        .filter(|n| !n.is_empty())
        .take(MAX_COOKIES_TRIED)
        .collect();
    if nonces.is_empty() {
        rlog!(
            r,
            LOG_INFO,
            "sso_login refused ticket {fp}: check 'nonce' failed: no nonce cookie {nonce_cookie}"
        );
        return HTTP_FORBIDDEN;
    }
    let now = unix_now();
    // One signature check (no cache: a login ticket is used once), then the
    // claims against each nonce cookie, cheap.
    let result = ctx.verifier.verify_signature(&encoded).and_then(|t| {
        let mut claims = Err(Error::NonceMismatch);
        for nonce in &nonces {
            let check = Check {
                now,
                nonce: Some(nonce),
                groups: ctx.dir.groups(),
            };
            claims = ctx.verifier.check_claims(&t, &check);
            if claims != Err(Error::NonceMismatch) {
                break;
            }
        }
        claims.map(|()| t)
    });
    let ticket = match result {
        Ok(t) => t,
        Err(e) => {
            rlog!(
                r,
                LOG_INFO,
                "sso_login refused ticket {fp}: check '{}' failed",
                e.check()
            );
            return HTTP_FORBIDDEN;
        }
    };
    let ticket_cookie = ctx.dir.ticket_cookie();
    if !web::fits_in_a_cookie(&ticket_cookie, &encoded) {
        // A browser would drop the cookie, and the user would go round
        // login server → sso_login → service → login server for ever.
        rlog!(
            r,
            LOG_INFO,
            "sso_login refused ticket {fp}: check 'cookie size' failed: {} bytes with the cookie name, browsers keep at most {}",
            ticket_cookie.len() + 1 + encoded.len(),
            web::MAX_COOKIE_BYTES
        );
        return HTTP_FORBIDDEN;
    }
    let target = web::safe_redirect_target(&d, ctx.service);
    if target != d {
        rlog!(
            r,
            LOG_DEBUG,
            "sso_login: redirect target outside the service replaced by the service root"
        );
    }
    let secure = secure_cookies(r, ctx.dir);
    let path = ctx.service.path();
    let pool = (*r).pool;
    table_add(
        pool,
        (*r).err_headers_out,
        cstr!("Set-Cookie"),
        &web::set_cookie(&ticket_cookie, &encoded, path, secure),
    );
    table_add(
        pool,
        (*r).err_headers_out,
        cstr!("Set-Cookie"),
        &web::clear_cookie(&nonce_cookie, path, secure),
    );
    table_set(pool, (*r).headers_out, cstr!("Location"), &target);
    no_store(r);
    rlog!(
        r,
        LOG_DEBUG,
        "sso_login accepted ticket {fp} for user {}: cookie set, redirecting",
        ticket.user
    );
    HTTP_FOUND
}

/// Replaces the `t` parameter in everything httpd's access log prints of
/// this request (`%r`, `%q`, `%U%q`) with the ticket's fingerprint.
unsafe fn mask_ticket_in_request(r: *mut ffi::request_rec, fp: &str) {
    let pool = (*r).pool;
    // No space: log parsers split `%r` on spaces.
    let shown = format!("ticket-{fp}");
    if let Some(line) = str_of((*r).the_request) {
        (*r).the_request = pstr(pool, &web::mask_request_line(line, "t", &shown));
    }
    if let Some(uri) = str_of((*r).unparsed_uri) {
        (*r).unparsed_uri = pstr(pool, &web::mask_request_line(uri, "t", &shown));
    }
    for query in [&mut (*r).args, &mut (*r).parsed_uri.query] {
        if let Some(q) = str_of(*query) {
            *query = pstr(pool, &web::mask_query_param(q, "t", &shown));
        }
    }
}

unsafe fn sso_logout(r: *mut ffi::request_rec, dir: &DirConf, service: &ServiceName) -> c_int {
    let secure = secure_cookies(r, dir);
    let path = service.path();
    let pool = (*r).pool;
    table_add(
        pool,
        (*r).headers_out,
        cstr!("Set-Cookie"),
        &web::clear_cookie(&dir.ticket_cookie(), path, secure),
    );
    table_add(
        pool,
        (*r).headers_out,
        cstr!("Set-Cookie"),
        &web::clear_cookie(&dir.nonce_cookie(), path, secure),
    );
    table_set(pool, (*r).headers_out, cstr!("Cache-Control"), "no-store");
    ffi::ap_set_content_type(r, cstr!("text/plain"));
    ffi::ap_set_content_length(r, 2);
    ffi::ap_rwrite(b"OK".as_ptr() as *const c_void, 2, r);
    rlog!(
        r,
        LOG_DEBUG,
        "sso_logout: cookies of service {} cleared",
        service.as_str()
    );
    DONE
}

/// Where the ticket came from: it decides between redirect and 401.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Header,
    Cookie,
}

/// `check_authn` hook for `AuthType SSO`.
pub unsafe extern "C" fn check_authn(r: *mut ffi::request_rec) -> c_int {
    guard(HTTP_SERVER_ERROR, || {
        if !is_sso(r) {
            return DECLINED;
        }
        let ctx = match context(r) {
            Ok(c) => c,
            Err(missing) => return misconfigured(r, missing),
        };
        authenticate(r, &ctx)
    })
}

unsafe fn authenticate(r: *mut ffi::request_rec, ctx: &Ctx<'_>) -> c_int {
    let check = Check {
        now: unix_now(),
        nonce: None,
        groups: ctx.dir.groups(),
    };
    let cache = cache(ctx.cache_size);
    let verify = |encoded: &str| cache.verify(&ctx.verifier, encoded, &check);

    // A programmatic client: its ticket decides, with 401 + reason on failure.
    if let Some(encoded) =
        table_get((*r).headers_in, cstr!("Authorization")).and_then(web::authorization_ticket)
    {
        let fp = ticket_fingerprint(encoded);
        return match verify(encoded) {
            Ok(ticket) => accept(r, ctx, &ticket, encoded, Source::Header),
            Err(Error::MissingGroup) => {
                rlog!(r, LOG_INFO, "refused Authorization ticket {fp}: check 'missing group' failed (needs one of {:?})", ctx.dir.groups());
                HTTP_FORBIDDEN
            }
            Err(e) => {
                rlog!(
                    r,
                    LOG_INFO,
                    "refused Authorization ticket {fp}: check '{}' failed",
                    e.check()
                );
                unauthorized(r, ctx, e.check())
            }
        };
    }

    let ticket_cookie = ctx.dir.ticket_cookie();
    let mut last_error = None;
    let headers = cookie_headers(r);
    let tickets = headers
        .iter()
        .flat_map(|h| web::cookie_values(h, &ticket_cookie))
        .take(MAX_COOKIES_TRIED);
    {
        for encoded in tickets {
            match verify(encoded) {
                Ok(ticket) => return accept(r, ctx, &ticket, encoded, Source::Cookie),
                Err(e) => {
                    rlog!(
                        r,
                        LOG_DEBUG,
                        "cookie ticket {} refused: check '{}' failed",
                        ticket_fingerprint(encoded),
                        e.check()
                    );
                    last_error = Some(e);
                }
            }
        }
    }
    if last_error == Some(Error::MissingGroup) {
        // Sending this user to the login server again would loop: the login
        // server would refuse, or issue the same groups.
        rlog!(
            r,
            LOG_INFO,
            "refused: check 'missing group' failed: the ticket holds none of {:?}",
            ctx.dir.groups()
        );
        return HTTP_FORBIDDEN;
    }
    let reason = last_error.map_or("no ticket", Error::check);
    let method_get = (*r).method_number == ffi::M_GET as c_int;
    if !method_get {
        rlog!(
            r,
            LOG_INFO,
            "refused {} without a valid ticket ({reason}): 401, a redirect cannot replay it",
            str_of((*r).method).unwrap_or("request")
        );
        return unauthorized(r, ctx, reason);
    }
    redirect_to_login(r, ctx, reason)
}

unsafe fn unauthorized(r: *mut ffi::request_rec, ctx: &Ctx<'_>, reason: &str) -> c_int {
    table_set(
        (*r).pool,
        (*r).err_headers_out,
        cstr!("WWW-Authenticate"),
        &web::www_authenticate(ctx.service.as_str(), Some(reason)),
    );
    no_store(r);
    HTTP_UNAUTHORIZED
}

unsafe fn redirect_to_login(r: *mut ffi::request_rec, ctx: &Ctx<'_>, reason: &str) -> c_int {
    let nonce = web::new_nonce();
    let path = match str_of((*r).unparsed_uri) {
        Some(u) if u.starts_with('/') => u.to_owned(),
        _ => {
            let mut p = str_of((*r).uri).unwrap_or("/").to_owned();
            if let Some(a) = str_of((*r).args) {
                p.push('?');
                p.push_str(a);
            }
            p
        }
    };
    let original = format!("https://{}{}", ctx.service.host_port(), path);
    let location = web::login_redirect_url(
        ctx.login_server,
        ctx.service.as_str(),
        &original,
        &nonce,
        ctx.dir.groups(),
    );
    let secure = secure_cookies(r, ctx.dir);
    let pool = (*r).pool;
    table_add(
        pool,
        (*r).err_headers_out,
        cstr!("Set-Cookie"),
        &web::set_cookie(&ctx.dir.nonce_cookie(), &nonce, ctx.service.path(), secure),
    );
    table_set(pool, (*r).headers_out, cstr!("Location"), &location);
    no_store(r);
    rlog!(
        r,
        LOG_DEBUG,
        "no valid ticket ({reason}): redirecting to the login server"
    );
    HTTP_FOUND
}

/// Per-request record of an SSO authentication, for the authz providers.
struct Authenticated {
    ticket: Arc<Ticket>,
}

unsafe fn accept(
    r: *mut ffi::request_rec,
    ctx: &Ctx<'_>,
    ticket: &Arc<Ticket>,
    encoded: &str,
    source: Source,
) -> c_int {
    let pool = (*r).pool;
    (*r).user = pstr(pool, &ticket.user);
    (*r).ap_auth_type = pstr(pool, AUTH_TYPE);
    let env = (*r).subprocess_env;
    table_set(pool, env, cstr!("SSO_USER"), &ticket.user);
    table_set(pool, env, cstr!("SSO_GROUPS"), &ticket.groups.join(","));
    table_set(pool, env, cstr!("SSO_SERVICE"), &ticket.service);
    if ctx.dir.export_ticket == Some(true) {
        table_set(pool, env, cstr!("SSO_TICKET"), encoded);
    }
    let record = pool_box(
        pool,
        Authenticated {
            ticket: Arc::clone(ticket),
        },
    );
    set_module_config((*r).request_config, module_index(), record as *mut c_void);
    rlog!(
        r,
        LOG_DEBUG,
        "accepted {} ticket {} for user {} (groups {:?})",
        if source == Source::Header {
            "Authorization"
        } else {
            "cookie"
        },
        ticket_fingerprint(encoded),
        ticket.user,
        ticket.groups
    );
    OK
}

/// The SSO authentication of `r` or of the request it derives from
/// (subrequests and internal redirects).
unsafe fn authenticated<'a>(mut r: *const ffi::request_rec) -> Option<&'a Authenticated> {
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

unsafe fn groups_check(
    r: *mut ffi::request_rec,
    require_line: *const c_char,
    spelling: &str,
) -> ffi::authz_status::Type {
    if (*r).user.is_null() {
        return ffi::authz_status::AUTHZ_DENIED_NO_USER;
    }
    let Some(auth) = authenticated(r) else {
        rlog!(r, LOG_ERR, "Require {spelling}: the user was not authenticated by AuthType SSO, so there are no ticket groups");
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
