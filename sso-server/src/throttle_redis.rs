//! The failure counts of [`crate::throttle`] in Redis, one set of counters
//! for every replica that names the same server (`[throttle] store =
//! "redis://..."`).
//!
//! Each key of an attempt (see [`crate::throttle::Keys`]) is one Redis
//! counter whose expiry is its window: the first failure creates it with
//! `EXPIRE window`, later ones `INCR` it (which keeps the expiry), so a
//! window starts at its first failure as in memory. Expiry replaces the
//! eviction of the memory tables; Redis should run with
//! `maxmemory-policy noeviction`, so that a full Redis refuses writes (and
//! the server refuses logins) rather than dropping a counter at its limit.
//!
//! Checking and counting is one Lua script, which Redis runs atomically:
//! concurrent attempts on any replica cannot all pass the check together.
//! A store that does not answer within [`TIMEOUT`] refuses the attempt.
//!
//! Each user's wrong second-factor codes are one more counter
//! (`sso-throttle:v1:2fa:USER`), checked and counted by the same script and
//! deleted by a right code only.

use std::net::IpAddr;
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{Client, Script};
use tokio::sync::OnceCell;

use crate::config::ThrottleConfig;
use crate::throttle::{Keys, Throttled};
use crate::throttle_store::{Refusal, StoreError, StoreFuture, ThrottleStore};

/// The longest a login waits for Redis before it is refused.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// Every key this server writes starts with this.
const PREFIX: &str = "sso-throttle:v1:";

/// KEYS: the counters in the order they are checked; ARGV: per key, its
/// limit then its window. Returns 0 (counted) or the 1-based index of the
/// first key at its limit (nothing counted).
const BEGIN: &str = r"
for i, k in ipairs(KEYS) do
  local n = tonumber(redis.call('GET', k) or '0')
  if n >= tonumber(ARGV[2 * i - 1]) then return i end
end
for i, k in ipairs(KEYS) do
  if redis.call('INCR', k) == 1 then redis.call('EXPIRE', k, ARGV[2 * i]) end
end
return 0
";

/// ARGV[1] = '1': the first key (the pair) is deleted. Every other key
/// gets one attempt back, never below zero.
const GIVE_BACK: &str = r"
local first = 1
if ARGV[1] == '1' then redis.call('DEL', KEYS[1]); first = 2 end
for i = first, #KEYS do
  local n = tonumber(redis.call('GET', KEYS[i]) or '0')
  if n > 0 then redis.call('DECR', KEYS[i]) end
end
return 0
";

/// KEYS[1]: the user's last used TOTP step; ARGV: the step, the key's
/// lifetime. Returns 1 (claimed) or 0 (that step or a later one was used).
const CLAIM_STEP: &str = r"
local last = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) <= last then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
";

/// Seconds a used step is remembered: long after its code stops matching
/// (one step of skew each way), with room for replicas' clocks to differ.
const USED_STEP_SECONDS: u64 = 10 * crate::totp::STEP;

/// The Redis store; connects at its first use and reconnects by itself.
pub struct RedisThrottle {
    redis: LazyRedis,
    config: ThrottleConfig,
    begin: Script,
    give_back: Script,
    claim_step: Script,
}

/// One counter of an attempt: its key, limit, window and what refuses.
struct Counter {
    key: String,
    limit: u32,
    window: u64,
    refusal: Throttled,
}

impl RedisThrottle {
    /// `url` was checked by the configuration; nothing is connected yet.
    pub fn new(url: &str, config: &ThrottleConfig) -> Result<RedisThrottle, InvalidUrl> {
        let client = Client::open(url).map_err(|e| InvalidUrl(e.kind()))?;
        Ok(RedisThrottle {
            redis: LazyRedis::new(client),
            config: config.clone(),
            begin: Script::new(BEGIN),
            give_back: Script::new(GIVE_BACK),
            claim_step: Script::new(CLAIM_STEP),
        })
    }

    /// The counters of an attempt, in the order of the memory store's
    /// checks: address, /48, pair, user.
    fn counters(&self, user: &str, addr: IpAddr) -> Vec<Counter> {
        let k = Keys::new(user, addr);
        let c = &self.config;
        let mut v = vec![Counter {
            key: format!("{PREFIX}addr:{}", k.address),
            limit: c.max_per_address,
            window: c.window,
            refusal: Throttled::Address,
        }];
        if let Some(n) = k.network {
            v.push(Counter {
                key: format!("{PREFIX}net48:{n}"),
                limit: c.max_per_ipv6_48,
                window: c.window,
                refusal: Throttled::Network,
            });
        }
        if let Some(u) = &k.user {
            // `|` never occurs in a valid name: the pair key is unambiguous.
            v.push(Counter {
                key: format!("{PREFIX}pair:{u}|{}", k.address),
                limit: c.max_per_user_address,
                window: c.window,
                refusal: Throttled::UserAddress,
            });
            v.push(Counter {
                key: format!("{PREFIX}user:{u}"),
                limit: c.max_per_user,
                window: c.user_window,
                refusal: Throttled::User,
            });
        }
        v
    }

