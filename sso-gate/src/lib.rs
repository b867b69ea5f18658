//! sso-gate: single sign-on for sites behind nginx, Caddy, Traefik or
//! Envoy (their forward-auth subrequests) and for any upstream (as a
//! reverse proxy), with every decision taken by `sso_core::flow`, as
//! mod_sso takes it. See docs/sso-gate.md.
//!
//! - [`config`]: the file, checked through `sso_core::spec`;
//! - [`original`]: the original request rebuilt from `X-Forwarded-*`;
//! - [`routes`]: which route a request falls under;
//! - [`answer`]: the flow's decision spelled for each kind of caller;
//! - [`gate`]: what requests are served with, the refusal type;
//! - [`table`]: the route table and its handlers;
//! - [`proxy`]: reverse-proxy routes; [`upstream`]: its pooled,
//!   kept-alive connections to the upstreams;
//! - [`bindings`]: the ticket binding store, in memory or in Redis;
//! - [`listener`], [`tls`], [`reload`], [`log`]: serving, https, SIGHUP,
//!   the log; [`runtime`]: the threads that serve (`workers`).

pub mod answer;
pub mod bindings;
pub mod config;
pub mod gate;
pub mod listener;
pub mod log;
pub mod original;
pub mod proxy;
pub mod reload;
pub mod routes;
pub mod runtime;
pub mod table;
pub mod tls;
pub mod upstream;
