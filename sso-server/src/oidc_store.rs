//! Where the provider's authorization codes and refresh tokens live: in
//! this process (`sso_oidc`'s memory stores, the default), or, with
//! `[throttle] store = "redis://..."`, in that Redis, so that any replica
//! redeems a code exactly once and a logout on one replica revokes the
//! refresh tokens every replica would take. What a code or a token may do
//! is decided by `sso_oidc` either way; this module only keeps them.
//!
//! In Redis every secret is stored under its SHA-256
//! (`sso_oidc::codes::storage_key`), with an expiry: a code
//! (`sso-oidc:v1:code:KEY`) is taken with `GETDEL`, once; a refresh token
//! (`rt:KEY`) is spent by a script that marks it `spent:KEY` with its
//! family, so that its reuse revokes the family (`fam:FAMILY`, the set of
//! its live tokens), and each login session's families are a set
//! (`sid:SID`) that logout revokes.

use std::sync::Arc;

use redis::{Client, Script};
use sso_oidc::codes::{new_secret, storage_key, Grant, MemoryCodes};
use sso_oidc::refresh::{MemoryRefresh, Redeemed, RefreshGrant};

use crate::throttle_redis::LazyRedis;
use crate::throttle_store::StoreError;

/// Outstanding codes one process keeps at most (each lives ≤ 60 s).
const MAX_CODES: usize = 100_000;

const PREFIX: &str = "sso-oidc:v1:";

/// KEYS: rt:KEY, fam:FAMILY, sid:SID; ARGV: the grant, its lifetime, the
/// token's key.
const ISSUE_REFRESH: &str = r"
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], KEYS[2])
redis.call('EXPIRE', KEYS[3], ARGV[2])
return 0
";

/// KEYS: rt:KEY, spent:KEY; ARGV: the lifetime of a spent mark, the
/// prefix of rt: keys. Returns {1, grant} (live, now spent), {2, ''}
/// (reused: its family revoked) or {0, ''}.
const REDEEM_REFRESH: &str = r"
local g = redis.call('GETDEL', KEYS[1])
if g then
  local fam = cjson.decode(g)['family']
  redis.call('SET', KEYS[2], fam, 'EX', ARGV[1])
  return {1, g}
end
local fam = redis.call('GET', KEYS[2])
if fam then
  local famkey = ARGV[3] .. fam
  for _, k in ipairs(redis.call('SMEMBERS', famkey)) do redis.call('DEL', ARGV[2] .. k) end
  redis.call('DEL', famkey)
  return {2, ''}
end
return {0, ''}
";

/// KEYS: sid:SID; ARGV: the prefix of rt: keys. Every family of the
/// session loses its live tokens.
const REVOKE_SESSION: &str = r"
for _, famkey in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  for _, k in ipairs(redis.call('SMEMBERS', famkey)) do redis.call('DEL', ARGV[1] .. k) end
  redis.call('DEL', famkey)
end
redis.call('DEL', KEYS[1])
return 0
";

/// The stores of one provider.
pub enum OidcStore {
    Memory {
        codes: MemoryCodes,
        refresh: MemoryRefresh,
    },
    Redis(RedisOidc),
}

/// Why a store could not be used: full (memory), or Redis did not answer.
#[derive(Debug, thiserror::Error)]
pub enum OidcStoreError {
    #[error("too many outstanding authorization codes")]
    Full,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The Redis stores; connect at first use, like the throttle's.
pub struct RedisOidc {
    redis: LazyRedis,
    issue_refresh: Script,
    redeem_refresh: Script,
    revoke_session: Script,
}

fn json_error(e: serde_json::Error) -> StoreError {
    StoreError::Redis(format!("a stored grant does not parse: {e}"))
}

impl OidcStore {
    pub fn memory() -> OidcStore {
        OidcStore::Memory {
            codes: MemoryCodes::new(MAX_CODES),
            refresh: MemoryRefresh::default(),
        }
    }

    /// `url` was checked with `[throttle] store`; nothing connects yet.
    pub fn redis(url: &str) -> Result<OidcStore, redis::RedisError> {
        Ok(OidcStore::Redis(RedisOidc {
            redis: LazyRedis::new(Client::open(url)?),
            issue_refresh: Script::new(ISSUE_REFRESH),
            redeem_refresh: Script::new(REDEEM_REFRESH),
            revoke_session: Script::new(REVOKE_SESSION),
        }))
    }

