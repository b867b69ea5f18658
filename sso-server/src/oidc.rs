//! The OpenID Connect provider's state in the login server: `[oidc]`
//! checked, its signing keys read as trusted secret files, the discovery
//! document and JWKS made once, and the stores of codes and refresh tokens
//! (kept across a reload, like the throttle counters). What the login
//! session means to a relying party (its `sid`, `auth_time`, `amr`) is
//! here too, as pure functions: the rules of the protocol are in
//! `sso_oidc`.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use sso_core::file_trust;
use sso_oidc::keys::SigningKeys;
use sso_oidc::OidcConfig;

use crate::config::StoreConfig;
use crate::oidc_backchannel::Notice;
use crate::oidc_store::OidcStore;
use crate::session::{Factor, Session};

/// The prefix a relying party has in the session's list of services (for
/// logout) and in the `[[second_factor]]` service patterns.
pub const SERVICE_PREFIX: &str = "oidc:";

/// The service name of a client: `oidc:CLIENT_ID`.
pub fn service_of(client_id: &str) -> String {
    format!("{SERVICE_PREFIX}{client_id}")
}

/// Why the provider's keys could not be read; the message names the key
/// and the file.
#[derive(Debug, thiserror::Error)]
#[error("oidc.{key}: {file}: {error}")]
pub struct KeyLoadError {
    pub key: String,
    pub file: String,
    pub error: String,
}

/// `[oidc]` ready to serve.
pub struct Provider {
    pub config: OidcConfig,
    pub keys: SigningKeys,
    /// The discovery document and the JWKS, as served.
    pub discovery: String,
    pub jwks: String,
    /// Codes and refresh tokens: in memory, or in the throttle's Redis.
    pub store: Arc<OidcStore>,
    /// Which store that is, to keep it across a reload that keeps it.
    store_config: StoreConfig,
    /// TLS of the back-channel logout requests.
    pub backchannel_tls: Arc<tokio_rustls::rustls::ClientConfig>,
}

/// A secret key file already judged by `file_trust` (the caller checked
/// every trusted file first): read through the descriptor that was
/// judged, and refused when group or others may read it.
fn read_private(path: &Path, key: &str) -> Result<Vec<u8>, KeyLoadError> {
    let fail = |error: String| KeyLoadError {
        key: key.to_owned(),
        file: path.display().to_string(),
        error,
    };
    let mut opened = file_trust::open_file(path, file_trust::effective_uid())
        .map_err(|e| fail(e.to_string()))?;
    let mode = std::os::unix::fs::MetadataExt::mode(
        &opened.file.metadata().map_err(|e| fail(e.to_string()))?,
    );
    if mode & 0o077 != 0 {
        return Err(fail(format!(
            "accessible to group or others (mode {:04o}); fix it with: chmod 600 {}",
            mode & 0o7777,
            path.display()
        )));
    }
    let mut data = Vec::new();
    opened
        .file
        .read_to_end(&mut data)
        .map_err(|e| fail(format!("cannot be read: {e}")))?;
    Ok(data)
}

impl Provider {
    /// Reads the keys `config` names; errors name the key and the file.
    /// Codes and refresh tokens go where `[throttle] store` says.
    pub fn load(config: OidcConfig, store: &StoreConfig) -> Result<Provider, KeyLoadError> {
        let active = read_private(&config.signing_key_file, "signing_key_file")?;
        let mut previous = Vec::new();
        for (i, p) in config.previous_key_files.iter().enumerate() {
            previous.push(read_private(p, &format!("previous_key_files[{i}]"))?);
        }
        let eddsa = match &config.eddsa_key_file {
            Some(p) => Some(read_private(p, "eddsa_key_file")?),
            None => None,
        };
        let keys = SigningKeys::new(&active, &previous, eddsa.as_deref()).map_err(|e| {
            let file = match e.which.as_str() {
                "signing_key_file" => config.signing_key_file.display().to_string(),
                "eddsa_key_file" => config
                    .eddsa_key_file
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                _ => e
                    .which
                    .trim_start_matches("previous_key_files[")
                    .trim_end_matches(']')
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| config.previous_key_files.get(i))
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            };
            KeyLoadError {
                key: e.which.clone(),
                file,
                error: e.error.to_string(),
            }
        })?;
        let discovery =
            sso_oidc::discovery::document(&config.issuer, &keys.algorithms()).to_string();
        let jwks = keys.jwks().to_string();
        let oidc_store = crate::oidc_store::for_store(store).map_err(|e| KeyLoadError {
            key: "throttle.store".into(),
            file: String::new(),
            error: format!("not a valid Redis URL ({:?})", e.kind()),
        })?;
        let backchannel_tls =
            crate::oidc_backchannel::tls_config().map_err(|error| KeyLoadError {
                key: "client.backchannel_logout_uri".into(),
                file: "TLS".into(),
                error: error.to_string(),
            })?;
        Ok(Provider {
            backchannel_tls,
            config,
            keys,
            discovery,
            jwks,
            store: oidc_store,
            store_config: store.clone(),
        })
    }

    /// Codes and refresh tokens outlive a reload (unless the store
    /// changed): a reload must not log every relying party out, nor let a
    /// spent code be spent again.
    pub fn carry_over(&mut self, previous: &Provider) {
        if self.store_config == previous.store_config {
            self.store = previous.store.clone();
        }
    }

    /// The back-channel logout notices of the login session `session`:
    /// one per client it signed into that registered a
    /// `backchannel_logout_uri`, but `except` (the client whose
    /// RP-initiated logout this is: it has ended its own session already);
    /// `Err((client, why))` for a token that could not be signed.
    pub fn backchannel_notices(
        &self,
        session: &Session,
        except: Option<&str>,
    ) -> Vec<Result<Notice, (String, String)>> {
        let sid = session_id(session);
        let now = sso_core::unix_now();
        let mut notices = Vec::new();
        for service in &session.services {
            let Some(client) = service
                .strip_prefix(SERVICE_PREFIX)
                .filter(|id| Some(*id) != except)
                .and_then(|id| self.config.client(id))
            else {
                continue;
            };
            let Some(uri) = &client.backchannel_logout_uri else {
                continue;
            };
            let claims = sso_oidc::logout::logout_token(
                &self.config.issuer,
                &client.id,
                &session.user,
                &sid,
                now,
            );
            notices.push(
                match self
                    .keys
                    .sign_typed(&client.algorithm, "logout+jwt", &claims)
                {
                    Ok(logout_token) => Ok(Notice {
                        client_id: client.id.clone(),
                        user: session.user.clone(),
                        uri: uri.clone(),
                        logout_token,
                    }),
                    Err(e) => Err((client.id.clone(), e.to_string())),
                },
            );
        }
        notices
    }

    /// `ISSUER/oidc/authorize?QUERY`: where a login for a relying party
    /// resumes once the session exists.
    pub fn resume_url(&self, query: &str) -> String {
        format!(
            "{}{}?{query}",
            self.config.issuer,
            sso_oidc::discovery::AUTHORIZE
        )
    }
}

