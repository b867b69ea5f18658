//! The authz providers `sso-group` and `group`: ours answers
//! ([`Module::authz_group`]) or hands the line to the `group` provider found
//! before it (mod_authz_groupfile's).

use std::ffi::{c_char, c_int, c_void};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::OnceLock;

use super::{ffi, guard, record_ref, text, Level, Module, Pool, Request};

/// An authorization answer (`authz_status`).
#[derive(Clone, Copy)]
pub enum Authz {
    Granted = ffi::authz_status::AUTHZ_GRANTED as isize,
    Denied = ffi::authz_status::AUTHZ_DENIED as isize,
    /// No user to check: httpd asks for authentication.
    DeniedNoUser = ffi::authz_status::AUTHZ_DENIED_NO_USER as isize,
    GeneralError = ffi::authz_status::AUTHZ_GENERAL_ERROR as isize,
}

impl From<Authz> for ffi::authz_status::Type {
    fn from(a: Authz) -> Self {
        a as ffi::authz_status::Type
    }
}

/// Our providers `sso-group` and `group` (statics cannot be generic over
/// the module: made at pre_config).
static PROVIDERS: OnceLock<[ffi::authz_provider; 2]> = OnceLock::new();

/// The `group` provider found before ours.
static DELEGATE: AtomicPtr<ffi::authz_provider> = AtomicPtr::new(null_mut());

/// pre_config: registers `sso-group`, and takes over `group` after every
/// module's register_hooks ran (so after mod_authz_groupfile registered its
/// own, whatever the LoadModule order) and before any `Require` is parsed.
pub(super) fn register<M: Module>(pconf: Pool<'_>) {
    let [sso_group, ours] = PROVIDERS.get_or_init(|| {
        let (check, parse) = (Some(group_check::<M> as _), Some(group_parse as _));
        [
            ffi::authz_provider {
                check_authorization: Some(sso_group_check::<M>),
                parse_require_line: None,
            },
            ffi::authz_provider {
                check_authorization: check,
                parse_require_line: parse,
            },
        ]
    });
    let group = ffi::AUTHZ_PROVIDER_GROUP.as_ptr().cast::<c_char>();
    let version = ffi::AUTHZ_PROVIDER_VERSION.as_ptr().cast::<c_char>();
    let per_conf = ffi::AP_AUTH_INTERNAL_PER_CONF as c_int;
    // SAFETY: a live pool; the names are static C strings; httpd keeps the
    // pointers to the static providers.
    unsafe {
        let existing = ffi::ap_lookup_provider(group, c"group".as_ptr(), version);
        let existing = existing.cast::<ffi::authz_provider>();
        let delegate = if std::ptr::eq(existing, ours) {
            null_mut()
        } else {
            existing
        };
        DELEGATE.store(delegate, Ordering::SeqCst);
        for (name, provider) in [(c"sso-group", sso_group), (c"group", ours)] {
            let provider = (provider as *const ffi::authz_provider).cast::<c_void>();
            ffi::ap_register_auth_provider(
                pconf.as_ptr(),
                group,
                name.as_ptr(),
                version,
                provider,
                per_conf,
            );
        }
    }
}

extern "C" fn sso_group_check<M: Module>(
    r: *mut ffi::request_rec,
    line: *const c_char,
    _parsed: *const c_void,
) -> ffi::authz_status::Type {
    let error = Authz::GeneralError.into();
    Request::run(r, error, |req| {
        M::authz_sso_group(req, text(line).unwrap_or("")).into()
    })
}

/// What our `group` parser keeps: the address of the delegate's own parsed
/// form (read-only once parsed, shared by httpd between threads).
struct GroupParsed(usize);

extern "C" fn group_check<M: Module>(
    r: *mut ffi::request_rec,
    line: *const c_char,
    parsed: *const c_void,
) -> ffi::authz_status::Type {
    let error = Authz::GeneralError.into();
    Request::run(r, error, |req| {
        if let Some(ours) = M::authz_group(req, text(line).unwrap_or("")) {
            return ours.into();
        }
        let inner =
            record_ref::<GroupParsed>(parsed.cast_mut()).map_or(null(), |p| p.0 as *const c_void);
        // SAFETY: the delegate is a provider httpd registered, which lives
        // as long as the configuration; it gets the arguments httpd gave us
        // and the parsed form its own parser made.
        let answer = unsafe {
            let check = DELEGATE
                .load(Ordering::SeqCst)
                .as_ref()
                .and_then(|d| d.check_authorization);
            check.map(|check| check(req.as_ptr(), line, inner))
        };
        answer.unwrap_or_else(|| {
            req.log(
                Level::Error,
                "Require group outside AuthType SSO needs mod_authz_groupfile, which is not loaded",
            );
            error
        })
    })
}

extern "C" fn group_parse(
    cmd: *mut ffi::cmd_parms,
    line: *const c_char,
    parsed: *mut *const c_void,
) -> *const c_char {
    guard(c"Require group: internal error in mod_sso".as_ptr(), || {
        let mut inner: *const c_void = null();
        // SAFETY: httpd passes the live record of the `Require` line and a
        // place for the parsed form; the delegate's parser takes the same.
        unsafe {
            let delegate = DELEGATE.load(Ordering::SeqCst).as_ref();
            if let Some(parse) = delegate.and_then(|d| d.parse_require_line) {
                let err = parse(cmd, line, &mut inner);
                if !err.is_null() {
                    return err;
                }
            }
            let Some(pool) = cmd.as_ref().and_then(|c| Pool::of(c.pool)) else {
                return c"Require group: no pool".as_ptr();
            };
            *parsed = pool.tagged(GroupParsed(inner as usize));
        }
        null()
    })
}
