//! The state every request shares, and the pieces every endpoint builds its
//! answer from: security headers, pages, cookies, the client's address and
//! the event log.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};
use sso_core::file_trust;
use sso_core::{KeySet, PublicKey, SecretKey, Signer};

use crate::auth::Backend;
use crate::config::{Config, StoreConfig, ThrottleConfig};
use crate::html;
use crate::metrics::Metrics;
use crate::session::{Sealer, Session};
use crate::throttle::Throttle;
use crate::throttle_redis::{InvalidUrl, RedisThrottle};
use crate::throttle_store::ThrottleStore;
use crate::totp::TotpFile;

/// Name of the pre-login cookie the CSRF tokens are bound to.
/// `__Host-`: browsers accept it only `Secure`, with `Path=/` and no
/// `Domain`, so a sibling host of the same site cannot plant its own pair
/// (login CSRF by cookie tossing).
pub const CSRF_COOKIE: &str = "__Host-sso_csrf";

/// Sent with every answer. Tickets travel in URLs, so no referrer ever
/// leaves; no framing; no inline script: only the server's own
/// `/webauthn.js`, which may call back to the server only; images only for
/// logout.
pub(crate) const CSP: &str =
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; \
img-src 'self' https:; form-action 'self' https:; frame-ancestors 'none'; base-uri 'none'";

/// An answer, whole in memory (every page is small).
pub type Resp = Response<Full<Bytes>>;

