//! A realm's `users` file: one line per registered key, `USER GROUPS KEY`,
//! where GROUPS is a comma-separated list or `-` and KEY an OpenSSH public
//! key line (`TYPE BASE64 [COMMENT]`, parsed by [`PublicKeyLine`]). `#`
//! lines are comments. The file decides who gets tickets: a user missing
//! here gets none, even if an old `authorized_keys` still lets the key in.

use sso_client::names::{check_group_name, check_user_name};

use crate::authorized_keys::{KeyLineError, PublicKeyLine};
use crate::error::InvalidName;

/// Why a `users` file or one of its lines was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsersError {
    #[error(transparent)]
    Name(#[from] InvalidName),
    #[error(transparent)]
    Key(#[from] KeyLineError),
    #[error("line {line}: {error}")]
    Line { line: usize, error: Box<UsersError> },
}

/// One registered key of a realm user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealmUser {
    pub user: String,
    pub groups: Vec<String>,
    pub key: PublicKeyLine,
}

impl RealmUser {
    pub fn to_line(&self) -> String {
        let groups = if self.groups.is_empty() {
            "-".to_owned()
        } else {
            self.groups.join(",")
        };
        format!("{} {} {}", self.user, groups, self.key.to_public_line())
    }

    pub fn parse_line(line: &str) -> Result<RealmUser, UsersError> {
        let mut parts = line.splitn(3, ' ');
        let user = parts.next().unwrap_or("");
        let groups = parts.next().unwrap_or("");
        let key = parts.next().unwrap_or("");
        check_user_name(user).map_err(InvalidName)?;
        let groups = parse_groups(if groups == "-" { "" } else { groups })?;
        let key = PublicKeyLine::parse(key)?;
        Ok(RealmUser {
            user: user.to_owned(),
            groups,
            key,
        })
    }
}

/// Parses a comma-separated group list; empty items are ignored.
pub fn parse_groups(list: &str) -> Result<Vec<String>, InvalidName> {
    let mut groups: Vec<String> = Vec::new();
    for g in list.split(',').map(str::trim).filter(|g| !g.is_empty()) {
        check_group_name(g).map_err(InvalidName)?;
        if !groups.iter().any(|have| have == g) {
            groups.push(g.to_owned());
        }
    }
    Ok(groups)
}

pub fn parse_users(text: &str) -> Result<Vec<RealmUser>, UsersError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(n, l)| {
            RealmUser::parse_line(l.trim()).map_err(|e| UsersError::Line {
                line: n + 1,
                error: Box::new(e),
            })
        })
        .collect()
}

pub fn users_text(users: &[RealmUser]) -> String {
    let mut out = String::from("# SSO token realm users, managed by `ssotool realm add/remove`.\n");
    for u in users {
        out.push_str(&u.to_line());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_round_trip_and_reject_bad_lines() {
        let key = PublicKeyLine::parse(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBERERERERERERERERERERERERERERERERERERERERER c",
        )
        .unwrap();
        let users = vec![
            RealmUser {
                user: "alice".into(),
                groups: vec!["ops".into(), "dev".into()],
                key: key.clone(),
            },
            RealmUser {
                user: "bob".into(),
                groups: vec![],
                key,
            },
        ];
        assert_eq!(parse_users(&users_text(&users)).unwrap(), users);
        assert!(parse_users("alice|x - ssh-ed25519 AAAA\n").is_err());
        assert!(parse_users("alice a,,b,c|d ssh-ed25519 AAAA\n").is_err());
        assert_eq!(parse_groups("a,,b, a").unwrap(), vec!["a", "b"]);
    }
}
