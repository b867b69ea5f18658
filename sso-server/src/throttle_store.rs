//! Where the failure counts of [`crate::throttle`] live: behind one small
//! trait, so the in-memory tables stay the default and a shared store
//! (Redis, see [`crate::throttle_redis`]) counts for every replica at once.
//! A shared store also keeps the TOTP time steps already used, so a code
//! accepted by one replica is refused by all.
//!
//! Both stores keep the same rules: an attempt is checked and counted in
//! one atomic step before its password is checked, a success clears the
//! (user, address) pair and gives the other keys their attempt back, an
//! attempt that ended in a backend error is given back whole. The
//! per-user count of wrong second-factor codes follows the same rules,
//! except that only a right code clears it. A store that
//! cannot answer refuses the attempt ([`Refusal::Unavailable`]): logins
//! fail closed, they are never let through uncounted.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use crate::throttle::{Throttle, Throttled};

/// A boxed future, so the trait can be used as `dyn ThrottleStore`.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why an attempt may not go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A limit was reached.
    Throttled(Throttled),
    /// The store did not answer.
    Unavailable(StoreError),
}

/// Why the store did not answer; the text is safe to log (no URL, no key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Redis's own error text (it names neither the URL nor its password).
    #[error("redis: {0}")]
    Redis(String),
    #[error("redis: no answer in time")]
    Timeout,
}

/// The counts of failed logins, wherever they are kept.
pub trait ThrottleStore: Send + Sync {
    /// Checks the attempt of `user` from `addr` against every limit and
    /// counts it as a failure, in one atomic step.
    fn begin<'a>(
        &'a self,
        user: &'a str,
        addr: IpAddr,
        now: u64,
    ) -> StoreFuture<'a, Result<(), Refusal>>;

    /// The attempt begun succeeded (see [`Throttle::succeeded`]).
    fn succeeded<'a>(
        &'a self,
        user: &'a str,
        addr: IpAddr,
    ) -> StoreFuture<'a, Result<(), StoreError>>;

    /// The attempt begun ended in neither yes nor no (see
    /// [`Throttle::release`]).
    fn release<'a>(
        &'a self,
        user: &'a str,
        addr: IpAddr,
    ) -> StoreFuture<'a, Result<(), StoreError>>;

    /// Checks `user`'s wrong second-factor codes against their limit and
    /// counts this attempt as one, in one atomic step (see
    /// [`Throttle::second_factor_begin`]).
    fn second_factor_begin<'a>(
        &'a self,
        user: &'a str,
        now: u64,
    ) -> StoreFuture<'a, Result<(), Refusal>>;

    /// A right code: `user`'s second-factor failures are forgotten.
    fn second_factor_succeeded<'a>(
        &'a self,
        user: &'a str,
    ) -> StoreFuture<'a, Result<(), StoreError>>;

    /// The second-factor attempt ended in neither yes nor no: given back.
    fn second_factor_release<'a>(
        &'a self,
        user: &'a str,
    ) -> StoreFuture<'a, Result<(), StoreError>>;

    /// Records that `user` proved the TOTP code of time step `step`: false
    /// when that step or a later one was used already (RFC 6238 section
    /// 5.2), on any replica sharing the store. [`crate::totp::TotpFile`]
    /// keeps each process's own record; this adds the other replicas'.
    fn claim_totp_step<'a>(
        &'a self,
        user: &'a str,
        step: u64,
    ) -> StoreFuture<'a, Result<bool, StoreError>>;

    /// `memory` or `redis`, for logs.
    fn name(&self) -> &'static str;
}

impl ThrottleStore for Throttle {
    fn begin<'a>(
        &'a self,
        user: &'a str,
        addr: IpAddr,
        now: u64,
    ) -> StoreFuture<'a, Result<(), Refusal>> {
        let r = Throttle::begin(self, user, addr, now).map_err(Refusal::Throttled);
        Box::pin(std::future::ready(r))
    }

    fn succeeded<'a>(
        &'a self,
        user: &'a str,
        addr: IpAddr,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        Throttle::succeeded(self, user, addr);
        Box::pin(std::future::ready(Ok(())))
    }

    fn release<'a>(
        &'a self,
        user: &'a str,
        addr: IpAddr,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        Throttle::release(self, user, addr);
        Box::pin(std::future::ready(Ok(())))
    }

    fn second_factor_begin<'a>(
        &'a self,
        user: &'a str,
        now: u64,
    ) -> StoreFuture<'a, Result<(), Refusal>> {
        let r = Throttle::second_factor_begin(self, user, now).map_err(Refusal::Throttled);
        Box::pin(std::future::ready(r))
    }

    fn second_factor_succeeded<'a>(
        &'a self,
        user: &'a str,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        Throttle::second_factor_succeeded(self, user);
        Box::pin(std::future::ready(Ok(())))
    }

    fn second_factor_release<'a>(
        &'a self,
        user: &'a str,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        Throttle::second_factor_release(self, user);
        Box::pin(std::future::ready(Ok(())))
    }

    /// The memory store shares nothing: the process's own record (in
    /// [`crate::totp::TotpFile`]) is the whole answer.
    fn claim_totp_step<'a>(
        &'a self,
        _user: &'a str,
        _step: u64,
    ) -> StoreFuture<'a, Result<bool, StoreError>> {
        Box::pin(std::future::ready(Ok(true)))
    }

    fn name(&self) -> &'static str {
        "memory"
    }
}
