//! sso-client: the client side of ssh token realms.
//!
//! [`ssh`] gets a ticket by running `ssh -T REALM@HOST [SERVICE]`, [`cache`]
//! keeps tickets per realm and service in the user's cache directory, and
//! [`fetch`] sends HTTP requests with `Authorization: SSO <ticket>` (over
//! https, to the ticket's own host only), refreshing an expired ticket once.
//!
//! [`names`] and [`fsutil`] are shared with the server side of the realms
//! (the `sso-realm` crate): the names both sides write and the file helpers
//! both use.

pub mod cache;
pub mod fetch;
pub mod fsutil;
pub mod names;
pub mod ssh;
pub mod target;

pub use cache::TicketCache;
pub use fetch::{FetchClient, FetchError, FetchRequest, FetchResponse};
pub use ssh::{SshError, SshTokenSource};
