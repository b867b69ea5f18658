//! The verification cache of this process. Built in each child by
//! `child_init` (the parent never verifies, so a fork never copies a cache
//! in use) in the child's pool, so it goes with the child, also when httpd
//! runs as one process (`-X`) and unloads the module at a restart; a
//! graceful restart starts new children with an empty one, and entries are
//! keyed by the key set anyway, so changed key files never see stale
//! results.

use std::sync::OnceLock;

use sso_core::VerifyCache;

use crate::config::ServerConf;
use httpd::{Pool, PoolSlot, Request, Server};

/// The child's cache, owned by the child's pool; empty outside a child.
static CHILD_CACHE: PoolSlot<VerifyCache> = PoolSlot::new();
/// Only for a request that reaches the module without `child_init` having
/// run in its process, which httpd never does: a cache all the same.
static FALLBACK: OnceLock<VerifyCache> = OnceLock::new();

/// The size `SSOCacheSize` of the main server gives (virtual hosts inherit
/// it).
fn size(s: Option<Server<'_>>) -> usize {
    s.and_then(|s| s.config::<ServerConf>())
        .and_then(|c| c.cache_size)
        .unwrap_or(sso_core::DEFAULT_CACHE_ENTRIES)
}

/// Builds the child's cache in `pchild`; it is dropped with that pool.
pub fn child_init(pchild: Pool<'_>, main: Server<'_>) {
    CHILD_CACHE.fill(pchild, VerifyCache::new(size(Some(main))));
}

/// The cache, for a request.
pub fn verify_cache<'r>(r: &Request<'r>) -> &'r VerifyCache {
    match CHILD_CACHE.get(r) {
        Some(cache) => cache,
        None => FALLBACK.get_or_init(|| VerifyCache::new(size(r.server()))),
    }
}
