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
//! rename) when a credential is enrolled or its counter moves. The file
//! must exist: a missing one is an error (at start and reload, or 503 when
//! it goes later), never "no one has a key", which would let every user
//! with a key only through on a password (or, with self-enrolment, let
//! them enrol a new key).
//!
//! A ceremony (the challenge sent to the browser and what checks its answer)
//! is kept in memory (see [`crate::webauthn_ceremonies`]); with several
//! replicas, both halves of a ceremony must reach the same one.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rand_core::{OsRng, RngCore};
use webauthn_rs::prelude::{
    CreationChallengeResponse, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse, Url, Uuid,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

use crate::enrolment_codes::CodeHash;
use crate::private_file::FileError;
use crate::webauthn_ceremonies::Ceremonies;
pub use crate::webauthn_ceremonies::CEREMONY_SECONDS;

/// Most credentials one user may enrol.
const MAX_PER_USER: usize = 10;

/// The `[webauthn]` table as written.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebauthn {
    pub rp_id: String,
    pub origin: String,
    pub credentials_file: PathBuf,
    /// See [`crate::enrolment`]; absent: on only without
    /// `[[second_factor]]` tables.
    pub self_enrolment: Option<bool>,
    /// See [`crate::enrolment_codes`].
    pub enrolment_codes_file: Option<PathBuf>,
}

impl RawWebauthn {
    /// Validates the table (`has_rules`: `[[second_factor]]` tables exist);
    /// errors are `(key, message)`.
    pub fn check(&self, has_rules: bool) -> Result<WebauthnConfig, (&'static str, String)> {
        let c = WebauthnConfig {
            rp_id: self.rp_id.clone(),
            origin: self.origin.clone(),
            credentials_file: self.credentials_file.clone(),
            self_enrolment: crate::enrolment::self_enrolment(self.self_enrolment, has_rules),
            enrolment_codes_file: self.enrolment_codes_file.clone(),
        };
        if c.enrolment_codes_file.as_ref() == Some(&c.credentials_file) {
            return Err((
                "webauthn.enrolment_codes_file",
                "must not be the credentials_file".into(),
            ));
        }
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
    /// Whether a user with no second factor may enrol a key on a password.
    pub self_enrolment: bool,
    pub enrolment_codes_file: Option<PathBuf>,
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
        handle: Uuid,
        state: PasskeyRegistration,
        /// The enrolment code given at the start, spent at the finish.
        code: Option<CodeHash>,
    },
    Authenticate {
        state: PasskeyAuthentication,
    },
}

/// Why a ceremony did not succeed; `check()` names it for logs and answers.
#[derive(Debug, Clone)]
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
    /// A file cannot be read or written (fail closed).
    Store(crate::second_factor::Unavailable),
    /// Enrolment is not allowed (see [`crate::enrolment`]).
    Enrolment(crate::enrolment::Refusal),
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
            Refusal::Enrolment(r) => r.check(),
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
    ceremonies: Ceremonies<Ceremony>,
}

fn parse(text: &str, path: &Path) -> Result<Vec<Entry>, FileError> {
    let mut out = Vec::new();
    for (n, line) in crate::private_file::data_lines(text) {
        let bad = FileError::at(path, n);
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

fn read(path: &Path) -> Result<Vec<Entry>, FileError> {
    let text = std::fs::read_to_string(path).map_err(FileError::io(path, "read"))?;
    parse(&text, path)
}

fn write(path: &Path, entries: &[Entry]) -> Result<(), FileError> {
    let mut text = String::new();
    for e in entries {
        let json =
            serde_json::to_string(&e.key).map_err(|e| FileError::Serialising(e.to_string()))?;
        text.push_str(&format!("{}\t{}\t{json}\n", e.user, e.handle));
    }
    Ok(crate::private_file::replace(path, &text)?)
}

/// Why the WebAuthn store could not be opened; names the key.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// A setting of `[webauthn]` (`key` is its name).
    #[error("`{key}`: {message}")]
    Setting { key: &'static str, message: String },
    #[error(
        "`webauthn.credentials_file`: {0} (the file must exist: create it empty, mode 0600 and \
         owned by the server's user, for a first deployment; copy it on a replica)"
    )]
    Credentials(FileError),
    #[error("`webauthn.enrolment_codes_file`: {0}")]
    EnrolmentCodes(FileError),
}

