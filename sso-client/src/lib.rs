//! sso-client: tickets over ssh token realms.
//!
//! Two sides live here, so that both are reachable by `cargo test`:
//!
//! - the realm side (run by root and by sshd's forced command):
//!   [`names`] validates every name before it reaches a file or a command,
//!   [`authorized_keys`] parses OpenSSH public keys and writes the managed
//!   `authorized_keys` lines, [`realm`] administers realms (system account,
//!   key pair, settings, users) and [`issue`] is the forced command that
//!   prints a ticket;
//! - the client side: [`ssh`] gets a ticket by running `ssh -T`, [`cache`]
//!   keeps tickets per realm and service in the user's cache directory, and
//!   [`fetch`] sends HTTP requests with `Authorization: SSO <ticket>`,
//!   refreshing an expired ticket once.

pub mod account;
pub mod authorized_keys;
pub mod cache;
pub mod fetch;
pub mod fsutil;
pub mod issue;
pub mod names;
pub mod realm;
pub mod ssh;
pub mod syslog;

pub use cache::TicketCache;
pub use fetch::{FetchClient, FetchError, FetchRequest, FetchResponse};
pub use realm::{RealmAdmin, RealmError, RealmSettings};
pub use ssh::{SshError, SshTokenSource};
