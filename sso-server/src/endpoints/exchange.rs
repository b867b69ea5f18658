//! `POST /exchange`: `t` (a ticket), `s` (the service wanted), optional `n`,
//! `g` and `p`. A valid ticket for a service that an `[[exchange]]` rule
//! lets through buys a ticket for the other service, answered as text, once
//! the backend has confirmed that the account still exists. A browser
//! ticket (one with a nonce) also needs `p`, the secret whose commitment is
//! its nonce: without it, a ticket copied from an `sso_login` URL would be
//! a bearer token here (docs/protocol.md, "Ticket binding").

use std::net::IpAddr;

use hyper::StatusCode;
use sso_core::{Check, Ticket, Verifier};

use crate::app::{log_event, App, Resp};
use crate::params::{form_params, TicketRequest};

impl App {
    /// `POST /exchange`.
    pub async fn exchange(&self, body: &[u8], client: IpAddr) -> Resp {
        let addr = client.to_string();
        let refuse = |status: StatusCode, check: &str, detail: &str| {
            self.metrics.exchange("refused");
            log_event(
                "exchange-refused",
                &[("check", check), ("detail", detail), ("addr", &addr)],
            );
            self.text(status, format!("{check}\n"))
        };
        let Some(form) = form_params(body) else {
            return refuse(StatusCode::BAD_REQUEST, "malformed request", "");
        };
        let t = form.get("t").map(String::as_str).unwrap_or("");
        if t.is_empty() || t.len() > sso_core::MAX_TICKET_LEN {
            return refuse(StatusCode::BAD_REQUEST, "missing or oversized ticket", "");
        }
        let get = |k: &str| form.get(k).map(String::as_str);
        let req = match TicketRequest::from_params(get("s"), None, get("n"), get("g")) {
            Ok(r) => r,
            Err(e) => return refuse(StatusCode::BAD_REQUEST, e.check(), ""),
        };
        if !self.config.service_allowed(&req.service) {
            return refuse(StatusCode::FORBIDDEN, "service not allowed", &req.service);
        }
        // The claimed service selects the verifier; the signature (our own
        // keys), expiry and domain are then checked for that service.
        let claimed = match sso_core::decode_unverified(t) {
            Ok(c) => c,
            Err(e) => return refuse(StatusCode::UNAUTHORIZED, e.check(), ""),
        };
        let now = sso_core::unix_now();
        let input = match Verifier::new(self.keys.clone(), &claimed.service, &self.config.domain)
            .map_err(|_| sso_core::Error::WrongService)
            .and_then(|v| v.verify(t, &Check::at(now)))
        {
            Ok(t) => t,
            Err(e) => return refuse(StatusCode::UNAUTHORIZED, e.check(), ""),
        };
        if let Err(detail) = nonce_proven(&input, get("p")) {
            return refuse(StatusCode::UNAUTHORIZED, NONCE_PROOF, detail);
        }
        if !self.config.exchange_allowed(&input.service, &req.service) {
            return refuse(
                StatusCode::FORBIDDEN,
                "exchange not allowed",
                &format!("{} -> {}", input.service, req.service),
            );
        }
        // The account is asked about again, as on the silent path: a
        // deleted account buys nothing more with the tickets it still
        // holds, and a group removed since the ticket was made is not
        // carried over. Never more than the ticket given in had.
        let current = match crate::auth::current_account(
            &self.backend,
            &self.auth_slots,
            &input.user,
        )
        .await
        {
            Ok(Some(account)) => account.groups,
            Ok(None) => return refuse(StatusCode::FORBIDDEN, "account gone", &input.user),
            Err(e) => {
                self.metrics.backend_errors.inc();
                log_event(
                    "backend-error",
                    &[
                        ("error", &e.to_string()),
                        ("user", &input.user),
                        ("service", &req.service),
                        ("backend", self.backend.name()),
                        ("addr", &addr),
                    ],
                );
                return refuse(StatusCode::SERVICE_UNAVAILABLE, "backend unavailable", "");
            }
        };
        // A ticket does not say which factors its session proved: one of a
        // service that needs no second factor from this user cannot buy
        // one that does. The user's groups are today's, not the ticket's
        // (which holds only those its service asked for).
        if !second_factor_carries(
            &self.config.second_factor,
            &input.service,
            &req.service,
            &current,
        ) {
            return refuse(
                StatusCode::FORBIDDEN,
                "second factor required",
                &format!("{} -> {}", input.service, req.service),
            );
        }
        let still_held = crate::params::groups_among(&input.groups, &current);
        let Some(groups) = req.ticket_groups(&still_held) else {
            return refuse(StatusCode::FORBIDDEN, "not in groups", &input.user);
        };
        // Never outlive the ticket given in: exchange must not extend access.
        let expires = now
            .saturating_add(self.config.ticket_lifetime(&req.service))
            .min(input.expires);
        let mut out = Ticket::new(&input.user, &req.service, &self.config.domain, expires);
        out.nonce = req.nonce.clone();
        out.groups = groups;
        match self.signer.sign(&out) {
            Ok(encoded) => {
                self.metrics.exchange("issued");
                log_event(
                    "exchange",
                    &[
                        ("user", &input.user),
                        ("from", &input.service),
                        ("service", &req.service),
                        ("addr", &addr),
                        ("in", &sso_core::ticket_fingerprint(t)),
                        ("ticket", &sso_core::ticket_fingerprint(&encoded)),
                    ],
                );
                self.text(StatusCode::OK, format!("{encoded}\n"))
            }
            Err(e) => refuse(StatusCode::BAD_REQUEST, e.check(), ""),
        }
    }
}