impl WebauthnStore {
    /// Builds the relying party and reads the files now: a missing or
    /// malformed credentials file, or a malformed codes file, stops the
    /// start (and is refused by a reload).
    pub fn open(c: &WebauthnConfig) -> Result<WebauthnStore, OpenError> {
        let rp = relying_party(c).map_err(|(key, message)| OpenError::Setting { key, message })?;
        read(&c.credentials_file).map_err(OpenError::Credentials)?;
        if let Some(codes) = &c.enrolment_codes_file {
            crate::enrolment_codes::check(codes).map_err(OpenError::EnrolmentCodes)?;
        }
        Ok(WebauthnStore {
            rp,
            path: c.credentials_file.clone(),
            file: Mutex::new(()),
            ceremonies: Ceremonies::default(),
        })
    }

    /// True when `user` has a credential. Err: the file cannot be read.
    pub fn enrolled(&self, user: &str) -> Result<bool, FileError> {
        Ok(read(&self.path)?.iter().any(|e| e.user == user))
    }

    fn hold(&self, user: &str, ceremony: Ceremony, now: u64) -> Result<String, Refusal> {
        self.ceremonies
            .hold(user, ceremony, now)
            .map_err(|_| Refusal::Busy)
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
        let ceremony = self
            .ceremonies
            .take(user, id, now)
            .ok_or(Refusal::NoCeremony)?;
        let answer = serde_json::from_str(answer).map_err(|_| Refusal::Malformed)?;
        Ok((ceremony, answer))
    }

