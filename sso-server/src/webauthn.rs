//! WebAuthn (security keys and platform authenticators, "passkeys") as a
//! second factor, with the `webauthn-rs` crate: the relying party of the
//! `[webauthn]` table, the credentials file the server keeps, and the
//! ceremonies in progress.
//!
//! The credentials file has one line per credential, `USER<TAB>HANDLE<TAB>
//! JSON`: the user, the random user handle the authenticator stores, and
//! the credential as `webauthn-rs` serialises it (its public key and
//! counter; nothing secret, but whoever can write the file can add a key
//! for anyone, so it is a trusted file like the keys). The server rewrites
//! it atomically (a private temporary file in the same directory, then
//! rename) when a credential is enrolled or its counter moves.
//!
//! A ceremony (the challenge sent to the browser and what checks its answer)
//! is kept in memory for [`CEREMONY_SECONDS`] under a random id that the
//! page sends back; with several replicas, both halves of a ceremony must
//! reach the same one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand_core::{OsRng, RngCore};
use webauthn_rs::prelude::{
    CreationChallengeResponse, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse, Url, Uuid,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

/// Seconds a started ceremony may take to finish.
pub const CEREMONY_SECONDS: u64 = 300;

/// Ceremonies held at once; more are refused until some finish or expire.
const MAX_CEREMONIES: usize = 10_000;

/// Most credentials one user may enrol.
const MAX_PER_USER: usize = 10;

/// The `[webauthn]` table as written.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebauthn {
    pub rp_id: String,
    pub origin: String,
    pub credentials_file: PathBuf,
}

impl RawWebauthn {
    /// Validates the table; errors are `(key, message)`.
    pub fn check(&self) -> Result<WebauthnConfig, (&'static str, String)> {
        let c = WebauthnConfig {
            rp_id: self.rp_id.clone(),
            origin: self.origin.clone(),
            credentials_file: self.credentials_file.clone(),
        };
        relying_party(&c)?;
        Ok(c)
    }
}

/// The validated `[webauthn]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebauthnConfig {
    pub rp_id: String,
    pub origin: String,
    pub credentials_file: PathBuf,
}

/// Builds the relying party; errors are `(key, message)`.
pub fn relying_party(c: &WebauthnConfig) -> Result<Webauthn, (&'static str, String)> {
    let origin = Url::parse(&c.origin).map_err(|e| {
        (
            "webauthn.origin",
            format!("{:?} is not a URL ({e})", c.origin),
        )
    })?;
    WebauthnBuilder::new(&c.rp_id, &origin)
        .and_then(|b| b.build())
        .map_err(|e| {
            (
                "webauthn.rp_id",
                format!(
                    "{:?} with origin {:?}: {e} (the id must be the origin's host or a \
                     domain above it)",
                    c.rp_id, c.origin
                ),
            )
        })
}

/// One enrolled credential.
struct Entry {
    user: String,
    handle: Uuid,
    key: Passkey,
}

enum Ceremony {
    Register {
        user: String,
        handle: Uuid,
        state: PasskeyRegistration,
    },
    Authenticate {
        user: String,
        state: PasskeyAuthentication,
    },
}

/// Why a ceremony did not succeed; `check()` names it for logs and answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Unknown, expired, another user's, or of the other kind.
    NoCeremony,
    /// The browser's answer does not parse.
    Malformed,
    /// `webauthn-rs` refused the answer (signature, origin, challenge...).
    Rejected,
    NotEnrolled,
    TooMany,
    Busy,
    /// The credentials file cannot be read or written (fail closed).
    Store(String),
}

impl Refusal {
    pub fn check(&self) -> &'static str {
        match self {
            Refusal::NoCeremony => "unknown or expired ceremony",
            Refusal::Malformed => "malformed credential",
            Refusal::Rejected => "credential rejected",
            Refusal::NotEnrolled => "no security key enrolled",
            Refusal::TooMany => "too many security keys",
            Refusal::Busy => "too many ceremonies",
            Refusal::Store(_) => "credentials file",
        }
    }
}

/// The relying party, the credentials and the ceremonies in progress.
pub struct WebauthnStore {
    rp: Webauthn,
    path: PathBuf,
    /// Held while the file is read and rewritten, so that two enrolments
    /// cannot lose one another.
    file: Mutex<()>,
    ceremonies: Mutex<HashMap<String, (u64, Ceremony)>>,
}

fn parse(text: &str, path: &Path) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |what: &str| format!("{}:{}: {what}", path.display(), i + 1);
        let mut parts = line.splitn(3, '\t');
        let (Some(user), Some(handle), Some(json)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected USER<TAB>HANDLE<TAB>CREDENTIAL"));
        };
        if !crate::session::valid_name(user) {
            return Err(bad("invalid user name"));
        }
        let handle = Uuid::parse_str(handle).map_err(|_| bad("bad user handle"))?;
        let key: Passkey = serde_json::from_str(json).map_err(|_| bad("bad credential"))?;
        out.push(Entry {
            user: user.to_owned(),
            handle,
            key,
        });
    }
    Ok(out)
}

