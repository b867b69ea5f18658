//! The parameters of a ticket request (`s`, `d`, `n`, `g`), checked before
//! anything is done with them, and the redirect built from them.

use std::collections::HashMap;

use sso_core::web::{parse_query, percent_encode, ServiceName};

use crate::session::valid_name;

/// Longest accepted `d` (the URL to return to).
pub const MAX_DESTINATION_LEN: usize = 2048;
/// Most groups accepted in `g`.
pub const MAX_GROUPS: usize = 64;

/// Request parameters by name.
pub type Params = HashMap<String, String>;

/// Pairs → map. Duplicate names are refused (`None`): which of two `s`
/// values counts must never be ambiguous.
fn unique(pairs: impl IntoIterator<Item = (String, String)>) -> Option<Params> {
    let mut map = HashMap::new();
    for (k, v) in pairs {
        if map.insert(k, v).is_some() {
            return None;
        }
    }
    Some(map)
}

/// The parameters of a query string (`sso_core::web::parse_query`).
pub fn query_params(query: &str) -> Option<Params> {
    unique(parse_query(query))
}

/// The fields of an `application/x-www-form-urlencoded` body; `None` for a
/// body that is not UTF-8 or repeats a name.
pub fn form_params(body: &[u8]) -> Option<Params> {
    std::str::from_utf8(body).ok()?;
    unique(form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())))
}

/// A checked ticket request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRequest {
    pub service: String,
    pub destination: Option<String>,
    pub nonce: Option<String>,
    pub groups: Vec<String>,
}

/// Why a request was refused; Display is shown to the user (escaped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamError {
    MissingService,
    MalformedService,
    MalformedDestination,
    MalformedNonce,
    MalformedGroups,
    DuplicateParameter,
}

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ParamError::MissingService => "The request names no service (parameter s).",
            ParamError::MalformedService => "The service name (parameter s) is malformed.",
            ParamError::MalformedDestination => {
                "The return address (parameter d) is not an http(s) URL."
            }
            ParamError::MalformedNonce => "The nonce (parameter n) is malformed.",
            ParamError::MalformedGroups => "The group list (parameter g) is malformed.",
            ParamError::DuplicateParameter => "A parameter appears more than once.",
        })
    }
}

impl ParamError {
    /// A short stable name for logs.
    pub fn check(&self) -> &'static str {
        match self {
            ParamError::MissingService => "missing service",
            ParamError::MalformedService => "malformed service",
            ParamError::MalformedDestination => "malformed destination",
            ParamError::MalformedNonce => "malformed nonce",
            ParamError::MalformedGroups => "malformed groups",
            ParamError::DuplicateParameter => "duplicate parameter",
        }
    }
}

/// A service name per the protocol: `HOST[:PORT][/PATH]/`, ending in `/`,
/// as sso-core's [`ServiceName`] reads it (which also refuses `.` and `..`
/// segments: `app/../x/` would send a ticket for one name to another path's
/// `sso_login`), and on top of that a conservative character set so that
/// `https://` + name is a URL that points where it says (no userinfo, query,
/// fragment, backslash, space or `|`).
pub fn valid_service(s: &str) -> bool {
    if s.len() > 255 || ServiceName::parse(s).is_err() {
        return false;
    }
    let (authority, path) = match s.find('/') {
        Some(i) => s.split_at(i),
        None => return false,
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    let host_ok = !host.is_empty()
        && !host.starts_with('.')
        && !host.starts_with('-')
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    let port_ok = match port {
        None => true,
        Some(p) => !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()),
    };
    let path_ok = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/-._~".contains(&b));
    host_ok && port_ok && path_ok
}

fn valid_destination(d: &str) -> bool {
    let rest = d
        .strip_prefix("https://")
        .or_else(|| d.strip_prefix("http://"));
    match rest {
        Some(r) => {
            !r.is_empty()
                && d.len() <= MAX_DESTINATION_LEN
                && !d
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
        }
        None => false,
    }
}

fn valid_nonce(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 256
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~+/=".contains(&b))
}

impl TicketRequest {
    /// Checks the parameters as found in a query string or form; empty
    /// values count as absent.
    pub fn from_params(
        s: Option<&str>,
        d: Option<&str>,
        n: Option<&str>,
        g: Option<&str>,
    ) -> Result<TicketRequest, ParamError> {
        let service = match s {
            None | Some("") => return Err(ParamError::MissingService),
            Some(s) if valid_service(s) => s.to_owned(),
            Some(_) => return Err(ParamError::MalformedService),
        };
        let destination = match d {
            None | Some("") => None,
            Some(d) if valid_destination(d) => Some(d.to_owned()),
            Some(_) => return Err(ParamError::MalformedDestination),
        };
        let nonce = match n {
            None | Some("") => None,
            Some(n) if valid_nonce(n) => Some(n.to_owned()),
            Some(_) => return Err(ParamError::MalformedNonce),
        };
        let groups = match g {
            None | Some("") => Vec::new(),
            Some(g) => {
                let list: Vec<String> = g.split(',').map(str::to_owned).collect();
                if list.len() > MAX_GROUPS || !list.iter().all(|x| valid_name(x)) {
                    return Err(ParamError::MalformedGroups);
                }
                list
            }
        };
        Ok(TicketRequest {
            service,
            destination,
            nonce,
            groups,
        })
    }

