//! The stateless login session: a cookie sealed with ChaCha20-Poly1305
//! under keys derived (HKDF-SHA256) from the configured session secrets.
//! The first secret seals, every secret opens (rotation), so any instance
//! with the same secrets serves the same users. The CSRF tokens of the
//! forms are keyed from the same secrets.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Format tag of the sealed payload, so a future format can be told apart.
/// `s2` added the factors line; `s1` sessions (sealed before) still open,
/// with no factor recorded.
const PAYLOAD_VERSION: &str = "s2";
const PAYLOAD_VERSION_1: &str = "s1";

/// A way the user proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    Password,
    /// A TOTP code (see `crate::totp`).
    Totp,
    /// A WebAuthn credential (see `crate::webauthn`).
    Webauthn,
}

impl Factor {
    pub fn name(self) -> &'static str {
        match self {
            Factor::Password => "password",
            Factor::Totp => "totp",
            Factor::Webauthn => "webauthn",
        }
    }

    fn from_name(s: &str) -> Option<Factor> {
        match s {
            "password" => Some(Factor::Password),
            "totp" => Some(Factor::Totp),
            "webauthn" => Some(Factor::Webauthn),
            _ => None,
        }
    }

    /// True for the factors that count as a second factor.
    pub fn is_second(self) -> bool {
        matches!(self, Factor::Totp | Factor::Webauthn)
    }
}

/// At most this many services are remembered for logout; the oldest are
/// dropped first (a cookie has about 4 KiB).
pub const MAX_SESSION_SERVICES: usize = 24;

/// Upper bound on a session cookie value we try to open.
const MAX_COOKIE_LEN: usize = 4096;

/// A logged-in user, as carried in the session cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: String,
    pub groups: Vec<String>,
    /// Absolute Unix time after which the session is dead.
    pub expires: u64,
    /// Services that got a ticket in this session (for logout).
    pub services: Vec<String>,
    /// The factors this session proved and when (Unix time), in order.
    pub factors: Vec<(Factor, u64)>,
}

impl Session {
    /// Remembers `service` for logout; true when the list changed (the
    /// cookie must then be sent again).
    pub fn add_service(&mut self, service: &str) -> bool {
        if self.services.iter().any(|s| s == service) {
            return false;
        }
        if self.services.len() >= MAX_SESSION_SERVICES {
            self.services.remove(0);
        }
        self.services.push(service.to_owned());
        true
    }

    /// Records that `factor` was proven at `now` (replacing an earlier
    /// record of the same factor).
    pub fn add_factor(&mut self, factor: Factor, now: u64) {
        self.factors.retain(|(f, _)| *f != factor);
        self.factors.push((factor, now));
    }

    /// True when the session proved a second factor.
    pub fn has_second_factor(&self) -> bool {
        self.factors.iter().any(|(f, _)| f.is_second())
    }

    fn encode(&self) -> String {
        // Fields cannot contain newlines or tabs: user, group and service
        // names are checked before they get here (see `valid_name`).
        let factors: Vec<String> = self
            .factors
            .iter()
            .map(|(f, at)| format!("{}@{at}", f.name()))
            .collect();
        format!(
            "{PAYLOAD_VERSION}\n{}\n{}\n{}\n{}\n{}",
            self.expires,
            self.user,
            self.groups.join("\t"),
            self.services.join("\t"),
            factors.join("\t")
        )
    }

    fn decode(text: &str) -> Option<Session> {
        let mut parts = text.split('\n');
        let version = parts.next()?;
        if version != PAYLOAD_VERSION && version != PAYLOAD_VERSION_1 {
            return None;
        }
        let expires = parts.next()?.parse().ok()?;
        let user = parts.next()?.to_owned();
        let list = |s: &str| -> Vec<String> {
            s.split('\t')
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let groups = list(parts.next()?);
        let services = list(parts.next()?);
        let factors = if version == PAYLOAD_VERSION {
            list(parts.next()?)
                .iter()
                .map(|f| {
                    let (name, at) = f.split_once('@')?;
                    Some((Factor::from_name(name)?, at.parse().ok()?))
                })
                .collect::<Option<Vec<_>>>()?
        } else {
            Vec::new()
        };
        if parts.next().is_some() || user.is_empty() {
            return None;
        }
        Some(Session {
            user,
            groups,
            expires,
            services,
            factors,
        })
    }
}

/// True for names that may travel in sessions and tickets: non-empty, at
/// most 256 bytes, no control characters, no `|` or `,`.
pub fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 256 && !s.chars().any(|c| c.is_control() || c == '|' || c == ',')
}

