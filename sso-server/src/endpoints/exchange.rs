//! `POST /exchange`: `t` (a ticket), `s` (the service wanted), optional `n`
//! and `g`. A valid ticket for a service that an `[[exchange]]` rule lets
//! through buys a ticket for the other service, answered as text, once the
//! backend has confirmed that the account still exists.

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
        if !self.config.exchange_allowed(&input.service, &req.service) {
            return refuse(
                StatusCode::FORBIDDEN,
                "exchange not allowed",
                &format!("{} -> {}", input.service, req.service),
            );
        }
        // A ticket does not say which factors its session proved: one of a
        // service that needs no second factor cannot buy one that does.
        let policy = &self.config.second_factor;
        if policy.names_service(&req.service) && !policy.names_service(&input.service) {
            return refuse(
                StatusCode::FORBIDDEN,
                "second factor required",
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
        let still_held: Vec<String> = input
            .groups
            .iter()
            .filter(|g| current.contains(g))
            .cloned()
            .collect();
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
