//! HTTP requests with a realm ticket: `Authorization: SSO <ticket>`, the
//! ticket from the cache while it lasts, else fresh over ssh; on a `401`
//! whose `WWW-Authenticate: SSO ...` challenge says `expired`, one refresh
//! and one retry. A ticket goes only where [`crate::target`] allows it.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sso_core::{ticket_fingerprint, unix_now};
use ureq::http;
use ureq::tls::{parse_pem, PemItem, RootCerts, TlsConfig};

use crate::cache::TicketCache;
use crate::ssh::{SshError, SshTokenSource};
use crate::target::{check_ticket_target, check_url_before_ticket};

/// Largest response body read.
const MAX_BODY: u64 = 64 * 1024 * 1024;

#[derive(Debug)]
pub enum FetchError {
    Ssh(SshError),
    /// The request could not be built (bad URL, header, method, CA file).
    Invalid(String),
    /// The connection or the exchange failed.
    Http(String),
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Ssh(e) => write!(f, "cannot get a ticket: {e}"),
            FetchError::Invalid(m) | FetchError::Http(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for FetchError {}

/// One request, curl-like.
#[derive(Debug, Clone, Default)]
pub struct FetchRequest {
    /// `GET` if empty.
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub struct FetchResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// How many tickets were fetched over ssh for this request (0, 1 or 2).
    pub ssh_fetches: u32,
    /// Whether the request was retried after a `401 ... expired`.
    pub retried: bool,
}

/// True for a `WWW-Authenticate` value of scheme `SSO` whose reason is
/// `expired`: an `error="expired"` or `reason="expired"` parameter, or the
/// bare word after the parameters (`SSO realm="svc/" expired`).
pub fn is_expired_challenge(value: &str) -> bool {
    let v = value.trim();
    let Some(scheme) = v.split_whitespace().next() else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("SSO") {
        return false;
    }
    let params = &v[scheme.len()..];
    params
        .split([',', ' ', ';'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .any(|p| {
            let (name, value) = p.split_once('=').unwrap_or(("", p));
            let value = value.trim().trim_matches('"');
            let name = name.trim();
            (name.is_empty()
                || name.eq_ignore_ascii_case("error")
                || name.eq_ignore_ascii_case("reason"))
                && value.eq_ignore_ascii_case("expired")
        })
}

/// Sends requests to services that accept tickets of one realm.
pub struct FetchClient {
    source: SshTokenSource,
    service: Option<String>,
    cache: Option<TicketCache>,
    agent: ureq::Agent,
    allow_any_url: bool,
}

impl FetchClient {
    /// `service: None` asks the realm for its default service. `cache:
    /// None` fetches a ticket for every request. `cacert`: a PEM file of
    /// CA certificates to trust instead of the built-in roots.
    pub fn new(
        source: SshTokenSource,
        service: Option<String>,
        cache: Option<TicketCache>,
        cacert: Option<&Path>,
    ) -> Result<FetchClient, FetchError> {
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // Like curl without -L: the ticket is never sent to a redirect target.
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(300)))
            .allow_non_standard_methods(true);
        if let Some(path) = cacert {
            let pem = std::fs::read(path).map_err(|e| {
                FetchError::Invalid(format!("cannot read CA file {}: {e}", path.display()))
            })?;
            let mut certs = Vec::new();
            for item in parse_pem(&pem) {
                match item {
                    Ok(PemItem::Certificate(c)) => certs.push(c),
                    Ok(_) => {}
                    Err(e) => {
                        return Err(FetchError::Invalid(format!(
                            "CA file {} is not PEM: {e}",
                            path.display()
                        )))
                    }
                }
            }
            if certs.is_empty() {
                return Err(FetchError::Invalid(format!(
                    "CA file {} holds no certificate",
                    path.display()
                )));
            }
            config = config.tls_config(
                TlsConfig::builder()
                    .root_certs(RootCerts::Specific(Arc::new(certs)))
                    .build(),
            );
        }
        Ok(FetchClient {
            source,
            service,
            cache,
            agent: config.build().new_agent(),
            allow_any_url: false,
        })
    }

    /// Sends the ticket even where [`check_ticket_target`] refuses (plain
    /// http, another host), with a warning on stderr each time.
    pub fn allow_any_url(mut self, allow: bool) -> FetchClient {
        self.allow_any_url = allow;
        self
    }

    /// Refuses to send `ticket` to `url` unless it may go there, or warns
    /// if [`FetchClient::allow_any_url`] overrides the refusal.
    fn check_target(&self, url: &str, ticket: &str) -> Result<(), FetchError> {
        match check_ticket_target(url, ticket) {
            Ok(()) => Ok(()),
            Err(why) if self.allow_any_url => {
                eprintln!(
                    "sso: warning: sending ticket {} anyway (--allow-any-url): {why}",
                    ticket_fingerprint(ticket)
                );
                Ok(())
            }
            Err(why) => Err(FetchError::Invalid(format!(
                "refused: {why} (--allow-any-url overrides this)"
            ))),
        }
    }

    pub fn source(&self) -> &SshTokenSource {
        &self.source
    }

    /// A fresh ticket over ssh, stored in the cache.
    pub fn fresh_ticket(&self) -> Result<String, FetchError> {
        let ticket = self
            .source
            .fetch_ticket(self.service.as_deref())
            .map_err(FetchError::Ssh)?;
        if let Some(cache) = &self.cache {
            // A cache that cannot be written costs a refetch next time, no more.
            if let Err(e) = cache.store(self.source.destination(), self.service.as_deref(), &ticket)
            {
                eprintln!(
                    "sso: warning: cannot cache the ticket in {}: {e}",
                    cache.dir().display()
                );
            }
        }
        Ok(ticket)
    }

    /// The cached ticket if still valid, else a fresh one; and whether it
    /// came from the cache.
    pub fn ticket(&self) -> Result<(String, bool), FetchError> {
        if let Some(cache) = &self.cache {
            if let Some(t) = cache.load(
                self.source.destination(),
                self.service.as_deref(),
                unix_now(),
            ) {
                return Ok((t, true));
            }
        }
        self.fresh_ticket().map(|t| (t, false))
    }

    /// Sends the request with a ticket; on `401` with an `expired`
    /// challenge, for a ticket that came from the cache, gets a fresh
    /// ticket once and retries once.
    pub fn fetch(&self, request: &FetchRequest) -> Result<FetchResponse, FetchError> {
        if request
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        {
            return Err(FetchError::Invalid(
                "an Authorization header is set by the client itself; do not pass one".into(),
            ));
        }
        // Before the ssh round trip: a URL the ticket may not go to fails
        // at once (with --allow-any-url, the warning comes at the send).
        if !self.allow_any_url {
            check_url_before_ticket(&request.url, self.service.as_deref()).map_err(|why| {
                FetchError::Invalid(format!("refused: {why} (--allow-any-url overrides this)"))
            })?;
        }
        let (ticket, cached) = self.ticket()?;
        let mut ssh_fetches = u32::from(!cached);
        self.check_target(&request.url, &ticket)?;
        let first = self.send(request, &ticket)?;
        if first.status == 401 && cached && challenge_expired(&first.headers) {
            eprintln!(
                "sso: ticket {} was refused as expired; fetching a fresh one",
                ticket_fingerprint(&ticket)
            );
            let ticket = self.fresh_ticket()?;
            ssh_fetches += 1;
            self.check_target(&request.url, &ticket)?;
            let mut second = self.send(request, &ticket)?;
            second.ssh_fetches = ssh_fetches;
            second.retried = true;
            return Ok(second);
        }
        Ok(FetchResponse {
            ssh_fetches,
            ..first
        })
    }

    fn send(&self, request: &FetchRequest, ticket: &str) -> Result<FetchResponse, FetchError> {
        let method = if request.method.is_empty() {
            "GET"
        } else {
            request.method.as_str()
        };
        let mut builder = http::Request::builder()
            .method(
                http::Method::from_bytes(method.as_bytes())
                    .map_err(|_| FetchError::Invalid(format!("invalid method {method:?}")))?,
            )
            .uri(request.url.as_str());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder = builder.header("Authorization", format!("SSO {ticket}"));
        let invalid = |e: http::Error| FetchError::Invalid(format!("invalid request: {e}"));
        let result = match &request.body {
            Some(body) => self
                .agent
                .run(builder.body(body.as_slice()).map_err(invalid)?),
            None => self
                .agent
                .run(builder.body(ureq::SendBody::none()).map_err(invalid)?),
        };
        let mut response = result.map_err(|e| FetchError::Http(format!("{}: {e}", request.url)))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| FetchError::Http(format!("{}: reading the body: {e}", request.url)))?;
        Ok(FetchResponse {
            status,
            headers,
            body,
            ssh_fetches: 0,
            retried: false,
        })
    }
}

fn challenge_expired(headers: &[(String, String)]) -> bool {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("www-authenticate"))
        .any(|(_, v)| is_expired_challenge(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_expired_challenges() {
        for yes in [
            "SSO realm=\"api.example.org/\", error=\"expired\"",
            "SSO realm=\"api.example.org/\", reason=\"expired\"",
            "sso realm=\"x/\" error=expired",
            "SSO realm=\"x/\" expired",
            "SSO error=\"expired\"",
        ] {
            assert!(is_expired_challenge(yes), "{yes}");
        }
        for no in [
            "",
            "SSO realm=\"x/\", error=\"bad signature\"",
            "SSO realm=\"x/\", error=\"invalid\"",
            "Basic realm=\"expired\"",
            "Bearer error=\"expired\"",
            "SSO realm=\"expired\"",
        ] {
            assert!(!is_expired_challenge(no), "{no}");
        }
    }
}