    async fn give_back_all(
        &self,
        user: &str,
        addr: IpAddr,
        clear_pair: bool,
    ) -> Result<(), StoreError> {
        let mut counters = self.counters(user, addr);
        // The pair first, so the script can delete it.
        let pair = counters
            .iter()
            .position(|c| c.refusal == Throttled::UserAddress);
        let flag = match pair {
            Some(i) if clear_pair => {
                let p = counters.remove(i);
                counters.insert(0, p);
                "1"
            }
            _ => "0",
        };
        self.redis
            .run::<i64, _>(&self.give_back, &keys_of(&counters), &[flag.to_owned()])
            .await
            .map(|_| ())
    }

    /// Gives the user's second-factor attempt back: `clear` deletes the
    /// count (after a success), else the count goes down by this attempt.
    async fn give_back_second_factor(&self, user: &str, clear: bool) -> Result<(), StoreError> {
        let key = second_factor_key(user);
        let flag = if clear { "1" } else { "0" };
        self.redis
            .run::<i64, _>(&self.give_back, &[&key], &[flag.to_owned()])
            .await
            .map(|_| ())
    }
}

/// A Redis client whose connection is made at its first use (by
/// [`lazy_connection`]) and then shared; every call bounded by [`TIMEOUT`].
/// The throttle's store and the OpenID Connect provider's hold one each.
pub(crate) struct LazyRedis {
    client: Client,
    conn: OnceCell<ConnectionManager>,
}

impl LazyRedis {
    pub(crate) fn new(client: Client) -> LazyRedis {
        LazyRedis {
            client,
            conn: OnceCell::new(),
        }
    }

    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        self.conn
            .get_or_try_init(|| lazy_connection(&self.client))
            .await
            .cloned()
    }

    /// One call of `script` with `keys` and `args`.
    pub(crate) async fn run<T: redis::FromRedisValue, K: redis::ToRedisArgs>(
        &self,
        script: &Script,
        keys: &[K],
        args: &[String],
    ) -> Result<T, StoreError> {
        let mut conn = self.connection().await?;
        let mut inv = script.prepare_invoke();
        for k in keys {
            inv.key(k);
        }
        for a in args {
            inv.arg(a);
        }
        match tokio::time::timeout(TIMEOUT, inv.invoke_async(&mut conn)).await {
            Ok(r) => r.map_err(|e| describe(&e)),
            Err(_) => Err(StoreError::Timeout),
        }
    }

    /// One command.
    pub(crate) async fn query<T: redis::FromRedisValue>(
        &self,
        cmd: redis::Cmd,
    ) -> Result<T, StoreError> {
        let mut conn = self.connection().await?;
        match tokio::time::timeout(TIMEOUT, cmd.query_async(&mut conn)).await {
            Ok(r) => r.map_err(|e| describe(&e)),
            Err(_) => Err(StoreError::Timeout),
        }
    }
}

/// A connection to `client` that connects at its first use and
/// reconnects by itself, every step bounded by [`TIMEOUT`]: the throttle's
/// and the OpenID Connect provider's (`crate::oidc_store`).
pub(crate) async fn lazy_connection(client: &Client) -> Result<ConnectionManager, StoreError> {
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(TIMEOUT))
        .set_response_timeout(Some(TIMEOUT))
        .set_number_of_retries(1);
    ConnectionManager::new_lazy_with_config(client.clone(), config).map_err(|e| describe(&e))
}

/// The counter of `user`'s wrong second-factor codes: the name is the
/// key's whole suffix, so no two users share a key.
fn second_factor_key(user: &str) -> String {
    format!("{PREFIX}2fa:{user}")
}

fn keys_of(counters: &[Counter]) -> Vec<&str> {
    counters.iter().map(|c| c.key.as_str()).collect()
}

/// The key of `user`'s last used TOTP step: the name is the key's whole
/// suffix, so no two users share a key.
fn used_step_key(user: &str) -> String {
    format!("{PREFIX}totp-step:{user}")
}

/// A Redis error for the log (its text names neither the URL nor its
/// password).
fn describe(e: &redis::RedisError) -> StoreError {
    StoreError::Redis(e.to_string())
}

/// `throttle.store` does not parse as a Redis URL (the URL is not
/// repeated: it may hold a password).
#[derive(Debug, thiserror::Error)]
#[error("throttle.store: not a valid Redis URL ({0:?})")]
pub struct InvalidUrl(redis::ErrorKind);

