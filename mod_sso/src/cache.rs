//! The verification cache of this process. Built in each child by
//! `child_init` (the parent never verifies, so a fork never copies a cache
//! in use) in the child's pool, so it goes with the child, also when httpd
//! runs as one process (`-X`) and unloads the module at a restart; a
//! graceful restart starts new children with an empty one, and entries are
//! keyed by the key set anyway, so changed key files never see stale
//! results.

use std::ffi::c_void;
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::OnceLock;

use sso_core::VerifyCache;

use crate::apr::pool_box;
use crate::config::server_conf;
use crate::ffi;

/// The child's cache, owned by the child's pool; null outside a child.
static CHILD_CACHE: AtomicPtr<VerifyCache> = AtomicPtr::new(null_mut());
/// Only for a request that reaches the module without `child_init` having
/// run in its process, which httpd never does: a cache all the same.
static FALLBACK: OnceLock<VerifyCache> = OnceLock::new();

/// The size `SSOCacheSize` of the main server gives (virtual hosts inherit
/// it).
///
/// # Safety
/// `s` is a live server record.
unsafe fn size(s: *const ffi::server_rec) -> usize {
    server_conf(s)
        .and_then(|c| c.cache_size)
        .unwrap_or(sso_core::DEFAULT_CACHE_ENTRIES)
}

/// Builds the child's cache in `pchild`; it is dropped with that pool.
///
/// # Safety
/// `pchild` is the child's live pool and `s` its main server record.
pub unsafe fn child_init(pchild: *mut ffi::apr_pool_t, s: *const ffi::server_rec) {
    let cache = pool_box(pchild, VerifyCache::new(size(s)));
    // Registered after the box's own cleanup, so it runs first (APR runs
    // cleanups in reverse order): no pointer outlives the cache.
    ffi::apr_pool_cleanup_register(
        pchild,
        null(),
        Some(forget),
        Some(ffi::apr_pool_cleanup_null),
    );
    CHILD_CACHE.store(cache, Ordering::Release);
}

unsafe extern "C" fn forget(_data: *mut c_void) -> ffi::apr_status_t {
    CHILD_CACHE.store(null_mut(), Ordering::Release);
    ffi::APR_SUCCESS as ffi::apr_status_t
}

/// The cache, for a request.
///
/// # Safety
/// `r` is a live request; the reference is used only while the request is
/// served (every request ends before its child's pool is destroyed).
pub unsafe fn verify_cache(r: *const ffi::request_rec) -> &'static VerifyCache {
    let cache = CHILD_CACHE.load(Ordering::Acquire);
    if cache.is_null() {
        FALLBACK.get_or_init(|| VerifyCache::new(size((*r).server)))
    } else {
        &*cache
    }
}