/// Why the state could not be built; the message names the key (and the
/// file).
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The setting `key` names a file or value that cannot be used.
    #[error("{key}: {error}")]
    Key {
        key: &'static str,
        error: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(
        "public_key_files: none of them is the public key of {} (tickets this server mints \
         could not be verified)",
        .0.display()
    )]
    OwnKeyMissing(std::path::PathBuf),
    #[error(transparent)]
    Ui(#[from] crate::ui::UiError),
    #[error(transparent)]
    Throttle(#[from] crate::throttle_redis::InvalidUrl),
    #[error(transparent)]
    Webauthn(#[from] crate::webauthn::OpenError),
    #[error(transparent)]
    Oidc(#[from] crate::oidc::KeyLoadError),
}

impl StartupError {
    /// The error of the setting `key`, for `map_err`.
    pub fn key<E: Into<Box<dyn std::error::Error + Send + Sync>>>(
        key: &'static str,
    ) -> impl FnOnce(E) -> StartupError {
        move |error| StartupError::Key {
            key,
            error: error.into(),
        }
    }
}

/// Everything a request needs, built once at startup.
pub struct App {
    pub config: Config,
    pub signer: Signer,
    pub keys: KeySet,
    pub sealer: Sealer,
    /// Shared with the next generation after a reload (see
    /// [`App::carry_over`]), so counters survive `systemctl reload`.
    pub throttle: Arc<dyn ThrottleStore>,
    pub backend: Arc<dyn Backend>,
    /// Password checks running at once. Each one is a memory-hard hash
    /// (19 MiB with the default argon2id) or a backend round trip on a
    /// blocking thread: unbounded, a burst of POSTs would take hundreds of
    /// threads and gigabytes. Waiting logins queue here instead.
    /// Shared across reloads too: the bound holds for the whole process.
    pub auth_slots: Arc<tokio::sync::Semaphore>,
    /// Counted for the whole process, across reloads (`GET /metrics`).
    pub metrics: Arc<Metrics>,
    /// The layout and stylesheet of the pages (`[ui]`).
    pub ui: Arc<crate::ui::Ui>,
    /// `[auth] totp_file`: the TOTP secrets and the steps already used.
    pub totp: Option<TotpFile>,
    /// `[webauthn]`: the relying party, credentials and ceremonies.
    pub webauthn: Option<Arc<crate::webauthn::WebauthnStore>>,
    /// `[oidc]`: the OpenID Connect provider.
    pub oidc: Option<crate::oidc::Provider>,
}

/// The store `[throttle]` names. Nothing is connected yet: the Redis
/// store connects at its first use, so a server starts (and serves tickets)
/// while Redis is down.
fn throttle_store(c: &ThrottleConfig) -> Result<Box<dyn ThrottleStore>, InvalidUrl> {
    Ok(match &c.store {
        StoreConfig::Memory => Box::new(Throttle::new(c)),
        StoreConfig::Redis(url) => Box::new(RedisThrottle::new(url, c)?),
    })
}

/// How many password checks may run at once: two per core.
fn auth_parallelism() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()) * 2
}

/// A log line for an event: values are quoted and escaped ({:?}) so a
/// hostile user name cannot forge lines. Never a password, ticket or secret.
pub fn log_event(event: &str, fields: &[(&str, &str)]) {
    sso_core::event_log::write("sso-server", event, fields);
}

/// The request's `Cookie` headers, read with `sso_core::web::cookie_values`;
/// of two cookies with one name, the first wins.
pub struct Cookies(Vec<String>);

impl Cookies {
    pub fn from_headers(headers: &HeaderMap) -> Cookies {
        Cookies(
            headers
                .get_all(header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .map(str::to_owned)
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<String> {
        self.0.iter().find_map(|h| {
            sso_core::web::cookie_values(h, name)
                .next()
                .map(str::to_owned)
        })
    }
}

impl App {
    /// Checks and loads the keys and builds the state; errors name the key
    /// and the file.
    pub fn new(config: Config, backend: Arc<dyn Backend>) -> Result<App, StartupError> {
        let uid = file_trust::effective_uid();
        for (key, path) in config.trusted_files() {
            file_trust::check_file(path, uid).map_err(StartupError::key(key))?;
        }
        // The keys are read through the descriptor their check judged.
        let open = |key: &'static str, path: &Path| {
            file_trust::open_file(path, uid)
                .map(|o| o.file)
                .map_err(StartupError::key(key))
        };
        let secret = &config.secret_key_file;
        let signer = SecretKey::from_open_file(open("secret_key_file", secret)?, secret)
            .map(Signer::new)
            .map_err(StartupError::key("secret_key_file"))?;
        let mut public = Vec::new();
        for p in &config.public_key_files {
            public.push(
                PublicKey::from_open_file(open("public_key_files", p)?, p)
                    .map_err(StartupError::key("public_key_files"))?,
            );
        }
        let own = signer.public_key().to_raw();
        if !public.iter().any(|k| k.to_raw() == own) {
            return Err(StartupError::OwnKeyMissing(config.secret_key_file.clone()));
        }
        let keys = KeySet::new(&public).map_err(StartupError::key("public_key_files"))?;
        let sealer = Sealer::new(&config.session.secrets, config.session.lifetime);
        let throttle: Arc<dyn ThrottleStore> = throttle_store(&config.throttle)?.into();
        let ui = Arc::new(crate::ui::Ui::load(&config.ui)?);
        let totp = match &config.totp_file {
            Some(p) => Some(TotpFile::open(p).map_err(StartupError::key("auth.totp_file"))?),
            None => None,
        };
        let webauthn = match &config.webauthn {
            Some(w) => Some(Arc::new(crate::webauthn::WebauthnStore::open(w)?)),
            None => None,
        };
        let oidc = match &config.oidc {
            Some(o) => Some(crate::oidc::Provider::load(
                o.clone(),
                &config.throttle.store,
            )?),
            None => None,
        };
        Ok(App {
            config,
            signer,
            keys,
            sealer,
            throttle,
            backend,
            auth_slots: Arc::new(tokio::sync::Semaphore::new(auth_parallelism())),
            metrics: Arc::new(Metrics::new()),
            ui,
            totp,
            webauthn,
            oidc,
        })
    }

    /// Takes over what must outlive a reload from the generation this one
    /// replaces: the password-check bound, the metrics, and the throttle
    /// counters unless `[throttle]` changed (a reload must not wipe a
    /// lock-out; a changed `store` gets the new store built by `new`).
    pub fn carry_over(&mut self, previous: &App) {
        self.auth_slots = previous.auth_slots.clone();
        self.metrics = previous.metrics.clone();
        if self.config.throttle == previous.config.throttle {
            self.throttle = previous.throttle.clone();
        }
        if let (Some(t), Some(p)) = (&mut self.totp, &previous.totp) {
            t.carry_over(p);
        }
        // Ceremonies in progress finish with the relying party they began
        // with, unless the table changed.
        if self.config.webauthn.is_some() && self.config.webauthn == previous.config.webauthn {
            self.webauthn = previous.webauthn.clone();
        }
        if let (Some(o), Some(p)) = (&mut self.oidc, &previous.oidc) {
            o.carry_over(p);
        }
    }

    fn base_headers(&self, resp: &mut Resp) {
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if self.config.tls.is_some() {
            h.insert(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000"),
            );
        }
    }

    pub fn respond(&self, status: StatusCode, content_type: &'static str, body: String) -> Resp {
        let mut resp = Response::new(Full::new(Bytes::from(body)));
        *resp.status_mut() = status;
        self.base_headers(&mut resp);
        let h = resp.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        resp
    }

    pub fn page(&self, status: StatusCode, body: String) -> Resp {
        self.respond(status, "text/html; charset=utf-8", body)
    }

    pub fn error(&self, status: StatusCode, heading: &str, message: &str) -> Resp {
        self.page(
            status,
            html::error_page(&self.config.title, heading, message),
        )
    }

    pub fn text(&self, status: StatusCode, body: String) -> Resp {
        self.respond(status, "text/plain; charset=utf-8", body)
    }

    /// A 302 to `location`, with an empty text body.
    pub fn redirect(&self, location: String) -> Resp {
        let mut resp = self.text(StatusCode::FOUND, String::new());
        resp.headers_mut()
            .insert(header::LOCATION, header_value(location));
        resp
    }

    pub fn session_cookie(&self, session: &Session) -> HeaderValue {
        let value = self.sealer.seal(session);
        let max_age = session.expires.saturating_sub(sso_core::unix_now());
        header_value(format!(
            "{}={value}; Path=/; Max-Age={max_age}; HttpOnly; Secure; SameSite=Lax",
            self.config.session.cookie_name
        ))
    }

    pub fn clear_session_cookie(&self) -> HeaderValue {
        header_value(format!(
            "{}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax",
            self.config.session.cookie_name
        ))
    }

    /// The live session the browser presents, if any.
    pub fn session(&self, cookies: &Cookies) -> Option<Session> {
        let v = cookies.get(&self.config.session.cookie_name)?;
        self.sealer.open(&v, sso_core::unix_now())
    }

    /// The CSRF token for this browser's pre-login cookie, and the
    /// `Set-Cookie` to send when it had none (a fresh one is made).
    pub fn csrf_token(&self, cookies: &Cookies) -> (String, Option<HeaderValue>) {
        match cookies.get(CSRF_COOKIE) {
            Some(c) if !c.is_empty() && c.len() <= 64 && is_token_chars(&c) => {
                (self.sealer.csrf_token(&c), None)
            }
            _ => {
                let fresh = Sealer::new_csrf_cookie();
                let set = header_value(format!(
                    "{CSRF_COOKIE}={fresh}; Path=/; HttpOnly; Secure; SameSite=Lax"
                ));
                (self.sealer.csrf_token(&fresh), Some(set))
            }
        }
    }

    /// True when `token` (a form field) was made for this browser's CSRF
    /// cookie.
    pub fn csrf_valid(&self, cookies: &Cookies, token: Option<&str>) -> bool {
        match (cookies.get(CSRF_COOKIE), token) {
            (Some(c), Some(t)) => self.sealer.csrf_valid(&c, t),
            _ => false,
        }
    }

    /// The client's address: the peer, or, when the peer is a trusted
    /// proxy, the right-most X-Forwarded-For entry that is not one; both
    /// canonicalised, so a proxy on a dual-stack socket is still recognised
    /// (see [`crate::net::client_addr`]).
    pub fn client_addr(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let values = headers
            .get_all("x-forwarded-for")
            .iter()
            .map(|v| v.to_str().ok());
        crate::net::client_addr(peer, values, &self.config.trusted_proxies)
    }
}

/// A header value from text built of checked names and encoded data; one
/// that still is not a valid header becomes empty rather than a panic.
pub fn header_value(s: String) -> HeaderValue {
    HeaderValue::try_from(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn is_token_chars(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_first_wins_across_headers() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; b=\"2\"; a=3"),
        );
        h.append(header::COOKIE, HeaderValue::from_static("c=4; a=5"));
        let c = Cookies::from_headers(&h);
        assert_eq!(c.get("a").as_deref(), Some("1"));
        assert_eq!(c.get("b").as_deref(), Some("2"));
        assert_eq!(c.get("c").as_deref(), Some("4"));
        assert_eq!(c.get("d"), None);
    }
}
