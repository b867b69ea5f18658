//! What the operator must hear about a configuration: the same warnings
//! at start (standard error) and at every reload (`event=reload-warning`),
//! and what a reload resets.

use std::net::SocketAddr;

use crate::config::{Config, StoreConfig};

/// One warning: the configuration key it is about, and what to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub key: &'static str,
    pub detail: String,
}

impl Warning {
    fn new(key: &'static str, detail: impl Into<String>) -> Warning {
        Warning {
            key,
            detail: detail.into(),
        }
    }
}

/// The warnings for `config` served on the socket bound to `listening`
/// (at a reload the socket stays where it was, whatever `listen` says).
pub fn config_warnings(config: &Config, listening: SocketAddr) -> Vec<Warning> {
    let mut out = Vec::new();
    if config.allowed_services.is_none() {
        out.push(Warning::new(
            "allow_any_service",
            "is true: tickets are issued for ANY service",
        ));
    }
    // Plain http off loopback with no proxy in front: passwords would cross
    // the network in clear, and every client would share one address.
    let loopback = listening.ip().to_canonical().is_loopback();
    if config.tls.is_none() && !loopback && config.trusted_proxies.is_empty() {
        out.push(Warning::new(
            "listen",
            format!(
                "{listening} serves plain http off loopback and no `trusted_proxies` are set: \
                 configure [tls], or listen on loopback behind a TLS proxy and list it in \
                 `trusted_proxies`"
            ),
        ));
    }
    if let Some(w) = crate::net::dual_stack_warning(listening, &config.trusted_proxies) {
        out.push(Warning::new("trusted_proxies", w));
    }
    out
}

/// What a reload from `previous` to `new` does not carry over (see
/// [`crate::app::App::carry_over`]), for the log.
pub fn reload_resets(previous: &Config, new: &Config) -> Vec<Warning> {
    let mut out = Vec::new();
    let (old, now) = (&previous.throttle, &new.throttle);
    if old != now {
        let detail = match (&old.store, &now.store) {
            (StoreConfig::Memory, _) => {
                "throttle settings changed: in-memory counters reset (failed logins, \
                 second-factor failures and lock-outs start again from zero)"
            }
            (StoreConfig::Redis(a), StoreConfig::Redis(b)) if a == b => {
                "throttle settings changed: the counters in Redis are kept and the new \
                 limits apply to them"
            }
            (StoreConfig::Redis(_), StoreConfig::Redis(_)) => {
                "throttle settings changed: counters now kept in another Redis server; \
                 those of the previous one no longer count"
            }
            (StoreConfig::Redis(_), StoreConfig::Memory) => {
                "throttle settings changed: counters now kept in memory, starting from zero; \
                 those in Redis no longer count"
            }
        };
        out.push(Warning::new("throttle", detail));
    }
    if previous.webauthn.is_some() && previous.webauthn != new.webauthn {
        out.push(Warning::new(
            "webauthn",
            "webauthn settings changed: security-key ceremonies in progress were dropped",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const SECRET: &str = "JvNHJs4uLeBwMuMGQ9H5R9FU/12lFZfhRpTB+TsVYTI=";

    fn config(top: &str, tables: &str) -> Config {
        let text = format!(
            "domain = \"example.org\"\nsecret_key_file = \"/k\"\npublic_key_files = [\"/p\"]\n\
             {top}\n[session]\nsecrets = [{SECRET:?}]\n[auth]\nbackend = \"users_file\"\n\
             users_file = \"/u\"\n{tables}"
        );
        Config::parse(&text, Path::new("t.toml")).unwrap()
    }

    fn keys(w: &[Warning]) -> Vec<&str> {
        w.iter().map(|w| w.key).collect()
    }

    fn sock(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn start_and_reload_warnings() {
        let listed = "allowed_services = ['x/']";
        let any = "allow_any_service = true";
        let c = config(listed, "");
        assert!(config_warnings(&c, sock("127.0.0.1:8080")).is_empty());
        assert!(config_warnings(&c, sock("[::1]:8080")).is_empty());
        assert_eq!(keys(&config_warnings(&c, sock("0.0.0.0:8080"))), ["listen"]);
        let c = config(any, "");
        assert_eq!(
            keys(&config_warnings(&c, sock("127.0.0.1:8080"))),
            ["allow_any_service"]
        );
        let c = config(&format!("{listed}\ntrusted_proxies = [\"127.0.0.1\"]"), "");
        assert!(config_warnings(&c, sock("0.0.0.0:8080")).is_empty());
        assert_eq!(
            keys(&config_warnings(&c, sock("[::]:8080"))),
            ["trusted_proxies"]
        );
        let c = config(
            &format!("{listed}\ntrusted_proxies = [\"127.0.0.1\", \"::1\"]"),
            "",
        );
        assert!(config_warnings(&c, sock("[::]:8080")).is_empty());
    }

    #[test]
    fn a_reload_says_what_it_resets() {
        let listed = "allowed_services = ['x/']";
        let base = config(listed, "");
        assert!(reload_resets(&base, &config(listed, "")).is_empty());
        let stricter = config(listed, "[throttle]\nmax_second_factor_failures = 3\n");
        let r = reload_resets(&base, &stricter);
        assert_eq!(keys(&r), ["throttle"]);
        assert!(r[0].detail.contains("in-memory counters reset"), "{r:?}");
        let redis = |url: &str, n: u32| {
            config(
                listed,
                &format!("[throttle]\nstore = {url:?}\nmax_failures_per_user = {n}\n"),
            )
        };
        let a = redis("redis://127.0.0.1:6379/", 50);
        let r = reload_resets(&a, &redis("redis://127.0.0.1:6379/", 60));
        assert!(r[0].detail.contains("kept"), "{r:?}");
        let r = reload_resets(&a, &redis("redis://127.0.0.1:6380/", 50));
        assert!(r[0].detail.contains("another Redis"), "{r:?}");
        let r = reload_resets(&a, &base);
        assert!(r[0].detail.contains("in memory"), "{r:?}");
        // The URL (which may hold a password) is never in the text.
        assert!(!r[0].detail.contains("redis://"));
    }
}
