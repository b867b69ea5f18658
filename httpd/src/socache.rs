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

const SUCCESS: ffi::apr_status_t = ffi::APR_SUCCESS as ffi::apr_status_t;

/// The process's one shared cache.
pub struct SharedCache;

/// The cache with its mutex held.
pub struct Locked<'a> {
    provider: &'a ffi::ap_socache_provider_t,
    instance: *mut ffi::ap_socache_instance_t,
    pool: Pool<'a>,
}

/// A call of the provider (see [`Locked::call`]).
enum Op<'b> {
    /// Into the buffer, whose length goes in and the value's comes out.
    Retrieve(&'b mut [u8], &'b mut c_uint),
    /// The value, until the expiry (microseconds since the epoch).
    Store(&'b mut [u8], i64),
}

impl SharedCache {
    /// pre_config: the mutex type, so `Mutex TYPE ...` can configure it.
    pub fn register_mutex(pconf: Pool<'_>, mutex_type: &'static CStr) {
        let default = ffi::apr_lockmech_e::APR_LOCK_DEFAULT;
        // SAFETY: a live pool; httpd keeps the static name.
        unsafe { ffi::ap_mutex_register(pconf.as_ptr(), mutex_type.as_ptr(), null(), default, 0) };
    }

    /// post_config: creates the cache `cache_name` of the provider `name`
    /// with `args`, and the mutex of `mutex_type`. An error says which part
    /// failed.
    pub fn create(
        name: &str,
        args: Option<&str>,
        mutex_type: &'static CStr,
        cache_name: &'static CStr,
        main: Server<'_>,
        pconf: Pool<'_>,
        ptemp: Pool<'_>,
    ) -> Result<(), String> {
        let (mut provider, mut instance, mut mutex) = (null(), null_mut(), null_mut());
        let args = args.map_or(null(), |a| ptemp.c_str(a).cast_const());
        // SAFETY: live pools and server record (post_config arguments);
        // `httpd-sys/csrc/glue.c` answers NULL and fills the three, or an error text
        // in `ptemp`; every string is in `ptemp` or static.
        let err = unsafe {
            ffi::httpd_socache_create(
                ptemp.c_str(name),
                args,
                mutex_type.as_ptr(),
                cache_name.as_ptr(),
                main.as_ptr(),
                pconf.as_ptr(),
                ptemp.as_ptr(),
                &mut provider,
                &mut instance,
                &mut mutex,
            )
        };
        if !err.is_null() {
            return Err(text(err)
                .unwrap_or("the cache cannot be created")
                .to_owned());
        }
        // The glue destroys the instance with `pconf`; then nothing may use it.
        pconf.on_cleanup(null_mut(), forget);
        PROVIDER.store(provider.cast_mut(), Ordering::SeqCst);
        INSTANCE.store(instance, Ordering::SeqCst);
        MUTEX.store(mutex, Ordering::SeqCst);
        SERVER.store(main.as_ptr(), Ordering::SeqCst);
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
            let lockfile = ffi::apr_global_mutex_lockfile(mutex);
            ffi::apr_global_mutex_child_init(&mut mutex, lockfile, pchild.as_ptr())
        };
        MUTEX.store(
            if rv == SUCCESS { mutex } else { null_mut() },
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
            if ffi::apr_global_mutex_lock(mutex) != SUCCESS {
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

/// Configuration pool cleanup (stop, graceful restart): the cache is gone.
extern "C" fn forget(_data: *mut c_void) -> ffi::apr_status_t {
    PROVIDER.store(null_mut(), Ordering::SeqCst);
    INSTANCE.store(null_mut(), Ordering::SeqCst);
    MUTEX.store(null_mut(), Ordering::SeqCst);
    SUCCESS
}

/// The largest value [`Locked::retrieve`] reads.
const MAX_VALUE: usize = 64;

impl Locked<'_> {
    /// The value of `key`; `Err` when the cache fails (or holds other
    /// than UTF-8 there).
    pub fn retrieve(&self, key: &str) -> Result<Option<String>, ()> {
        let mut buf = [0u8; MAX_VALUE];
        let mut len = MAX_VALUE as c_uint;
        match self.call(key, Op::Retrieve(&mut buf, &mut len))? {
            rv if rv == ffi::APR_NOTFOUND as ffi::apr_status_t => Ok(None),
            SUCCESS => {
                let value = buf.get(..len as usize).ok_or(())?;
                String::from_utf8(value.to_vec()).map(Some).map_err(|_| ())
            }
            _ => Err(()),
        }
    }

    /// Stores `value` under `key` until `expires` (seconds since the epoch).
    pub fn store(&self, key: &str, value: &str, expires: u64) -> Result<(), ()> {
        let expiry = i64::try_from(expires)
            .ok()
            .and_then(|s| s.checked_mul(1_000_000))
            .unwrap_or(i64::MAX);
        let rv = self.call(key, Op::Store(&mut value.as_bytes().to_vec(), expiry))?;
        (rv == SUCCESS).then_some(()).ok_or(())
    }

    /// Calls the provider's `retrieve` or `store` for `key`.
    fn call(&self, key: &str, op: Op<'_>) -> Result<ffi::apr_status_t, ()> {
        let key_len = c_uint::try_from(key.len()).map_err(|_| ())?;
        let (i, s, k, p) = (
            self.instance,
            SERVER.load(Ordering::SeqCst),
            key.as_ptr(),
            self.pool.as_ptr(),
        );
        // SAFETY: the locked cache (crate invariant for the pointers); the
        // provider reads `key_len` bytes of the key, copies a stored value
        // and writes at most `len` bytes of a retrieved one.
        Ok(unsafe {
            match op {
                Op::Retrieve(buf, len) => {
                    let retrieve = self.provider.retrieve.ok_or(())?;
                    retrieve(i, s, k, key_len, buf.as_mut_ptr(), len, p)
                }
                Op::Store(data, expiry) => {
                    let store = self.provider.store.ok_or(())?;
                    let len = c_uint::try_from(data.len()).map_err(|_| ())?;
                    store(i, s, k, key_len, expiry, data.as_mut_ptr(), len, p)
                }
            }
        })
    }
}
