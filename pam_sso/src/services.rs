//! `pam_services=LIST`: the PAM services (the `PAM_SERVICE` item, the name
//! of the file in /etc/pam.d) for which the module takes part at all.
//!
//! The packaged pam-auth-update profile lands in `common-auth`, which
//! `sudo`, `su` and polkit include too. A ticket is something a program
//! running as the user can obtain without knowing the password (from the
//! browser, or by asking the login server with the user's session), so
//! accepting one there would let malware running as the user become root.
//! Hence the default: every service except [`DEFAULT_EXCLUDED`]; a list
//! given names exactly the services that accept tickets (`*`: all).

/// Services that escalate privilege on the user's own request, refused
/// unless named in `pam_services=`.
pub const DEFAULT_EXCLUDED: [&str; 7] = [
    "sudo",
    "sudo-i",
    "su",
    "su-l",
    "runuser",
    "runuser-l",
    "polkit-1",
];

/// Which PAM services the module decides for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PamServices {
    /// No `pam_services=`: every service but [`DEFAULT_EXCLUDED`].
    #[default]
    Default,
    /// `pam_services=*`: every service.
    Every,
    /// `pam_services=a,b`: only these (lower case, as compared).
    Only(Vec<String>),
}

/// Why a PAM service is not one the module decides for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// In [`DEFAULT_EXCLUDED`] and no `pam_services=` given.
    DefaultExcluded,
    /// Not in the `pam_services=` list.
    NotListed,
}

impl Skip {
    /// The reason, for the log line (names the option).
    pub fn reason(self) -> &'static str {
        match self {
            Skip::DefaultExcluded => {
                "excluded by default (privilege escalation); name it in pam_services= to allow it"
            }
            Skip::NotListed => "not in pam_services=",
        }
    }
}

/// Parses the value of `pam_services=`; the error says what is wrong.
pub fn parse(value: &str) -> Result<PamServices, &'static str> {
    if value.is_empty() {
        return Err("empty value");
    }
    if value == "*" {
        return Ok(PamServices::Every);
    }
    let mut list = Vec::new();
    for name in value.split(',') {
        if name.is_empty() {
            return Err("empty service name");
        }
        if name == "*" {
            return Err("'*' stands alone (every service)");
        }
        // A PAM service is the name of a file in /etc/pam.d.
        if name.contains('/') || name.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("invalid character in a service name");
        }
        // Linux-PAM lowercases the service name (pam_start, pam_set_item).
        list.push(name.to_ascii_lowercase());
    }
    Ok(PamServices::Only(list))
}

/// Whether the module decides for the PAM service `service` (the bytes of
/// `PAM_SERVICE`), compared without regard to ASCII case.
pub fn check(services: &PamServices, service: &[u8]) -> Result<(), Skip> {
    let is = |name: &str| name.as_bytes().eq_ignore_ascii_case(service);
    match services {
        PamServices::Every => Ok(()),
        PamServices::Default if DEFAULT_EXCLUDED.iter().any(|n| is(n)) => {
            Err(Skip::DefaultExcluded)
        }
        PamServices::Default => Ok(()),
        PamServices::Only(list) if list.iter().any(|n| is(n)) => Ok(()),
        PamServices::Only(_) => Err(Skip::NotListed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only(names: &[&str]) -> PamServices {
        PamServices::Only(names.iter().map(|n| n.to_string()).collect())
    }

    #[test]
    fn the_default_excludes_privilege_escalation() {
        let d = PamServices::Default;
        for s in DEFAULT_EXCLUDED {
            assert_eq!(check(&d, s.as_bytes()), Err(Skip::DefaultExcluded), "{s}");
        }
        assert_eq!(check(&d, b"SUDO"), Err(Skip::DefaultExcluded));
        for s in ["sshd", "dovecot", "login", "sudoers", "su2", ""] {
            assert_eq!(check(&d, s.as_bytes()), Ok(()), "{s}");
        }
    }

    #[test]
    fn a_list_allows_exactly_its_names() {
        let l = parse("sshd,Sudo").unwrap();
        assert_eq!(l, only(&["sshd", "sudo"]));
        assert_eq!(check(&l, b"sshd"), Ok(()));
        assert_eq!(
            check(&l, b"sudo"),
            Ok(()),
            "named: allowed though excluded by default"
        );
        assert_eq!(check(&l, b"dovecot"), Err(Skip::NotListed));
        assert_eq!(check(&l, b"su"), Err(Skip::NotListed));
        assert_eq!(check(&l, b"\xff"), Err(Skip::NotListed));
    }

    #[test]
    fn a_star_allows_every_service() {
        let e = parse("*").unwrap();
        assert_eq!(e, PamServices::Every);
        for s in ["sudo", "su", "polkit-1", "sshd"] {
            assert_eq!(check(&e, s.as_bytes()), Ok(()), "{s}");
        }
    }

    #[test]
    fn malformed_lists_are_refused() {
        for bad in [
            "", ",", "sshd,", ",sshd", "a,,b", "*,sshd", "sshd,*", "a/b", "a\tb",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reasons_name_the_option() {
        for skip in [Skip::DefaultExcluded, Skip::NotListed] {
            assert!(skip.reason().contains("pam_services="));
        }
    }
}