    /// Starts enrolling a new credential for `user`, allowed by the
    /// enrolment code `code` if any (kept with the ceremony for the
    /// finish): the options for `navigator.credentials.create` and the
    /// ceremony id.
    pub fn start_register(
        &self,
        user: &str,
        code: Option<CodeHash>,
        now: u64,
    ) -> Result<(CreationChallengeResponse, String), Refusal> {
        let entries = read(&self.path).map_err(|e| Refusal::Store(e.into()))?;
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
            user,
            Ceremony::Register {
                handle,
                state,
                code,
            },
            now,
        )?;
        Ok((options, id))
    }

    /// Finishes an enrolment of `user` with the browser's answer (JSON).
    /// Once the answer is verified, and before the credential is written,
    /// `authorise` decides again whether the enrolment is allowed, given
    /// the code of the start (and spends it): the rule holds at the
    /// finish, not only at the start.
    pub fn finish_register(
        &self,
        user: &str,
        id: &str,
        answer: &str,
        now: u64,
        authorise: impl FnOnce(Option<&CodeHash>) -> Result<(), Refusal>,
    ) -> Result<(), Refusal> {
        let (ceremony, answer) =
            self.take_answer::<RegisterPublicKeyCredential>(user, id, answer, now)?;
        let Ceremony::Register {
            handle,
            state,
            code,
        } = ceremony
        else {
            return Err(Refusal::NoCeremony);
        };
        let key = self
            .rp
            .finish_passkey_registration(&answer, &state)
            .map_err(|_| Refusal::Rejected)?;
        let _guard = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let mut entries = read(&self.path).map_err(|e| Refusal::Store(e.into()))?;
        // A credential id belongs to one account only.
        if entries.iter().any(|e| e.key.cred_id() == key.cred_id()) {
            return Err(Refusal::Rejected);
        }
        authorise(code.as_ref())?;
        entries.push(Entry {
            user: user.to_owned(),
            handle,
            key,
        });
        write(&self.path, &entries).map_err(|e| Refusal::Store(e.into()))
    }

    /// Starts a login of `user` with one of their credentials.
    pub fn start_authenticate(
        &self,
        user: &str,
        now: u64,
    ) -> Result<(RequestChallengeResponse, String), Refusal> {
        let keys: Vec<Passkey> = read(&self.path)
            .map_err(|e| Refusal::Store(e.into()))?
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
        let id = self.hold(user, Ceremony::Authenticate { state }, now)?;
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
        let mut entries = read(&self.path).map_err(|e| Refusal::Store(e.into()))?;
        // A credential removed from the file since the start is no use.
        let Some(entry) = entries
            .iter_mut()
            .find(|e| e.user == user && e.key.cred_id() == result.cred_id())
        else {
            return Err(Refusal::NotEnrolled);
        };
        if entry.key.update_credential(&result) == Some(true) {
            write(&self.path, &entries).map_err(|e| Refusal::Store(e.into()))?;
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
            self_enrolment: false,
            enrolment_codes_file: None,
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
        std::fs::write(&c.credentials_file, "").unwrap();
        let s = WebauthnStore::open(&c).unwrap();
        let allow = |_: Option<&CodeHash>| Ok(());
        assert!(!s.enrolled("alice").unwrap());
        assert!(matches!(
            s.start_authenticate("alice", 1000).unwrap_err(),
            Refusal::NotEnrolled
        ));
        let (_, id) = s.start_register("alice", None, 1000).unwrap();
        assert!(matches!(
            s.finish_register("bob", &id, "{}", 1001, allow)
                .unwrap_err(),
            Refusal::NoCeremony
        ));
        // Taken by bob's attempt: gone for alice too.
        assert!(matches!(
            s.finish_register("alice", &id, "{}", 1001, allow)
                .unwrap_err(),
            Refusal::NoCeremony
        ));
        let (_, id) = s.start_register("alice", None, 1000).unwrap();
        assert!(matches!(
            s.finish_register("alice", &id, "{}", 1001, allow)
                .unwrap_err(),
            Refusal::Malformed
        ));
        let (_, id) = s.start_register("alice", None, 1000).unwrap();
        assert!(matches!(
            s.finish_register("alice", &id, "{}", 1000 + CEREMONY_SECONDS, allow)
                .unwrap_err(),
            Refusal::NoCeremony
        ));
    }

    #[test]
    fn self_enrolment_is_off_under_rules_unless_written() {
        let raw = |self_enrolment, codes: Option<&str>| RawWebauthn {
            rp_id: "localhost".into(),
            origin: "https://localhost".into(),
            credentials_file: "/var/lib/sso-server/webauthn".into(),
            self_enrolment,
            enrolment_codes_file: codes.map(PathBuf::from),
        };
        assert!(!raw(None, None).check(true).unwrap().self_enrolment);
        assert!(raw(None, None).check(false).unwrap().self_enrolment);
        assert!(raw(Some(true), None).check(true).unwrap().self_enrolment);
        let e = raw(None, Some("/var/lib/sso-server/webauthn"))
            .check(true)
            .unwrap_err();
        assert_eq!(e.0, "webauthn.enrolment_codes_file");
    }

    #[test]
    fn a_missing_credentials_file_is_an_error_not_an_empty_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = config("localhost", "https://localhost:8443");
        c.credentials_file = dir.path().join("webauthn");
        let e = WebauthnStore::open(&c).err().unwrap().to_string();
        assert!(e.starts_with("`webauthn.credentials_file`: "), "{e}");
        std::fs::write(&c.credentials_file, "").unwrap();
        let s = WebauthnStore::open(&c).unwrap();
        assert!(!s.enrolled("alice").unwrap());
        std::fs::remove_file(&c.credentials_file).unwrap();
        assert!(s.enrolled("alice").is_err());
        assert!(matches!(
            s.start_authenticate("alice", 1000),
            Err(Refusal::Store(_))
        ));
        assert!(matches!(
            s.start_register("alice", None, 1000),
            Err(Refusal::Store(_))
        ));
    }

    #[test]
    fn a_malformed_file_names_the_line() {
        let e = parse("alice\tnot-a-uuid\t{}\n", Path::new("/f"))
            .err()
            .unwrap()
            .to_string();
        assert_eq!(e, "/f:1: bad user handle");
        let e = parse("alice\n", Path::new("/f")).err().unwrap().to_string();
        assert!(e.starts_with("/f:1: expected"), "{e}");
    }
}