/// The login session's id as relying parties see it (`sid`): the same for
/// every token of one login, another for the next login. Derived from
/// what the sealed session holds, so that logout finds it again.
pub fn session_id(session: &Session) -> String {
    let mut h = Sha256::new();
    h.update(b"sso-server oidc sid\n");
    h.update(session.user.as_bytes());
    h.update(format!("\n{}\n{}", session.expires, auth_time(session)).as_bytes());
    URL_SAFE_NO_PAD.encode(&h.finalize()[..16])
}

/// When the password was last typed (0: a session from before factors
/// were recorded).
pub fn auth_time(session: &Session) -> u64 {
    session
        .factors
        .iter()
        .find(|(f, _)| *f == Factor::Password)
        .map_or(0, |(_, at)| *at)
}

/// The session's factors as RFC 8176 names: `pwd`, `otp`, `hwk`.
pub fn amr(session: &Session) -> Vec<String> {
    session
        .factors
        .iter()
        .map(|(f, _)| match f {
            Factor::Password => "pwd",
            Factor::Totp => "otp",
            Factor::Webauthn => "hwk",
        })
        .map(str::to_owned)
        .collect()
}

/// Whether a request's `max_age` (seconds since the password) asks for
/// the password again at `now`.
pub fn too_old(max_age: Option<u64>, auth_time: u64, now: u64) -> bool {
    max_age.is_some_and(|m| now.saturating_sub(auth_time) > m)
}

/// The authorization request's query to resume with after a fresh login:
/// without `prompt` and `max_age`, which that login has just satisfied
/// (kept, they would ask for the password again, for ever). Dropping them
/// grants nothing: the browser holds the request and could drop them
/// itself; the id_token's `auth_time` tells the relying party the truth.
pub fn resume_query(query: &str) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if k != "prompt" && k != "max_age" {
            out.append_pair(&k, &v);
        }
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(expires: u64, factors: Vec<(Factor, u64)>) -> Session {
        Session {
            user: "alice".into(),
            groups: vec![],
            expires,
            services: vec![],
            factors,
        }
    }

    #[test]
    fn a_login_keeps_its_sid_and_the_next_login_gets_another() {
        let a = session(2000, vec![(Factor::Password, 100)]);
        let mut same = a.clone();
        same.add_factor(Factor::Totp, 150);
        same.add_service("oidc:app");
        assert_eq!(session_id(&a), session_id(&same));
        let next = session(2100, vec![(Factor::Password, 200)]);
        assert_ne!(session_id(&a), session_id(&next));
        let mut bob = a.clone();
        bob.user = "bob".into();
        assert_ne!(session_id(&a), session_id(&bob));
    }

    #[test]
    fn factors_and_times() {
        let s = session(2000, vec![(Factor::Password, 100), (Factor::Webauthn, 120)]);
        assert_eq!(amr(&s), vec!["pwd", "hwk"]);
        assert_eq!(auth_time(&s), 100);
        assert_eq!(auth_time(&session(2000, vec![])), 0);
        assert!(!too_old(None, 100, 10_000));
        assert!(!too_old(Some(60), 100, 160));
        assert!(too_old(Some(60), 100, 161));
        assert!(too_old(Some(0), 100, 101));
    }

    #[test]
    fn the_resumed_request_drops_prompt_and_max_age_only() {
        assert_eq!(
            resume_query("client_id=a&prompt=login&max_age=0&state=x%26y&scope=openid+email"),
            "client_id=a&state=x%26y&scope=openid+email"
        );
    }
}
