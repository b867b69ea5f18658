//! The safe layer over the Linux-PAM bindings of `pam-sys`, in the manner
//! of ngx-rust over nginx: every raw pointer of libpam stays in this crate,
//! and its users (pam_sso, the login server's PAM backend, the integration
//! tests, the benchmark) are safe code.
//!
//! - [`module`]: the module side. [`Handle`] wraps the `pam_handle_t` that
//!   libpam passes to a module (items, `pam_get_user`, `pam_get_authtok`,
//!   `pam_syslog`, messages through the application's conversation), and
//!   [`module_entry!`] writes a `pam_sm_*` entry point that converts the
//!   handle and its arguments once and keeps panics from crossing into C.
//! - [`Conversation`] and [`Transaction`]: the application side. One
//!   conversation function for the whole workspace, answering every prompt
//!   with a given secret and recording the messages the stack shows.
//!
//! The constants (result codes, items, flags, message styles, syslog
//! priorities) are pam-sys's, re-exported as [`sys`]: plain `c_int`s as in C.

mod conversation;
pub mod module;
mod transaction;

pub use conversation::{Conversation, Message};
pub use module::{Flags, Handle};
pub use pam_sys as sys;
pub use transaction::{strerror, StartError, Transaction};
