//! Counters and the request latency histogram behind `GET /metrics`, in
//! the Prometheus text format (OpenMetrics, encoded by prometheus-client).
//!
//! Every label value is one of a fixed set chosen by the code (an endpoint,
//! a reason, a throttle check), never a user name, an address or a service:
//! the number of series stays bounded whatever clients send, and nothing a
//! user typed reaches the scraper. One set lives for the whole process: a
//! reload carries it over (see [`crate::app::App::carry_over`]).

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// `reason="..."` of a failed login.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Reason {
    pub reason: &'static str,
}

/// `limit="..."`: which throttle table refused (the log's `check=`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Limit {
    pub limit: &'static str,
}

/// `path="login"` (after a password) or `path="silent"` (a live session).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IssuePath {
    pub path: &'static str,
}

/// `result="..."` of an exchange or a reload.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Outcome {
    pub result: &'static str,
}

/// `endpoint="/login"` and the like; `other` for every unknown path.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Endpoint {
    pub endpoint: &'static str,
}

type Latency = Family<Endpoint, Histogram, fn() -> Histogram>;

/// The metrics of one server process.
pub struct Metrics {
    registry: Registry,
    pub logins: Counter,
    pub login_failures: Family<Reason, Counter>,
    pub throttled: Family<Limit, Counter>,
    pub tickets: Family<IssuePath, Counter>,
    pub exchanges: Family<Outcome, Counter>,
    pub backend_errors: Counter,
    pub reloads: Family<Outcome, Counter>,
    latency: Latency,
}

/// Latency buckets from 0.5 ms to about 16 s, doubling: a silent ticket
/// takes well under a millisecond, a password check (argon2id or an LDAP
/// bind) tens to hundreds of milliseconds.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("sso");
        let logins = Counter::default();
        registry.register("logins", "Successful password logins", logins.clone());
        let login_failures = Family::<Reason, Counter>::default();
        registry.register(
            "login_failures",
            "Failed logins by reason (bad_credentials, csrf, bad_request, backend_error)",
            login_failures.clone(),
        );
        let throttled = Family::<Limit, Counter>::default();
        registry.register(
            "throttled",
            "Logins refused by the throttle, by the limit that was reached",
            throttled.clone(),
        );
        let tickets = Family::<IssuePath, Counter>::default();
        registry.register(
            "tickets_issued",
            "Tickets issued, after a password login or on the silent path",
            tickets.clone(),
        );
        let exchanges = Family::<Outcome, Counter>::default();
        registry.register(
            "exchanges",
            "POST /exchange answers (issued or refused)",
            exchanges.clone(),
        );
        let backend_errors = Counter::default();
        registry.register(
            "backend_errors",
            "Authentication backend failures (neither yes nor no)",
            backend_errors.clone(),
        );
        let reloads = Family::<Outcome, Counter>::default();
        registry.register(
            "reloads",
            "Reloads on SIGHUP (ok or refused)",
            reloads.clone(),
        );
        let latency: Latency = Family::new_with_constructor(latency_histogram);
        registry.register(
            "request_duration_seconds",
            "Time from a request's headers to its answer, by endpoint",
            latency.clone(),
        );
        Metrics {
            registry,
            logins,
            login_failures,
            throttled,
            tickets,
            exchanges,
            backend_errors,
            reloads,
            latency,
        }
    }

    pub fn login_failed(&self, reason: &'static str) {
        self.login_failures.get_or_create(&Reason { reason }).inc();
    }

    pub fn ticket_issued(&self, path: &'static str) {
        self.tickets.get_or_create(&IssuePath { path }).inc();
    }

    pub fn exchange(&self, result: &'static str) {
        self.exchanges.get_or_create(&Outcome { result }).inc();
    }

    pub fn reload(&self, result: &'static str) {
        self.reloads.get_or_create(&Outcome { result }).inc();
    }

    pub fn observe(&self, endpoint: &'static str, took: Duration) {
        self.latency
            .get_or_create(&Endpoint { endpoint })
            .observe(took.as_secs_f64());
    }

    /// The text a scraper reads.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_the_histogram_are_encoded() {
        let m = Metrics::new();
        m.logins.inc();
        m.login_failed("bad_credentials");
        m.login_failed("bad_credentials");
        m.ticket_issued("silent");
        m.observe("/login", Duration::from_millis(3));
        let text = m.encode();
        assert!(text.contains("sso_logins_total 1\n"), "{text}");
        assert!(
            text.contains("sso_login_failures_total{reason=\"bad_credentials\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("sso_tickets_issued_total{path=\"silent\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("sso_request_duration_seconds_count{endpoint=\"/login\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("# TYPE sso_backend_errors counter"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
