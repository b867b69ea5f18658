//! [`SharedCache`]: httpd's shared object cache (mod_socache: shmcb,
//! memcache, redis) behind one global mutex, as mod_ssl uses it. Created in
//! post_config in the configuration pool (a graceful restart makes a fresh
//! one), re-attached in child_init.

use std::ffi::{c_uint, c_void, CStr};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicPtr, Ordering};

use super::{ffi, guard, text, Pool, Server};

static PROVIDER: AtomicPtr<ffi::ap_socache_provider_t> = AtomicPtr::new(null_mut());
static INSTANCE: AtomicPtr<ffi::ap_socache_instance_t> = AtomicPtr::new(null_mut());
static MUTEX: AtomicPtr<ffi::apr_global_mutex_t> = AtomicPtr::new(null_mut());
static SERVER: AtomicPtr<ffi::server_rec> = AtomicPtr::new(null_mut());

/// The process's one shared cache.
pub struct SharedCache;

/// The cache with its mutex held.
pub struct Locked<'a> {
    provider: &'a ffi::ap_socache_provider_t,
    instance: *mut ffi::ap_socache_instance_t,
    pool: Pool<'a>,
}

impl SharedCache {
    /// pre_config: the mutex type, so `Mutex TYPE ...` can configure it.
    pub fn register_mutex(pconf: Pool<'_>, mutex_type: &'static CStr) {
        // SAFETY: a live pool; httpd keeps the static name.
        unsafe {
            ffi::ap_mutex_register(
                pconf.as_ptr(),
                mutex_type.as_ptr(),
                null(),
                ffi::apr_lockmech_e::APR_LOCK_DEFAULT,
                0,
            );
        }
    }

    /// post_config: looks up the provider `name`, creates the cache with
    /// `args` and the mutex of `mutex_type`. An error says which part failed.
    pub fn create(
        name: &str,
        args: Option<&str>,
        mutex_type: &'static CStr,
        cache_name: &'static CStr,
        main: Server<'_>,
        pconf: Pool<'_>,
        ptemp: Pool<'_>,
    ) -> Result<(), String> {
        let s = main.as_ptr();
        let hints = ffi::ap_socache_hints {
            avg_id_len: 16,
            avg_obj_size: 32,
            expiry_interval: 60 * 1_000_000,
        };
        let (mut instance, mut mutex) = (null_mut(), null_mut());
        // SAFETY: live pools and server record (post_config arguments); the
        // provider is a registered socache provider, called as mod_socache
        // documents: create, then init; every string is in `ptemp`.
        unsafe {
            let provider =
                ffi::ap_lookup_provider(c"socache".as_ptr(), ptemp.c_str(name), c"0".as_ptr());
            let Some(p) = provider.cast::<ffi::ap_socache_provider_t>().as_ref() else {
                return Err(format!("the socache provider '{name}' is not loaded (LoadModule socache_{name}_module, or a2enmod socache_{name})"));
            };
            let args = args.map_or(null(), |a| ptemp.c_str(a).cast_const());
            if let Some(create) = p.create {
                let err = create(&mut instance, args, ptemp.as_ptr(), pconf.as_ptr());
                if !err.is_null() {
                    return Err(text(err)
                        .unwrap_or("the cache cannot be created")
                        .to_owned());
                }
            }
            let rv = ffi::ap_global_mutex_create(
                &mut mutex,
                null_mut(),
                mutex_type.as_ptr(),
                null(),
                s,
                pconf.as_ptr(),
                0,
            );
            if rv != ffi::APR_SUCCESS as i32 {
                return Err(format!(
                    "the global mutex cannot be created (APR error {rv})"
                ));
            }
            if let Some(init) = p.init {
                let rv = init(instance, cache_name.as_ptr(), &hints, s, pconf.as_ptr());
                if rv != ffi::APR_SUCCESS as i32 {
                    return Err(format!("the cache cannot be initialised (APR error {rv})"));
                }
            }
            PROVIDER.store(provider.cast(), Ordering::SeqCst);
        }
        pconf.on_cleanup(null_mut(), destroy);
        INSTANCE.store(instance, Ordering::SeqCst);
        MUTEX.store(mutex, Ordering::SeqCst);
        SERVER.store(s, Ordering::SeqCst);
        Ok(())
    }

