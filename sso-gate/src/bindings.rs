//! Where ticket bindings live (`binding_store`): in memory (one process,
//! `sso_core::flow::MemoryBindingStore`), or in Redis, shared by every
//! replica that names the same server. Each fingerprint is one key
//! (`sso-binding:v1:FP`) expiring with its ticket: `SET NX` records a
//! login atomically (two replicas cannot both bind one ticket), `GET`
//! reads it, a plain `SET` revokes. A Redis that does not answer within
//! [`TIMEOUT`] is `Unavailable`, and the flow fails closed: a login is
//! refused with 503, a cookie sends its browser to a silent re-login.

use std::sync::Mutex;
use std::time::Duration;

use sso_core::flow::binding::REVOKED;
use sso_core::flow::{BindingError, BindingStore, MemoryBindingStore};

/// The longest a request waits for Redis.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// Every key the gate writes starts with this.
const PREFIX: &str = "sso-binding:v1:";

/// Most bindings kept in memory: one per login until its ticket expires;
/// an evicted one costs its browser a silent re-login.
pub const MEMORY_CAPACITY: usize = 200_000;

/// The store of a running gate (fixed at start: a reload keeps it).
pub enum Bindings {
    Memory(MemoryBindingStore),
    Redis(RedisBindings),
}

impl Bindings {
    pub fn store(&self) -> &(dyn BindingStore + Send + Sync) {
        match self {
            Bindings::Memory(m) => m,
            Bindings::Redis(r) => r,
        }
    }

    /// Whether asking the store blocks on the network.
    pub fn blocks(&self) -> bool {
        matches!(self, Bindings::Redis(_))
    }
}

/// Bindings in Redis, over one connection made again after any error.
pub struct RedisBindings {
    client: redis::Client,
    connection: Mutex<Option<redis::Connection>>,
}

impl RedisBindings {
    /// Checks the URL only: a Redis that is down at start is the same
    /// as one that goes down later (every binding fails closed).
    pub fn new(url: &str) -> Result<RedisBindings, redis::RedisError> {
        let client = redis::Client::open(url)?;
        Ok(RedisBindings {
            client,
            connection: Mutex::new(None),
        })
    }

    fn run<T>(
        &self,
        f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, BindingError> {
        let mut slot = self.connection.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            let c = self
                .client
                .get_connection_with_timeout(TIMEOUT)
                .map_err(|_| BindingError::Unavailable)?;
            let _ = c.set_read_timeout(Some(TIMEOUT));
            let _ = c.set_write_timeout(Some(TIMEOUT));
            *slot = Some(c);
        }
        let Some(c) = slot.as_mut() else {
            return Err(BindingError::Unavailable);
        };
        f(c).map_err(|_| {
            // The connection may be half-read: never reuse it.
            *slot = None;
            BindingError::Unavailable
        })
    }
}

/// Milliseconds until `expires` (at least one second: a key that expires
/// at once would record nothing).
fn ttl_ms(expires: u64, now: u64) -> u64 {
    expires.saturating_sub(now).max(1).saturating_mul(1000)
}

impl BindingStore for RedisBindings {
    fn bind(
        &self,
        fingerprint: &str,
        value: &str,
        expires: u64,
        now: u64,
    ) -> Result<(), BindingError> {
        let key = format!("{PREFIX}{fingerprint}");
        let set: Option<String> = self.run(|c| {
            redis::cmd("SET")
                .arg(&key)
                .arg(value)
                .arg("NX")
                .arg("PX")
                .arg(ttl_ms(expires, now))
                .query(c)
        })?;
        match set {
            Some(_) => Ok(()),
            None => Err(BindingError::AlreadyBound),
        }
    }

    fn lookup(&self, fingerprint: &str, _now: u64) -> Result<Option<String>, BindingError> {
        let key = format!("{PREFIX}{fingerprint}");
        self.run(|c| redis::cmd("GET").arg(&key).query(c))
    }

    fn revoke(&self, fingerprint: &str, expires: u64, now: u64) {
        let key = format!("{PREFIX}{fingerprint}");
        let _: Result<(), _> = self.run(|c| {
            redis::cmd("SET")
                .arg(&key)
                .arg(REVOKED)
                .arg("PX")
                .arg(ttl_ms(expires, now))
                .query(c)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_live_as_long_as_their_ticket() {
        assert_eq!(ttl_ms(1_000, 400), 600_000);
        assert_eq!(ttl_ms(1_000, 1_000), 1_000);
        assert_eq!(ttl_ms(1_000, 5_000), 1_000);
    }

    #[test]
    fn an_unreachable_redis_fails_closed() {
        // Port 1 on loopback: nothing listens, the connection is refused.
        let r = RedisBindings::new("redis://127.0.0.1:1/").unwrap();
        assert_eq!(r.bind("fp", "+", 10, 1), Err(BindingError::Unavailable));
        assert_eq!(r.lookup("fp", 1), Err(BindingError::Unavailable));
        assert!(RedisBindings::new("http://x").is_err());
    }
}
