//! Validation of every name that ends up in a file, a command line of
//! `useradd`, an `authorized_keys` forced command or a ticket field.
//!
//! The seed system built shell strings from these names; here nothing goes
//! through a shell, and still every name is held to a small alphabet so that
//! it can be written into `authorized_keys` and tickets without escaping.

/// Longest realm (system account) name; `useradd` allows 32.
pub const MAX_REALM_LEN: usize = 32;
/// Longest ticket user or group name.
pub const MAX_USER_LEN: usize = 64;
/// Longest domain.
pub const MAX_DOMAIN_LEN: usize = 253;

/// A realm name is a system account name: `[a-z_][a-z0-9_-]*`, at most 32.
pub fn check_realm_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = matches!(chars.next(), Some('a'..='z' | '_'));
    let rest_ok = chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_' | '-'));
    if name.is_empty() || name.len() > MAX_REALM_LEN || !first_ok || !rest_ok {
        return Err(format!(
            "invalid realm name {:?}: use 1 to {MAX_REALM_LEN} characters of a-z, 0-9, `_` \
             and `-`, starting with a letter or `_`",
            shorten(name)
        ));
    }
    Ok(())
}

fn is_user_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '+' | '-')
}

/// A ticket user: 1 to 64 characters of `A-Z a-z 0-9 . _ @ + -`, not
/// starting with `-` (no `|`, `,`, quotes or whitespace).
pub fn check_user_name(user: &str) -> Result<(), String> {
    if user.is_empty()
        || user.len() > MAX_USER_LEN
        || user.starts_with('-')
        || !user.chars().all(is_user_char)
    {
        return Err(format!(
            "invalid user name {:?}: use 1 to {MAX_USER_LEN} characters of A-Z, a-z, 0-9, \
             `.`, `_`, `@`, `+` and `-`, not starting with `-`",
            shorten(user)
        ));
    }
    Ok(())
}

/// A group name: the same alphabet as a user name.
pub fn check_group_name(group: &str) -> Result<(), String> {
    check_user_name(group).map_err(|_| {
        format!(
            "invalid group name {:?}: use 1 to {MAX_USER_LEN} characters of A-Z, a-z, 0-9, \
             `.`, `_`, `@`, `+` and `-`",
            shorten(group)
        )
    })
}

/// A service name, checked by [`sso_core::web::ServiceName`] (the one
/// service-name type of the system), that also goes into an ssh command
/// line. The realm's forced command reads it from `SSH_ORIGINAL_COMMAND`,
/// but a destination that is by mistake an ordinary account hands it to a
/// shell: so only characters that a POSIX shell reads literally pass
/// (`A-Z a-z 0-9 . - _ ~ : / + =`).
pub fn check_service_argument(service: &str) -> Result<(), String> {
    sso_core::web::ServiceName::parse(service)
        .map_err(|why| format!("invalid service name {:?}: {why}", shorten(service)))?;
    if !service.chars().all(|c| {
        c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '~' | ':' | '/' | '+' | '=')
    }) {
        return Err(format!(
            "service name {:?} cannot go on an ssh command line: use A-Z, a-z, 0-9, `.`, `-`, \
             `_`, `~`, `:`, `/`, `+` and `=`",
            shorten(service)
        ));
    }
    Ok(())
}

/// A domain: 1 to 253 characters of `A-Z a-z 0-9 . - _`.
pub fn check_domain(domain: &str) -> Result<(), String> {
    let ok = !domain.is_empty()
        && domain.len() <= MAX_DOMAIN_LEN
        && domain.starts_with(|c: char| c.is_ascii_alphanumeric())
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !ok {
        return Err(format!(
            "invalid domain {:?}: use A-Z, a-z, 0-9, `.`, `-` and `_`",
            shorten(domain)
        ));
    }
    Ok(())
}

