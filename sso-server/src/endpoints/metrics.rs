//! `GET /metrics`: the counters and the latency histogram of
//! [`crate::metrics`] for a Prometheus scraper. Served only with
//! `[metrics] enabled = true` (otherwise the path is unknown, 404), and then
//! only to loopback clients: the client address as [`App::client_addr`]
//! sees it, so a request relayed by a trusted proxy with an
//! `X-Forwarded-For` from outside is refused too.

use std::net::IpAddr;

use hyper::StatusCode;

use crate::app::{App, Resp};

use super::refusal::Refusal;

/// What prometheus-client writes.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

impl App {
    /// `GET /metrics` (only routed when enabled).
    pub fn metrics_page(&self, client: IpAddr) -> Result<Resp, Refusal> {
        // `::ffff:127.0.0.1` from a dual-stack socket is loopback too.
        if !client.to_canonical().is_loopback() {
            return Err(Refusal::MetricsNotLocal);
        }
        Ok(self.respond(StatusCode::OK, CONTENT_TYPE, self.metrics.encode()))
    }
}
