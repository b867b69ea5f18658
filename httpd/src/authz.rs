//! The module's authz providers: its own ([`Module::AUTHZ`]) and the one it
//! takes over ([`Module::AUTHZ_TAKEOVER`]): ours answers
//! ([`Module::authz_takeover`]) or hands the line to the provider of that
//! name found before it.

use std::ffi::{c_char, c_int, c_void};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::OnceLock;

use super::{ffi, guard, record_ref, text, Module, Pool, Request};

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

/// Our two providers (statics cannot be generic over the module: made at
/// pre_config).
static PROVIDERS: OnceLock<[ffi::authz_provider; 2]> = OnceLock::new();

/// The provider of [`Module::AUTHZ_TAKEOVER`] found before ours.
static DELEGATE: AtomicPtr<ffi::authz_provider> = AtomicPtr::new(null_mut());

/// pre_config: registers [`Module::AUTHZ`], and takes over
/// [`Module::AUTHZ_TAKEOVER`] after every module's register_hooks ran (so
/// after the other module registered its own, whatever the LoadModule
/// order) and before any `Require` is parsed.
pub(super) fn register<M: Module>(pconf: Pool<'_>) {
    let [own, ours] = PROVIDERS.get_or_init(|| {
        let parse = Some(takeover_parse as _);
        [
            ffi::authz_provider {
                check_authorization: Some(check::<M, false>),
                parse_require_line: None,
            },
            ffi::authz_provider {
                check_authorization: Some(check::<M, true>),
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
        let existing = ffi::ap_lookup_provider(group, M::AUTHZ_TAKEOVER.as_ptr(), version);
        let existing = existing.cast::<ffi::authz_provider>();
        let delegate = if std::ptr::eq(existing, ours) {
            null_mut()
        } else {
            existing
        };
        DELEGATE.store(delegate, Ordering::SeqCst);
        for (name, provider) in [(M::AUTHZ, own), (M::AUTHZ_TAKEOVER, ours)] {
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

/// What our parser of the taken-over provider keeps: the address of the
/// delegate's own parsed form (read-only once parsed, shared by httpd
/// between threads).
struct Parsed(usize);

/// `Require` of our own provider, or (`TAKEOVER`) of the taken-over one:
/// ours answers first, else the delegate with its own parsed form.
extern "C" fn check<M: Module, const TAKEOVER: bool>(
    r: *mut ffi::request_rec,
    line: *const c_char,
    parsed: *const c_void,
) -> ffi::authz_status::Type {
    let error = Authz::GeneralError.into();
    Request::run(r, error, |req| {
        let (delegate, line_text) = (DELEGATE.load(Ordering::SeqCst), text(line).unwrap_or(""));
        if !TAKEOVER {
            return M::authz(req, line_text).into();
        }
        if let Some(ours) = M::authz_takeover(req, line_text, !delegate.is_null()) {
            return ours.into();
        }
        let inner =
            record_ref::<Parsed>(parsed.cast_mut()).map_or(null(), |p| p.0 as *const c_void);
        // SAFETY: the delegate is a provider httpd registered, which lives
        // as long as the configuration; it gets the arguments httpd gave us
        // and the parsed form its own parser made.
        let answer = unsafe {
            let check = delegate.as_ref().and_then(|d| d.check_authorization);
            check.map(|check| check(req.as_ptr(), line, inner))
        };
        answer.unwrap_or(error)
    })
}

extern "C" fn takeover_parse(
    cmd: *mut ffi::cmd_parms,
    line: *const c_char,
    parsed: *mut *const c_void,
) -> *const c_char {
    guard(
        c"Require: internal error of a module's authz provider".as_ptr(),
        || {
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
                    return c"Require: no pool".as_ptr();
                };
                *parsed = pool.tagged(Parsed(inner as usize));
            }
            null()
        },
    )
}