impl ThrottleStore for RedisThrottle {
    fn begin<'a>(
        &'a self,
        user: &'a str,
        addr: IpAddr,
        _now: u64,
    ) -> StoreFuture<'a, Result<(), Refusal>> {
        Box::pin(async move {
            let counters = self.counters(user, addr);
            let args: Vec<String> = counters
                .iter()
                .flat_map(|c| [c.limit.to_string(), c.window.to_string()])
                .collect();
            let at: i64 = self
                .redis
                .run(&self.begin, &keys_of(&counters), &args)
                .await
                .map_err(Refusal::Unavailable)?;
            match usize::try_from(at).ok().and_then(|i| i.checked_sub(1)) {
                None => Ok(()),
                Some(i) => Err(Refusal::Throttled(
                    counters.get(i).map_or(Throttled::Full, |c| c.refusal),
                )),
            }
        })
    }

    fn succeeded<'a>(
        &'a self,
        user: &'a str,
        addr: IpAddr,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        Box::pin(self.give_back_all(user, addr, true))
    }

    fn release<'a>(
        &'a self,
        user: &'a str,
        addr: IpAddr,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        Box::pin(self.give_back_all(user, addr, false))
    }

    fn second_factor_begin<'a>(
        &'a self,
        user: &'a str,
        _now: u64,
    ) -> StoreFuture<'a, Result<(), Refusal>> {
        Box::pin(async move {
            let key = second_factor_key(user);
            let args = [
                self.config.max_second_factor_failures.to_string(),
                self.config.second_factor_window.to_string(),
            ];
            let at: i64 = self
                .redis
                .run(&self.begin, &[&key], &args)
                .await
                .map_err(Refusal::Unavailable)?;
            if at == 0 {
                Ok(())
            } else {
                Err(Refusal::Throttled(Throttled::SecondFactor))
            }
        })
    }

    fn second_factor_succeeded<'a>(
        &'a self,
        user: &'a str,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        Box::pin(self.give_back_second_factor(user, true))
    }

    fn second_factor_release<'a>(
        &'a self,
        user: &'a str,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        Box::pin(self.give_back_second_factor(user, false))
    }

    fn claim_totp_step<'a>(
        &'a self,
        user: &'a str,
        step: u64,
    ) -> StoreFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let key = used_step_key(user);
            let args = [step.to_string(), USED_STEP_SECONDS.to_string()];
            let claimed: i64 = self.redis.run(&self.claim_step, &[&key], &args).await?;
            Ok(claimed == 1)
        })
    }

    fn name(&self) -> &'static str {
        "redis"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StoreConfig;

    fn store() -> RedisThrottle {
        let c = ThrottleConfig {
            window: 60,
            max_per_user_address: 3,
            max_per_address: 20,
            max_per_ipv6_48: 100,
            user_window: 600,
            max_per_user: 10,
            max_tracked: 1,
            second_factor_window: 900,
            max_second_factor_failures: 5,
            store: StoreConfig::Redis("redis://127.0.0.1:1/".into()),
        };
        RedisThrottle::new("redis://127.0.0.1:1/", &c).unwrap()
    }

    fn keys(s: &RedisThrottle, user: &str, addr: &str) -> Vec<(String, u32, u64)> {
        s.counters(user, addr.parse().unwrap())
            .into_iter()
            .map(|c| (c.key, c.limit, c.window))
            .collect()
    }

    #[test]
    fn the_keys_of_an_attempt_follow_the_memory_rules() {
        let s = store();
        assert_eq!(
            keys(&s, "alice", "10.0.0.1"),
            vec![
                ("sso-throttle:v1:addr:10.0.0.1".into(), 20, 60),
                ("sso-throttle:v1:pair:alice|10.0.0.1".into(), 3, 60),
                ("sso-throttle:v1:user:alice".into(), 10, 600),
            ]
        );
        // IPv6: the /64 as the address, the /48 as the network;
        // IPv4-mapped as IPv4.
        assert_eq!(
            keys(&s, "bob", "2001:db8:1:2:ffff::9"),
            vec![
                ("sso-throttle:v1:addr:2001:db8:1:2::".into(), 20, 60),
                ("sso-throttle:v1:net48:2001:db8:1::".into(), 100, 60),
                ("sso-throttle:v1:pair:bob|2001:db8:1:2::".into(), 3, 60),
                ("sso-throttle:v1:user:bob".into(), 10, 600),
            ]
        );
        assert_eq!(
            keys(&s, "a", "::ffff:192.0.2.7")[0].0,
            "sso-throttle:v1:addr:192.0.2.7"
        );
        // A name that could never log in costs only its address.
        for junk in ["a|b", "", "x\ny", &"é".repeat(300)] {
            assert_eq!(keys(&s, junk, "10.0.0.1").len(), 1, "{junk:?}");
        }
    }

    #[test]
    fn the_second_factor_counter_is_one_key_per_user() {
        assert_eq!(second_factor_key("alice"), "sso-throttle:v1:2fa:alice");
        // Not any key of the password counters.
        let s = store();
        assert!(keys(&s, "alice", "10.0.0.1")
            .iter()
            .all(|(k, _, _)| k != &second_factor_key("alice")));
    }
}
