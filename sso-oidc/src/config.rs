//! `[oidc]` and `[[oidc.client]]` of the login server's configuration: the
//! raw TOML form (unknown keys are errors) and one check that turns it into
//! an [`OidcConfig`] or the list of every problem, each naming its key
//! (`oidc.client[grafana].redirect_uris`), as the rest of the server's
//! configuration does.

use std::collections::HashSet;
use std::path::PathBuf;

use argon2::password_hash::PasswordHash;
use serde::Deserialize;
use url::Url;

/// Scopes the provider knows; a client may be limited to fewer.
pub const SCOPES: [&str; 5] = ["openid", "profile", "email", "groups", "offline_access"];

/// Signing algorithms of id_tokens.
pub const ALGORITHMS: [&str; 2] = ["RS256", "EdDSA"];

/// `[oidc]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOidc {
    pub issuer: String,
    /// RSA private key, PKCS#8 PEM: signs every RS256 token.
    pub signing_key_file: PathBuf,
    /// Keys that signed before a rotation: published in the JWKS so tokens
    /// they signed still verify, never used to sign.
    #[serde(default)]
    pub previous_key_files: Vec<PathBuf>,
    /// Ed25519 private key, PKCS#8 PEM: adds EdDSA for the clients that
    /// ask for it (`id_token_signed_response_alg = "EdDSA"`).
    pub eddsa_key_file: Option<PathBuf>,
    #[serde(default = "default_code_lifetime")]
    pub code_lifetime_seconds: u64,
    #[serde(default = "default_token_lifetime")]
    pub access_token_lifetime_seconds: u64,
    #[serde(default = "default_token_lifetime")]
    pub id_token_lifetime_seconds: u64,
    #[serde(default = "default_refresh_lifetime")]
    pub refresh_token_lifetime_seconds: u64,
    #[serde(default, rename = "client")]
    pub clients: Vec<RawClient>,
}

fn default_code_lifetime() -> u64 {
    60
}
fn default_token_lifetime() -> u64 {
    600
}
fn default_refresh_lifetime() -> u64 {
    30 * 86400
}

/// One `[[oidc.client]]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClient {
    pub id: String,
    /// Shown on the login page ("Log in to Grafana"); default: the id.
    pub name: Option<String>,
    /// argon2id PHC string of the client secret (`sso-server oidc
    /// hash-secret`); absent for public clients.
    pub secret_hash: Option<String>,
    /// A client that keeps no secret (a single-page or native app): PKCE
    /// is then its only proof, and required.
    #[serde(default)]
    pub public: bool,
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    /// Who may use this client: members of any of these groups (absent:
    /// everyone who may log in).
    pub groups: Option<Vec<String>>,
    /// Scopes the client may ask for (absent: all of [`SCOPES`]).
    pub scopes: Option<Vec<String>>,
    pub id_token_signed_response_alg: Option<String>,
}

/// `[oidc]`, checked.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// Exactly as configured, without a trailing slash.
    pub issuer: String,
    pub signing_key_file: PathBuf,
    pub previous_key_files: Vec<PathBuf>,
    pub eddsa_key_file: Option<PathBuf>,
    pub code_lifetime: u64,
    pub access_token_lifetime: u64,
    pub id_token_lifetime: u64,
    pub refresh_token_lifetime: u64,
    pub clients: Vec<Client>,
}

impl OidcConfig {
    pub fn client(&self, id: &str) -> Option<&Client> {
        self.clients.iter().find(|c| c.id == id)
    }
}

/// How a client proves itself at the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authentication {
    /// A secret, checked against this argon2 PHC string.
    Secret(String),
    /// None: PKCE is required.
    Public,
}

/// One client, checked.
#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    pub name: String,
    pub authentication: Authentication,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub groups: Option<Vec<String>>,
    pub scopes: Vec<String>,
    /// `RS256` or `EdDSA`.
    pub algorithm: String,
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.authentication == Authentication::Public
    }

    /// Whether a user in `groups` may use this client.
    pub fn admits(&self, groups: &[String]) -> bool {
        match &self.groups {
            None => true,
            Some(allowed) => allowed.iter().any(|g| groups.contains(g)),
        }
    }

    /// Whether `uri` is one of the registered redirect URIs: exact string
    /// comparison only (no prefix, no normalisation, no wildcard).
    pub fn redirect_uri_registered(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == uri)
    }
}

/// One problem of the configuration: the key and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

fn err(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.into(),
        message: message.into(),
    }
}

/// Plain http is for loopback only (a developer's machine, tests).
fn loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        None => false,
    }
}