    /// The user's groups that the ticket carries: those among `g` (none
    /// without `g`). `None` when `g` was given and the user is in none.
    pub fn ticket_groups(&self, user_groups: &[String]) -> Option<Vec<String>> {
        if self.groups.is_empty() {
            return Some(Vec::new());
        }
        let carried = groups_among(&self.groups, user_groups);
        (!carried.is_empty()).then_some(carried)
    }

    /// `https://SERVICE` + `sso_login?t=TICKET&d=DEST`, built only from the
    /// checked service name; `t` and `d` percent-encoded.
    pub fn redirect_url(&self, ticket: &str) -> String {
        let dest = self
            .destination
            .clone()
            .unwrap_or_else(|| format!("https://{}", self.service));
        format!(
            "https://{}sso_login?t={}&d={}",
            self.service,
            percent_encode(ticket),
            percent_encode(&dest)
        )
    }

    /// The request from a parameter map.
    pub fn from_map(p: &Params) -> Result<TicketRequest, ParamError> {
        let get = |k: &str| p.get(k).map(String::as_str);
        TicketRequest::from_params(get("s"), get("d"), get("n"), get("g"))
    }
}

/// The groups of `wanted` that are among `held`, in `wanted`'s order.
pub fn groups_among(wanted: &[String], held: &[String]) -> Vec<String> {
    wanted
        .iter()
        .filter(|g| held.contains(g))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_refuse_duplicates_and_decode() {
        let p = query_params("s=a.org%2F&d=https%3A%2F%2Fa.org%2F%3Fx%3D1&g=a%2Cb").unwrap();
        assert_eq!(p["s"], "a.org/");
        assert_eq!(p["d"], "https://a.org/?x=1");
        assert_eq!(p["g"], "a,b");
        assert!(query_params("s=a&s=b").is_none());
        let f = form_params(b"username=a+b&password=p%26q").unwrap();
        assert_eq!(f["username"], "a b");
        assert_eq!(f["password"], "p&q");
        assert!(form_params(b"t=1&t=2").is_none());
        assert!(form_params(b"t=\xff").is_none());
    }

    #[test]
    fn service_names() {
        for ok in [
            "wiki.example.org/",
            "example.org:8443/app/",
            "127.0.0.1:1234/",
            "a/b-c/d_e/",
        ] {
            assert!(valid_service(ok), "{ok}");
        }
        for bad in [
            "",
            "wiki.example.org",
            "/wiki/",
            "user@evil.com/",
            "evil.com\\@good/",
            "a.org/x?y/",
            "a.org/#/",
            "a.org//evil.com/",
            "a.org/app/../admin/",
            "a.org/./",
            "a.org:/",
            "a.org:99999999/",
            "a|b/",
            "a .org/",
            "https://a.org/",
        ] {
            assert!(!valid_service(bad), "{bad}");
        }
    }

    #[test]
    fn parameters() {
        let r = TicketRequest::from_params(
            Some("wiki.example.org/"),
            Some("https://wiki.example.org/page?x=1&y=2"),
            Some("abc123"),
            Some("staff,admins"),
        )
        .unwrap();
        assert_eq!(r.groups, vec!["staff", "admins"]);
        assert_eq!(
            TicketRequest::from_params(None, None, None, None),
            Err(ParamError::MissingService)
        );
        assert_eq!(
            TicketRequest::from_params(Some("x/"), Some("javascript:alert(1)"), None, None),
            Err(ParamError::MalformedDestination)
        );
        assert_eq!(
            TicketRequest::from_params(Some("x/"), None, Some("a|b"), None),
            Err(ParamError::MalformedNonce)
        );
        assert_eq!(
            TicketRequest::from_params(Some("x/"), None, None, Some("a,,b")),
            Err(ParamError::MalformedGroups)
        );
    }

    #[test]
    fn ticket_groups_are_the_intersection() {
        let r = TicketRequest::from_params(Some("x/"), None, None, Some("a,b")).unwrap();
        assert_eq!(
            r.ticket_groups(&["b".into(), "c".into()]),
            Some(vec!["b".into()])
        );
        assert_eq!(r.ticket_groups(&["c".into()]), None);
        let r = TicketRequest::from_params(Some("x/"), None, None, None).unwrap();
        assert_eq!(r.ticket_groups(&["c".into()]), Some(vec![]));
    }

    #[test]
    fn redirect_is_built_from_the_service_and_encodes_parameters() {
        let r = TicketRequest::from_params(
            Some("wiki.example.org/"),
            Some("https://wiki.example.org/a?b=1&c=2"),
            None,
            None,
        )
        .unwrap();
        assert_eq!(
            r.redirect_url("ab+/=="),
            "https://wiki.example.org/sso_login?t=ab%2B%2F%3D%3D&d=https%3A%2F%2Fwiki.example.org%2Fa%3Fb%3D1%26c%3D2"
        );
    }
}
