//! The ticket-binding store of sso-core's flow in httpd's shared object
//! cache (mod_socache): shmcb by default, so every child of every MPM sees
//! one store; memcache or redis for a farm (`SSOBindingCache`). As mod_ssl
//! and mod_auth_openidc do, one global mutex serialises access: shmcb is
//! not MT-safe, and a bind must check and store atomically.
//!
//! Created in post_config (in the configuration pool, so a graceful restart
//! makes a fresh, empty one: every browser then goes through a silent
//! re-login), re-attached in child_init. Any failure fails closed.

use std::ffi::{c_char, c_uint};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicPtr, Ordering};

use sso_core::flow::{BindingError, BindingStore};

use crate::apr::{cstr, pstr, str_of};
use crate::ffi;

/// What `SSOBindingCache` names when it is not set.
pub const DEFAULT_PROVIDER: &str = "shmcb";
const MUTEX_TYPE: *const c_char = cstr!("sso-binding");
const CACHE_NAME: *const c_char = cstr!("mod_sso-binding");

static PROVIDER: AtomicPtr<ffi::ap_socache_provider_t> = AtomicPtr::new(null_mut());
static INSTANCE: AtomicPtr<ffi::ap_socache_instance_t> = AtomicPtr::new(null_mut());
static MUTEX: AtomicPtr<ffi::apr_global_mutex_t> = AtomicPtr::new(null_mut());
static SERVER: AtomicPtr<ffi::server_rec> = AtomicPtr::new(null_mut());

/// pre_config: the mutex type, so `Mutex sso-binding ...` can configure it.
pub unsafe fn register_mutex(pconf: *mut ffi::apr_pool_t) {
    ffi::ap_mutex_register(
        pconf,
        MUTEX_TYPE,
        null(),
        ffi::apr_lockmech_e::APR_LOCK_DEFAULT,
        0,
    );
}

/// post_config: looks up the provider named by `spec` (`NAME[:ARGS]`),
/// creates and initialises the cache and the mutex. An error names the
/// directive, and stops httpd.
pub unsafe fn create(
    spec: &str,
    s: *mut ffi::server_rec,
    pconf: *mut ffi::apr_pool_t,
    ptemp: *mut ffi::apr_pool_t,
) -> Result<(), String> {
    let (name, args) = match spec.split_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => (spec, None),
    };
    let provider = ffi::ap_lookup_provider(cstr!("socache"), pstr(ptemp, name), cstr!("0"))
        as *mut ffi::ap_socache_provider_t;
    let Some(p) = provider.as_ref() else {
        return Err(format!(
            "SSOBindingCache: the socache provider '{name}' is not loaded (LoadModule socache_{name}_module, or a2enmod socache_{name})"
        ));
    };
    let mut instance: *mut ffi::ap_socache_instance_t = null_mut();
    let args_c = args.map_or(null(), |a| pstr(ptemp, a) as *const c_char);
    if let Some(create) = p.create {
        let err = create(&mut instance, args_c, ptemp, pconf);
        if !err.is_null() {
            return Err(format!(
                "SSOBindingCache {spec}: {}",
                str_of(err).unwrap_or("the cache cannot be created")
            ));
        }
    }
    let mut mutex: *mut ffi::apr_global_mutex_t = null_mut();
    let rv = ffi::ap_global_mutex_create(&mut mutex, null_mut(), MUTEX_TYPE, null(), s, pconf, 0);
    if rv != ffi::APR_SUCCESS as i32 {
        return Err(format!(
            "SSOBindingCache: the global mutex cannot be created (APR error {rv})"
        ));
    }
    let hints = ffi::ap_socache_hints {
        avg_id_len: 16,
        avg_obj_size: 32,
        expiry_interval: 60 * 1_000_000,
    };
    if let Some(init) = p.init {
        let rv = init(instance, CACHE_NAME, &hints, s, pconf);
        if rv != ffi::APR_SUCCESS as i32 {
            return Err(format!(
                "SSOBindingCache {spec}: the cache cannot be initialised (APR error {rv})"
            ));
        }
    }
    ffi::apr_pool_cleanup_register(
        pconf,
        null(),
        Some(destroy),
        Some(ffi::apr_pool_cleanup_null),
    );
    PROVIDER.store(provider, Ordering::SeqCst);
    INSTANCE.store(instance, Ordering::SeqCst);
    MUTEX.store(mutex, Ordering::SeqCst);
    SERVER.store(s, Ordering::SeqCst);
    Ok(())
}

/// Configuration pool cleanup (stop, graceful restart): the cache goes.
unsafe extern "C" fn destroy(_data: *mut std::ffi::c_void) -> ffi::apr_status_t {
    crate::apr::guard((), || {
        let provider = PROVIDER.swap(null_mut(), Ordering::SeqCst);
        let instance = INSTANCE.swap(null_mut(), Ordering::SeqCst);
        MUTEX.store(null_mut(), Ordering::SeqCst);
        if let (Some(p), false) = (provider.as_ref(), instance.is_null()) {
            if let Some(destroy) = p.destroy {
                destroy(instance, SERVER.load(Ordering::SeqCst));
            }
        }
    });
    0
}

