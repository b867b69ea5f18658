//! The `[auth.ldap]` table: as written ([`RawLdap`]) and validated
//! ([`LdapConfig`]): the transport the URL asks for, allowed only when
//! passwords cannot travel in clear, and the TLS client settings.

use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use sso_core::file_trust;
use tokio_rustls::rustls;

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawLdap {
    pub url: String,
    /// `uid={user},ou=people,dc=example,dc=org`: bind directly as this DN.
    pub user_dn_template: Option<String>,
    /// Otherwise: search `search_base` for `search_filter` (`{user}` is
    /// replaced, filter-escaped), bound as `bind_dn` if given.
    pub search_base: Option<String>,
    #[serde(default = "default_search_filter")]
    pub search_filter: String,
    pub bind_dn: Option<String>,
    pub bind_password: Option<String>,
    pub group_base: Option<String>,
    #[serde(default = "default_group_filter")]
    pub group_filter: String,
    #[serde(default = "default_group_attribute")]
    pub group_attribute: String,
    #[serde(default = "default_ldap_timeout")]
    pub timeout_seconds: u64,
    /// The attribute that holds the login name. After the bind it is read
    /// from the user's entry and must equal the typed name exactly: LDAP
    /// matches names ignoring case and spaces, and `ALICE` or `alice ` must
    /// not become a second identity beside `alice`.
    #[serde(default = "default_user_attribute")]
    pub user_attribute: String,
    /// The attribute of the user's entry with the e-mail address (the
    /// OpenID Connect `email` claim), read with `user_attribute`.
    #[serde(default = "default_email_attribute")]
    pub email_attribute: String,
    /// The attributes with the display name (the `name` claim): the
    /// first one the entry has.
    #[serde(default = "default_name_attributes")]
    pub name_attributes: Vec<String>,
    /// TLS: an `ldaps://` URL, or StartTLS on an `ldap://` one.
    #[serde(default)]
    pub starttls: bool,
    /// PEM CA certificates the server's certificate must chain to
    /// (default: the system's roots).
    pub ca_file: Option<PathBuf>,
    /// Allows plain `ldap://` to a host that is not loopback.
    #[serde(default)]
    pub allow_cleartext: bool,
}

fn default_user_attribute() -> String {
    "uid".to_owned()
}

fn default_email_attribute() -> String {
    "mail".to_owned()
}

fn default_name_attributes() -> Vec<String> {
    vec!["displayName".to_owned(), "cn".to_owned()]
}

fn default_search_filter() -> String {
    "(uid={user})".to_owned()
}

fn default_group_filter() -> String {
    "(&(objectClass=groupOfNames)(member={dn}))".to_owned()
}

fn default_group_attribute() -> String {
    "cn".to_owned()
}

fn default_ldap_timeout() -> u64 {
    5
}

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
