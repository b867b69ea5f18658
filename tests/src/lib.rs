//! Shared harness for the integration tests under `tests/tests/`: paths to
//! the built artifacts, free ports, throwaway keys. Each real server the
//! tests start has its own module here.

pub mod apache;
pub mod browser;
pub mod cases;
pub mod daemon;
pub mod dovecot;
pub mod flow_cases;
pub mod gate;
pub mod http;
pub mod ldap;
pub mod oidc;
pub mod pam;
pub mod proxied;
pub mod pypi_proxy;
pub mod redis;
pub mod server;
pub mod spoof;
pub mod ssh;
pub mod tls;
pub mod totp;
pub mod util;
