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

use std::io::Read;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ldap3::{dn_escape, ldap_escape, LdapConn, LdapConnSettings, Scope, SearchEntry, SearchResult};
use sso_core::file_trust;
use tokio_rustls::rustls;

use super::{Account, Backend, BackendError};
use crate::config::RawLdap;
use crate::session::valid_name;

/// LDAP result code for a wrong password or unknown bind DN.
const INVALID_CREDENTIALS: u32 = 49;
/// LDAP result code for a base search on a DN that names no entry.
const NO_SUCH_OBJECT: u32 = 32;

/// How the connection to the directory is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `ldapi://`: a local socket.
    LocalSocket,
    /// `ldap://` to loopback, or anywhere with `allow_cleartext = true`.
    Cleartext,
    /// `ldaps://`.
    Ldaps,
    /// `ldap://` with `starttls = true`.
    StartTls,
}

/// The `[auth.ldap]` table, validated.
#[derive(Debug, Clone)]
pub struct LdapConfig {
    pub raw: RawLdap,
    pub transport: Transport,
    /// The TLS client settings (for `Ldaps` and `StartTls`).
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

/// A configuration error: the full key (`auth.ldap.url`) and what is wrong.
pub type KeyError = (&'static str, String);

impl LdapConfig {
    /// Checks the table and reads `ca_file`; errors name the key.
    pub fn from_raw(raw: RawLdap) -> Result<LdapConfig, KeyError> {
        if raw.user_dn_template.is_none() && raw.search_base.is_none() {
            return Err((
                "auth.ldap",
                "set `user_dn_template` or `search_base`".into(),
            ));
        }
        if let Some(t) = &raw.user_dn_template {
            if !t.contains("{user}") {
                return Err(("auth.ldap.user_dn_template", "must contain {user}".into()));
            }
        }
        let transport = transport(&raw)?;
        let tls = match transport {
            Transport::Ldaps | Transport::StartTls => Some(tls_config(raw.ca_file.as_deref())?),
            _ if raw.ca_file.is_some() => {
                return Err((
                    "auth.ldap.ca_file",
                    "applies to TLS only: use an ldaps:// URL or `starttls = true`".into(),
                ))
            }
            _ => None,
        };
        Ok(LdapConfig {
            raw,
            transport,
            tls,
        })
    }
}

/// The transport the URL and `starttls` ask for, if it is allowed.
fn transport(raw: &RawLdap) -> Result<Transport, KeyError> {
    let url = url::Url::parse(&raw.url)
        .map_err(|e| ("auth.ldap.url", format!("{:?} is not a URL ({e})", raw.url)))?;
    let host = url.host_str().unwrap_or_default();
    let scheme = url.scheme();
    if scheme != "ldapi" && host.is_empty() {
        return Err(("auth.ldap.url", format!("{:?} names no host", raw.url)));
    }
    let starttls_with = |what: &str| {
        Err((
            "auth.ldap.starttls",
            format!("applies to ldap:// URLs only, not {what}"),
        ))
    };
    match scheme {
        "ldapi" if raw.starttls => starttls_with("ldapi:// (a local socket)"),
        "ldapi" => Ok(Transport::LocalSocket),
        "ldaps" if raw.starttls => starttls_with("ldaps:// (TLS already)"),
        "ldaps" => Ok(Transport::Ldaps),
        "ldap" if raw.starttls => Ok(Transport::StartTls),
        "ldap" if is_loopback(host) => Ok(Transport::Cleartext),
        "ldap" if raw.allow_cleartext => {
            eprintln!(
                "sso-server: warning: `auth.ldap.allow_cleartext` = true: passwords go to \
                 {host} in clear"
            );
            Ok(Transport::Cleartext)
        }
        "ldap" => Err((
            "auth.ldap.allow_cleartext",
            format!(
                "{:?} would send passwords in clear to {host}, which is not a loopback \
                 address: use an ldaps:// URL or `starttls = true` (with `ca_file` for a \
                 private CA), or set `allow_cleartext = true` if the path is protected \
                 otherwise",
                raw.url
            ),
        )),
        other => Err((
            "auth.ldap.url",
            format!("the scheme {other:?} is not ldap://, ldaps:// or ldapi://"),
        )),
    }
}

/// `localhost` or a loopback address (`[::1]` comes bracketed from the URL).
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(|a| a.is_loopback())
}

/// rustls with the ring provider, trusting `ca_file` (PEM) or else the
/// system's roots.
fn tls_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, KeyError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let bad = |e: String| ("auth.ldap.ca_file", format!("{}: {e}", path.display()));
            // Whoever writes the CA file can stand in for the directory
            // and accept any password: the trust rules of the keys apply,
            // and the file is read through the descriptor they judged.
            let mut opened = file_trust::open_file(path, file_trust::effective_uid())
                .map_err(|e| ("auth.ldap.ca_file", e.to_string()))?;
            let mut pem = Vec::new();
            opened
                .file
                .read_to_end(&mut pem)
                .map_err(|e| bad(e.to_string()))?;
            let certs = CertificateDer::pem_slice_iter(&pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad(e.to_string()))?;
            if certs.is_empty() {
                return Err(bad("no PEM certificate in it".into()));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| bad(e.to_string()))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                return Err((
                    "auth.ldap.ca_file",
                    "the system has no CA certificates: set `ca_file`".into(),
                ));
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ("auth.ldap", format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

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
    /// Whether the entry `dn` exists and its `user_attribute` holds `user`
    /// exactly (read with the connection's identity: the user after the
    /// bind, who may read their own entry).
    fn name_is_canonical(
        &self,
        conn: &mut LdapConn,
        dn: &str,
        user: &str,
    ) -> Result<bool, BackendError> {
        let attr = self.cfg.user_attribute.as_str();
        let read_error = |e: String| BackendError(format!("LDAP read of the user's {attr}: {e}"));
        let SearchResult(entries, res) = conn
            .with_timeout(self.timeout())
            .search(dn, Scope::Base, "(objectClass=*)", vec![attr])
            .map_err(|e| read_error(e.to_string()))?;
        match res.rc {
            0 => {}
            NO_SUCH_OBJECT => return Ok(false),
            rc => return Err(read_error(format!("rc {rc}: {}", res.text))),
        }
        Ok(entries.into_iter().map(SearchEntry::construct).any(|e| {
            e.attrs
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(attr))
                .any(|(_, values)| values.iter().any(|v| v == user))
        }))
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
        if !self.name_is_canonical(conn, &dn, user)? {
            return Ok(None);
        }
        let groups = self.groups(conn, &dn, user)?;
        Ok(Some(Account { groups }))
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
        if !self.name_is_canonical(&mut conn, &dn, user)? {
            let _ = conn.unbind();
            return Ok(None);
        }
        let groups = self.groups(&mut conn, &dn, user);
        let _ = conn.unbind();
        groups.map(Some)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(extra: &str) -> RawLdap {
        toml::from_str(&format!(
            "user_dn_template = \"uid={{user}},dc=example,dc=org\"\n{extra}"
        ))
        .unwrap()
    }

    fn key_of(extra: &str) -> Result<Transport, &'static str> {
        LdapConfig::from_raw(raw(extra))
            .map(|c| c.transport)
            .map_err(|(k, _)| k)
    }

