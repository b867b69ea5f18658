//! `GET /?s=SERVICE[&d=URL][&n=NONCE][&g=GROUPS]`: with a live session, a
//! ticket at once (the silent path); without one, the login form. Also the
//! ticket minting that the login form ends in.

use std::net::IpAddr;

use hyper::header;
use hyper::StatusCode;
use sso_core::Ticket;

use crate::app::{header_value, log_event, App, Cookies, Resp};
use crate::params::{query_params, ParamError, Params, TicketRequest};
use crate::session::{valid_name, Session};

impl App {
    pub(crate) fn refuse_params(&self, e: &ParamError, client: IpAddr) -> Resp {
        log_event(
            "refused",
            &[("check", e.check()), ("addr", &client.to_string())],
        );
        self.error(StatusCode::BAD_REQUEST, "Bad request", &e.to_string())
    }

    fn refuse_service(&self, req: &TicketRequest, client: IpAddr, user: Option<&str>) -> Resp {
        log_event(
            "refused",
            &[
                ("check", "service not allowed"),
                ("service", &req.service),
                ("user", user.unwrap_or("")),
                ("addr", &client.to_string()),
            ],
        );
        self.error(
            StatusCode::FORBIDDEN,
            "Service not allowed",
            &format!(
                "This login server does not issue tickets for the service {}.",
                req.service
            ),
        )
    }

    /// The ticket request from a parsed parameter map, checked, and the
    /// service allowed.
    pub(crate) fn ticket_request(
        &self,
        p: &Params,
        client: IpAddr,
        user: Option<&str>,
    ) -> Result<TicketRequest, Box<Resp>> {
        let req =
            TicketRequest::from_map(p).map_err(|e| Box::new(self.refuse_params(&e, client)))?;
        if !self.config.service_allowed(&req.service) {
            return Err(Box::new(self.refuse_service(&req, client, user)));
        }
        Ok(req)
    }

    /// `GET /`: a ticket straight away with a live session, else the form.
    pub async fn index(&self, query: &str, cookies: &Cookies, client: IpAddr) -> Resp {
        let Some(params) = query_params(query) else {
            return self.refuse_params(&ParamError::DuplicateParameter, client);
        };
        let session = self.session(cookies);
        let req =
            match self.ticket_request(&params, client, session.as_ref().map(|s| s.user.as_str())) {
                Ok(r) => r,
                Err(resp) => return *resp,
            };
        match session {
            Some(s) => self.silent_ticket(&req, s, cookies, client).await,
            None => self.login_form(StatusCode::OK, &req, cookies, "", None),
        }
    }

    /// The silent path: a ticket for a session that logged in earlier, no
    /// password asked, once the backend has been asked about the account
    /// again (see `auth::current_account`): a deleted account gets the login
    /// form and its session cookie cleared, a removed group is gone from the
    /// ticket at once, and a backend that cannot tell answers 503 rather
    /// than trusting the cookie.
    async fn silent_ticket(
        &self,
        req: &TicketRequest,
        mut session: Session,
        cookies: &Cookies,
        client: IpAddr,
    ) -> Resp {
        let addr = client.to_string();
        let account =
            crate::auth::current_account(&self.backend, &self.auth_slots, &session.user).await;
        let fields = [
            ("user", session.user.as_str()),
            ("service", &req.service),
            ("backend", self.backend.name()),
            ("addr", &addr),
        ];
        match account {
            Ok(Some(account)) => {
                session.groups = account
                    .groups
                    .into_iter()
                    .filter(|g| valid_name(g))
                    .collect();
                self.issue_or_second_factor(req, session, cookies, client, false)
            }
            Ok(None) => {
                log_event(
                    "refused",
                    &[&[("check", "account gone")], &fields[..]].concat(),
                );
                let mut resp = self.login_form(StatusCode::OK, req, cookies, "", None);
                resp.headers_mut()
                    .append(header::SET_COOKIE, self.clear_session_cookie());
                resp
            }
            Err(e) => {
                self.metrics.backend_errors.inc();
                let error = e.to_string();
                log_event(
                    "backend-error",
                    &[&[("error", error.as_str())], &fields[..]].concat(),
                );
                self.error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Login unavailable",
                    "The authentication service is not available right now. Try again later.",
                )
            }
        }
    }

    /// Mints a ticket for a logged-in user and redirects to the service;
    /// `send_cookie` when the session cookie must be (re)sent anyway.
    pub(crate) fn issue(
        &self,
        req: &TicketRequest,
        mut session: Session,
        client: IpAddr,
        mut send_cookie: bool,
    ) -> Resp {
        let addr = client.to_string();
        let Some(groups) = req.ticket_groups(&session.groups) else {
            log_event(
                "refused",
                &[
                    ("check", "not in groups"),
                    ("user", &session.user),
                    ("service", &req.service),
                    ("groups", &req.groups.join(",")),
                    ("addr", &addr),
                ],
            );
            let mut resp = self.error(
                StatusCode::FORBIDDEN,
                "Access denied",
                &format!(
                    "{} is not in any of the groups this service requires ({}).",
                    session.user,
                    req.groups.join(", ")
                ),
            );
            if send_cookie {
                resp.headers_mut()
                    .append(header::SET_COOKIE, self.session_cookie(&session));
            }
            return resp;
        };
        let now = sso_core::unix_now();
        let expires = now.saturating_add(self.config.ticket_lifetime(&req.service));
        let mut ticket = Ticket::new(&session.user, &req.service, &self.config.domain, expires);
        ticket.nonce = req.nonce.clone();
        ticket.groups = groups;
        let encoded = match self.signer.sign(&ticket) {
            Ok(t) => t,
            Err(e) => {
                log_event(
                    "error",
                    &[
                        ("check", e.check()),
                        ("user", &session.user),
                        ("service", &req.service),
                        ("addr", &addr),
                    ],
                );
                return self.error(
                    StatusCode::BAD_REQUEST,
                    "Cannot issue a ticket",
                    "A ticket cannot carry these values.",
                );
            }
        };
        // `send_cookie` comes in true exactly when a password login has
        // just made the session; the silent path passes false.
        self.metrics
            .ticket_issued(if send_cookie { "login" } else { "silent" });
        send_cookie |= session.add_service(&req.service);
        log_event(
            "ticket",
            &[
                ("user", &session.user),
                ("service", &req.service),
                ("addr", &addr),
                ("ticket", &sso_core::ticket_fingerprint(&encoded)),
            ],
        );
        let mut resp = self.respond(
            StatusCode::FOUND,
            "text/plain; charset=utf-8",
            String::new(),
        );
        let h = resp.headers_mut();
        h.insert(header::LOCATION, header_value(req.redirect_url(&encoded)));
        if send_cookie {
            h.append(header::SET_COOKIE, self.session_cookie(&session));
        }
        resp
    }
}
