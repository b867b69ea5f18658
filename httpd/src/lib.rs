//! The safe layer over Apache httpd 2.4 and APR, in the style of
//! ngx-rust's `ngx` over `nginx-sys`: every raw pointer and every `unsafe`
//! block of a module is in this crate, over the bindings of `httpd-sys`. A
//! module (mod_sso) is safe code and sees httpd as a [`Module`] (its hooks,
//! directives and authz providers), [`Request`], [`Table`], [`Pool`],
//! [`Server`], [`Cmd`] and [`SharedCache`], and defines its record with
//! [`module!`]. Each callback converts httpd's pointers once and runs
//! behind one panic boundary ([`guard`]) that fails closed.
//!
//! The invariant the blocks below rely on: a value of this crate that
//! holds a raw pointer got it from httpd (a callback's argument, or a field
//! of a record httpd handed over) and lives no longer than httpd keeps it
//! alive: the callback for requests, command records and hook arguments;
//! the pool for what is allocated in a pool. Their constructors are
//! private, so no code outside can wrap any other pointer.

mod authz;
mod command;
mod hooks;
mod pool;
mod request;
mod socache;

/// The bindings, for [`module!`]'s expansion.
#[doc(hidden)]
pub use httpd_sys as ffi;

use std::any::TypeId;
use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicPtr, Ordering};

pub use authz::Authz;
pub use command::{directive, Arg, Cmd, Scope, END};
pub use ffi::command_rec as Command;
pub use hooks::{Module, Server};
pub use pool::{Pool, PoolSlot};
pub use request::{Answer, Field, Level, Request, Table, Tables};
pub use socache::SharedCache;

pub const OK: c_int = ffi::OK as c_int;
pub const DECLINED: c_int = ffi::DECLINED;
pub const DONE: c_int = ffi::DONE;
pub const HTTP_UNAUTHORIZED: c_int = ffi::HTTP_UNAUTHORIZED as c_int;
pub const HTTP_FORBIDDEN: c_int = ffi::HTTP_FORBIDDEN as c_int;
pub const HTTP_SERVER_ERROR: c_int = ffi::HTTP_INTERNAL_SERVER_ERROR as c_int;

/// Runs `f`, turning a panic into `fallback` so that no unwind ever crosses
/// into httpd (fail closed: callers pass a refusing fallback).
pub fn guard<R>(fallback: R, f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// A per-server or per-directory record: made by `Default`, merged for
/// nested sections.
pub trait Config: Default + Send + Sync + 'static {
    fn merge(base: &Self, add: &Self) -> Merged<Self>;
}

/// The record of a section nested in another.
pub enum Merged<T> {
    /// The outer record as it is.
    Base,
    /// The inner record as it is.
    Add,
    New(T),
}

/// Defines the module record `$record`, the only symbol the shared object
/// exports, for the [`Module`] `$module`, named `$name` (httpd derives the
/// log name from it: `c"mod_x.c"` logs as `x`), with its command table. One
/// module per shared object: the layer keeps the record in a static.
#[macro_export]
macro_rules! module {
    ($record:ident, $module:ty, $name:expr, $commands:expr) => {
        /// The module record httpd looks up by name after `LoadModule`.
        /// httpd writes into it (module index, list link), hence `static mut`.
        /// The exported symbol is this crate's code: a module that expands
        /// the macro can still forbid unsafe code (as with ngx-rust's
        /// `ngx_modules!`).
        #[no_mangle]
        #[allow(non_upper_case_globals)]
        pub static mut $record: $crate::ffi::module_struct = {
            // httpd only reads the table, but through a `*const` of a
            // type with raw pointers: a `static mut` needs no `Sync`.
            static mut COMMANDS: [$crate::ffi::command_rec; $commands.len()] = $commands;
            extern "C" fn register(_p: *mut $crate::ffi::apr_pool_t) {
                $crate::register::<$module>(&raw const $record);
            }
            $crate::record::<$module>($name, (&raw const COMMANDS).cast(), register)
        };
    };
}
/// This module's record, where httpd wrote its index into httpd's config
/// vectors (set at register_hooks).
static RECORD: AtomicPtr<ffi::module_struct> = AtomicPtr::new(std::ptr::null_mut());

fn module_record() -> Option<&'static ffi::module_struct> {
    // SAFETY: null or the module record (a static), whose index httpd sets
    // once while loading the module, before it runs any of its hooks or
    // directives; afterwards it is only read.
    unsafe { RECORD.load(Ordering::Acquire).as_ref() }
}

fn module_index() -> usize {
    module_record().map_or(0, |m| m.module_index.max(0) as usize)
}

/// The module's name for messages: `mod_x` of the record's `mod_x.c`.
fn module_name() -> &'static str {
    let name = module_record().and_then(|m| text(m.name));
    name.map_or("module", |n| n.strip_suffix(".c").unwrap_or(n))
}

