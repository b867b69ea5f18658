//! What the flow decides from: a location's settings (fixed per
//! configuration) and what one request offers.

use super::cookies::{CookieNames, CookiePolicy, NamesCache};
use crate::web::ServiceName;
use crate::Verifier;

/// Who the location serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// Browsers: a request without a valid ticket is sent to the login
    /// server (GET) or answered 401 (other methods).
    #[default]
    Browser,
    /// Programs only: never a redirect, always 401 with the reason.
    Api,
}

/// A location's settings: everything the flow needs that does not change
/// from one request to the next. Owned plain data, so a C or Python
/// consumer can build it once and keep it behind a handle.
#[derive(Clone, Debug)]
pub struct Settings {
    pub service: ServiceName,
    /// The login server's URL (`https://login.example.org/`).
    pub login_server: String,
    /// Verifies tickets for `service` (same service name, the domain, keys).
    pub verifier: Verifier,
    /// Groups asked for (`g=`); a ticket must hold one of them. Empty: none.
    pub groups: Vec<String>,
    pub cookies: CookiePolicy,
    pub mode: Mode,
    /// Ticket binding (docs/protocol.md, "Ticket binding"): on by default.
    pub binding: bool,
    /// The cookie names for `service` and `cookies`, computed at first use
    /// (leave it `Default`): a request then hashes and formats nothing.
    pub names: NamesCache,
}

impl Settings {
    /// Browser mode, default cookies, binding on, no groups.
    pub fn new(service: ServiceName, login_server: &str, verifier: Verifier) -> Settings {
        Settings {
            service,
            login_server: login_server.to_owned(),
            verifier,
            groups: Vec::new(),
            cookies: CookiePolicy::default(),
            mode: Mode::Browser,
            binding: true,
            names: NamesCache::default(),
        }
    }

    /// The cookies of a request over https or not.
    pub fn cookie_names(&self, https: bool) -> std::borrow::Cow<'_, CookieNames> {
        self.names.get(&self.service, &self.cookies, https)
    }
}

/// What one request offers, borrowed from the server's request record.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// `GET`, `HEAD`, `POST`, ...
    pub method: &'a str,
    /// The decoded path (httpd's `r->uri`), without the query.
    pub path: &'a str,
    /// The raw query string (without `?`), empty when there is none.
    pub query: &'a str,
    /// The URI as the client sent it (`/app/x?y=1`): the return URL.
    pub unparsed_uri: &'a str,
    /// Every `Cookie` header value, in order.
    pub cookie_headers: &'a [&'a str],
    /// The `Authorization` header value, if any.
    pub authorization: Option<&'a str>,
    /// Whether the request came over https.
    pub https: bool,
    /// The current Unix time in seconds.
    pub now: u64,
}

impl Request<'_> {
    /// GET and HEAD: the methods a redirect can replay.
    pub(crate) fn can_redirect(&self) -> bool {
        self.method.eq_ignore_ascii_case("GET") || self.method.eq_ignore_ascii_case("HEAD")
    }
}