    /// child_init: re-attaches the mutex in a new child; without it the
    /// cache must not be used (fail closed).
    pub fn child_init(pchild: Pool<'_>) {
        let mut mutex = MUTEX.load(Ordering::SeqCst);
        if mutex.is_null() {
            return;
        }
        // SAFETY: the mutex made at post_config, in the live parent's pool.
        let rv = unsafe {
            ffi::apr_global_mutex_child_init(
                &mut mutex,
                ffi::apr_global_mutex_lockfile(mutex),
                pchild.as_ptr(),
            )
        };
        MUTEX.store(
            if rv == ffi::APR_SUCCESS as i32 {
                mutex
            } else {
                null_mut()
            },
            Ordering::SeqCst,
        );
    }

    /// Runs `f` with the mutex held; `None` when there is no cache (or the
    /// lock fails). `pool` holds temporary buffers (a request's).
    pub fn with_lock<R>(pool: Pool<'_>, f: impl FnOnce(&Locked<'_>) -> R) -> Option<R> {
        let instance = INSTANCE.load(Ordering::SeqCst);
        let mutex = MUTEX.load(Ordering::SeqCst);
        if instance.is_null() || mutex.is_null() {
            return None;
        }
        // SAFETY: the provider, instance and mutex live in the configuration
        // pool, which outlives every request; the mutex is unlocked on
        // every path, also when `f` panics (caught by `guard`).
        unsafe {
            let provider = PROVIDER.load(Ordering::SeqCst).as_ref()?;
            if ffi::apr_global_mutex_lock(mutex) != ffi::APR_SUCCESS as i32 {
                return None;
            }
            let out = guard(None, || {
                Some(f(&Locked {
                    provider,
                    instance,
                    pool,
                }))
            });
            ffi::apr_global_mutex_unlock(mutex);
            out
        }
    }
}

/// Configuration pool cleanup (stop, graceful restart): the cache goes.
extern "C" fn destroy(_data: *mut c_void) -> ffi::apr_status_t {
    guard((), || {
        let provider = PROVIDER.swap(null_mut(), Ordering::SeqCst);
        let instance = INSTANCE.swap(null_mut(), Ordering::SeqCst);
        MUTEX.store(null_mut(), Ordering::SeqCst);
        // SAFETY: the provider and its instance made at post_config, whose
        // pool is being cleared: nothing uses them any more.
        unsafe {
            if let (Some(destroy), false) = (
                provider.as_ref().and_then(|p| p.destroy),
                instance.is_null(),
            ) {
                destroy(instance, SERVER.load(Ordering::SeqCst));
            }
        }
    });
    ffi::APR_SUCCESS as ffi::apr_status_t
}

/// The largest value [`Locked::retrieve`] reads.
const MAX_VALUE: usize = 64;

impl Locked<'_> {
    /// The value of `key`; `Err` when the cache fails.
    pub fn retrieve(&self, key: &str) -> Result<Option<Vec<u8>>, ()> {
        let retrieve = self.provider.retrieve.ok_or(())?;
        let mut buf = [0u8; MAX_VALUE];
        let mut len = MAX_VALUE as c_uint;
        let key_len = c_uint::try_from(key.len()).map_err(|_| ())?;
        // SAFETY: the locked cache; APR writes at most `len` bytes.
        let rv = unsafe {
            retrieve(
                self.instance,
                SERVER.load(Ordering::SeqCst),
                key.as_ptr(),
                key_len,
                buf.as_mut_ptr(),
                &mut len,
                self.pool.as_ptr(),
            )
        };
        match rv {
            _ if rv == ffi::APR_NOTFOUND as i32 => Ok(None),
            _ if rv == ffi::APR_SUCCESS as i32 => {
                buf.get(..len as usize).map(|v| Some(v.to_vec())).ok_or(())
            }
            _ => Err(()),
        }
    }

    /// Stores `value` under `key` until `expires` (seconds since the epoch).
    pub fn store(&self, key: &str, value: &str, expires: u64) -> Result<(), ()> {
        let store = self.provider.store.ok_or(())?;
        let mut data = value.as_bytes().to_vec();
        let expiry = i64::try_from(expires)
            .ok()
            .and_then(|s| s.checked_mul(1_000_000))
            .unwrap_or(i64::MAX);
        let (key_len, len) = (c_uint::try_from(key.len()), c_uint::try_from(data.len()));
        let (Ok(key_len), Ok(len)) = (key_len, len) else {
            return Err(());
        };
        // SAFETY: the locked cache; APR copies the key and the data.
        let rv = unsafe {
            store(
                self.instance,
                SERVER.load(Ordering::SeqCst),
                key.as_ptr(),
                key_len,
                expiry,
                data.as_mut_ptr(),
                len,
                self.pool.as_ptr(),
            )
        };
        (rv == ffi::APR_SUCCESS as i32).then_some(()).ok_or(())
    }
}