/// A path that may be written unquoted-safe into an `authorized_keys`
/// `command="..."` option: absolute, of `A-Z a-z 0-9 / . _ + -` only (no
/// quotes, backslashes, whitespace or shell metacharacters).
pub fn check_command_path(path: &str) -> Result<(), String> {
    let ok = path.starts_with('/')
        && path.len() <= 1024
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '+' | '-'))
        && !path.split('/').any(|part| part == "..");
    if !ok {
        return Err(format!(
            "path {:?} cannot go into a forced command: it must be absolute and use only \
             A-Z, a-z, 0-9, `/`, `.`, `_`, `+` and `-`",
            shorten(path)
        ));
    }
    Ok(())
}

/// An ssh destination `REALM@HOST`: a valid realm name and a host of
/// `A-Z a-z 0-9 . - _ : [ ]` not starting with `-` (so it can never be read
/// as an ssh option).
pub fn check_destination(destination: &str) -> Result<(), String> {
    let Some((realm, host)) = destination.split_once('@') else {
        return Err(format!(
            "invalid ssh destination {:?}: write REALM@HOST",
            shorten(destination)
        ));
    };
    check_realm_name(realm)?;
    let host_ok = !host.is_empty()
        && host.len() <= 255
        && !host.starts_with('-')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '[' | ']'));
    if !host_ok {
        return Err(format!(
            "invalid host in ssh destination {:?}",
            shorten(destination)
        ));
    }
    Ok(())
}

/// Quoted names in error messages are cut, so that a huge argument cannot
/// flood a log line.
pub fn shorten(s: &str) -> String {
    const MAX: usize = 80;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realm_names() {
        for ok in ["api", "_tokens", "ci-realm2", "a"] {
            check_realm_name(ok).unwrap();
        }
        for bad in [
            "",
            "Api",
            "1abc",
            "-x",
            "a b",
            "a;rm",
            "a$",
            "x\n",
            &"a".repeat(33),
        ] {
            assert!(check_realm_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn user_and_group_names() {
        for ok in ["alice", "bob.smith", "ci+deploy@example.org", "A_1-2"] {
            check_user_name(ok).unwrap();
            check_group_name(ok).unwrap();
        }
        for bad in [
            "",
            "-alice",
            "a|b",
            "a,b",
            "a b",
            "a\"b",
            "a\tb",
            "ä",
            &"u".repeat(65),
        ] {
            assert!(check_user_name(bad).is_err(), "{bad:?}");
            assert!(check_group_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn service_arguments() {
        for ok in [
            "wiki.example.org/",
            "example.org:8443/app/",
            "127.0.0.1:8080/",
        ] {
            check_service_argument(ok).unwrap();
        }
        // Refused by ServiceName itself, then for the shell.
        for bad in [
            "",
            "wiki.example.org",
            "/etc/",
            "a|b/",
            "a b/",
            "a,b/",
            "ls -la",
            "x/;id/",
        ] {
            let err = check_service_argument(bad).unwrap_err();
            assert!(err.starts_with("invalid service name"), "{bad:?}: {err}");
        }
        for bad in ["x/$(id)/", "x/`id`/", "x/a'b/", "x/a&b/", "x/a*/", "x/a>b/"] {
            let err = check_service_argument(bad).unwrap_err();
            assert!(err.contains("ssh command line"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn domains_paths_destinations() {
        check_domain("example.org").unwrap();
        assert!(check_domain("").is_err());
        assert!(check_domain("a|b").is_err());
        check_command_path("/usr/bin/ssotool").unwrap();
        for bad in ["ssotool", "/a b", "/a\"b", "/a/../b", "/a$(id)"] {
            assert!(check_command_path(bad).is_err(), "{bad:?}");
        }
        check_destination("api@host.example.org").unwrap();
        check_destination("api@127.0.0.1").unwrap();
        for bad in ["host", "api@", "api@-oProxyCommand=x", "API@h", "api@h h"] {
            assert!(check_destination(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn long_names_are_shortened_in_messages() {
        let err = check_user_name(&"x".repeat(500)).unwrap_err();
        assert!(err.len() < 300, "{err}");
    }
}
