//! The LDAP backend: bind as the user (DN from a template, or found by a
//! search), then read the user's groups. One connection per login: logins
//! are rare next to silent ticket requests, and no state is kept.

use std::time::Duration;

use ldap3::{dn_escape, ldap_escape, LdapConn, LdapConnSettings, Scope, SearchEntry};

use super::{Backend, BackendError};
use crate::config::RawLdap;
use crate::session::valid_name;

/// LDAP result code for a wrong password or unknown bind DN.
const INVALID_CREDENTIALS: u32 = 49;

pub struct Ldap {
    cfg: RawLdap,
}

impl Ldap {
    pub fn new(cfg: RawLdap) -> Ldap {
        Ldap { cfg }
    }

    fn connect(&self) -> Result<LdapConn, BackendError> {
        let timeout = Duration::from_secs(self.cfg.timeout_seconds.max(1));
        LdapConn::with_settings(
            LdapConnSettings::new().set_conn_timeout(timeout),
            &self.cfg.url,
        )
        .map_err(|e| BackendError(format!("LDAP {}: cannot connect: {e}", self.cfg.url)))
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.cfg.timeout_seconds.max(1))
    }

    /// The DN to bind as, or `None` when no such user exists.
    fn user_dn(&self, conn: &mut LdapConn, user: &str) -> Result<Option<String>, BackendError> {
        if let Some(template) = &self.cfg.user_dn_template {
            return Ok(Some(template.replace("{user}", &dn_escape(user))));
        }
        let base = self.cfg.search_base.as_deref().unwrap_or_default();
        if let Some(bind_dn) = &self.cfg.bind_dn {
            let pw = self.cfg.bind_password.as_deref().unwrap_or_default();
            let res = conn
                .with_timeout(self.timeout())
                .simple_bind(bind_dn, pw)
                .map_err(|e| BackendError(format!("LDAP service bind: {e}")))?;
            if res.rc != 0 {
                return Err(BackendError(format!(
                    "LDAP service bind as {bind_dn:?} refused (rc {})",
                    res.rc
                )));
            }
        }
        let filter = self.cfg.search_filter.replace("{user}", &ldap_escape(user));
        let (entries, _) = conn
            .with_timeout(self.timeout())
            .search(base, Scope::Subtree, &filter, vec!["1.1"])
            .and_then(|r| r.success())
            .map_err(|e| BackendError(format!("LDAP user search: {e}")))?;
        if entries.len() != 1 {
            return Ok(None);
        }
        let entry = entries.into_iter().next().map(SearchEntry::construct);
        Ok(entry.map(|e| e.dn))
    }
}

impl Ldap {
    /// Whether the bound entry's `user_attribute` holds `user` exactly
    /// (read as the user, who may read their own entry).
    fn name_is_canonical(
        &self,
        conn: &mut LdapConn,
        dn: &str,
        user: &str,
    ) -> Result<bool, BackendError> {
        let attr = self.cfg.user_attribute.as_str();
        let (entries, _) = conn
            .with_timeout(self.timeout())
            .search(dn, Scope::Base, "(objectClass=*)", vec![attr])
            .and_then(|r| r.success())
            .map_err(|e| BackendError(format!("LDAP read of the user's {attr}: {e}")))?;
        Ok(entries.into_iter().map(SearchEntry::construct).any(|e| {
            e.attrs
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(attr))
                .any(|(_, values)| values.iter().any(|v| v == user))
        }))
    }
}

impl Backend for Ldap {
    fn authenticate(
        &self,
        user: &str,
        password: &str,
    ) -> Result<Option<Vec<String>>, BackendError> {
        // An empty password is an unauthenticated bind, which LDAP servers
        // answer with success: never let one through.
        if password.is_empty() || user.is_empty() {
            return Ok(None);
        }
        let mut conn = self.connect()?;
        let Some(dn) = self.user_dn(&mut conn, user)? else {
            // An unknown user costs a bind too, so that a wrong name and a
            // wrong password take about as long (no user enumeration by
            // timing). The DN names no entry: the answer is always 49.
            let base = self.cfg.search_base.as_deref().unwrap_or_default();
            let nobody = format!("cn=sso-no-such-user,{base}");
            let _ = conn
                .with_timeout(self.timeout())
                .simple_bind(&nobody, password);
            let _ = conn.unbind();
            return Ok(None);
        };
        let res = conn
            .with_timeout(self.timeout())
            .simple_bind(&dn, password)
            .map_err(|e| BackendError(format!("LDAP bind: {e}")))?;
        if res.rc == INVALID_CREDENTIALS {
            let _ = conn.unbind();
            return Ok(None);
        }
        if res.rc != 0 {
            let _ = conn.unbind();
            return Err(BackendError(format!(
                "LDAP bind failed (rc {}: {})",
                res.rc, res.text
            )));
        }
        if !self.name_is_canonical(&mut conn, &dn, user)? {
            let _ = conn.unbind();
            return Ok(None);
        }
        let mut groups = Vec::new();
        if let Some(base) = &self.cfg.group_base {
            let filter = self
                .cfg
                .group_filter
                .replace("{dn}", &ldap_escape(&dn))
                .replace("{user}", &ldap_escape(user));
            let attr = self.cfg.group_attribute.as_str();
            let (entries, _) = conn
                .with_timeout(self.timeout())
                .search(base, Scope::Subtree, &filter, vec![attr])
                .and_then(|r| r.success())
                .map_err(|e| BackendError(format!("LDAP group search: {e}")))?;
            for e in entries {
                let e = SearchEntry::construct(e);
                for (k, values) in e.attrs {
                    if k.eq_ignore_ascii_case(attr) {
                        groups.extend(values.into_iter().filter(|g| valid_name(g)));
                    }
                }
            }
        }
        let _ = conn.unbind();
        Ok(Some(groups))
    }

    fn name(&self) -> &'static str {
        "ldap"
    }
}
