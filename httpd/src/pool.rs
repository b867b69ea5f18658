//! [`Pool`]: an APR pool, and what lives in one.

use std::ffi::{c_char, c_void};
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicPtr, Ordering};

use super::{ffi, guard, record_ref, Request, Tagged};

/// An APR pool that lives for `'p`.
#[derive(Clone, Copy)]
pub struct Pool<'p> {
    p: NonNull<ffi::apr_pool_t>,
    _life: PhantomData<&'p ffi::apr_pool_t>,
}

impl<'p> Pool<'p> {
    pub(super) fn of(p: *mut ffi::apr_pool_t) -> Option<Pool<'p>> {
        NonNull::new(p).map(|p| Pool {
            p,
            _life: PhantomData,
        })
    }

    pub(super) fn as_ptr(self) -> *mut ffi::apr_pool_t {
        self.p.as_ptr()
    }

    /// `s` as a C string in the pool. A NUL inside `s` cuts the C view of
    /// it, so callers pass values that were checked to hold none.
    pub(super) fn c_str(self, s: &str) -> *mut c_char {
        // SAFETY: a live pool (crate invariant); APR copies `len` bytes
        // and adds the NUL.
        unsafe { ffi::apr_pstrmemdup(self.as_ptr(), s.as_ptr().cast(), s.len()) }
    }

    /// `parts` joined by `separator`, as one C string in the pool: what
    /// `parts.join(separator)` makes, without a copy on the heap first.
    /// (NULs as in [`Pool::c_str`].)
    pub(super) fn c_str_joined<S: AsRef<str>>(self, parts: &[S], separator: &str) -> *mut c_char {
        let len = parts.iter().map(|p| p.as_ref().len()).sum::<usize>()
            + separator.len() * parts.len().saturating_sub(1);
        // SAFETY: a live pool; APR hands out `len + 1` bytes, or NULL
        // where memory ran out and the pool has no abort function.
        let buf = unsafe { ffi::apr_palloc(self.as_ptr(), len + 1) }.cast::<u8>();
        if buf.is_null() {
            return std::ptr::null_mut();
        }
        // SAFETY: the `len + 1` bytes just allocated, of this thread only.
        let out = unsafe { std::slice::from_raw_parts_mut(buf, len + 1) };
        let mut at = 0;
        for (i, part) in parts.iter().enumerate() {
            for piece in [if i == 0 { "" } else { separator }, part.as_ref()] {
                out[at..at + piece.len()].copy_from_slice(piece.as_bytes());
                at += piece.len();
            }
        }
        out[len] = 0;
        buf.cast()
    }

    /// Moves `value` into the pool, tagged with its type: dropped when the
    /// pool is cleared.
    pub(super) fn tagged<T: Send + Sync + 'static>(self, value: T) -> *mut c_void {
        let tag = std::any::TypeId::of::<T>();
        let raw = Box::into_raw(Box::new(Tagged { tag, value })).cast::<c_void>();
        self.on_cleanup(raw, drop_tagged::<T>);
        raw
    }

    /// Runs `f(data)` when the pool is cleared (last registered, first run).
    pub(super) fn on_cleanup(
        self,
        data: *mut c_void,
        f: extern "C" fn(*mut c_void) -> ffi::apr_status_t,
    ) {
        // SAFETY: a live pool; `f` is a cleanup of this module for `data`.
        unsafe {
            ffi::apr_pool_cleanup_register(
                self.as_ptr(),
                data,
                Some(f),
                Some(ffi::apr_pool_cleanup_null),
            );
        }
    }
}

extern "C" fn drop_tagged<T>(data: *mut c_void) -> ffi::apr_status_t {
    // SAFETY: `data` is the box `Pool::tagged` made, dropped only here.
    guard((), || {
        drop(unsafe { Box::from_raw(data.cast::<Tagged<T>>()) })
    });
    ffi::APR_SUCCESS as ffi::apr_status_t
}

/// A value owned by a pool and reachable from every thread until the pool
/// is cleared: what a child process builds in its pool for its requests.
pub struct PoolSlot<T>(AtomicPtr<c_void>, PhantomData<T>);

/// A value of a [`PoolSlot`]: dropping it (with its pool) empties the slot
/// first.
struct Slotted<T: Send + Sync + 'static> {
    slot: &'static PoolSlot<T>,
    value: T,
}

impl<T: Send + Sync + 'static> Drop for Slotted<T> {
    fn drop(&mut self) {
        self.slot.0.store(std::ptr::null_mut(), Ordering::Release);
    }
}

impl<T: Send + Sync + 'static> Default for PoolSlot<T> {
    fn default() -> PoolSlot<T> {
        PoolSlot::new()
    }
}

impl<T: Send + Sync + 'static> PoolSlot<T> {
    /// An empty slot (`const`, for a `static`).
    pub const fn new() -> PoolSlot<T> {
        PoolSlot(AtomicPtr::new(std::ptr::null_mut()), PhantomData)
    }

    /// Moves `value` into `pool` and publishes it here until the pool is
    /// cleared.
    pub fn fill(&'static self, pool: Pool<'_>, value: T) {
        let record = pool.tagged(Slotted { slot: self, value });
        self.0.store(record, Ordering::Release);
    }

    /// The value, while a request is served: a child's pool outlives every
    /// request of the child.
    pub fn get<'r>(&self, _r: &Request<'r>) -> Option<&'r T> {
        record_ref::<Slotted<T>>(self.0.load(Ordering::Acquire)).map(|s| &s.value)
    }
}
