//! Where `fetch` may send a ticket: a ticket is a bearer token for its
//! service until it expires, so it goes only over https (never readable on
//! the wire) and only to the host its own service names (a ticket for
//! `api.example.org/` is worth nothing to `other.example.org`, except to
//! replay it at api). A service that names a port (`host:8443/`) also pins
//! the port; one without a port allows any port of its host, as the
//! verifier (mod_sso) does not see the port either.

use sso_core::decode_unverified;
use sso_core::web::ServiceName;
use ureq::http::Uri;

/// Why the ticket may not go to `url`; `Ok` if it may.
pub fn check_ticket_target(url: &str, ticket: &str) -> Result<(), String> {
    let uri = parse_url(url)?;
    let service = decode_unverified(ticket)
        .map_err(|e| format!("the ticket does not decode: {e}"))?
        .service;
    let service = ServiceName::parse(&service)
        .map_err(|why| format!("the ticket's service {service:?} is not a service name: {why}"))?;
    check_against(&uri, url, Some(&service))
}

/// What can be checked before there is a ticket, so that a wrong URL fails
/// at once rather than after the ssh round trip that fetches one: the URL
/// is https, and, when the service to ask for is known (`--service`), it
/// names that service's host (and port). [`check_ticket_target`] checks
/// again against the service of the ticket itself.
pub fn check_url_before_ticket(url: &str, service: Option<&str>) -> Result<(), String> {
    let uri = parse_url(url)?;
    // A name the realm would refuse is left to the realm to refuse.
    let service = service.and_then(|s| ServiceName::parse(s.trim()).ok());
    check_against(&uri, url, service.as_ref())
}

fn parse_url(url: &str) -> Result<Uri, String> {
    url.parse().map_err(|e| format!("invalid URL {url:?}: {e}"))
}

/// Https, and the host (and pinned port) of `service` when there is one.
fn check_against(uri: &Uri, url: &str, service: Option<&ServiceName>) -> Result<(), String> {
    if !uri
        .scheme_str()
        .is_some_and(|s| s.eq_ignore_ascii_case("https"))
    {
        let its = service
            .map(|s| format!(" (its service is {})", s.as_str()))
            .unwrap_or_default();
        return Err(format!(
            "a ticket is sent only over https, not to {url}{its}"
        ));
    }
    let Some(service) = service else {
        return Ok(());
    };
    let (service_host, service_port) = split_host_port(service.host_port());
    let host = uri.host().unwrap_or("");
    let port = uri.port_u16().unwrap_or(443);
    let same_host = host.eq_ignore_ascii_case(service_host);
    let same_port = service_port.is_none_or(|p| p == port.to_string());
    if !same_host || !same_port {
        return Err(format!(
            "the ticket is for service {}: it is sent only to https://{}, not to {url}",
            service.as_str(),
            service.host_port()
        ));
    }
    Ok(())
}

/// `host` and `port` of `HOST[:PORT]`, `[v6]` hosts with their brackets
/// (as `Uri::host` spells them).
fn split_host_port(host_port: &str) -> (&str, Option<&str>) {
    let host_end = if host_port.starts_with('[') {
        host_port.find(']').map_or(host_port.len(), |i| i + 1)
    } else {
        host_port.find(':').unwrap_or(host_port.len())
    };
    let (host, rest) = host_port.split_at(host_end);
    (host, rest.strip_prefix(':'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sso_core::{SecretKey, Signer, Ticket};

    fn ticket_for(service: &str) -> String {
        Signer::new(SecretKey::generate())
            .sign(&Ticket::new("alice", service, "example.org", 4_000_000_000))
            .unwrap()
    }

    #[test]
    fn only_https_to_the_service_host() {
        let api = ticket_for("api.example.org/");
        for ok in [
            "https://api.example.org/",
            "https://API.example.org/x?y=1",
            "https://api.example.org:8443/app/",
        ] {
            check_ticket_target(ok, &api).unwrap();
        }
        let err = check_ticket_target("http://api.example.org/", &api).unwrap_err();
        assert!(err.contains("only over https"), "{err}");
        for other in [
            "https://evil.example.org/",
            "https://api.example.org.evil.org/",
            "https://evil.org/api.example.org/",
            "https://api.example.org@evil.org/",
        ] {
            let err = check_ticket_target(other, &api).unwrap_err();
            assert!(
                err.contains("sent only to https://api.example.org"),
                "{other}: {err}"
            );
        }
        assert!(check_ticket_target("not a url", &api).is_err());
        assert!(check_ticket_target("https://api.example.org/", "garbage").is_err());
    }

    #[test]
    fn the_url_is_checked_before_there_is_a_ticket() {
        let err = check_url_before_ticket("http://api.example.org/", None).unwrap_err();
        assert!(err.contains("only over https"), "{err}");
        check_url_before_ticket("https://anything.example.org/", None).unwrap();
        let api = Some(" api.example.org/\n");
        check_url_before_ticket("https://api.example.org/x", api).unwrap();
        let err = check_url_before_ticket("https://evil.example.org/", api).unwrap_err();
        assert!(
            err.contains("sent only to https://api.example.org"),
            "{err}"
        );
        // A service the realm will refuse is the realm's to refuse.
        check_url_before_ticket("https://h.example.org/", Some("not a service")).unwrap();
        assert!(check_url_before_ticket("not a url", None).is_err());
    }

    #[test]
    fn a_service_port_pins_the_port() {
        let t = ticket_for("127.0.0.1:8443/app/");
        check_ticket_target("https://127.0.0.1:8443/app/x", &t).unwrap();
        assert!(check_ticket_target("https://127.0.0.1/app/", &t).is_err());
        assert!(check_ticket_target("https://127.0.0.1:9443/app/", &t).is_err());
        let t = ticket_for("[::1]:443/");
        check_ticket_target("https://[::1]/", &t).unwrap();
        assert!(check_ticket_target("https://[::2]/", &t).is_err());
    }
}
