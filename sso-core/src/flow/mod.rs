//! The browser and API flow of a protected location, as pure decisions.
//!
//! An adapter (mod_sso, the C ABI, the Python package) hands over what a
//! request offers ([`Request`]) and the location's [`Settings`], and gets a
//! [`Decision`]: accept a ticket, redirect to the login server, answer
//! `sso_login` or `sso_logout`, 401, 403, 400, 503, or decline. The
//! decision carries the headers to set and the lines to log, so the
//! adapter decides nothing. The only state is the adapter's: the
//! verification cache and the [`BindingStore`].
//!
//! The protocol is docs/protocol.md; the rules of the cookies are in
//! [`cookies`], those of ticket binding in [`binding`].

mod authn;
pub mod binding;
pub mod cookies;
mod decision;
mod handlers;
mod settings;
#[cfg(test)]
mod tests;

pub use authn::{authenticate, MAX_COOKIES_TRIED};
pub use binding::{
    is_browser_ticket, proven_secret, BindingError, BindingStore, MemoryBindingStore,
};
pub use cookies::{CookieNames, CookiePolicy, CookieSecure, NamesCache, DEFAULT_COOKIE_PREFIX};
pub use decision::{Accepted, Action, Decision, Level, LogLine, Source};
pub use handlers::handle;
pub use settings::{Mode, Request, Settings};

use crate::VerifyCache;

/// The names of the checks the flow itself makes (the ticket's own checks
/// are [`crate::Error::check`]): they appear in logs as `check 'NAME'
/// failed` and in `WWW-Authenticate` as `error="NAME"`.
pub mod reason {
    /// `sso_login` without a `t` parameter.
    pub const TICKET_PARAMETER: &str = "ticket parameter";
    /// `sso_login` without a nonce cookie.
    pub const NONCE: &str = "nonce";
    /// A ticket too large for a browser to keep as a cookie.
    pub const COOKIE_SIZE: &str = "cookie size";
    /// A ticket shown at `sso_login` a second time.
    pub const REPLAYED_LOGIN: &str = "replayed login";
    /// A browser ticket (with a nonce) in `Authorization:`.
    pub const NONCE_TICKET_IN_HEADER: &str = "nonce ticket in header";
    /// A browser ticket cookie without its binding cookie.
    pub const NO_BINDING_COOKIE: &str = "binding cookie";
    /// No binding cookie holds the secret of the ticket's nonce.
    pub const BINDING_MISMATCH: &str = "binding mismatch";
    /// A browser ticket revoked by `sso_logout`, or burnt by a refused
    /// `sso_login`.
    pub const REVOKED: &str = "revoked";
    /// The binding store failed.
    pub const BINDING_STORE: &str = "binding store";
    /// A ticket cookie under a name a sibling host can set (https only).
    pub const PLANTED_COOKIE: &str = "planted cookie";
}

/// The whole decision for one request: the handlers first, then
/// authentication. For adapters with a single entry point; mod_sso calls
/// [`handle`] and [`authenticate`] from two different hooks.
pub fn decide(
    settings: &Settings,
    req: &Request<'_>,
    cache: &VerifyCache,
    bindings: &dyn BindingStore,
) -> Decision {
    let handled = handle(settings, req, cache, bindings);
    match handled.action {
        Action::Decline => authenticate(settings, req, cache, bindings),
        _ => handled,
    }
}

fn log_line(level: Level, message: String) -> LogLine {
    LogLine { level, message }
}

/// What a log line adds to a failed check: for a bad signature under a key
/// set with keys pinned to other services, that those keys do not count.
fn check_detail(settings: &Settings, check: &str) -> String {
    let elsewhere = settings.verifier.keys_pinned_elsewhere();
    if check == crate::Error::BadSignature.check() && elsewhere > 0 {
        format!(" ({elsewhere} key(s) pinned to other services are not used for this one)")
    } else {
        String::new()
    }
}
