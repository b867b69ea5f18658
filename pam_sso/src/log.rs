//! The text of every log line, built by pure functions so that the format is
//! fixed and tested: the host only ever sees `pam_syslog(h, prio, "%s", line)`.
//!
//! Values that come from users (the PAM user name, a ticket's user) are
//! escaped and cut; a ticket is identified only by
//! [`sso_core::ticket_fingerprint`], and only when the password decoded as a
//! ticket: the fingerprint of an ordinary password (stacked `pam_unix` after
//! us) would be an unsalted hash of it.

use std::fmt::Write;

/// Longest user-supplied value quoted in a log line, in bytes of input.
const MAX_LOGGED_VALUE: usize = 64;

/// Printable ASCII stays, `"` and `\` and everything else become `\xNN`,
/// and anything past [`MAX_LOGGED_VALUE`] bytes becomes `...`.
pub fn sanitize(value: &str) -> String {
    sanitize_bytes(value.as_bytes())
}

pub fn sanitize_bytes(value: &[u8]) -> String {
    let mut out = String::with_capacity(value.len().min(MAX_LOGGED_VALUE) + 3);
    for &b in value.iter().take(MAX_LOGGED_VALUE) {
        if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
            out.push(b as char);
        } else {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    if value.len() > MAX_LOGGED_VALUE {
        out.push_str("...");
    }
    out
}

/// A ticket was accepted.
pub fn accepted(user: &[u8], fingerprint: &str, expires: u64) -> String {
    format!(
        "accepted user=\"{}\" ticket={fingerprint} expires={expires}",
        sanitize_bytes(user)
    )
}

/// A password was refused; `check` is a fixed, short name of the failed
/// check ([`sso_core::Error::check`] or one of this module's own).
pub fn refused(user: &[u8], check: &str, fingerprint: Option<&str>) -> String {
    let mut line = format!(
        "refused user=\"{}\" check=\"{check}\"",
        sanitize_bytes(user)
    );
    if let Some(fp) = fingerprint {
        let _ = write!(line, " ticket={fp}");
    }
    line
}

/// An authentic ticket for someone else.
pub fn user_mismatch(user: &[u8], ticket_user: &str, fingerprint: &str) -> String {
    format!(
        "refused user=\"{}\" check=\"user mismatch\" ticket_user=\"{}\" ticket={fingerprint}",
        sanitize_bytes(user),
        sanitize(ticket_user)
    )
}

/// The module line is unusable (PAM_SERVICE_ERR).
pub fn config_error(what: &str) -> String {
    format!("configuration error: {what}")
}

/// A key file cannot be read (PAM_AUTHINFO_UNAVAIL).
pub fn key_unavailable(what: &str) -> String {
    format!("key unavailable: {what}")
}

/// The password could not be obtained (conversation or item failure).
pub fn no_password(user: &[u8], what: &str) -> String {
    format!(
        "no password user=\"{}\" reason=\"{what}\"",
        sanitize_bytes(user)
    )
}

/// pam_get_user failed with this Linux-PAM code.
pub fn no_user(code: i32) -> String {
    format!("no user: pam_get_user returned {code}")
}

/// The PAM service is not one the module decides for (`pam_services=`):
/// the module answered PAM_IGNORE without asking anything.
pub fn ignored(pam_service: &[u8], reason: &str) -> String {
    format!(
        "ignored pam_service=\"{}\" reason=\"{reason}\"",
        sanitize_bytes(pam_service)
    )
}

/// libpam gave no `PAM_SERVICE` item (it always sets one in pam_start).
pub fn no_pam_service() -> String {
    "no service: pam_get_item(PAM_SERVICE) failed".to_owned()
}

/// The `pam_services=` setting, for the debug line.
pub fn pam_services(services: &crate::services::PamServices) -> String {
    use crate::services::PamServices;
    match services {
        PamServices::Default => "(default: all but su, sudo, runuser, polkit)".to_owned(),
        PamServices::Every => "*".to_owned(),
        PamServices::Only(list) => sanitize(&list.join(",")),
    }
}

/// `debug` lines: fixed prefix, free text built only from configuration.
pub fn debug(what: &str) -> String {
    format!("debug: {what}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_escapes_and_cuts() {
        assert_eq!(sanitize("alice"), "alice");
        assert_eq!(sanitize("a\"b\\c\n"), "a\\x22b\\x5cc\\x0a");
        assert_eq!(sanitize("é"), "\\xc3\\xa9");
        assert_eq!(sanitize_bytes(b"\xff"), "\\xff");
        let long = "x".repeat(100);
        assert_eq!(sanitize(&long), format!("{}...", "x".repeat(64)));
    }

    #[test]
    fn fixed_formats() {
        assert_eq!(
            accepted(b"alice", "0011223344556677", 42),
            "accepted user=\"alice\" ticket=0011223344556677 expires=42"
        );
        assert_eq!(
            refused(b"bob", "expired", Some("ab")),
            "refused user=\"bob\" check=\"expired\" ticket=ab"
        );
        assert_eq!(
            refused(b"bob", "empty", None),
            "refused user=\"bob\" check=\"empty\""
        );
        assert_eq!(
            user_mismatch(b"bob", "mallory\n", "ff"),
            "refused user=\"bob\" check=\"user mismatch\" ticket_user=\"mallory\\x0a\" ticket=ff"
        );
        assert_eq!(config_error("x"), "configuration error: x");
        assert_eq!(key_unavailable("y"), "key unavailable: y");
        assert_eq!(
            ignored(b"sudo", "not in pam_services="),
            "ignored pam_service=\"sudo\" reason=\"not in pam_services=\""
        );
        assert_eq!(
            ignored(b"a\"b", "r"),
            "ignored pam_service=\"a\\x22b\" reason=\"r\""
        );
    }

    #[test]
    fn a_user_name_cannot_forge_fields() {
        let line = refused(b"x\" check=\"ok", "bad signature", None);
        assert_eq!(line.matches('"').count(), 4, "{line}");
    }
}
