//! The login shell of a realm account: the issuer (`ssotool`) itself, which
//! runs nothing but the forced command.
//!
//! sshd starts every session of an account through its shell: `SHELL -c
//! COMMAND` for a command (the forced command of a managed key included),
//! `-SHELL` without arguments for an interactive login. A realm account
//! whose shell were `/bin/sh` would give a full shell (and with it the
//! secret key, to sign anything) to any login that bypasses the forced
//! command: an `authorized_keys` line added by hand, another
//! `AuthorizedKeysFile`, a certificate authority, GSSAPI. Its shell is
//! therefore the issuer, and as a shell the issuer accepts exactly one
//! command, the one [`forced_command`](crate::authorized_keys::forced_command)
//! writes, and runs it in-process: no other program is ever started.

use std::ffi::OsString;
use std::path::PathBuf;

use sso_client::names::{check_command_path, check_realm_name, check_user_name};

/// A ticket request that arrived through the login shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueRequest {
    pub root: PathBuf,
    pub realm: String,
    pub user: String,
}

/// How this process was started, seen from its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// An ordinary command line (`ssotool SUBCOMMAND ...`).
    Command,
    /// As a login shell without a command (argv[0] starts with `-`).
    InteractiveLogin,
    /// As a shell with `-c COMMAND`.
    ShellCommand(OsString),
}

/// Tells a shell start from an ordinary command line. ssotool has no `-c`
/// option and no subcommand starts with `-`, so neither form is ambiguous.
pub fn invocation(args: &[OsString]) -> Invocation {
    let login = args
        .first()
        .is_some_and(|a| a.as_encoded_bytes().starts_with(b"-"));
    match args.get(1).map(|a| a.as_encoded_bytes()) {
        Some(b"-c") => Invocation::ShellCommand(args.get(2).cloned().unwrap_or_default()),
        None if login => Invocation::InteractiveLogin,
        _ => Invocation::Command,
    }
}

/// The one line the shell answers before it exits with status 1.
pub const REFUSAL: &str = "refused: this is the account of an SSO token realm; it has no shell \
                           and runs only its forced command (`ssh -T REALM@HOST [SERVICE]` \
                           prints a ticket)";

/// Parses the command given to the shell: exactly `ISSUER realm issue
/// --root ROOT REALM USER`, words separated by single spaces, ISSUER being
/// `own_path` (this very program). Anything else is `None`.
pub fn parse_command(command: &OsString, own_path: &str) -> Option<IssueRequest> {
    let command = command.to_str()?;
    let words: Vec<&str> = command.split(' ').collect();
    let [issuer, "realm", "issue", "--root", root, realm, user] = words.as_slice() else {
        return None;
    };
    let valid = *issuer == own_path
        && check_command_path(root).is_ok()
        && check_realm_name(realm).is_ok()
        && check_user_name(user).is_ok();
    valid.then(|| IssueRequest {
        root: PathBuf::from(root),
        realm: (*realm).to_owned(),
        user: (*user).to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorized_keys::forced_command;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn tells_shell_starts_from_commands() {
        assert_eq!(invocation(&os(&["-ssotool"])), Invocation::InteractiveLogin);
        assert_eq!(
            invocation(&os(&["ssotool", "-c", "id"])),
            Invocation::ShellCommand("id".into())
        );
        assert_eq!(
            invocation(&os(&["-ssotool", "-c", "id"])),
            Invocation::ShellCommand("id".into())
        );
        assert_eq!(
            invocation(&os(&["ssotool", "-c"])),
            Invocation::ShellCommand("".into())
        );
        assert_eq!(invocation(&os(&["ssotool"])), Invocation::Command);
        assert_eq!(
            invocation(&os(&["ssotool", "realm", "list", "api"])),
            Invocation::Command
        );
    }

    #[test]
    fn accepts_exactly_the_forced_command() {
        let issuer = "/usr/bin/ssotool";
        for root in ["/", "/tmp/realmroot"] {
            let cmd = forced_command(issuer, root, "api", "alice").unwrap();
            assert_eq!(
                parse_command(&cmd.into(), issuer),
                Some(IssueRequest {
                    root: root.into(),
                    realm: "api".into(),
                    user: "alice".into()
                })
            );
        }
        for bad in [
            "",
            "/bin/sh",
            "id",
            "/usr/bin/ssotool sign --secret-key /var/lib/sso-realm/api/secret.key",
            "/usr/bin/ssotool realm issue api alice",
            "/usr/bin/ssotool realm issue --root / api alice; id",
            "/usr/bin/ssotool realm issue --root / api alice x",
            "/usr/bin/ssotool  realm issue --root / api alice",
            "/usr/bin/ssotool realm issue --root rel api alice",
            "/usr/bin/ssotool realm issue --root / Api alice",
            "/usr/bin/ssotool realm issue --root / api -alice",
            "/usr/bin/ssotool realm add --root / api alice",
            "/other/ssotool realm issue --root / api alice",
        ] {
            assert_eq!(parse_command(&bad.into(), issuer), None, "{bad:?}");
        }
    }
}