    /// Records `grant` and returns the code that redeems it.
    pub async fn issue_code(&self, grant: Grant, now: u64) -> Result<String, OidcStoreError> {
        match self {
            OidcStore::Memory { codes, .. } => {
                codes.issue(grant, now).map_err(|_| OidcStoreError::Full)
            }
            OidcStore::Redis(r) => {
                let code = new_secret();
                let ttl = grant.expires.saturating_sub(now).max(1);
                let value = serde_json::to_string(&grant).map_err(json_error)?;
                let key = format!("{PREFIX}code:{}", storage_key(&code));
                let mut cmd = redis::cmd("SET");
                cmd.arg(key).arg(value).arg("EX").arg(ttl);
                r.redis.query::<()>(cmd).await?;
                Ok(code)
            }
        }
    }

    /// Takes the grant of `code` out: a second take, on any replica
    /// sharing the store, finds nothing.
    pub async fn take_code(&self, code: &str) -> Result<Option<Grant>, StoreError> {
        match self {
            OidcStore::Memory { codes, .. } => Ok(codes.take(code)),
            OidcStore::Redis(r) => {
                let mut cmd = redis::cmd("GETDEL");
                cmd.arg(format!("{PREFIX}code:{}", storage_key(code)));
                let value: Option<String> = r.redis.query(cmd).await?;
                value
                    .map(|v| serde_json::from_str(&v).map_err(json_error))
                    .transpose()
            }
        }
    }

    /// Records a refresh grant (a new family if its `family` is empty)
    /// and returns the token.
    pub async fn issue_refresh(
        &self,
        mut grant: RefreshGrant,
        now: u64,
    ) -> Result<String, StoreError> {
        match self {
            OidcStore::Memory { refresh, .. } => Ok(refresh.issue(grant, now)),
            OidcStore::Redis(r) => {
                if grant.family.is_empty() {
                    grant.family = new_secret();
                }
                let token = new_secret();
                let key = storage_key(&token);
                let ttl = grant.expires.saturating_sub(now).max(1);
                let value = serde_json::to_string(&grant).map_err(json_error)?;
                let keys = [
                    format!("{PREFIX}rt:{key}"),
                    format!("{PREFIX}fam:{}", grant.family),
                    format!("{PREFIX}sid:{}", grant.sid),
                ];
                r.redis
                    .run::<i64, _>(&r.issue_refresh, &keys, &[value, ttl.to_string(), key])
                    .await?;
                Ok(token)
            }
        }
    }

    /// Spends a refresh token; `lifetime` is how long its spent mark is
    /// kept (the refresh token lifetime: as long as it could be reused).
    pub async fn redeem_refresh(&self, token: &str, lifetime: u64) -> Result<Redeemed, StoreError> {
        match self {
            OidcStore::Memory { refresh, .. } => Ok(refresh.redeem(token)),
            OidcStore::Redis(r) => {
                let key = storage_key(token);
                let keys = [format!("{PREFIX}rt:{key}"), format!("{PREFIX}spent:{key}")];
                let args = [
                    lifetime.to_string(),
                    format!("{PREFIX}rt:"),
                    format!("{PREFIX}fam:"),
                ];
                let (what, grant): (i64, String) =
                    r.redis.run(&r.redeem_refresh, &keys, &args).await?;
                Ok(match what {
                    1 => Redeemed::Live(serde_json::from_str(&grant).map_err(json_error)?),
                    2 => Redeemed::Reused,
                    _ => Redeemed::Unknown,
                })
            }
        }
    }

    /// Logout: the refresh tokens of the login session `sid` stop working.
    pub async fn revoke_session(&self, sid: &str) -> Result<(), StoreError> {
        match self {
            OidcStore::Memory { refresh, .. } => {
                refresh.revoke_session(sid);
                Ok(())
            }
            OidcStore::Redis(r) => r
                .redis
                .run::<i64, _>(
                    &r.revoke_session,
                    &[format!("{PREFIX}sid:{sid}")],
                    &[format!("{PREFIX}rt:")],
                )
                .await
                .map(|_| ()),
        }
    }
}

/// The store `[throttle] store` names.
pub fn for_store(store: &crate::config::StoreConfig) -> Result<Arc<OidcStore>, redis::RedisError> {
    Ok(Arc::new(match store {
        crate::config::StoreConfig::Memory => OidcStore::memory(),
        crate::config::StoreConfig::Redis(url) => OidcStore::redis(url)?,
    }))
}
