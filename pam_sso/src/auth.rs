//! The decision of `pam_sm_authenticate`, free of libpam: load the keys the
//! options name, then judge a (user, password) pair. Unit-tested here, the
//! FFI layer only fetches the inputs and reports the result.

use sso_core::spec::{Problem, SpecError};
use sso_core::{Check, KeyErrorKind, Verifier, MAX_TICKET_LEN};

use crate::log;
use crate::options::Options;

/// The result classes of the module, mapped to Linux-PAM codes in `lib.rs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A valid ticket for this user, service and domain: PAM_SUCCESS.
    Success,
    /// The password is not an acceptable ticket: PAM_AUTH_ERR.
    AuthErr,
    /// A key file cannot be read: PAM_AUTHINFO_UNAVAIL.
    AuthinfoUnavail,
    /// The configuration is unusable (bad options, a malformed or untrusted
    /// key file): PAM_SERVICE_ERR.
    ServiceErr,
}

/// What to return, what to log about it, and what to tell the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub outcome: Outcome,
    pub line: String,
    /// Shown through the conversation as an error message unless the
    /// application passed `PAM_SILENT`: set only when a password that
    /// decoded as a ticket is refused, so an ordinary password meant for a
    /// module below (pam_unix) draws no message.
    pub message: Option<String>,
}

impl Decision {
    fn new(outcome: Outcome, line: String) -> Decision {
        Decision {
            outcome,
            line,
            message: None,
        }
    }

    /// A refusal of something shaped like a ticket, told to the user with
    /// the name of the failed check (the holder of a ticket can read all
    /// its fields, so the check reveals nothing to them).
    fn ticket_refused(line: String, check: &str) -> Decision {
        Decision {
            outcome: Outcome::AuthErr,
            line,
            message: Some(format!("Ticket refused: {check}.")),
        }
    }
}

/// Reads every configured key (all of them must be readable: a key named on
/// the line that silently went missing is an outage to report, not to hide)
/// and builds the verifier, by sso-core's rules ([`sso_core::spec`]). A key
/// file that anyone but root or `trusted_uid` could write is refused as a
/// configuration error (see [`sso_core::file_trust`]).
pub fn load_verifier(options: &Options, trusted_uid: u32) -> Result<Verifier, Decision> {
    options
        .verifier_spec(trusted_uid)
        .verifier()
        .map_err(|errors| match errors.0.first() {
            Some(SpecError {
                problem: Problem::Key(e),
                ..
            }) if matches!(e.kind, KeyErrorKind::NotFound | KeyErrorKind::Unreadable(_)) => {
                Decision::new(
                    Outcome::AuthinfoUnavail,
                    log::key_unavailable(&e.to_string()),
                )
            }
            Some(first) => {
                Decision::new(Outcome::ServiceErr, log::config_error(&first.to_string()))
            }
            None => Decision::new(Outcome::ServiceErr, log::config_error(&errors.to_string())),
        })
}

/// The check that refuses a ticket minted for a browser (one with a nonce).
pub const BROWSER_TICKET: &str = "browser ticket";

