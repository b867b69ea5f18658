//! The `[[second_factor]]` policy: which services need a second factor, and
//! from whom. Each table names `services` (regular expressions matching the
//! whole service name, like `allowed_services`) and optionally `groups`; a
//! table without `groups` applies to everyone. A ticket for a service that a
//! table covers, for a user it applies to, is only minted for a session that
//! has proven a second factor; a password-only session gets the second-factor
//! step instead (see `endpoints::second_factor`).

use regex::Regex;
use serde::Deserialize;

use crate::private_file::FileError;
use crate::service_pattern::whole_match;
use crate::session::valid_name;
use crate::totp::TotpError;

/// A second factor's file (the TOTP secrets, the WebAuthn credentials or
/// the enrolment codes) cannot be read: the step fails closed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Unavailable {
    #[error(transparent)]
    Totp(#[from] TotpError),
    #[error(transparent)]
    File(#[from] FileError),
}

/// One `[[second_factor]]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub services: Vec<String>,
    pub groups: Option<Vec<String>>,
}

#[derive(Debug)]
struct Rule {
    services: Vec<Regex>,
    /// `None`: everyone.
    groups: Option<Vec<String>>,
}

/// The validated policy; empty when the configuration has no table.
#[derive(Debug, Default)]
pub struct Policy {
    rules: Vec<Rule>,
}

impl Policy {
    /// Validates the tables; errors are `(key, message)`.
    pub fn from_raw(raw: &[RawRule]) -> Result<Policy, (&'static str, String)> {
        let mut rules = Vec::new();
        for (i, r) in raw.iter().enumerate() {
            let n = i + 1;
            if r.services.is_empty() {
                return Err((
                    "second_factor.services",
                    format!("table #{n}: is empty: name at least one service"),
                ));
            }
            let services = r
                .services
                .iter()
                .map(|p| {
                    whole_match(p).map_err(|e| {
                        (
                            "second_factor.services",
                            format!("table #{n}: bad regular expression {p:?}: {e}"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            if let Some(groups) = &r.groups {
                if groups.is_empty() {
                    return Err((
                        "second_factor.groups",
                        format!(
                            "table #{n}: is empty: leave `groups` out to apply the table to \
                             everyone, or name at least one group"
                        ),
                    ));
                }
                if let Some(bad) = groups.iter().find(|g| !valid_name(g)) {
                    return Err((
                        "second_factor.groups",
                        format!("table #{n}: {bad:?} is not a valid group name"),
                    ));
                }
            }
            rules.push(Rule {
                services,
                groups: r.groups.clone(),
            });
        }
        Ok(Policy { rules })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// True when a ticket for `service` needs a second factor from a user
    /// in `groups`.
    pub fn required(&self, service: &str, groups: &[String]) -> bool {
        self.rules.iter().any(|r| {
            r.services.iter().any(|s| s.is_match(service))
                && r.groups
                    .as_ref()
                    .is_none_or(|gs| gs.iter().any(|g| groups.contains(g)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(services: &[&str], groups: Option<&[&str]>) -> RawRule {
        RawRule {
            services: services.iter().map(|s| s.to_string()).collect(),
            groups: groups.map(|g| g.iter().map(|s| s.to_string()).collect()),
        }
    }

    #[test]
    fn tables_apply_to_their_services_and_groups() {
        let p = Policy::from_raw(&[
            rule(&[r"admin\.example\.org/"], None),
            rule(&[r"wiki\.example\.org/"], Some(&["staff"])),
        ])
        .unwrap();
        let staff = vec!["staff".to_string()];
        assert!(p.required("admin.example.org/", &[]));
        assert!(!p.required("evil/admin.example.org/", &[]));
        assert!(p.required("wiki.example.org/", &staff));
        assert!(!p.required("wiki.example.org/", &["guests".into()]));
        assert!(!p.required("mail.example.org/", &staff));
        assert!(Policy::default().is_empty());
    }

    #[test]
    fn errors_name_the_key() {
        let e = Policy::from_raw(&[rule(&[], None)]).unwrap_err();
        assert_eq!(e.0, "second_factor.services");
        let e = Policy::from_raw(&[rule(&["(x"], None)]).unwrap_err();
        assert_eq!(e.0, "second_factor.services");
        let e = Policy::from_raw(&[rule(&["x/"], Some(&[]))]).unwrap_err();
        assert_eq!(e.0, "second_factor.groups");
        let e = Policy::from_raw(&[rule(&["x/"], Some(&["a,b"]))]).unwrap_err();
        assert_eq!(e.0, "second_factor.groups");
    }
}