struct SecretKeys {
    aead: ChaCha20Poly1305,
    csrf: [u8; 32],
}

/// Seals and opens session cookies and CSRF tokens.
pub struct Sealer {
    keys: Vec<SecretKeys>,
    /// The configured session lifetime: no session this server sealed can
    /// claim to live longer from now, so one that does was not sealed by it
    /// (or was sealed under a longer lifetime that no longer applies).
    max_lifetime: u64,
}

impl Sealer {
    /// `secrets` must be non-empty (the configuration guarantees it);
    /// `max_lifetime` is the configured session lifetime in seconds.
    pub fn new(secrets: &[String], max_lifetime: u64) -> Sealer {
        let keys = secrets
            .iter()
            .map(|s| {
                let hk = Hkdf::<Sha256>::new(Some(b"sso-server"), s.as_bytes());
                let mut aead_key = [0u8; 32];
                let mut csrf = [0u8; 32];
                // Lengths are fixed and far below HKDF's limit.
                hk.expand(b"session cookie v1", &mut aead_key)
                    .expect("32 bytes is a valid HKDF length");
                hk.expand(b"csrf token v1", &mut csrf)
                    .expect("32 bytes is a valid HKDF length");
                SecretKeys {
                    aead: ChaCha20Poly1305::new(Key::from_slice(&aead_key)),
                    csrf,
                }
            })
            .collect();
        Sealer { keys, max_lifetime }
    }

