//! What a login is for: a ticket for a service (the ticket protocol's
//! `s`, `d`, `n`, `g`), or an OpenID Connect authorization request that
//! resumes at the authorization endpoint once the session exists. The
//! login form, the second-factor step and the `[[second_factor]]` policy
//! see both the same way: a name (the service, or `oidc:CLIENT_ID`) and
//! the hidden fields that carry the request through the forms.

use sso_oidc::authorize::{self, AuthorizeRequest, Refused};
use sso_oidc::OidcConfig;

use crate::params::TicketRequest;

/// An authorization request waiting for the login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcLogin {
    pub client_id: String,
    /// The client's `name`, shown on the forms.
    pub client_name: String,
    /// The authorization request's query string, as the client sent it
    /// (checked again when the login resumes).
    pub query: String,
    /// The origin of the request's registered redirect URI when it is
    /// plain `http://` (a native app's loopback listener, RFC 8252 7.3),
    /// which the forms' CSP must let the browser go back to: see
    /// [`Target::form_action_origin`].
    pub http_redirect_origin: Option<String>,
}

/// What the login is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Ticket(TicketRequest),
    Oidc(OidcLogin),
}

/// The form field that carries an authorization request.
pub const OIDC_FIELD: &str = "o";

impl Target {
    /// The name the `[[second_factor]]` policy and the log know it by.
    pub fn service(&self) -> String {
        match self {
            Target::Ticket(req) => req.service.clone(),
            Target::Oidc(o) => crate::oidc::service_of(&o.client_id),
        }
    }

    /// The name the forms show ("Log in to ...").
    pub fn shown(&self) -> &str {
        match self {
            Target::Ticket(req) => &req.service,
            Target::Oidc(o) => &o.client_name,
        }
    }

    /// An origin beyond the CSP's `form-action 'self' https:` that a form
    /// of this login ends at: the pending authorization's `http://`
    /// redirect origin, exactly, never a wildcard.
    pub fn form_action_origin(&self) -> Option<&str> {
        match self {
            Target::Ticket(_) => None,
            Target::Oidc(o) => o.http_redirect_origin.as_deref(),
        }
    }

    /// The hidden fields that carry the request through a form.
    pub fn hidden_fields(&self) -> Vec<(&'static str, String)> {
        match self {
            Target::Ticket(req) => vec![
                ("s", req.service.clone()),
                ("d", req.destination.clone().unwrap_or_default()),
                ("n", req.nonce.clone().unwrap_or_default()),
                ("g", req.groups.join(",")),
            ],
            Target::Oidc(o) => vec![(OIDC_FIELD, o.query.clone())],
        }
    }
}

/// The parameters of a query string, in order, repeated ones kept (the
/// authorization request's parser refuses them by name).
pub fn pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// An authorization request's query, checked against the clients, as the
/// target of a login.
pub fn oidc_target(
    query: &str,
    config: &OidcConfig,
) -> Result<(Target, AuthorizeRequest), Refused> {
    let request = authorize::parse(&pairs(query), config)?;
    let client_name = config
        .client(&request.client_id)
        .map_or_else(|| request.client_id.clone(), |c| c.name.clone());
    let target = Target::Oidc(OidcLogin {
        client_id: request.client_id.clone(),
        client_name,
        query: query.to_owned(),
        http_redirect_origin: http_origin(&request.redirect_uri),
    });
    Ok((target, request))
}

/// The origin of an `http://` URL, when it is made of characters a CSP
/// source cannot be confused by (letters, digits, `.`, `-`, `:`, `[`, `]`,
/// `/`); `None` for any other URL (`https:` is allowed already).
fn http_origin(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    if url.scheme() != "http" {
        return None;
    }
    let origin = url.origin().ascii_serialization();
    let plain = origin
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".-:[]/".contains(c));
    plain.then_some(origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> OidcConfig {
        let raw: sso_oidc::RawOidc = toml::from_str(
            "issuer = \"https://login.example.org\"\nsigning_key_file = \"/k\"\n\
             [[client]]\nid = \"app\"\nname = \"The App\"\npublic = true\n\
             redirect_uris = [\"https://app.example.org/cb\"]\n",
        )
        .unwrap();
        raw.check().unwrap()
    }

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn an_authorization_request_is_a_target_named_after_its_client() {
        let query = format!(
            "client_id=app&redirect_uri=https%3A%2F%2Fapp.example.org%2Fcb&response_type=code\
             &scope=openid&code_challenge={CHALLENGE}&code_challenge_method=S256"
        );
        let (target, request) = oidc_target(&query, &config()).unwrap();
        assert_eq!(request.client_id, "app");
        assert_eq!(target.service(), "oidc:app");
        assert_eq!(target.shown(), "The App");
        assert_eq!(target.hidden_fields(), vec![("o", query.clone())]);
        // An unknown client is a page, never a target.
        let bad = query.replace("client_id=app", "client_id=evil");
        assert!(matches!(
            oidc_target(&bad, &config()),
            Err(Refused::Page(_))
        ));
    }

    #[test]
    fn a_ticket_target_carries_the_ticket_request() {
        let req =
            TicketRequest::from_params(Some("a.org/"), None, Some("n1"), Some("x,y")).unwrap();
        let t = Target::Ticket(req);
        assert_eq!(t.service(), "a.org/");
        assert_eq!(
            t.hidden_fields(),
            vec![
                ("s", "a.org/".to_owned()),
                ("d", String::new()),
                ("n", "n1".to_owned()),
                ("g", "x,y".to_owned())
            ]
        );
    }

    #[test]
    fn only_a_plain_http_redirect_origin_is_named_for_the_csp() {
        assert_eq!(
            http_origin("http://127.0.0.1:8765/cb?x=1").as_deref(),
            Some("http://127.0.0.1:8765")
        );
        assert_eq!(
            http_origin("http://[::1]:8765/cb").as_deref(),
            Some("http://[::1]:8765")
        );
        assert_eq!(http_origin("https://app.example/cb"), None);
        assert_eq!(http_origin("com.example.app:/cb"), None);
        assert_eq!(http_origin("http://a;b.example/cb"), None);
    }
}