fn read(path: &Path) -> Result<Vec<Entry>, String> {
    match std::fs::read_to_string(path) {
        Ok(t) => parse(&t, path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("{}: cannot read: {e}", path.display())),
    }
}

fn write(path: &Path, entries: &[Entry]) -> Result<(), String> {
    let mut text = String::new();
    for e in entries {
        let json = serde_json::to_string(&e.key).map_err(|e| format!("serialising: {e}"))?;
        text.push_str(&format!("{}\t{}\t{json}\n", e.user, e.handle));
    }
    crate::private_file::replace(path, &text)
}

fn random_id() -> String {
    let mut b = [0u8; 24];
    OsRng.fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

impl WebauthnStore {
    /// Builds the relying party and reads the file now (a missing file is
    /// an empty one; a malformed one stops the start).
    pub fn open(c: &WebauthnConfig) -> Result<WebauthnStore, String> {
        let rp = relying_party(c).map_err(|(k, m)| format!("`{k}`: {m}"))?;
        read(&c.credentials_file).map_err(|e| format!("`webauthn.credentials_file`: {e}"))?;
        Ok(WebauthnStore {
            rp,
            path: c.credentials_file.clone(),
            file: Mutex::new(()),
            ceremonies: Mutex::new(HashMap::new()),
        })
    }

    /// True when `user` has a credential. Err: the file cannot be read.
    pub fn enrolled(&self, user: &str) -> Result<bool, String> {
        Ok(read(&self.path)?.iter().any(|e| e.user == user))
    }

    fn hold(&self, ceremony: Ceremony, now: u64) -> Result<String, Refusal> {
        let mut c = self.ceremonies.lock().unwrap_or_else(|p| p.into_inner());
        c.retain(|_, (expires, _)| *expires > now);
        if c.len() >= MAX_CEREMONIES {
            return Err(Refusal::Busy);
        }
        let id = random_id();
        c.insert(id.clone(), (now + CEREMONY_SECONDS, ceremony));
        Ok(id)
    }

    /// The ceremony `id` (gone from the table: each is used once) if it is
    /// `user`'s and still running, with the browser's answer parsed. A
    /// ceremony of another user counts as none, so ids cannot be probed.
    fn take_answer<T: serde::de::DeserializeOwned>(
        &self,
        user: &str,
        id: &str,
        answer: &str,
        now: u64,
    ) -> Result<(Ceremony, T), Refusal> {
        let ceremony = self.take(id, now).ok_or(Refusal::NoCeremony)?;
        let owner = match &ceremony {
            Ceremony::Register { user, .. } | Ceremony::Authenticate { user, .. } => user,
        };
        if owner != user {
            return Err(Refusal::NoCeremony);
        }
        let answer = serde_json::from_str(answer).map_err(|_| Refusal::Malformed)?;
        Ok((ceremony, answer))
    }

    fn take(&self, id: &str, now: u64) -> Option<Ceremony> {
        let mut c = self.ceremonies.lock().unwrap_or_else(|p| p.into_inner());
        match c.remove(id) {
            Some((expires, ceremony)) if expires > now => Some(ceremony),
            _ => None,
        }
    }

    /// Starts enrolling a new credential for `user`: the options for
    /// `navigator.credentials.create` and the ceremony id.
    pub fn start_register(
        &self,
        user: &str,
        now: u64,
    ) -> Result<(CreationChallengeResponse, String), Refusal> {
        let entries = read(&self.path).map_err(Refusal::Store)?;
        let mine: Vec<&Entry> = entries.iter().filter(|e| e.user == user).collect();
        if mine.len() >= MAX_PER_USER {
            return Err(Refusal::TooMany);
        }
        let handle = mine.first().map(|e| e.handle).unwrap_or_else(|| {
            let mut b = [0u8; 16];
            OsRng.fill_bytes(&mut b);
            Uuid::from_bytes(b)
        });
        let exclude = mine.iter().map(|e| e.key.cred_id().clone()).collect();
        let (options, state) = self
            .rp
            .start_passkey_registration(handle, user, user, Some(exclude))
            .map_err(|_| Refusal::Rejected)?;
        let id = self.hold(
            Ceremony::Register {
                user: user.to_owned(),
                handle,
                state,
            },
            now,
        )?;
        Ok((options, id))
    }

    /// Finishes an enrolment of `user` with the browser's answer (JSON).
    pub fn finish_register(
        &self,
        user: &str,
        id: &str,
        answer: &str,
        now: u64,
    ) -> Result<(), Refusal> {
        let (ceremony, answer) =
            self.take_answer::<RegisterPublicKeyCredential>(user, id, answer, now)?;
        let Ceremony::Register { handle, state, .. } = ceremony else {
            return Err(Refusal::NoCeremony);
        };
        let key = self
            .rp
            .finish_passkey_registration(&answer, &state)
            .map_err(|_| Refusal::Rejected)?;
        let _guard = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let mut entries = read(&self.path).map_err(Refusal::Store)?;
        // A credential id belongs to one account only.
        if entries.iter().any(|e| e.key.cred_id() == key.cred_id()) {
            return Err(Refusal::Rejected);
        }
        entries.push(Entry {
            user: user.to_owned(),
            handle,
            key,
        });
        write(&self.path, &entries).map_err(Refusal::Store)
    }

    /// Starts a login of `user` with one of their credentials.
    pub fn start_authenticate(
        &self,
        user: &str,
        now: u64,
    ) -> Result<(RequestChallengeResponse, String), Refusal> {
        let keys: Vec<Passkey> = read(&self.path)
            .map_err(Refusal::Store)?
            .into_iter()
            .filter(|e| e.user == user)
            .map(|e| e.key)
            .collect();
        if keys.is_empty() {
            return Err(Refusal::NotEnrolled);
        }
        let (options, state) = self
            .rp
            .start_passkey_authentication(&keys)
            .map_err(|_| Refusal::Rejected)?;
        let id = self.hold(
            Ceremony::Authenticate {
                user: user.to_owned(),
                state,
            },
            now,
        )?;
        Ok((options, id))
    }

    /// Finishes a login of `user`; on success the credential's counter is
    /// stored.
    pub fn finish_authenticate(
        &self,
        user: &str,
        id: &str,
        answer: &str,
        now: u64,
    ) -> Result<(), Refusal> {
        let (ceremony, answer) = self.take_answer::<PublicKeyCredential>(user, id, answer, now)?;
        let Ceremony::Authenticate { state, .. } = ceremony else {
            return Err(Refusal::NoCeremony);
        };
        let result = self
            .rp
            .finish_passkey_authentication(&answer, &state)
            .map_err(|_| Refusal::Rejected)?;
        let _guard = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let mut entries = read(&self.path).map_err(Refusal::Store)?;
        // A credential removed from the file since the start is no use.
        let Some(entry) = entries
            .iter_mut()
            .find(|e| e.user == user && e.key.cred_id() == result.cred_id())
        else {
            return Err(Refusal::NotEnrolled);
        };
        if entry.key.update_credential(&result) == Some(true) {
            write(&self.path, &entries).map_err(Refusal::Store)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(rp_id: &str, origin: &str) -> WebauthnConfig {
        WebauthnConfig {
            rp_id: rp_id.into(),
            origin: origin.into(),
            credentials_file: PathBuf::from("/nonexistent/webauthn"),
        }
    }

    #[test]
    fn the_relying_party_must_match_the_origin() {
        assert!(relying_party(&config("login.example.org", "https://login.example.org")).is_ok());
        assert!(relying_party(&config("example.org", "https://login.example.org")).is_ok());
        let e = relying_party(&config("other.org", "https://login.example.org")).unwrap_err();
        assert_eq!(e.0, "webauthn.rp_id");
        let e = relying_party(&config("example.org", "not a url")).unwrap_err();
        assert_eq!(e.0, "webauthn.origin");
    }

    #[test]
    fn ceremonies_are_bound_to_their_user_and_used_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = config("localhost", "https://localhost:8443");
        c.credentials_file = dir.path().join("webauthn");
        let s = WebauthnStore::open(&c).unwrap();
        assert!(!s.enrolled("alice").unwrap());
        assert_eq!(
            s.start_authenticate("alice", 1000).unwrap_err(),
            Refusal::NotEnrolled
        );
        let (_, id) = s.start_register("alice", 1000).unwrap();
        assert_eq!(
            s.finish_register("bob", &id, "{}", 1001).unwrap_err(),
            Refusal::NoCeremony
        );
        // Taken by bob's attempt: gone for alice too.
        assert_eq!(
            s.finish_register("alice", &id, "{}", 1001).unwrap_err(),
            Refusal::NoCeremony
        );
        let (_, id) = s.start_register("alice", 1000).unwrap();
        assert_eq!(
            s.finish_register("alice", &id, "{}", 1001).unwrap_err(),
            Refusal::Malformed
        );
        let (_, id) = s.start_register("alice", 1000).unwrap();
        assert_eq!(
            s.finish_register("alice", &id, "{}", 1000 + CEREMONY_SECONDS)
                .unwrap_err(),
            Refusal::NoCeremony
        );
    }

    #[test]
    fn a_malformed_file_names_the_line() {
        let e = parse("alice\tnot-a-uuid\t{}\n", Path::new("/f"))
            .err()
            .unwrap();
        assert_eq!(e, "/f:1: bad user handle");
        let e = parse("alice\n", Path::new("/f")).err().unwrap();
        assert!(e.starts_with("/f:1: expected"), "{e}");
    }
}
