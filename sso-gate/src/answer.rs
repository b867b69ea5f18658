//! The flow's decision as each kind of caller needs it. The decision itself
//! (`sso_core::flow`) is the one mod_sso and the Python middleware act on;
//! only its spelling differs:
//!
//! - nginx `auth_request` passes 2xx, 401 and 403 on and makes everything
//!   else a 500, so the redirect to the login server travels as a 401
//!   carrying `Location` and the nonce `Set-Cookie`, which nginx's
//!   `error_page 401` turns into the 302 (docs/sso-gate.md gives the
//!   snippet);
//! - Traefik, Caddy and Envoy pass any non-2xx answer to the browser as it
//!   is, and a 2xx lets the request through: the redirect is a 302, and
//!   `sso_logout` (200 at mod_sso) becomes a 302 to its `d`, since a 2xx
//!   would hand the logout request to the upstream and lose its cookies;
//! - requests the gate serves itself get the decision's own status.

use hyper::header::{HeaderMap, HeaderName, HeaderValue, InvalidHeaderValue};
use sso_core::flow::{Action, Decision, Settings};
use sso_core::{web, Ticket};

/// Who asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `/auth-request`.
    AuthRequest,
    /// `/forward-auth`.
    ForwardAuth,
    /// A request the gate answers itself.
    Direct,
}

/// A complete answer: status, headers in order, the identity headers of an
/// accepted ticket, text body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub identity: Option<Identity>,
    pub body: String,
}

impl Answer {
    pub fn new(status: u16, body: &str) -> Answer {
        Answer {
            status,
            headers: vec![("Cache-Control".into(), "no-store".into())],
            identity: None,
            body: body.to_owned(),
        }
    }
}

/// The headers naming the user to the application: set by the gate from
/// the ticket, and removed from every client request before that.
pub const USER_HEADERS: [&str; 3] = ["X-Auth-Request-User", "Remote-User", "X-Forwarded-User"];
/// The groups, comma-separated.
pub const GROUP_HEADERS: [&str; 3] = [
    "X-Auth-Request-Groups",
    "Remote-Groups",
    "X-Forwarded-Groups",
];

/// [`USER_HEADERS`] and [`GROUP_HEADERS`] as header names, made at compile
/// time: a name parsed from text costs a scan and a copy at every request,
/// and even a clone of a `static` one an indirect call (each use of a
/// `const` is a fresh value instead).
const USER_NAMES: [HeaderName; 3] = [
    HeaderName::from_static("x-auth-request-user"),
    HeaderName::from_static("remote-user"),
    HeaderName::from_static("x-forwarded-user"),
];
const GROUP_NAMES: [HeaderName; 3] = [
    HeaderName::from_static("x-auth-request-groups"),
    HeaderName::from_static("remote-groups"),
    HeaderName::from_static("x-forwarded-groups"),
];

/// Whether `name` is one of [`USER_HEADERS`] or [`GROUP_HEADERS`].
pub fn is_identity_header(name: &HeaderName) -> bool {
    USER_NAMES.contains(name) || GROUP_NAMES.contains(name)
}

/// Who an accepted ticket names: the user and the groups (comma-separated),
/// for the [`USER_HEADERS`] and [`GROUP_HEADERS`] of an answer or of the
/// upstream's request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    pub user: String,
    pub groups: String,
}

impl Identity {
    pub fn of(ticket: &Ticket) -> Identity {
        Identity {
            user: ticket.user.clone(),
            groups: ticket.groups.join(","),
        }
    }

    /// Sets every identity header in `h`, replacing any copy already there.
    pub fn write(&self, h: &mut HeaderMap) -> Result<(), InvalidHeaderValue> {
        h.reserve(USER_NAMES.len() + GROUP_NAMES.len());
        for (names, value) in [(USER_NAMES, &self.user), (GROUP_NAMES, &self.groups)] {
            // Checked and copied once; the names share it.
            let value = HeaderValue::from_str(value)?;
            for name in names {
                h.insert(name, value.clone());
            }
        }
        Ok(())
    }
}

/// The answer of a forward-auth endpoint for a public route: 200 with
/// every identity header present and empty. A proxy that copies headers
/// from the answer then replaces the client's own copies with nothing
/// (Caddy 2.6 would otherwise send its unexpanded placeholder, and an
/// older proxy might keep the client's value).
pub fn anonymous() -> Answer {
    Answer {
        status: 200,
        headers: Vec::new(),
        identity: Some(Identity::default()),
        body: String::new(),
    }
}

