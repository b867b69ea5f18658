//! The forced command of a realm key: `ssotool realm issue REALM USER`, run
//! by sshd as the realm account. It prints one ticket for USER (baked into
//! the `authorized_keys` line) for the service the client asked for in the
//! ssh command line (`SSH_ORIGINAL_COMMAND`), if the realm allows it, else
//! for the realm's default service.

use std::path::Path;

use sso_core::{ticket_fingerprint, Signer, Ticket};

use sso_client::fsutil::effective_uid;
use sso_client::names::{check_realm_name, check_user_name, shorten};
use sso_core::web::ServiceName;

use crate::admin::RealmAdmin;
use crate::error::{InvalidName, RealmError};
use crate::settings::RealmSettings;

/// A ticket printed by the forced command, and what may be logged of it.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The wire form (never logged).
    pub ticket: String,
    pub user: String,
    pub service: String,
    pub expires: u64,
    /// [`sso_core::ticket_fingerprint`] of the ticket: safe to log.
    pub fingerprint: String,
}

/// Why no ticket was issued: one line, safe to log (a refused command is
/// not repeated, as it may hold anything).
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error(transparent)]
    Name(#[from] InvalidName),
    #[error(transparent)]
    Realm(#[from] RealmError),
    #[error(
        "refused: realm {0} only answers `ssh -T {0}@HOST [SERVICE]`; the requested command is \
         not a service name"
    )]
    NotAService(String),
    #[error("refused: service {service} is not allowed in realm {realm} (allowed: {allowed})")]
    ServiceNotAllowed {
        /// Shortened: it comes from the client.
        service: String,
        realm: String,
        allowed: String,
    },
    #[error("refused: only the account {0} issues tickets of realm {0}")]
    NotTheRealmAccount(String),
    #[error("refused: user {user} is not in realm {realm}")]
    UnknownUser { realm: String, user: String },
    #[error("cannot use the secret key of realm {realm}: {error}")]
    SecretKey {
        realm: String,
        error: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("refused: the clock is out of range")]
    ClockOutOfRange,
    #[error("cannot sign the ticket: {0}")]
    Sign(sso_core::Error),
}

/// The service to issue for: the realm default when the client sent no
/// command, the requested one if it is a single allowed service name.
/// Errors are one line, safe to log (a refused command is not repeated, as
/// it may hold anything).
pub fn choose_service(
    settings: &RealmSettings,
    original_command: Option<&str>,
) -> Result<String, IssueError> {
    let requested = original_command.map(str::trim).unwrap_or("");
    if requested.is_empty() {
        return Ok(settings.default_service().to_owned());
    }
    if ServiceName::parse(requested).is_err() {
        return Err(IssueError::NotAService(settings.name.clone()));
    }
    if !settings.services.iter().any(|s| s == requested) {
        return Err(IssueError::ServiceNotAllowed {
            service: shorten(requested),
            realm: settings.name.clone(),
            allowed: settings.services.join(" "),
        });
    }
    Ok(requested.to_owned())
}

/// Issues a ticket for `user` of `realm` at time `now`. Every error is a
/// one-line reason that holds no secret.
pub fn issue(
    admin: &RealmAdmin,
    realm: &str,
    user: &str,
    original_command: Option<&str>,
    now: u64,
) -> Result<Issued, IssueError> {
    check_realm_name(realm).map_err(InvalidName)?;
    check_user_name(user).map_err(InvalidName)?;
    let settings = admin.load_settings(realm)?;
    let acct = admin.realm_account(realm)?;
    let euid = effective_uid();
    if euid != acct.uid && euid != 0 {
        return Err(IssueError::NotTheRealmAccount(realm.to_owned()));
    }
    // The users file, not only authorized_keys, decides: a user removed
    // while an old authorized_keys is still in place gets nothing.
    let users = admin.load_users(realm)?;
    let entry = users
        .iter()
        .find(|u| u.user == user)
        .ok_or_else(|| IssueError::UnknownUser {
            realm: realm.to_owned(),
            user: user.to_owned(),
        })?;
    let service = choose_service(&settings, original_command)?;
    // Only a key that is the realm account's own and nobody else's signs:
    // a key given to another owner (or opened to others) is a damaged
    // realm, and the message names the `realm sync` that repairs it.
    admin
        .check_secret_key_file(realm, &acct)
        .map_err(|e| IssueError::SecretKey {
            realm: realm.to_owned(),
            error: e.into(),
        })?;
    let secret_path = admin.secret_key_path(realm);
    let signer = load_signer(&secret_path, realm)?;
    let expires = now
        .checked_add(settings.ttl)
        .ok_or(IssueError::ClockOutOfRange)?;
    let mut ticket = Ticket::new(user, &service, &settings.domain, expires);
    ticket.groups = entry.groups.clone();
    let encoded = signer.sign(&ticket).map_err(IssueError::Sign)?;
    Ok(Issued {
        fingerprint: ticket_fingerprint(&encoded),
        ticket: encoded,
        user: user.to_owned(),
        service,
        expires,
    })
}

fn load_signer(path: &Path, realm: &str) -> Result<Signer, IssueError> {
    Signer::from_file(path).map_err(|e| IssueError::SecretKey {
        realm: realm.to_owned(),
        error: e.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::example_settings;

    #[test]
    fn default_and_requested_services() {
        let s = example_settings();
        assert_eq!(choose_service(&s, None).unwrap(), "api.example.org/");
        assert_eq!(choose_service(&s, Some("")).unwrap(), "api.example.org/");
        assert_eq!(choose_service(&s, Some("  ")).unwrap(), "api.example.org/");
        assert_eq!(
            choose_service(&s, Some("wiki.example.org/")).unwrap(),
            "wiki.example.org/"
        );
        assert_eq!(
            choose_service(&s, Some(" wiki.example.org/\n")).unwrap(),
            "wiki.example.org/"
        );
    }

    #[test]
    fn refuses_other_services_and_commands() {
        let s = example_settings();
        let err = choose_service(&s, Some("evil.example.org/"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not allowed in realm api"), "{err}");
        for cmd in [
            "/bin/sh",
            "ls -la",
            "cat /etc/shadow",
            "api.example.org/ x",
            "a;b/",
            "scp -f x",
        ] {
            let err = choose_service(&s, Some(cmd)).unwrap_err().to_string();
            assert!(err.contains("not a service name"), "{cmd}: {err}");
            assert!(!err.contains(cmd), "the command is not echoed: {err}");
        }
    }
}