/// The module record for `M` (see [`module!`]).
pub const fn record<M: Module>(
    name: &'static CStr,
    cmds: *const ffi::command_rec,
    register: extern "C" fn(*mut ffi::apr_pool_t),
) -> ffi::module_struct {
    ffi::module_struct {
        version: ffi::MODULE_MAGIC_NUMBER_MAJOR as i32,
        minor_version: ffi::MODULE_MAGIC_NUMBER_MINOR as i32,
        module_index: -1,
        // httpd derives the log name (`LogLevel NAME:debug`) from this.
        name: name.as_ptr(),
        dynamic_load_handle: std::ptr::null_mut(),
        next: std::ptr::null_mut(),
        magic: ffi::MODULE_MAGIC_COOKIE as std::ffi::c_ulong,
        rewrite_args: None,
        create_dir_config: Some(create_dir::<M::Dir>),
        merge_dir_config: Some(merge::<M::Dir>),
        create_server_config: Some(create_server::<M::Server>),
        merge_server_config: Some(merge::<M::Server>),
        cmds,
        register_hooks: Some(register),
        flags: 0,
    }
}

/// `register_hooks` of the module record `record`.
#[doc(hidden)]
pub fn register<M: Module>(record: *const ffi::module_struct) {
    RECORD.store(record.cast_mut(), Ordering::Release);
    // httpd has no way to hear that this failed: a module half registered
    // (say, authentication without its authz providers) must not run.
    if !guard(false, hooks::register::<M>) {
        std::process::abort();
    }
}

extern "C" fn create_dir<T: Config>(p: *mut ffi::apr_pool_t, _dir: *mut c_char) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        Pool::of(p).map_or(std::ptr::null_mut(), |p| p.tagged(T::default()))
    })
}

extern "C" fn create_server<T: Config>(
    p: *mut ffi::apr_pool_t,
    _: *mut ffi::server_rec,
) -> *mut c_void {
    create_dir::<T>(p, std::ptr::null_mut())
}

extern "C" fn merge<T: Config>(
    p: *mut ffi::apr_pool_t,
    base: *mut c_void,
    add: *mut c_void,
) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        let (Some(b), Some(a), Some(pool)) =
            (record_ref::<T>(base), record_ref::<T>(add), Pool::of(p))
        else {
            return std::ptr::null_mut();
        };
        match T::merge(b, a) {
            Merged::Base => base,
            Merged::Add => add,
            Merged::New(merged) => pool.tagged(merged),
        }
    })
}

/// A value this module keeps in memory httpd hands around as `void *`
/// (configuration records, request data): its type travels with it.
#[repr(C)]
struct Tagged<T> {
    tag: TypeId,
    value: T,
}

/// Shared access to a tagged record: what requests use (threads read the
/// configuration at once, so never `&mut`).
fn record_ref<'a, T: 'static>(p: *mut c_void) -> Option<&'a T> {
    // SAFETY: `p` is null or a record made by `Pool::tagged` (crate
    // invariant: httpd hands back what this module gave it), whose first
    // field is the tag; a `T` by its tag, alive as long as its pool, which
    // outlives every callback that reads it.
    unsafe {
        let tag = p.cast::<TypeId>().as_ref()?;
        (*tag == TypeId::of::<T>()).then(|| &(*p.cast::<Tagged<T>>()).value)
    }
}

/// Exclusive access to a tagged record: for directive handlers only, which
/// httpd runs one at a time while it reads the configuration, before any
/// request or thread exists.
fn record_mut<'a, T: 'static>(p: *mut c_void) -> Option<&'a mut T> {
    // SAFETY: as in `record_ref`, and nothing else reads it meanwhile.
    unsafe {
        let tag = p.cast::<TypeId>().as_ref()?;
        (*tag == TypeId::of::<T>()).then(|| &mut (*p.cast::<Tagged<T>>()).value)
    }
}

/// This module's slot in an httpd config vector (per server, directory or
/// request): `ap_get_module_config`/`ap_set_module_config`.
fn slot<'a>(vector: *mut ffi::ap_conf_vector_t) -> Option<&'a Cell<*mut c_void>> {
    // SAFETY: a live config vector of httpd (crate invariant) has a slot
    // for every loaded module, this one's at its index.
    unsafe {
        vector
            .cast::<Cell<*mut c_void>>()
            .add(module_index())
            .as_ref()
    }
}

/// A C string httpd handed over: `None` for NULL. It lives as long as what
/// it came with (crate invariant).
fn c_text<'a>(p: *const c_char) -> Option<&'a CStr> {
    // SAFETY: NULL or a NUL-terminated string of httpd, see above.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) })
}

/// The same as UTF-8: `None` for NULL or other bytes.
fn text<'a>(p: *const c_char) -> Option<&'a str> {
    c_text(p)?.to_str().ok()
}