/// The answer to a request the flow decided. `query` is the original
/// request's (for `sso_logout`'s `d`).
pub fn answer(decision: &Decision, style: Style, settings: &Settings, query: &str) -> Answer {
    let text = |status| match status {
        200 => "OK",
        302 => "",
        400 => "Bad request",
        401 => "Login required",
        403 => "Forbidden",
        503 => "Try again later",
        _ => "",
    };
    match (&decision.action, style) {
        (Action::Accept(a), _) => Answer {
            status: 200,
            headers: Vec::new(),
            identity: Some(Identity::of(&a.ticket)),
            body: String::new(),
        },
        (Action::Redirect { .. }, Style::AuthRequest) => Answer {
            status: 401,
            headers: decision.headers(),
            identity: None,
            body: text(401).to_owned(),
        },
        (Action::Logout { set_cookies, .. }, Style::ForwardAuth) => {
            let d = web::query_param(query, "d").unwrap_or_default();
            let mut headers: Vec<(String, String)> = set_cookies
                .iter()
                .map(|c| ("Set-Cookie".to_owned(), c.clone()))
                .collect();
            headers.push((
                "Location".into(),
                web::safe_redirect_target(&d, &settings.service),
            ));
            headers.push(("Cache-Control".into(), "no-store".into()));
            Answer {
                status: 302,
                headers,
                identity: None,
                body: String::new(),
            }
        }
        (Action::Logout { body, .. }, _) => Answer {
            status: 200,
            headers: decision.headers(),
            identity: None,
            body: body.clone(),
        },
        (Action::Decline, _) => Answer::new(404, "Not found"),
        _ => {
            let status = decision.status();
            Answer {
                status,
                headers: decision.headers(),
                identity: None,
                body: text(status).to_owned(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sso_core::flow::{Accepted, Source};
    use std::sync::Arc;

    fn settings() -> Settings {
        let key = sso_core::SecretKey::generate().public_key();
        let set = sso_core::KeySet::new(&[key]).unwrap();
        let verifier = sso_core::Verifier::new(set, "app.example.org/app/", "example.org").unwrap();
        let service = web::ServiceName::parse("app.example.org/app/").unwrap();
        Settings::new(service, "https://login.example.org/", verifier)
    }

    fn decided(action: Action) -> Decision {
        Decision {
            action,
            logs: Vec::new(),
            ticket_param_mask: None,
        }
    }

    fn header(a: &Answer, name: &str) -> Vec<String> {
        let mut h = HeaderMap::new();
        if let Some(identity) = &a.identity {
            identity.write(&mut h).unwrap();
        }
        let identity = h
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned());
        a.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .chain(identity)
            .collect()
    }

    #[test]
    fn the_login_redirect_is_a_401_for_nginx_and_a_302_elsewhere() {
        let d = decided(Action::Redirect {
            location: "https://login.example.org/?s=x".into(),
            set_cookies: vec!["SSO_nonce=abc; Path=/app/".into()],
        });
        let s = settings();
        let nginx = answer(&d, Style::AuthRequest, &s, "");
        assert_eq!(nginx.status, 401);
        assert_eq!(
            header(&nginx, "Location"),
            ["https://login.example.org/?s=x"]
        );
        assert_eq!(header(&nginx, "Set-Cookie"), ["SSO_nonce=abc; Path=/app/"]);
        for style in [Style::ForwardAuth, Style::Direct] {
            let a = answer(&d, style, &s, "");
            assert_eq!(a.status, 302);
            assert_eq!(header(&a, "Location"), ["https://login.example.org/?s=x"]);
        }
    }

    #[test]
    fn an_accepted_ticket_names_the_user_and_groups() {
        let mut t = Ticket::new("alice", "app.example.org/app/", "example.org", 1);
        t.groups = vec!["a".into(), "b".into()];
        let d = decided(Action::Accept(Accepted::new(
            Arc::new(t),
            "x".into(),
            Source::Cookie,
            None,
        )));
        let a = answer(&d, Style::AuthRequest, &settings(), "");
        assert_eq!(a.status, 200);
        assert_eq!(header(&a, "X-Auth-Request-User"), ["alice"]);
        assert_eq!(header(&a, "Remote-Groups"), ["a,b"]);
        assert_eq!(header(&a, "X-Forwarded-Groups"), ["a,b"]);
        let anonymous = anonymous();
        for name in USER_HEADERS.iter().chain(GROUP_HEADERS.iter()) {
            assert_eq!(header(&anonymous, name), [""], "{name}");
        }
    }

    #[test]
    fn logout_at_forward_auth_redirects_inside_the_service() {
        let d = decided(Action::Logout {
            set_cookies: vec!["SSO_ticket=; Max-Age=0".into()],
            body: "OK".into(),
        });
        let s = settings();
        let fa = answer(&d, Style::ForwardAuth, &s, "d=https%3A%2F%2Fevil.org%2F");
        assert_eq!(fa.status, 302);
        assert_eq!(header(&fa, "Location"), ["https://app.example.org/app/"]);
        assert_eq!(header(&fa, "Set-Cookie"), ["SSO_ticket=; Max-Age=0"]);
        let fa = answer(&d, Style::ForwardAuth, &s, "d=%2Fapp%2Fbye");
        assert_eq!(header(&fa, "Location"), ["https://app.example.org/app/bye"]);
        let direct = answer(&d, Style::Direct, &s, "");
        assert_eq!((direct.status, direct.body.as_str()), (200, "OK"));
    }

    #[test]
    fn refusals_keep_their_status() {
        let s = settings();
        let www = "SSO realm=\"x\", error=\"expired\"";
        let d = decided(Action::Unauthorized {
            www_authenticate: www.into(),
        });
        for style in [Style::AuthRequest, Style::ForwardAuth, Style::Direct] {
            let a = answer(&d, style, &s, "");
            assert_eq!(a.status, 401);
            assert_eq!(header(&a, "WWW-Authenticate"), [www]);
            assert!(header(&a, "Location").is_empty());
        }
        assert_eq!(
            answer(&decided(Action::Forbidden), Style::ForwardAuth, &s, "").status,
            403
        );
        assert_eq!(
            answer(&decided(Action::Unavailable), Style::Direct, &s, "").status,
            503
        );
    }
}
