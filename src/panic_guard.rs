//! The panic boundary of every exported function: no panic unwinds into C.

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `f` behind a panic boundary; a panic yields `on_panic`.
pub(crate) fn guard<T>(on_panic: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(on_panic)
}
