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

/// The service to issue for: the realm default when the client sent no
/// command, the requested one if it is a single allowed service name.
/// Errors are one line, safe to log (a refused command is not repeated, as
/// it may hold anything).
pub fn choose_service(
    settings: &RealmSettings,
    original_command: Option<&str>,
) -> Result<String, String> {
    let requested = original_command.map(str::trim).unwrap_or("");
    if requested.is_empty() {
        return Ok(settings.default_service().to_owned());
    }
    if ServiceName::parse(requested).is_err() {
        return Err(format!(
            "refused: realm {} only answers `ssh -T {}@HOST [SERVICE]`; the requested command is \
             not a service name",
            settings.name, settings.name
        ));
    }
    if !settings.services.iter().any(|s| s == requested) {
        return Err(format!(
            "refused: service {} is not allowed in realm {} (allowed: {})",
            shorten(requested),
            settings.name,
            settings.services.join(" ")
        ));
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
) -> Result<Issued, String> {
    check_realm_name(realm)?;
    check_user_name(user)?;
    let settings = admin.load_settings(realm).map_err(|e| e.to_string())?;
    let acct = admin.realm_account(realm).map_err(|e| e.to_string())?;
    let euid = effective_uid();
    if euid != acct.uid && euid != 0 {
        return Err(format!(
            "refused: only the account {realm} issues tickets of realm {realm}"
        ));
    }
    // The users file, not only authorized_keys, decides: a user removed
    // while an old authorized_keys is still in place gets nothing.
    let users = admin.load_users(realm).map_err(|e| e.to_string())?;
    let entry = users
        .iter()
        .find(|u| u.user == user)
        .ok_or_else(|| format!("refused: user {user} is not in realm {realm}"))?;
    let service = choose_service(&settings, original_command)?;
    // Only a key that is the realm account's own and nobody else's signs:
    // a key given to another owner (or opened to others) is a damaged
    // realm, and the message names the `realm sync` that repairs it.
    admin
        .check_secret_key_file(realm, &acct)
        .map_err(|e| format!("cannot use the secret key of realm {realm}: {e}"))?;
    let secret_path = admin.secret_key_path(realm);
    let signer = load_signer(&secret_path, realm)?;
    let expires = now
        .checked_add(settings.ttl)
        .ok_or("refused: the clock is out of range")?;
    let mut ticket = Ticket::new(user, &service, &settings.domain, expires);
    ticket.groups = entry.groups.clone();
    let encoded = signer
        .sign(&ticket)
        .map_err(|e| format!("cannot sign the ticket: {e}"))?;
    Ok(Issued {
        fingerprint: ticket_fingerprint(&encoded),
        ticket: encoded,
        user: user.to_owned(),
        service,
        expires,
    })
}

fn load_signer(path: &Path, realm: &str) -> Result<Signer, String> {
    Signer::from_file(path).map_err(|e| format!("cannot use the secret key of realm {realm}: {e}"))
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
        let err = choose_service(&s, Some("evil.example.org/")).unwrap_err();
        assert!(err.contains("not allowed in realm api"), "{err}");
        for cmd in [
            "/bin/sh",
            "ls -la",
            "cat /etc/shadow",
            "api.example.org/ x",
            "a;b/",
            "scp -f x",
        ] {
            let err = choose_service(&s, Some(cmd)).unwrap_err();
            assert!(err.contains("not a service name"), "{cmd}: {err}");
            assert!(!err.contains(cmd), "the command is not echoed: {err}");
        }
    }
}