    #[test]
    fn cleartext_only_to_loopback_unless_allowed() {
        for url in [
            "ldap://127.0.0.1:389",
            "ldap://localhost",
            "ldap://[::1]:389",
        ] {
            assert_eq!(
                key_of(&format!("url = {url:?}")),
                Ok(Transport::Cleartext),
                "{url}"
            );
        }
        for url in [
            "ldap://ldap.example.org",
            "ldap://10.0.0.1",
            "ldap://127.0.0.1.example.org",
        ] {
            assert_eq!(
                key_of(&format!("url = {url:?}")),
                Err("auth.ldap.allow_cleartext"),
                "{url}"
            );
        }
        assert_eq!(
            key_of("url = \"ldap://ldap.example.org\"\nallow_cleartext = true"),
            Ok(Transport::Cleartext)
        );
        assert_eq!(
            key_of("url = \"ldapi://%2Frun%2Fslapd%2Fldapi\""),
            Ok(Transport::LocalSocket)
        );
    }

    #[test]
    fn tls_settings_are_checked() {
        assert_eq!(
            key_of("url = \"ldaps://ldap.example.org\""),
            Ok(Transport::Ldaps)
        );
        assert_eq!(
            key_of("url = \"ldap://ldap.example.org\"\nstarttls = true"),
            Ok(Transport::StartTls)
        );
        assert_eq!(
            key_of("url = \"ldaps://ldap.example.org\"\nstarttls = true"),
            Err("auth.ldap.starttls")
        );
        assert_eq!(
            key_of("url = \"ldap://127.0.0.1\"\nca_file = \"/nonexistent\""),
            Err("auth.ldap.ca_file")
        );
        assert_eq!(
            key_of("url = \"ldaps://h\"\nca_file = \"/nonexistent/ca.pem\""),
            Err("auth.ldap.ca_file")
        );
        assert_eq!(key_of("url = \"http://h\""), Err("auth.ldap.url"));
        assert_eq!(key_of("url = \"ldap://\""), Err("auth.ldap.url"));
    }
}
