//! The verification cache of this process. Built lazily in each child (the
//! parent never verifies, so a fork never copies a cache in use); a graceful
//! restart starts new children with an empty one, and entries are keyed by
//! the key set anyway, so changed key files never see stale results.

use std::sync::OnceLock;

use sso_core::VerifyCache;

use crate::config::server_conf;
use crate::ffi;

static CACHE: OnceLock<VerifyCache> = OnceLock::new();

/// The cache, sized by `SSOCacheSize` of the main server (virtual hosts
/// inherit it) the first time it is used.
///
/// # Safety
/// `s` is a live server record.
pub unsafe fn for_server(s: *const ffi::server_rec) -> &'static VerifyCache {
    CACHE.get_or_init(|| {
        let size = server_conf(s)
            .and_then(|c| c.cache_size)
            .unwrap_or(sso_core::DEFAULT_CACHE_ENTRIES);
        VerifyCache::new(size)
    })
}

/// The cache, for a request.
///
/// # Safety
/// `r` is a live request.
pub unsafe fn verify_cache(r: *const ffi::request_rec) -> &'static VerifyCache {
    for_server((*r).server)
}
