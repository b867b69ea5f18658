//! The ticket-binding store of sso-core's flow in httpd's shared object
//! cache ([`SharedCache`]): shmcb by default, so every child of every MPM
//! sees one store; memcache or redis for a farm (`SSOBindingCache`). One
//! global mutex serialises access: shmcb is not MT-safe, and a bind must
//! check and store atomically. A graceful restart makes a fresh, empty
//! store: every browser then goes through a silent re-login. Any failure
//! fails closed.

use sso_core::flow::{BindingError, BindingStore};

use httpd::{Pool, Server, SharedCache};

/// What `SSOBindingCache` names when it is not set.
pub const DEFAULT_PROVIDER: &str = "shmcb";
/// The mutex type (`Mutex sso-binding ...`), registered at pre_config.
pub const MUTEX_TYPE: &std::ffi::CStr = c"sso-binding";

/// post_config: the store named by `spec` (`NAME[:ARGS]`). An error names
/// the directive, and stops httpd.
pub fn create(
    spec: &str,
    main: Server<'_>,
    pconf: Pool<'_>,
    ptemp: Pool<'_>,
) -> Result<(), String> {
    let (name, args) = spec
        .split_once(':')
        .map_or((spec, None), |(n, a)| (n, Some(a)));
    let cache = c"mod_sso-binding";
    SharedCache::create(name, args, MUTEX_TYPE, cache, main, pconf, ptemp).map_err(|e| {
        match e.starts_with("the socache provider") || e.starts_with("the global mutex") {
            true => format!("SSOBindingCache: {e}"),
            false => format!("SSOBindingCache {spec}: {e}"),
        }
    })
}

/// The store for one request (its pool holds the temporary buffers).
pub struct SocacheBindings<'r> {
    pub pool: Pool<'r>,
}

/// Cache keys are namespaced, so a shared memcache/redis can serve others.
fn key(fingerprint: &str) -> String {
    format!("sso-binding:{fingerprint}")
}

/// Any failure of the cache makes the store unavailable (fail closed).
fn unavailable(_: ()) -> BindingError {
    BindingError::Unavailable
}

impl BindingStore for SocacheBindings<'_> {
    fn bind(
        &self,
        fingerprint: &str,
        digest: &str,
        expires: u64,
        _now: u64,
    ) -> Result<(), BindingError> {
        let key = key(fingerprint);
        SharedCache::with_lock(self.pool, |cache| {
            if cache.retrieve(&key).map_err(unavailable)?.is_some() {
                return Err(BindingError::AlreadyBound);
            }
            cache.store(&key, digest, expires).map_err(unavailable)
        })
        .unwrap_or(Err(BindingError::Unavailable))
    }

    fn lookup(&self, fingerprint: &str, _now: u64) -> Result<Option<String>, BindingError> {
        SharedCache::with_lock(self.pool, |c| {
            c.retrieve(&key(fingerprint)).map_err(unavailable)
        })
        .unwrap_or(Err(BindingError::Unavailable))
    }

    fn revoke(&self, fingerprint: &str, expires: u64, _now: u64) {
        SharedCache::with_lock(self.pool, |cache| {
            let _ = cache.store(&key(fingerprint), sso_core::flow::binding::REVOKED, expires);
        });
    }
}
