//! The [`Module`] trait (what a module does at each hook), the trampolines
//! httpd calls, and [`Server`].

use std::ffi::{c_char, c_int, CStr};
use std::ptr::null;

use super::{ffi, guard, record_ref, slot, Arg, Authz, Cmd, Config, Level, Pool, Request};

/// A module as httpd sees it: the hooks it runs, its directives and its
/// authz providers. Each hook runs behind a panic boundary with the
/// fallback its caller needs.
pub trait Module: 'static {
    type Server: Config;
    type Dir: Config;
    /// The authz provider the module adds (`Require NAME ...`), answered
    /// by [`Module::authz`].
    const AUTHZ: &'static CStr;
    /// An authz provider of another module (registered before this one's,
    /// whatever the LoadModule order) that this one answers first
    /// ([`Module::authz_takeover`]), handing over what it leaves.
    const AUTHZ_TAKEOVER: &'static CStr;
    /// Before the configuration is read.
    fn pre_config(pconf: Pool<'_>);
    /// After it was read, before any request. Err stops httpd.
    fn post_config(pconf: Pool<'_>, ptemp: Pool<'_>, main: Server<'_>) -> Result<(), String>;
    /// In each child process before it serves requests.
    fn child_init(pchild: Pool<'_>, main: Server<'_>);
    /// `header_parser`, first of all modules (panic: 500).
    fn header_parser(r: &mut Request<'_>) -> c_int;
    /// `check_authn` (panic: 500).
    fn check_authn(r: &mut Request<'_>) -> c_int;
    /// `note_auth_failure` (panic: DECLINED).
    fn note_auth_failure(r: &mut Request<'_>) -> c_int;
    /// `insert_error_filter`.
    fn insert_error_filter(r: &mut Request<'_>);
    /// `Require AUTHZ ...` (panic: error).
    fn authz(r: &mut Request<'_>, require_line: &str) -> Authz;
    /// `Require AUTHZ_TAKEOVER ...`: `None` hands it to the provider
    /// registered before, which exists when `delegate` is true (panic:
    /// error).
    fn authz_takeover(r: &mut Request<'_>, require_line: &str, delegate: bool) -> Option<Authz>;
    /// A directive of the command table (panic: an error naming it).
    fn directive(cmd: &mut Cmd<'_>, arg: Arg<'_>) -> Result<(), String>;
}

/// Registers the hooks of `M`.
pub(super) fn register<M: Module>() -> bool {
    let (first, middle) = (ffi::APR_HOOK_FIRST as c_int, ffi::APR_HOOK_MIDDLE as c_int);
    // SAFETY: httpd copies the function pointers; every one is a trampoline
    // below with the signature of its hook.
    unsafe {
        ffi::ap_hook_pre_config(Some(pre_config::<M>), null(), null(), middle);
        ffi::ap_hook_post_config(Some(post_config::<M>), null(), null(), middle);
        ffi::ap_hook_child_init(Some(child_init::<M>), null(), null(), middle);
        ffi::ap_hook_header_parser(Some(header_parser::<M>), null(), null(), first);
        let per_conf = ffi::AP_AUTH_INTERNAL_PER_CONF as c_int;
        ffi::ap_hook_check_authn(Some(check_authn::<M>), null(), null(), middle, per_conf);
        ffi::ap_hook_note_auth_failure(Some(note_auth_failure::<M>), null(), null(), middle);
        ffi::ap_hook_insert_error_filter(Some(insert_error_filter::<M>), null(), null(), middle);
    }
    true
}

extern "C" fn pre_config<M: Module>(
    pconf: *mut ffi::apr_pool_t,
    _plog: *mut ffi::apr_pool_t,
    _ptemp: *mut ffi::apr_pool_t,
) -> c_int {
    // A failure or panic aborts startup rather than run half set up.
    guard(super::HTTP_SERVER_ERROR, || {
        let Some(pconf) = Pool::of(pconf) else {
            return super::HTTP_SERVER_ERROR;
        };
        super::authz::register::<M>(pconf);
        M::pre_config(pconf);
        super::OK
    })
}

extern "C" fn post_config<M: Module>(
    pconf: *mut ffi::apr_pool_t,
    _plog: *mut ffi::apr_pool_t,
    ptemp: *mut ffi::apr_pool_t,
    s: *mut ffi::server_rec,
) -> c_int {
    guard(super::HTTP_SERVER_ERROR, || {
        let (Some(pconf), Some(ptemp), Some(main)) =
            (Pool::of(pconf), Pool::of(ptemp), Server::of(s))
        else {
            return super::HTTP_SERVER_ERROR;
        };
        M::post_config(pconf, ptemp, main).map_or_else(
            |e| {
                main.log(Level::Error, &format!("{}: {e}", super::module_name()));
                super::HTTP_SERVER_ERROR
            },
            |()| super::OK,
        )
    })
}

extern "C" fn child_init<M: Module>(p: *mut ffi::apr_pool_t, s: *mut ffi::server_rec) {
    guard((), || {
        if let (Some(p), Some(s)) = (Pool::of(p), Server::of(s)) {
            M::child_init(p, s);
        }
    })
}

extern "C" fn header_parser<M: Module>(r: *mut ffi::request_rec) -> c_int {
    Request::run(r, super::HTTP_SERVER_ERROR, M::header_parser)
}

extern "C" fn check_authn<M: Module>(r: *mut ffi::request_rec) -> c_int {
    Request::run(r, super::HTTP_SERVER_ERROR, M::check_authn)
}

/// `auth_type` is `ap_auth_type(r)`, which the request offers.
extern "C" fn note_auth_failure<M: Module>(
    r: *mut ffi::request_rec,
    _auth_type: *const c_char,
) -> c_int {
    Request::run(r, super::DECLINED, M::note_auth_failure)
}

extern "C" fn insert_error_filter<M: Module>(r: *mut ffi::request_rec) {
    Request::run(r, (), M::insert_error_filter)
}

/// A virtual host (or the main server) of the configuration.
#[derive(Clone, Copy)]
pub struct Server<'a> {
    s: &'a ffi::server_rec,
}

impl<'a> Server<'a> {
    pub(super) fn of(s: *const ffi::server_rec) -> Option<Server<'a>> {
        // SAFETY: a server record of httpd (crate invariant), which lives
        // as long as the configuration.
        unsafe { s.as_ref() }.map(|s| Server { s })
    }

    /// This module's record of the server.
    pub fn config<T: 'static>(self) -> Option<&'a T> {
        record_ref(slot(self.s.module_config)?.get())
    }

    pub(super) fn as_ptr(self) -> *mut ffi::server_rec {
        (self.s as *const ffi::server_rec).cast_mut()
    }

    pub(super) fn vector(self) -> *mut ffi::ap_conf_vector_t {
        self.s.module_config
    }

    /// The servers from this one on (from the main server: all of them).
    pub fn iter(self) -> impl Iterator<Item = Server<'a>> {
        std::iter::successors(Some(self), |s| Server::of(s.s.next))
    }

    pub fn log(self, level: Level, msg: &str) {
        super::request::log(None, self.s, level, Some(msg));
    }
}