/// Judges `password` as a ticket for `user` at time `now`.
pub fn check_password(
    verifier: &Verifier,
    groups: &[String],
    user: &[u8],
    password: &[u8],
    now: u64,
) -> Decision {
    let refuse = |check: &str, fp: Option<&str>| match fp {
        Some(_) => Decision::ticket_refused(log::refused(user, check, fp), check),
        None => Decision::new(Outcome::AuthErr, log::refused(user, check, fp)),
    };
    if password.is_empty() {
        return refuse("empty", None);
    }
    if password.len() > MAX_TICKET_LEN {
        return refuse(sso_core::Error::TooLong.check(), None);
    }
    let Ok(encoded) = std::str::from_utf8(password) else {
        return refuse("password not utf-8", None);
    };
    let check = Check {
        now,
        nonce: None,
        groups,
    };
    match verifier.verify(encoded, &check) {
        Ok(ticket) => {
            let fp = sso_core::ticket_fingerprint(encoded);
            // A nonce is put in only by the login server's browser flow: such
            // a ticket travels in an `sso_login?t=` URL (browser history,
            // proxy and server logs, Referer), and one that leaked must not
            // work as the user's ssh or sudo password. Programs get tickets
            // without one (ssotool, the token exchange, realms).
            if sso_core::flow::is_browser_ticket(&ticket) {
                return refuse(BROWSER_TICKET, Some(&fp));
            }
            if ticket.user.as_bytes() == user {
                Decision::new(Outcome::Success, log::accepted(user, &fp, ticket.expires))
            } else {
                Decision::ticket_refused(
                    log::user_mismatch(user, &ticket.user, &fp),
                    "user mismatch",
                )
            }
        }
        Err(e) => {
            // Only something shaped like a ticket gets a fingerprint: for an
            // ordinary password it would be an unsalted hash of it.
            let fp = sso_core::decode_unverified(encoded)
                .ok()
                .map(|_| sso_core::ticket_fingerprint(encoded));
            refuse(e.check(), fp.as_deref())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options;
    use sso_core::file_trust;
    use sso_core::{keys::write_public_key, KeyFormat, SecretKey, Signer, Ticket};

    struct Fixture {
        _dir: tempfile::TempDir,
        key_path: String,
        signer: Signer,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let sk = SecretKey::generate();
        let key_path = dir.path().join("public.key");
        write_public_key(&key_path, &sk.public_key(), KeyFormat::Raw, false).unwrap();
        Fixture {
            key_path: key_path.to_str().unwrap().to_owned(),
            _dir: dir,
            signer: Signer::new(sk),
        }
    }

    fn opts(f: &Fixture, extra: &[&str]) -> Options {
        let key = format!("key={}", f.key_path);
        let mut args = vec![
            key.as_str(),
            "domain=example.org",
            "service=imap.example.org/",
        ];
        args.extend_from_slice(extra);
        options::parse(&args).unwrap()
    }

    fn ticket(
        f: &Fixture,
        user: &str,
        service: &str,
        domain: &str,
        expires: u64,
        groups: &[&str],
    ) -> String {
        let mut t = Ticket::new(user, service, domain, expires);
        t.groups = groups.iter().map(|g| g.to_string()).collect();
        f.signer.sign(&t).unwrap()
    }

    const NOW: u64 = 1_900_000_000;

    /// alice's ticket for the test service, signed by `f`'s key, good
    /// for a minute.
    fn alices(f: &Fixture) -> String {
        ticket(
            f,
            "alice",
            "imap.example.org/",
            "example.org",
            NOW + 60,
            &[],
        )
    }

    fn judge(o: &Options, user: &str, password: &[u8]) -> Decision {
        let v = load_verifier(o, file_trust::effective_uid()).unwrap();
        check_password(&v, &o.groups, user.as_bytes(), password, NOW)
    }

    #[test]
    fn valid_ticket_is_accepted() {
        let f = fixture();
        let o = opts(&f, &[]);
        let t = alices(&f);
        let d = judge(&o, "alice", t.as_bytes());
        assert_eq!(d.outcome, Outcome::Success);
        assert_eq!(d.message, None);
        assert!(!d.line.contains(&t));
        assert!(d.line.contains(&sso_core::ticket_fingerprint(&t)));
    }

    #[test]
    fn refusals_name_the_check() {
        let f = fixture();
        let o = opts(&f, &[]);
        let cases = [
            (
                ticket(&f, "bob", "imap.example.org/", "example.org", NOW + 60, &[]),
                "user mismatch",
            ),
            (
                ticket(
                    &f,
                    "alice",
                    "imap.example.org/",
                    "example.org",
                    NOW - 1,
                    &[],
                ),
                "expired",
            ),
            (
                ticket(
                    &f,
                    "alice",
                    "other.example.org/",
                    "example.org",
                    NOW + 60,
                    &[],
                ),
                "wrong service",
            ),
            (
                ticket(
                    &f,
                    "alice",
                    "imap.example.org/",
                    "example.com",
                    NOW + 60,
                    &[],
                ),
                "wrong domain",
            ),
        ];
        for (t, check) in cases {
            let d = judge(&o, "alice", t.as_bytes());
            assert_eq!(d.outcome, Outcome::AuthErr, "{check}");
            assert!(d.line.contains(&format!("check=\"{check}\"")), "{}", d.line);
            assert!(d.line.contains(" ticket="), "{}", d.line);
            assert!(!d.line.contains(&t));
            assert_eq!(d.message, Some(format!("Ticket refused: {check}.")));
        }
    }

    #[test]
    fn browser_tickets_are_refused() {
        let f = fixture();
        let o = opts(&f, &[]);
        let mut t = Ticket::new("alice", "imap.example.org/", "example.org", NOW + 60);
        t.nonce = Some("0123456789abcdef0123456789abcdef".into());
        let browser = f.signer.sign(&t).unwrap();
        let d = judge(&o, "alice", browser.as_bytes());
        assert_eq!(d.outcome, Outcome::AuthErr);
        let fp = sso_core::ticket_fingerprint(&browser);
        assert_eq!(
            d.line,
            format!("refused user=\"alice\" check=\"browser ticket\" ticket={fp}")
        );
        // An empty nonce field is no nonce: a program's v4 ticket.
        t.nonce = Some(String::new());
        let program = f.signer.sign(&t).unwrap();
        assert_eq!(
            judge(&o, "alice", program.as_bytes()).outcome,
            Outcome::Success
        );
    }

    #[test]
    fn forged_ticket_is_refused() {
        let f = fixture();
        let other = fixture();
        let o = opts(&f, &[]);
        let t = alices(&other);
        let d = judge(&o, "alice", t.as_bytes());
        assert_eq!(d.outcome, Outcome::AuthErr);
        assert!(d.line.contains("bad signature"), "{}", d.line);
    }

    #[test]
    fn second_key_verifies_during_rotation() {
        let f = fixture();
        let old = fixture();
        let o = opts(&f, &[&format!("key={}", old.key_path)]);
        let t = alices(&old);
        assert_eq!(judge(&o, "alice", t.as_bytes()).outcome, Outcome::Success);
    }

    #[test]
    fn groups_and_clock_skew() {
        let f = fixture();
        let o = opts(&f, &["groups=mail,staff", "clock_skew=30"]);
        let member = ticket(
            &f,
            "alice",
            "imap.example.org/",
            "example.org",
            NOW - 10,
            &["staff"],
        );
        assert_eq!(
            judge(&o, "alice", member.as_bytes()).outcome,
            Outcome::Success
        );
        let outsider = ticket(
            &f,
            "alice",
            "imap.example.org/",
            "example.org",
            NOW + 60,
            &["web"],
        );
        let d = judge(&o, "alice", outsider.as_bytes());
        assert_eq!(d.outcome, Outcome::AuthErr);
        assert!(d.line.contains("missing group"));
        let stale = ticket(
            &f,
            "alice",
            "imap.example.org/",
            "example.org",
            NOW - 31,
            &["staff"],
        );
        assert_eq!(
            judge(&o, "alice", stale.as_bytes()).outcome,
            Outcome::AuthErr
        );
    }

    #[test]
    fn passwords_that_are_not_tickets_are_not_fingerprinted() {
        let f = fixture();
        let o = opts(&f, &[]);
        for (pw, check) in [
            (&b""[..], "empty"),
            // Refused before any decoding: no copy of it is made.
            (&b"hunter2"[..], "too short"),
            (&b"correct horse battery staple"[..], "bad encoding"),
            (&b"\xff\xfe"[..], "password not utf-8"),
        ] {
            let d = judge(&o, "alice", pw);
            assert_eq!(d.outcome, Outcome::AuthErr);
            assert_eq!(d.line, format!("refused user=\"alice\" check=\"{check}\""));
            assert_eq!(d.message, None, "no message for an ordinary password");
        }
        let big = vec![b'A'; 10 * 1024];
        let d = judge(&o, "alice", &big);
        assert_eq!(d.line, "refused user=\"alice\" check=\"too long\"");
    }

    #[test]
    fn key_problems() {
        let f = fixture();
        let mut o = opts(&f, &[]);
        o.keys.push("/nonexistent/pam_sso/public.key".into());
        let e = load_verifier(&o, file_trust::effective_uid()).unwrap_err();
        assert_eq!(e.outcome, Outcome::AuthinfoUnavail);
        assert!(
            e.line.contains("/nonexistent/pam_sso/public.key"),
            "{}",
            e.line
        );

        let bad = f._dir.path().join("bad.key");
        std::fs::write(&bad, b"not a key").unwrap();
        o.keys = vec![bad];
        assert_eq!(
            load_verifier(&o, file_trust::effective_uid())
                .unwrap_err()
                .outcome,
            Outcome::ServiceErr
        );
    }

    #[test]
    fn pinned_keys_sign_only_for_their_services() {
        let f = fixture();
        let t = alices(&f);
        let here = opts(&f, &["services=imap\\.example\\.org/"]);
        assert_eq!(
            judge(&here, "alice", t.as_bytes()).outcome,
            Outcome::Success
        );
        // Pinned elsewhere, beside an unrelated unpinned key: bad signature.
        let other = fixture();
        let elsewhere_key = format!("key={}", other.key_path);
        let mut elsewhere = opts(&f, &["services=smtp\\.example\\.org/", &elsewhere_key]);
        let d = judge(&elsewhere, "alice", t.as_bytes());
        assert_eq!(d.outcome, Outcome::AuthErr);
        assert!(d.line.contains("bad signature"), "{}", d.line);
        // Every key pinned elsewhere: the configuration is unusable.
        elsewhere.keys.pop();
        let e = load_verifier(&elsewhere, file_trust::effective_uid()).unwrap_err();
        assert_eq!(e.outcome, Outcome::ServiceErr);
        assert!(e.line.contains("pinned to other services"), "{}", e.line);
    }

    #[test]
    fn a_writable_key_file_is_refused_by_name() {
        use std::os::unix::fs::PermissionsExt;
        let f = fixture();
        let o = opts(&f, &[]);
        let mode = |m| std::fs::Permissions::from_mode(m);
        std::fs::set_permissions(&f.key_path, mode(0o646)).unwrap();
        let e = load_verifier(&o, file_trust::effective_uid()).unwrap_err();
        assert_eq!(e.outcome, Outcome::ServiceErr);
        assert_eq!(
            e.line,
            format!(
                "configuration error: {}: refused: is writable by others (mode 0646); \
                 run chmod go-w on it",
                f.key_path
            )
        );
        std::fs::set_permissions(&f.key_path, mode(0o644)).unwrap();
        assert!(load_verifier(&o, file_trust::effective_uid()).is_ok());
    }
}
