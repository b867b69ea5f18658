//! The LDAP backend: bind as the user (DN from a template, or found by a
//! search), then read the user's groups. One connection per login: logins
//! are rare next to silent ticket requests, and no state is kept. The
//! silent path's account re-check (see `auth::account_cache`) reads the
//! same entry and groups as the configured `bind_dn`, or anonymously.
//!
//! Passwords travel in the bind: the connection is TLS (`ldaps://` or
//! StartTLS, verified against `ca_file` or the system roots), a local
//! socket (`ldapi://`), or plain `ldap://` to a loopback address. Plain
//! `ldap://` to any other host is refused at start-up unless
//! `allow_cleartext = true`.

use std::sync::Arc;
use std::time::Duration;

use ldap3::{dn_escape, ldap_escape, LdapConn, LdapConnSettings, Scope, SearchEntry, SearchResult};
use tokio_rustls::rustls;

use super::ldap_config::{LdapConfig, RawLdap, Transport};
use super::{Account, Backend, BackendError};
use crate::session::valid_name;

/// LDAP result code for a wrong password or unknown bind DN.
const INVALID_CREDENTIALS: u32 = 49;
/// LDAP result code for a base search on a DN that names no entry.
const NO_SUCH_OBJECT: u32 = 32;

pub struct Ldap {
    cfg: RawLdap,
    transport: Transport,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Ldap {
    pub fn new(cfg: LdapConfig) -> Ldap {
        Ldap {
            cfg: cfg.raw,
            transport: cfg.transport,
            tls: cfg.tls,
        }
    }

    /// A connection, TLS as configured. A StartTLS the server refuses, or
    /// a certificate that does not verify, is an error: never a fallback
    /// to cleartext.
    fn connect(&self) -> Result<LdapConn, BackendError> {
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(self.timeout())
            .set_starttls(self.transport == Transport::StartTls);
        if let Some(tls) = &self.tls {
            settings = settings.set_config(tls.clone());
        }
        LdapConn::with_settings(settings, &self.cfg.url)
            .map_err(|e| BackendError(format!("LDAP {}: cannot connect: {e}", self.cfg.url)))
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.cfg.timeout_seconds.max(1))
    }

    /// Binds as `bind_dn` when one is configured (else the connection
    /// stays anonymous).
    fn service_bind(&self, conn: &mut LdapConn) -> Result<(), BackendError> {
        let Some(bind_dn) = &self.cfg.bind_dn else {
            return Ok(());
        };
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
        Ok(())
    }

    /// The DN of `user`, or `None` when no such user exists. A search runs
    /// with the connection's current identity.
    fn user_dn(&self, conn: &mut LdapConn, user: &str) -> Result<Option<String>, BackendError> {
        if let Some(template) = &self.cfg.user_dn_template {
            return Ok(Some(template.replace("{user}", &dn_escape(user))));
        }
        let base = self.cfg.search_base.as_deref().unwrap_or_default();
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

    /// The names of the groups `dn` is a member of (none without
    /// `group_base`).
    fn groups(
        &self,
        conn: &mut LdapConn,
        dn: &str,
        user: &str,
    ) -> Result<Vec<String>, BackendError> {
        let mut groups = Vec::new();
        let Some(base) = &self.cfg.group_base else {
            return Ok(groups);
        };
        let filter = self
            .cfg
            .group_filter
            .replace("{dn}", &ldap_escape(dn))
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
        Ok(groups)
    }
}

impl Ldap {
    /// The entry `dn` when it exists and its `user_attribute` holds `user`
    /// exactly (read with the connection's identity: the user after the
    /// bind, who may read their own entry): its display name (the first
    /// of `name_attributes` it has) and e-mail address (`email_attribute`),
    /// where it has them; `None` otherwise.
    fn canonical_entry(
        &self,
        conn: &mut LdapConn,
        dn: &str,
        user: &str,
    ) -> Result<Option<Account>, BackendError> {
        let raw = &self.cfg;
        let attr = raw.user_attribute.as_str();
        let read_error = |e: String| BackendError(format!("LDAP read of the user's {attr}: {e}"));
        let mut wanted = vec![attr, raw.email_attribute.as_str()];
        wanted.extend(raw.name_attributes.iter().map(String::as_str));
        let SearchResult(entries, res) = conn
            .with_timeout(self.timeout())
            .search(dn, Scope::Base, "(objectClass=*)", wanted)
            .map_err(|e| read_error(e.to_string()))?;
        match res.rc {
            0 => {}
            NO_SUCH_OBJECT => return Ok(None),
            rc => return Err(read_error(format!("rc {rc}: {}", res.text))),
        }
        for e in entries.into_iter().map(SearchEntry::construct) {
            let first = |name: &str| {
                e.attrs
                    .iter()
                    .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                    .flat_map(|(_, values)| values.iter())
                    .find(|v| !v.is_empty() && !v.chars().any(char::is_control))
                    .cloned()
            };
            let holds_user = e
                .attrs
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(attr))
                .any(|(_, values)| values.iter().any(|v| v == user));
            if holds_user {
                return Ok(Some(Account {
                    groups: Vec::new(),
                    name: raw.name_attributes.iter().find_map(|n| first(n)),
                    email: first(&raw.email_attribute),
                }));
            }
        }
        Ok(None)
    }

    /// `account` on an open connection.
    fn lookup_account(
        &self,
        conn: &mut LdapConn,
        user: &str,
    ) -> Result<Option<Account>, BackendError> {
        self.service_bind(conn)?;
        let Some(dn) = self.user_dn(conn, user)? else {
            return Ok(None);
        };
        let Some(account) = self.canonical_entry(conn, &dn, user)? else {
            return Ok(None);
        };
        let groups = self.groups(conn, &dn, user)?;
        Ok(Some(Account { groups, ..account }))
    }
}

impl Backend for Ldap {
    fn authenticate_account(
        &self,
        user: &str,
        password: &str,
    ) -> Result<Option<Account>, BackendError> {
        // An empty password is an unauthenticated bind, which LDAP servers
        // answer with success: never let one through.
        if password.is_empty() || user.is_empty() {
            return Ok(None);
        }
        let mut conn = self.connect()?;
        if self.cfg.user_dn_template.is_none() {
            self.service_bind(&mut conn)?;
        }
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
        let Some(account) = self.canonical_entry(&mut conn, &dn, user)? else {
            let _ = conn.unbind();
            return Ok(None);
        };
        let groups = self.groups(&mut conn, &dn, user);
        let _ = conn.unbind();
        Ok(Some(Account {
            groups: groups?,
            ..account
        }))
    }

    /// Reads the entry and the groups as `bind_dn`, or anonymously: the
    /// directory must let that identity read `user_attribute` and the
    /// groups, or every account looks gone.
    fn account(&self, user: &str) -> Result<Option<Account>, BackendError> {
        if user.is_empty() {
            return Ok(None);
        }
        let mut conn = self.connect()?;
        let account = self.lookup_account(&mut conn, user);
        let _ = conn.unbind();
        account
    }

    fn name(&self) -> &'static str {
        "ldap"
    }
}