    /// The cookie value for `session`: base64url(nonce || ciphertext).
    pub fn seal(&self, session: &Session) -> String {
        let mut nonce = [0u8; 12];
        OsRng.fill_bytes(&mut nonce);
        let ct = self.keys[0]
            .aead
            .encrypt(Nonce::from_slice(&nonce), session.encode().as_bytes())
            .expect("ChaCha20-Poly1305 encryption of a short buffer cannot fail");
        let mut out = Vec::with_capacity(12 + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// Opens a cookie value sealed by any configured secret; `None` when it
    /// is forged, damaged, sealed with an unknown secret, expired, or claims
    /// an expiry beyond now + the session lifetime.
    pub fn open(&self, value: &str, now: u64) -> Option<Session> {
        if value.len() > MAX_COOKIE_LEN {
            return None;
        }
        let raw = URL_SAFE_NO_PAD.decode(value).ok()?;
        if raw.len() < 12 + 16 {
            return None;
        }
        let (nonce, ct) = raw.split_at(12);
        let plain = self
            .keys
            .iter()
            .find_map(|k| k.aead.decrypt(Nonce::from_slice(nonce), ct).ok())?;
        let session = Session::decode(std::str::from_utf8(&plain).ok()?)?;
        let alive = session.expires > now;
        let plausible = session.expires <= now.saturating_add(self.max_lifetime);
        (alive && plausible).then_some(session)
    }

    /// A fresh random value for the pre-login CSRF cookie.
    pub fn new_csrf_cookie() -> String {
        let mut b = [0u8; 18];
        OsRng.fill_bytes(&mut b);
        URL_SAFE_NO_PAD.encode(b)
    }

    /// The form token bound to a CSRF cookie value (HMAC under the first
    /// secret).
    pub fn csrf_token(&self, cookie: &str) -> String {
        URL_SAFE_NO_PAD.encode(Self::csrf_mac(&self.keys[0].csrf, cookie))
    }

    /// True when `token` was made for `cookie` under any secret.
    pub fn csrf_valid(&self, cookie: &str, token: &str) -> bool {
        if cookie.is_empty() || cookie.len() > 64 {
            return false;
        }
        let Ok(given) = URL_SAFE_NO_PAD.decode(token) else {
            return false;
        };
        self.keys
            .iter()
            .any(|k| bool::from(Self::csrf_mac(&k.csrf, cookie).ct_eq(given.as_slice())))
    }

    fn csrf_mac(key: &[u8; 32], cookie: &str) -> [u8; 32] {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(cookie.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(c: char) -> String {
        c.to_string().repeat(40)
    }

    /// A sealer whose lifetime lets the test sessions (expiring at 2000)
    /// open at any time from 0 on.
    fn sealer(secrets: &[String]) -> Sealer {
        Sealer::new(secrets, 2000)
    }

    fn session() -> Session {
        Session {
            user: "alice".into(),
            groups: vec!["staff".into(), "admins".into()],
            expires: 2000,
            services: vec!["wiki.example.org/".into()],
            factors: vec![(Factor::Password, 1000), (Factor::Totp, 1010)],
        }
    }

    #[test]
    fn factors_are_recorded_and_old_sessions_still_open() {
        let mut s = session();
        s.factors = vec![(Factor::Password, 1000)];
        assert!(!s.has_second_factor());
        s.add_factor(Factor::Totp, 1010);
        s.add_factor(Factor::Totp, 1020);
        assert!(s.has_second_factor());
        assert_eq!(s.factors, [(Factor::Password, 1000), (Factor::Totp, 1020)]);
        let sealer = sealer(&[secret('a')]);
        assert_eq!(sealer.open(&sealer.seal(&s), 0), Some(s.clone()));
        // An `s1` payload, as sealed before factors were recorded.
        let v1 = Session::decode("s1\n2000\nalice\nstaff\nwiki.example.org/").unwrap();
        assert_eq!(v1.user, "alice");
        assert!(v1.factors.is_empty());
        assert!(Session::decode("s2\n2000\nalice\nstaff\n\nsms@1").is_none());
        assert!(Session::decode("s2\n2000\nalice\nstaff\n").is_none());
    }

    #[test]
    fn seal_open_round_trip_and_expiry() {
        let s = sealer(&[secret('a')]);
        let v = s.seal(&session());
        assert_eq!(s.open(&v, 1999), Some(session()));
        assert_eq!(s.open(&v, 2000), None);
    }

    #[test]
    fn an_expiry_beyond_the_session_lifetime_is_refused() {
        // Sealed under the right secret, but living until 2096.
        let s = Sealer::new(&[secret('a')], 12 * 3600);
        let now = 1_700_000_000;
        let mut forever = session();
        forever.expires = 3_976_000_000;
        assert_eq!(s.open(&s.seal(&forever), now), None);
        let mut normal = session();
        normal.expires = now + 12 * 3600;
        assert_eq!(s.open(&s.seal(&normal), now), Some(normal.clone()));
        normal.expires += 1;
        assert_eq!(s.open(&s.seal(&normal), now), None);
    }

    #[test]
    fn rotation_first_seals_all_open() {
        let old = sealer(&[secret('a')]);
        let rotated = sealer(&[secret('b'), secret('a')]);
        let v_old = old.seal(&session());
        assert_eq!(rotated.open(&v_old, 0), Some(session()));
        let v_new = rotated.seal(&session());
        assert_eq!(old.open(&v_new, 0), None);
        let other = sealer(&[secret('c')]);
        assert_eq!(other.open(&v_old, 0), None);
    }

    #[test]
    fn tampering_is_refused() {
        let s = sealer(&[secret('a')]);
        let v = s.seal(&session());
        let mut raw = URL_SAFE_NO_PAD.decode(&v).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        assert_eq!(s.open(&URL_SAFE_NO_PAD.encode(raw), 0), None);
        assert_eq!(s.open("", 0), None);
        assert_eq!(s.open("not base64 !", 0), None);
    }

    #[test]
    fn services_are_bounded_and_unique() {
        let mut s = session();
        assert!(!s.add_service("wiki.example.org/"));
        for i in 0..100 {
            s.add_service(&format!("s{i}.example.org/"));
        }
        assert_eq!(s.services.len(), MAX_SESSION_SERVICES);
        assert_eq!(s.services.last().unwrap(), "s99.example.org/");
        let sealer = sealer(&[secret('a')]);
        assert!(sealer.seal(&s).len() < 4096);
    }

    #[test]
    fn csrf_tokens_bind_to_the_cookie() {
        let s = sealer(&[secret('a'), secret('b')]);
        let c = Sealer::new_csrf_cookie();
        let t = s.csrf_token(&c);
        assert!(s.csrf_valid(&c, &t));
        assert!(!s.csrf_valid(&Sealer::new_csrf_cookie(), &t));
        assert!(!s.csrf_valid(&c, ""));
        assert!(!s.csrf_valid("", &t));
        // A token made under the second (older) secret still passes.
        let old = sealer(&[secret('b')]);
        assert!(s.csrf_valid(&c, &old.csrf_token(&c)));
    }

    #[test]
    fn names() {
        assert!(valid_name("alice"));
        assert!(!valid_name(""));
        assert!(!valid_name("a|b"));
        assert!(!valid_name("a\nb"));
        assert!(!valid_name("a\tb"));
    }
}
