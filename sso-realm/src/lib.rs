//! sso-realm: the server side of ssh token realms, run by root and by sshd
//! for the realm account.
//!
//! - [`admin`] administers realms (system account, key pair, settings,
//!   users) under one root directory;
//! - [`settings`] reads and writes `realm.conf` (TOML), [`users`] the
//!   realm's `users` file;
//! - [`authorized_keys`] parses OpenSSH public keys and writes the managed
//!   `authorized_keys` lines with their forced command;
//! - [`issue`] is that forced command: it prints one ticket;
//! - [`shell`] is the realm account's login shell, which runs nothing but
//!   the forced command;
//! - [`trust`] holds the StrictModes-style checks of the files a realm
//!   trusts; [`account`] the system account; [`syslog`] the log.
//!
//! The names every realm file holds are validated by `sso_client::names`,
//! shared with the client side, and service names by
//! `sso_core::web::ServiceName`.

pub mod account;
pub mod admin;
pub mod authorized_keys;
pub mod error;
pub mod issue;
pub mod layout;
pub mod settings;
pub mod shell;
pub mod syslog;
pub mod trust;
pub mod users;

pub use admin::{RealmAdmin, RealmError};
pub use settings::RealmSettings;
pub use users::RealmUser;
