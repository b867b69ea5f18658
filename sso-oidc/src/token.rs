//! The token request (RFC 6749 4.1.3, 6) and client authentication
//! (`client_secret_basic`, `client_secret_post`, or none for public
//! clients, RFC 6749 2.3.1). One method per request; a client with a
//! secret always proves it; the secret is checked against its argon2 hash.

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::Argon2;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::config::{Authentication, Client, OidcConfig};
use crate::error::{invalid_request, ErrorCode, OAuthError};
use crate::params::single;

/// What the client asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    AuthorizationCode {
        code: String,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
    },
    RefreshToken {
        refresh_token: String,
        /// A narrower scope than the original grant's, or `None`.
        scope: Option<Vec<String>>,
    },
}

/// How the client identified itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    Basic,
    Post,
    /// `client_id` alone (public clients).
    None,
}

/// The client's claimed identity and proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub client_id: String,
    pub secret: Option<String>,
    pub method: Method,
}

fn one<'a>(params: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, OAuthError> {
    single(params, name).map_err(invalid_request)
}

/// `application/x-www-form-urlencoded` decoding of one Basic half.
fn form_decode(s: &str) -> Option<String> {
    let plus = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

fn invalid_client(description: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClient, description)
}

/// The credentials of `Authorization: Basic ...`, if that header is Basic.
fn basic(authorization: &str) -> Result<Option<(String, String)>, OAuthError> {
    let Some((scheme, value)) = authorization.trim().split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let bad = || invalid_client("malformed Basic credentials");
    let decoded = STANDARD.decode(value.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    Ok(Some((
        form_decode(id).ok_or_else(bad)?,
        form_decode(secret).ok_or_else(bad)?,
    )))
}

/// Parses a token request's form and `Authorization` header.
pub fn parse(
    params: &[(String, String)],
    authorization: Option<&str>,
) -> Result<(Credentials, Grant), OAuthError> {
    let body_id = one(params, "client_id")?;
    let body_secret = one(params, "client_secret")?;
    let credentials = match authorization.map(basic).transpose()?.flatten() {
        Some((id, secret)) => {
            if body_secret.is_some() {
                return Err(invalid_request(
                    "more than one client authentication method",
                ));
            }
            if body_id.is_some_and(|b| b != id) {
                return Err(invalid_request(
                    "client_id differs from the Basic credentials",
                ));
            }
            Credentials {
                client_id: id,
                secret: Some(secret),
                method: Method::Basic,
            }
        }
        None => {
            let id = body_id.ok_or_else(|| invalid_client("no client authentication"))?;
            Credentials {
                client_id: id.to_owned(),
                secret: body_secret.map(str::to_owned),
                method: if body_secret.is_some() {
                    Method::Post
                } else {
                    Method::None
                },
            }
        }
    };
    let grant = match one(params, "grant_type")? {
        Some("authorization_code") => Grant::AuthorizationCode {
            code: one(params, "code")?
                .ok_or_else(|| invalid_request("code is missing"))?
                .to_owned(),
            redirect_uri: one(params, "redirect_uri")?.map(str::to_owned),
            code_verifier: one(params, "code_verifier")?.map(str::to_owned),
        },
        Some("refresh_token") => Grant::RefreshToken {
            refresh_token: one(params, "refresh_token")?
                .ok_or_else(|| invalid_request("refresh_token is missing"))?
                .to_owned(),
            scope: one(params, "scope")?.map(|s| {
                s.split(' ')
                    .filter(|x| !x.is_empty())
                    .map(str::to_owned)
                    .collect()
            }),
        },
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "authorization_code and refresh_token only",
            ))
        }
        None => return Err(invalid_request("grant_type is missing")),
    };
    Ok((credentials, grant))
}

/// Shortest client secret `hash_secret` takes.
pub const MIN_SECRET_LEN: usize = 16;