/// An absolute https URL (http on loopback) without a fragment.
fn check_url(key: &str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value).map_err(|e| err(key, format!("{value:?} is not a URL: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if loopback(&url) => {}
        "http" => {
            return Err(err(
                key,
                format!("{value:?}: https only (http is for loopback)"),
            ))
        }
        other => return Err(err(key, format!("{value:?}: scheme {other:?}, https only"))),
    }
    if url.fragment().is_some() {
        return Err(err(key, format!("{value:?}: a fragment is not allowed")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(err(
            key,
            format!("{value:?}: credentials in a URL are not allowed"),
        ));
    }
    Ok(url)
}

fn check_urls(key: &str, values: &[String], errors: &mut Vec<ConfigError>) {
    for v in values {
        if let Err(e) = check_url(key, v) {
            errors.push(e);
        }
    }
}

fn check_lifetime(
    key: &str,
    value: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(err(
            format!("oidc.{key}"),
            format!(
                "{value} is out of range {}..={}",
                range.start(),
                range.end()
            ),
        ))
    }
}

fn valid_client_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn check_client(raw: &RawClient, errors: &mut Vec<ConfigError>) -> Option<Client> {
    let key = |k: &str| format!("oidc.client[{}].{k}", raw.id);
    let before = errors.len();
    if !valid_client_id(&raw.id) {
        errors.push(err(
            "oidc.client.id",
            format!("{:?}: 1 to 64 letters, digits, '-', '_' or '.'", raw.id),
        ));
    }
    let authentication = match (&raw.secret_hash, raw.public) {
        (Some(_), true) => {
            errors.push(err(key("secret_hash"), "a public client has no secret"));
            Authentication::Public
        }
        (None, true) => Authentication::Public,
        (None, false) => {
            errors.push(err(
                key("secret_hash"),
                "missing (sso-server oidc hash-secret), or set public = true",
            ));
            Authentication::Public
        }
        (Some(hash), false) => {
            match PasswordHash::new(hash) {
                Ok(h) if h.algorithm.as_str() == "argon2id" => {}
                Ok(h) => errors.push(err(
                    key("secret_hash"),
                    format!("algorithm {}: argon2id only", h.algorithm),
                )),
                Err(_) => errors.push(err(key("secret_hash"), "not a PHC string ($argon2id$...)")),
            }
            Authentication::Secret(hash.clone())
        }
    };
    if raw.redirect_uris.is_empty() {
        errors.push(err(key("redirect_uris"), "at least one is required"));
    }
    check_urls(&key("redirect_uris"), &raw.redirect_uris, errors);
    check_urls(
        &key("post_logout_redirect_uris"),
        &raw.post_logout_redirect_uris,
        errors,
    );
    if let Some(uri) = &raw.backchannel_logout_uri {
        check_urls(
            &key("backchannel_logout_uri"),
            std::slice::from_ref(uri),
            errors,
        );
    }
    if let Some(groups) = &raw.groups {
        if groups.is_empty() || groups.iter().any(|g| g.is_empty()) {
            errors.push(err(
                key("groups"),
                "names no group (leave it out for everyone)",
            ));
        }
    }
    let scopes = raw
        .scopes
        .clone()
        .unwrap_or_else(|| SCOPES.iter().map(|s| s.to_string()).collect());
    for s in &scopes {
        if !SCOPES.contains(&s.as_str()) {
            errors.push(err(key("scopes"), format!("unknown scope {s:?}")));
        }
    }
    if !scopes.iter().any(|s| s == "openid") {
        errors.push(err(key("scopes"), "must include openid"));
    }
    let algorithm = raw
        .id_token_signed_response_alg
        .clone()
        .unwrap_or_else(|| "RS256".into());
    if !ALGORITHMS.contains(&algorithm.as_str()) {
        errors.push(err(
            key("id_token_signed_response_alg"),
            format!("{algorithm:?}: RS256 or EdDSA"),
        ));
    }
    (errors.len() == before).then(|| Client {
        id: raw.id.clone(),
        name: raw.name.clone().unwrap_or_else(|| raw.id.clone()),
        authentication,
        redirect_uris: raw.redirect_uris.clone(),
        post_logout_redirect_uris: raw.post_logout_redirect_uris.clone(),
        backchannel_logout_uri: raw.backchannel_logout_uri.clone(),
        groups: raw.groups.clone(),
        scopes,
        algorithm,
    })
}

impl RawOidc {
    /// Checks every key; all problems at once.
    pub fn check(&self) -> Result<OidcConfig, Vec<ConfigError>> {
        let mut errors = Vec::new();
        match check_url("oidc.issuer", &self.issuer) {
            Ok(url) => {
                if url.query().is_some() {
                    errors.push(err("oidc.issuer", "a query is not allowed"));
                }
                if self.issuer.ends_with('/') {
                    errors.push(err(
                        "oidc.issuer",
                        "no trailing '/' (clients compare the issuer exactly)",
                    ));
                }
            }
            Err(e) => errors.push(e),
        }
        let mut lifetime = |key: &str, value, range| {
            check_lifetime(key, value, range).unwrap_or_else(|e| {
                errors.push(e);
                0
            })
        };
        let code_lifetime = lifetime("code_lifetime_seconds", self.code_lifetime_seconds, 1..=60);
        let access = lifetime(
            "access_token_lifetime_seconds",
            self.access_token_lifetime_seconds,
            60..=86400,
        );
        let id = lifetime(
            "id_token_lifetime_seconds",
            self.id_token_lifetime_seconds,
            60..=86400,
        );
        let refresh = lifetime(
            "refresh_token_lifetime_seconds",
            self.refresh_token_lifetime_seconds,
            60..=365 * 86400,
        );
        let mut seen = HashSet::new();
        let mut clients = Vec::new();
        for raw in &self.clients {
            if !seen.insert(raw.id.clone()) {
                errors.push(err(format!("oidc.client[{}].id", raw.id), "listed twice"));
                continue;
            }
            if let Some(c) = check_client(raw, &mut errors) {
                clients.push(c);
            }
        }
        if clients.iter().any(|c| c.algorithm == "EdDSA") && self.eddsa_key_file.is_none() {
            errors.push(err(
                "oidc.eddsa_key_file",
                "a client asks for EdDSA id_tokens: set this key",
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(OidcConfig {
            issuer: self.issuer.clone(),
            signing_key_file: self.signing_key_file.clone(),
            previous_key_files: self.previous_key_files.clone(),
            eddsa_key_file: self.eddsa_key_file.clone(),
            code_lifetime,
            access_token_lifetime: access,
            id_token_lifetime: id,
            refresh_token_lifetime: refresh,
            clients,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // An argon2id PHC string (of "secret"; the check only parses it).
    pub(crate) const HASH: &str =
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$ck3W3kuvDbXDkTwVrTUtyHnKIhP+JP7pYypzqkV+cRk";

    fn parse(toml_text: &str) -> RawOidc {
        #[derive(Deserialize)]
        struct Top {
            oidc: RawOidc,
        }
        let top: Top = toml::from_str(toml_text).expect("toml");
        top.oidc
    }

    fn base(client: &str) -> String {
        format!(
            "[oidc]\nissuer = \"https://login.example.org\"\nsigning_key_file = \"/etc/sso/oidc.pem\"\n\
             [[oidc.client]]\n{client}\n"
        )
    }

    fn keys_of(errors: &[ConfigError]) -> Vec<&str> {
        errors.iter().map(|e| e.key.as_str()).collect()
    }

    #[test]
    fn a_good_configuration_is_taken() {
        let raw = parse(&base(&format!(
            "id = \"grafana\"\nsecret_hash = '{HASH}'\nredirect_uris = [\"https://grafana.example.org/login/generic_oauth\"]\ngroups = [\"staff\"]"
        )));
        let c = raw.check().expect("valid");
        assert_eq!(c.code_lifetime, 60);
        let client = c.client("grafana").unwrap();
        assert!(!client.is_public());
        assert!(client.admits(&["staff".into()]));
        assert!(!client.admits(&["other".into()]));
        assert!(client.redirect_uri_registered("https://grafana.example.org/login/generic_oauth"));
        assert!(!client.redirect_uri_registered("https://grafana.example.org/login/generic_oauth/"));
        assert!(!client.redirect_uri_registered("https://grafana.example.org/login/"));
        assert_eq!(client.algorithm, "RS256");
        assert!(c.client("other").is_none());
    }

    #[test]
    fn each_problem_names_its_key() {
        let cases: &[(&str, &str)] = &[
            ("id = \"a b\"\npublic = true\nredirect_uris = [\"https://a.example/\"]", "oidc.client.id"),
            ("id = \"a\"\nredirect_uris = [\"https://a.example/\"]", "oidc.client[a].secret_hash"),
            ("id = \"a\"\npublic = true\nsecret_hash = 'x'\nredirect_uris = [\"https://a.example/\"]", "oidc.client[a].secret_hash"),
            ("id = \"a\"\nsecret_hash = 'plain'\nredirect_uris = [\"https://a.example/\"]", "oidc.client[a].secret_hash"),
            ("id = \"a\"\nsecret_hash = '$argon2i$v=19$m=16,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2g'\nredirect_uris = [\"https://a.example/\"]", "oidc.client[a].secret_hash"),
            ("id = \"a\"\npublic = true\nredirect_uris = []", "oidc.client[a].redirect_uris"),
            ("id = \"a\"\npublic = true\nredirect_uris = [\"http://a.example/cb\"]", "oidc.client[a].redirect_uris"),
            ("id = \"a\"\npublic = true\nredirect_uris = [\"https://a.example/cb#x\"]", "oidc.client[a].redirect_uris"),
            ("id = \"a\"\npublic = true\nredirect_uris = [\"javascript:alert(1)\"]", "oidc.client[a].redirect_uris"),
            ("id = \"a\"\npublic = true\nredirect_uris = [\"https://u:p@a.example/\"]", "oidc.client[a].redirect_uris"),
            ("id = \"a\"\npublic = true\nredirect_uris = [\"https://a.example/\"]\npost_logout_redirect_uris = [\"ftp://a.example/\"]", "oidc.client[a].post_logout_redirect_uris"),
            ("id = \"a\"\npublic = true\nredirect_uris = [\"https://a.example/\"]\nbackchannel_logout_uri = \"nope\"", "oidc.client[a].backchannel_logout_uri"),
            ("id = \"a\"\npublic = true\nredirect_uris = [\"https://a.example/\"]\ngroups = []", "oidc.client[a].groups"),
            ("id = \"a\"\npublic = true\nredirect_uris = [\"https://a.example/\"]\nscopes = [\"openid\", \"admin\"]", "oidc.client[a].scopes"),
            ("id = \"a\"\npublic = true\nredirect_uris = [\"https://a.example/\"]\nscopes = [\"profile\"]", "oidc.client[a].scopes"),
            ("id = \"a\"\npublic = true\nredirect_uris = [\"https://a.example/\"]\nid_token_signed_response_alg = \"none\"", "oidc.client[a].id_token_signed_response_alg"),
            ("id = \"a\"\npublic = true\nredirect_uris = [\"https://a.example/\"]\nid_token_signed_response_alg = \"EdDSA\"", "oidc.eddsa_key_file"),
        ];
        for (client, key) in cases {
            let errors = parse(&base(client)).check().expect_err(client);
            assert_eq!(keys_of(&errors), vec![*key], "{client}");
        }
    }

    #[test]
    fn the_issuer_and_lifetimes_are_checked() {
        let client = "id = \"a\"\npublic = true\nredirect_uris = [\"http://127.0.0.1:8000/cb\"]";
        for (issuer, ok) in [
            ("https://login.example.org", true),
            ("https://login.example.org/realm", true),
            ("http://127.0.0.1:8080", true),
            ("http://login.example.org", false),
            ("https://login.example.org/", false),
            ("https://login.example.org?x=1", false),
            ("login.example.org", false),
        ] {
            let text = base(client).replace("https://login.example.org", issuer);
            assert_eq!(parse(&text).check().is_ok(), ok, "{issuer}");
        }
        let text = base(client).replace(
            "signing_key_file",
            "code_lifetime_seconds = 61\nrefresh_token_lifetime_seconds = 10\nsigning_key_file",
        );
        let errors = parse(&text).check().unwrap_err();
        assert_eq!(
            keys_of(&errors),
            vec![
                "oidc.code_lifetime_seconds",
                "oidc.refresh_token_lifetime_seconds"
            ]
        );
    }

    #[test]
    fn unknown_keys_and_twice_listed_clients_are_refused() {
        let text = base("id = \"a\"\npublic = true\nredirect_uris = [\"https://a.example/\"]\nredirect_uri = \"x\"");
        let top: Result<toml::Value, _> = toml::from_str(&text);
        assert!(top.is_ok());
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Top {
            oidc: RawOidc,
        }
        let e = toml::from_str::<Top>(&text).unwrap_err().to_string();
        assert!(e.contains("redirect_uri"), "{e}");
        let one = "id = \"a\"\npublic = true\nredirect_uris = [\"https://a.example/\"]";
        let text = format!("{}[[oidc.client]]\n{one}\n", base(one));
        assert_eq!(
            keys_of(&parse(&text).check().unwrap_err()),
            vec!["oidc.client[a].id"]
        );
    }
}