/// child_init: re-attaches the mutex in a new child.
pub unsafe fn child_init(p: *mut ffi::apr_pool_t) {
    let mut mutex = MUTEX.load(Ordering::SeqCst);
    if mutex.is_null() {
        return;
    }
    let rv = ffi::apr_global_mutex_child_init(&mut mutex, ffi::apr_global_mutex_lockfile(mutex), p);
    if rv == ffi::APR_SUCCESS as i32 {
        MUTEX.store(mutex, Ordering::SeqCst);
    } else {
        // Without its mutex the store must not be used: fail closed.
        MUTEX.store(null_mut(), Ordering::SeqCst);
    }
}

/// The store for one request (its pool holds the temporary buffers).
pub struct SocacheBindings {
    pub pool: *mut ffi::apr_pool_t,
}

struct Locked<'a> {
    provider: &'a ffi::ap_socache_provider_t,
    instance: *mut ffi::ap_socache_instance_t,
    mutex: *mut ffi::apr_global_mutex_t,
    server: *mut ffi::server_rec,
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        // SAFETY: locked in `lock`, by this thread.
        unsafe {
            ffi::apr_global_mutex_unlock(self.mutex);
        }
    }
}

/// The cache with the global mutex held, or `None` when there is none.
unsafe fn lock<'a>() -> Option<Locked<'a>> {
    let provider = PROVIDER.load(Ordering::SeqCst).as_ref()?;
    let instance = INSTANCE.load(Ordering::SeqCst);
    let mutex = MUTEX.load(Ordering::SeqCst);
    if instance.is_null() || mutex.is_null() {
        return None;
    }
    if ffi::apr_global_mutex_lock(mutex) != ffi::APR_SUCCESS as i32 {
        return None;
    }
    Some(Locked {
        provider,
        instance,
        mutex,
        server: SERVER.load(Ordering::SeqCst),
    })
}

const MAX_VALUE: usize = 64;

impl Locked<'_> {
    unsafe fn retrieve(
        &self,
        key: &str,
        pool: *mut ffi::apr_pool_t,
    ) -> Result<Option<String>, BindingError> {
        let retrieve = self.provider.retrieve.ok_or(BindingError::Unavailable)?;
        let mut buf = [0u8; MAX_VALUE];
        let mut len = MAX_VALUE as c_uint;
        let rv = retrieve(
            self.instance,
            self.server,
            key.as_ptr(),
            key.len() as c_uint,
            buf.as_mut_ptr(),
            &mut len,
            pool,
        );
        if rv == ffi::APR_NOTFOUND as i32 {
            return Ok(None);
        }
        if rv != ffi::APR_SUCCESS as i32 {
            return Err(BindingError::Unavailable);
        }
        let value = buf.get(..len as usize).ok_or(BindingError::Unavailable)?;
        String::from_utf8(value.to_vec())
            .map(Some)
            .map_err(|_| BindingError::Unavailable)
    }

    unsafe fn store(
        &self,
        key: &str,
        value: &str,
        expires: u64,
        pool: *mut ffi::apr_pool_t,
    ) -> Result<(), BindingError> {
        let store = self.provider.store.ok_or(BindingError::Unavailable)?;
        let mut data = value.as_bytes().to_vec();
        let expiry = i64::try_from(expires)
            .ok()
            .and_then(|s| s.checked_mul(1_000_000))
            .unwrap_or(i64::MAX);
        let rv = store(
            self.instance,
            self.server,
            key.as_ptr(),
            key.len() as c_uint,
            expiry,
            data.as_mut_ptr(),
            data.len() as c_uint,
            pool,
        );
        if rv == ffi::APR_SUCCESS as i32 {
            Ok(())
        } else {
            Err(BindingError::Unavailable)
        }
    }
}

/// Cache keys are namespaced, so a shared memcache/redis can serve others.
fn key(fingerprint: &str) -> String {
    format!("sso-binding:{fingerprint}")
}

impl BindingStore for SocacheBindings {
    fn bind(
        &self,
        fingerprint: &str,
        digest: &str,
        expires: u64,
        _now: u64,
    ) -> Result<(), BindingError> {
        // SAFETY: the cache objects live as long as the configuration pool,
        // which outlives every request; the request pool is live.
        unsafe {
            let cache = lock().ok_or(BindingError::Unavailable)?;
            let key = key(fingerprint);
            if cache.retrieve(&key, self.pool)?.is_some() {
                return Err(BindingError::AlreadyBound);
            }
            cache.store(&key, digest, expires, self.pool)
        }
    }

    fn lookup(&self, fingerprint: &str, _now: u64) -> Result<Option<String>, BindingError> {
        // SAFETY: as in `bind`.
        unsafe {
            let cache = lock().ok_or(BindingError::Unavailable)?;
            cache.retrieve(&key(fingerprint), self.pool)
        }
    }

    fn revoke(&self, fingerprint: &str, expires: u64, _now: u64) {
        // SAFETY: as in `bind`.
        unsafe {
            if let Some(cache) = lock() {
                let _ = cache.store(
                    &key(fingerprint),
                    sso_core::flow::binding::REVOKED,
                    expires,
                    self.pool,
                );
            }
        }
    }
}