/// The check named when a browser ticket comes without its proof.
const NONCE_PROOF: &str = "nonce proof";

/// A browser ticket (with a nonce) is exchanged only with `p`, the secret
/// whose commitment is its nonce, which only the browser and the service
/// it logged into hold; a ticket without a nonce needs none.
fn nonce_proven(ticket: &Ticket, proof: Option<&str>) -> Result<(), &'static str> {
    let Some(nonce) = ticket.nonce.as_deref().filter(|n| !n.is_empty()) else {
        return Ok(());
    };
    match proof {
        None | Some("") => Err("a browser ticket needs p, the secret of its nonce"),
        Some(p) if p.len() <= 64 && sso_core::web::nonce_commitment(p) == nonce => Ok(()),
        Some(_) => Err("p is not the secret of the ticket's nonce"),
    }
}

/// Whether a ticket of `from` may buy one of `to` as far as the second
/// factor goes: when `to` needs a factor from a user in `groups`, `from`
/// must have needed one too.
fn second_factor_carries(
    policy: &crate::second_factor::Policy,
    from: &str,
    to: &str,
    groups: &[String],
) -> bool {
    !policy.required(to, groups) || policy.required(from, groups)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::second_factor::{Policy, RawRule};

    #[test]
    fn a_browser_ticket_needs_the_secret_of_its_nonce() {
        let secret = "00112233445566778899aabbccddeeff";
        let mut t = Ticket::new("alice", "a.example.org/", "example.org", 10);
        assert_eq!(nonce_proven(&t, None), Ok(()));
        t.nonce = Some(String::new());
        assert_eq!(nonce_proven(&t, None), Ok(()));
        t.nonce = Some(sso_core::web::nonce_commitment(secret));
        assert!(nonce_proven(&t, None).is_err());
        assert!(nonce_proven(&t, Some("")).is_err());
        // The nonce itself (readable in the ticket) is no proof.
        let nonce = t.nonce.clone().unwrap();
        assert!(nonce_proven(&t, Some(&nonce)).is_err());
        assert_eq!(nonce_proven(&t, Some(secret)), Ok(()));
    }

    #[test]
    fn the_second_factor_rule_uses_the_current_groups() {
        let rule = |services: &[&str], groups: &[&str]| RawRule {
            services: services.iter().map(|s| s.to_string()).collect(),
            groups: Some(groups.iter().map(|s| s.to_string()).collect()),
        };
        let p = Policy::from_raw(&[
            rule(&["mail/", "admin/"], &["staff"]),
            rule(&["admin/"], &["admins"]),
        ])
        .unwrap();
        let admins = vec!["admins".to_string()];
        let staff = vec!["staff".to_string()];
        // Both services are named by a table, yet an admin who is not
        // staff logged into mail without a factor: no admin ticket.
        assert!(!second_factor_carries(&p, "mail/", "admin/", &admins));
        assert!(second_factor_carries(&p, "mail/", "admin/", &staff));
        assert!(second_factor_carries(&p, "admin/", "mail/", &admins));
        assert!(second_factor_carries(&p, "x/", "y/", &admins));
    }
}
