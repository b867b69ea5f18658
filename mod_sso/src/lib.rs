//! mod_sso: `AuthType SSO` for Apache httpd 2.4, a thin adapter over
//! sso-core's flow ([`sso_core::flow`]), which makes every protocol
//! decision. This crate translates: configuration ([`config`],
//! [`directives`], each location's settings built once in [`location`]), the
//! request path ([`handlers`] for `sso_login`/`sso_logout`, [`authn`] for
//! authentication, both through [`request`]), authorization ([`authz`]),
//! the stores ([`cache`], [`binding`]), the life cycle ([`startup`]), and
//! the module record `sso_module`, the only symbol the shared object
//! exports.
//!
//! The reference for administrators is `docs/mod_sso.md`.

#![allow(clippy::missing_safety_doc)]

mod apr;
mod authn;
mod authz;
mod binding;
mod cache;
mod config;
mod directives;
mod ffi;
mod handlers;
mod request;
mod startup;

use std::ptr::{addr_of, null, null_mut};

use apr::{cstr, guard};

/// The module record httpd looks up by name after `LoadModule sso_module`.
/// httpd writes into it (module index, list link), hence `static mut`; Rust
/// code only reads `module_index` through [`module_index`].
#[no_mangle]
#[allow(non_upper_case_globals)]
pub static mut sso_module: ffi::module_struct = ffi::module_struct {
    version: ffi::MODULE_MAGIC_NUMBER_MAJOR as i32,
    minor_version: ffi::MODULE_MAGIC_NUMBER_MINOR as i32,
    module_index: -1,
    // httpd derives the log name `sso` (LogLevel sso:debug) from this.
    name: cstr!("mod_sso.c"),
    dynamic_load_handle: null_mut(),
    next: null_mut(),
    magic: ffi::MODULE_MAGIC_COOKIE as std::ffi::c_ulong,
    rewrite_args: None,
    create_dir_config: Some(config::create_dir_config),
    merge_dir_config: Some(config::merge_dir_config),
    create_server_config: Some(config::create_server_config),
    merge_server_config: Some(config::merge_server_config),
    cmds: directives::COMMANDS.0.as_ptr(),
    register_hooks: Some(register_hooks),
    flags: 0,
};

/// This module's index into httpd's config vectors.
pub(crate) fn module_index() -> usize {
    // SAFETY: httpd sets module_index once while loading the module, before
    // any hook or directive handler can run; afterwards it is only read.
    unsafe { (*addr_of!(sso_module)).module_index.max(0) as usize }
}

unsafe extern "C" fn register_hooks(p: *mut ffi::apr_pool_t) {
    // httpd has no way to hear that this failed: a panic here would leave
    // the module half registered (say, authentication without its authz
    // providers), so it aborts httpd's start instead.
    let registered = guard(false, || {
        let first = ffi::APR_HOOK_FIRST as i32;
        let middle = ffi::APR_HOOK_MIDDLE as i32;
        ffi::ap_hook_pre_config(Some(startup::pre_config), null(), null(), middle);
        ffi::ap_hook_post_config(Some(startup::post_config), null(), null(), middle);
        ffi::ap_hook_child_init(Some(startup::child_init), null(), null(), middle);
        ffi::ap_hook_header_parser(Some(handlers::sso_handlers), null(), null(), first);
        ffi::ap_hook_check_authn(
            Some(authn::check_authn),
            null(),
            null(),
            middle,
            ffi::AP_AUTH_INTERNAL_PER_CONF as i32,
        );
        ffi::ap_hook_note_auth_failure(Some(authz::note_auth_failure), null(), null(), middle);
        ffi::ap_hook_insert_error_filter(Some(authz::forbid_authenticated), null(), null(), middle);
        authz::register_providers(p);
        true
    });
    if !registered {
        std::process::abort();
    }
}
