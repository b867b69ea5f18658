//! What the flow tells an adapter to do: owned plain data, so the adapter
//! (mod_sso, the C ABI, Python) only translates it into its server's terms.

use std::sync::{Arc, OnceLock};

use crate::Ticket;

/// Log levels, as the adapter's server spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Info,
    Debug,
}

/// A line the adapter must log. Never holds a ticket: only its fingerprint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub level: Level,
    pub message: String,
}

/// Where an accepted ticket came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `Authorization: SSO <ticket>`: a program.
    Header,
    /// The ticket cookie: a browser.
    Cookie,
}

/// An accepted ticket and what the adapter exposes of it.
#[derive(Clone, Debug)]
pub struct Accepted {
    pub ticket: Arc<Ticket>,
    /// The ticket as received: only for an application that asked for it
    /// (mod_sso's `SSOExportTicket`), never for a log. Shared with the
    /// verification cache.
    pub encoded: Arc<str>,
    pub source: Source,
    /// For a browser ticket from a cookie: the binding secret whose
    /// commitment is the ticket's nonce. `POST /exchange` takes a browser
    /// ticket only with it (`p=`), so an application that exports the
    /// ticket (mod_sso's `SSOExportTicket`) exports this beside it. Never
    /// for a log.
    pub proof: Option<String>,
    /// The fingerprint, once known: a cookie ticket's comes with it from
    /// the verification cache (computed once per ticket, not per request),
    /// and the adapter's copy and debug line reuse it.
    fingerprint: OnceLock<Arc<str>>,
}

impl Accepted {
    pub fn new(
        ticket: Arc<Ticket>,
        encoded: Arc<str>,
        source: Source,
        proof: Option<String>,
    ) -> Self {
        Accepted {
            ticket,
            encoded,
            source,
            proof,
            fingerprint: OnceLock::new(),
        }
    }

    /// With the fingerprint the caller already computed for `encoded`.
    pub(crate) fn with_fingerprint(self, fingerprint: Arc<str>) -> Self {
        let _ = self.fingerprint.set(fingerprint);
        self
    }

    /// The ticket's fingerprint ([`crate::ticket_fingerprint`]), what a log
    /// may name. Computed when first asked: a request served without a
    /// debug log, from a ticket that needs no binding, needs none.
    pub fn fingerprint(&self) -> &str {
        self.fingerprint
            .get_or_init(|| crate::ticket_fingerprint(&self.encoded).into())
    }

    /// The debug line of the acceptance, for an adapter that logs at debug
    /// level: not among [`Decision::logs`], so that a request served
    /// without it formats nothing.
    pub fn log_line(&self) -> LogLine {
        LogLine {
            level: Level::Debug,
            message: format!(
                "accepted {} ticket {} for user {} (groups {:?})",
                match self.source {
                    Source::Header => "Authorization",
                    Source::Cookie => "cookie",
                },
                self.fingerprint(),
                self.ticket.user,
                self.ticket.groups
            ),
        }
    }
}

/// The answer to one request.
#[derive(Clone, Debug)]
pub enum Action {
    /// Not for this flow (a path other than `sso_login`/`sso_logout` in
    /// [`crate::flow::handle`]): the server goes on as if the flow were absent.
    Decline,
    /// Authenticated: the request goes on with this user.
    Accept(Accepted),
    /// 302 to the login server, setting the nonce cookie.
    Redirect {
        location: String,
        set_cookies: Vec<String>,
    },
    /// 302 answer of `sso_login`: the ticket and binding cookies are set,
    /// the nonce cookie cleared, and the browser goes back to `target`.
    LoginDone {
        target: String,
        set_cookies: Vec<String>,
    },
    /// 302 answer of a refused `sso_login`: to `location`, the same
    /// handler with `error=CHECK` and no ticket (its page is 403, or 503
    /// for the binding store), so no page is shown at a URL with a ticket.
    LoginRefused { location: String },
    /// 200 answer of `sso_logout`: the cookies cleared, `body` as text/plain.
    Logout {
        set_cookies: Vec<String>,
        body: String,
    },
    /// 401 with this `WWW-Authenticate` value.
    Unauthorized { www_authenticate: String },
    /// 403: authenticated but not allowed, or the page of a refused
    /// `sso_login`.
    Forbidden,
    /// 400: a malformed `sso_login` request.
    BadRequest,
    /// 503: the binding store cannot record a login right now.
    Unavailable,
}

/// An [`Action`] plus the log lines that explain it.
#[derive(Clone, Debug)]
pub struct Decision {
    pub action: Action,
    pub logs: Vec<LogLine>,
    /// At `sso_login`: what the adapter shows instead of the `t` parameter
    /// wherever the server logs the request line or query (`ticket-FP`).
    pub ticket_param_mask: Option<String>,
}

impl Decision {
    pub(crate) fn new(action: Action) -> Decision {
        Decision {
            action,
            logs: Vec::new(),
            ticket_param_mask: None,
        }
    }

    pub(crate) fn log(mut self, level: Level, message: impl Into<String>) -> Decision {
        self.logs.push(LogLine {
            level,
            message: message.into(),
        });
        self
    }

    pub(crate) fn with_logs(mut self, mut earlier: Vec<LogLine>) -> Decision {
        earlier.append(&mut self.logs);
        self.logs = earlier;
        self
    }

    /// The HTTP status of the answer; 0 for `Decline` and `Accept`, where
    /// the server carries on.
    pub fn status(&self) -> u16 {
        match self.action {
            Action::Decline | Action::Accept(_) => 0,
            Action::Redirect { .. } | Action::LoginDone { .. } | Action::LoginRefused { .. } => 302,
            Action::Logout { .. } => 200,
            Action::Unauthorized { .. } => 401,
            Action::Forbidden => 403,
            Action::BadRequest => 400,
            Action::Unavailable => 503,
        }
    }

    /// The response headers of the answer, in order (`Set-Cookie` may
    /// repeat). Every answer but `Decline`/`Accept` is `no-store`: each
    /// carries per-browser cookies or a per-request refusal.
    pub fn headers(&self) -> Vec<(String, String)> {
        let mut h: Vec<(String, String)> = Vec::new();
        let cookies = |h: &mut Vec<(String, String)>, list: &[String]| {
            h.extend(list.iter().map(|c| ("Set-Cookie".to_owned(), c.clone())));
        };
        match &self.action {
            Action::Decline | Action::Accept(_) => return h,
            Action::Redirect {
                location: to,
                set_cookies,
            }
            | Action::LoginDone {
                target: to,
                set_cookies,
            } => {
                cookies(&mut h, set_cookies);
                h.push(("Location".to_owned(), to.clone()));
            }
            Action::LoginRefused { location } => {
                h.push(("Location".to_owned(), location.clone()));
            }
            Action::Logout { set_cookies, .. } => cookies(&mut h, set_cookies),
            Action::Unauthorized { www_authenticate } => {
                h.push(("WWW-Authenticate".to_owned(), www_authenticate.clone()))
            }
            Action::Forbidden | Action::BadRequest | Action::Unavailable => {}
        }
        h.push(("Cache-Control".to_owned(), "no-store".to_owned()));
        h
    }
}