/// The argon2id PHC string of a client secret, for `secret_hash`.
pub fn hash_secret(secret: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    if secret.len() < MIN_SECRET_LEN {
        return Err(format!(
            "the secret is shorter than {MIN_SECRET_LEN} characters (`openssl rand -base64 32` makes one)"
        ));
    }
    let salt = SaltString::generate(&mut rand_core::OsRng);
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `secret` is the one `hash` (an argon2 PHC string) was made of.
pub fn secret_matches(hash: &str, secret: &str) -> bool {
    PasswordHash::new(hash)
        .and_then(|h| Argon2::default().verify_password(secret.as_bytes(), &h))
        .is_ok()
}

/// The client these credentials prove, or `invalid_client`.
pub fn authenticate<'a>(
    config: &'a OidcConfig,
    credentials: &Credentials,
) -> Result<&'a Client, OAuthError> {
    let client = config
        .client(&credentials.client_id)
        .ok_or_else(|| invalid_client("unknown client"))?;
    match (&client.authentication, &credentials.secret) {
        (Authentication::Public, None) => Ok(client),
        (Authentication::Public, Some(_)) => Err(invalid_client("a public client has no secret")),
        (Authentication::Secret(_), None) => Err(invalid_client("client authentication required")),
        (Authentication::Secret(hash), Some(secret)) if secret_matches(hash, secret) => Ok(client),
        (Authentication::Secret(_), Some(_)) => Err(invalid_client("wrong client secret")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RawOidc;
    use argon2::password_hash::{PasswordHasher, SaltString};

    fn hash(secret: &str) -> String {
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        Argon2::default()
            .hash_password(secret.as_bytes(), &salt)
            .unwrap()
            .to_string()
    }

    fn config() -> OidcConfig {
        let text = format!(
            "issuer = \"https://login.example.org\"\nsigning_key_file = \"/k\"\n\
             [[client]]\nid = \"web\"\nsecret_hash = '{}'\nredirect_uris = [\"https://web.example/cb\"]\n\
             [[client]]\nid = \"spa\"\npublic = true\nredirect_uris = [\"https://spa.example/cb\"]\n",
            hash("s3cret: with +&%")
        );
        toml::from_str::<RawOidc>(&text).unwrap().check().unwrap()
    }

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        crate::params::owned(pairs)
    }

    fn basic_header(id: &str, secret: &str) -> String {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
        )
    }

    const CODE: &[(&str, &str)] = &[
        ("grant_type", "authorization_code"),
        ("code", "c"),
        ("redirect_uri", "https://web.example/cb"),
    ];

    #[test]
    fn clients_authenticate_each_way() {
        let c = config();
        let header = basic_header("web", "s3cret: with +&%");
        let (cred, grant) = parse(&form(CODE), Some(&header)).unwrap();
        assert_eq!(cred.method, Method::Basic);
        assert_eq!(authenticate(&c, &cred).unwrap().id, "web");
        assert!(matches!(grant, Grant::AuthorizationCode { ref code, .. } if code == "c"));
        let mut post = form(CODE);
        post.extend(form(&[
            ("client_id", "web"),
            ("client_secret", "s3cret: with +&%"),
        ]));
        let (cred, _) = parse(&post, None).unwrap();
        assert_eq!(cred.method, Method::Post);
        assert!(authenticate(&c, &cred).is_ok());
        let mut public = form(CODE);
        public.push(("client_id".into(), "spa".into()));
        let (cred, _) = parse(&public, None).unwrap();
        assert_eq!(authenticate(&c, &cred).unwrap().id, "spa");
    }

    #[test]
    fn wrong_or_missing_proof_is_invalid_client() {
        let c = config();
        let refused = |params: Vec<(String, String)>, header: Option<&str>| {
            let (cred, _) = parse(&params, header).unwrap();
            authenticate(&c, &cred).unwrap_err()
        };
        let e = refused(form(CODE), Some(&basic_header("web", "wrong")));
        assert_eq!((e.code, e.token_status()), (ErrorCode::InvalidClient, 401));
        let mut p = form(CODE);
        p.push(("client_id".into(), "web".into()));
        assert_eq!(refused(p, None).code, ErrorCode::InvalidClient);
        assert_eq!(
            refused(form(CODE), Some(&basic_header("nobody", "x"))).code,
            ErrorCode::InvalidClient
        );
        assert_eq!(
            refused(form(CODE), Some(&basic_header("spa", "x"))).code,
            ErrorCode::InvalidClient
        );
        // No identification at all.
        assert_eq!(
            parse(&form(CODE), None).unwrap_err().code,
            ErrorCode::InvalidClient
        );
        assert_eq!(
            parse(&form(CODE), Some("Basic !!!")).unwrap_err().code,
            ErrorCode::InvalidClient
        );
    }

    #[test]
    fn hashed_secrets_match_only_themselves() {
        let h = hash_secret("a long enough secret").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(secret_matches(&h, "a long enough secret"));
        assert!(!secret_matches(&h, "a long enough secreT"));
        assert_ne!(hash_secret("a long enough secret").unwrap(), h, "salted");
        assert!(hash_secret("short").is_err());
    }

    #[test]
    fn malformed_requests() {
        let header = basic_header("web", "x");
        let bad = |pairs: &[(&str, &str)]| parse(&form(pairs), Some(&header)).unwrap_err().code;
        // A grant type alone, and the error it gets.
        for (grant, code) in [
            ("password", ErrorCode::UnsupportedGrantType),
            ("client_credentials", ErrorCode::UnsupportedGrantType),
            ("authorization_code", ErrorCode::InvalidRequest),
            ("refresh_token", ErrorCode::InvalidRequest),
        ] {
            assert_eq!(bad(&[("grant_type", grant)]), code, "{grant}");
        }
        assert_eq!(bad(&[("code", "c")]), ErrorCode::InvalidRequest);
        assert_eq!(
            bad(&[
                ("grant_type", "authorization_code"),
                ("code", "a"),
                ("code", "b")
            ]),
            ErrorCode::InvalidRequest
        );
        // Two methods at once, or two identities.
        let mut both = form(CODE);
        both.push(("client_secret".into(), "x".into()));
        assert_eq!(
            parse(&both, Some(&header)).unwrap_err().code,
            ErrorCode::InvalidRequest
        );
        let mut other = form(CODE);
        other.push(("client_id".into(), "spa".into()));
        assert_eq!(
            parse(&other, Some(&header)).unwrap_err().code,
            ErrorCode::InvalidRequest
        );
        let (_, grant) = parse(
            &form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "r"),
                ("scope", "openid  email"),
            ]),
            Some(&header),
        )
        .unwrap();
        assert_eq!(
            grant,
            Grant::RefreshToken {
                refresh_token: "r".into(),
                scope: Some(vec!["openid".into(), "email".into()])
            }
        );
    }
}
