//! `GET /?s=SERVICE[&d=URL][&n=NONCE][&g=GROUPS]`: with a live session, a
//! ticket at once (the silent path); without one, the login form. Also the
//! ticket minting that the login form ends in.

use std::net::IpAddr;

use hyper::StatusCode;

use crate::app::{App, Cookies, Resp};
use crate::params::{query_params, ParamError};
use crate::session::Session;
use crate::target::Target;

use super::refusal::Refusal;

impl App {
    /// `GET /`: a ticket straight away with a live session, else the form.
    pub async fn index(
        &self,
        query: &str,
        cookies: &Cookies,
        client: IpAddr,
    ) -> Result<Resp, Refusal> {
        let params =
            query_params(query).ok_or(Refusal::BadRequest(ParamError::DuplicateParameter))?;
        let session = self.session(cookies);
        let req = Target::Ticket(
            self.ticket_request(&params, session.as_ref().map(|s| s.user.as_str()))?,
        );
        match session {
            Some(s) => self.silent_ticket(&req, s, cookies, client).await,
            None => Ok(self.login_form(StatusCode::OK, &req, cookies, "", None)),
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
        req: &Target,
        mut session: Session,
        cookies: &Cookies,
        client: IpAddr,
    ) -> Result<Resp, Refusal> {
        let addr = client.to_string();
        let service = req.service();
        if !self
            .recheck_account(&mut session, Some(service.clone()))
            .await?
        {
            let fields = [
                ("user", session.user.as_str()),
                ("service", &service),
                ("backend", self.backend.name()),
                ("addr", &addr),
            ];
            let resp = self.login_form(StatusCode::OK, req, cookies, "", None);
            return Ok(self.account_gone(&fields, resp));
        }
        self.issue_or_second_factor(req, session, cookies, client, false)
    }
}
