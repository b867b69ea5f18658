//! Logout everywhere. `POST /logout` with the form's CSRF token ends the
//! session and answers a page whose invisible images load each service's
//! `sso_logout`. Any other way in (a `GET`, as a link or an `<img>` on
//! another site would send, or a `POST` without a valid token) only shows a
//! confirmation form: a third-party page cannot log the user out.

use std::net::IpAddr;

use hyper::header;
use hyper::StatusCode;

use crate::app::{log_event, App, Cookies, Resp};
use crate::html;
use crate::params::form_params;

impl App {
    /// `GET /logout`: the confirmation form (or, without a session, the
    /// page that says the browser is logged out).
    pub fn logout_get(&self, cookies: &Cookies, client: IpAddr) -> Resp {
        match self.session(cookies) {
            Some(s) => self.logout_confirmation(StatusCode::OK, cookies, &s.user),
            None => self.logged_out(None, &[], client),
        }
    }

    /// `POST /logout`: logs out when the CSRF token is valid; otherwise
    /// asks again.
    pub fn logout_post(&self, body: &[u8], cookies: &Cookies, client: IpAddr) -> Resp {
        let token = form_params(body).and_then(|f| f.get("csrf").cloned());
        let session = self.session(cookies);
        if !self.csrf_valid(cookies, token.as_deref()) {
            log_event(
                "refused",
                &[
                    ("check", "logout csrf"),
                    ("user", session.as_ref().map_or("", |s| s.user.as_str())),
                    ("addr", &client.to_string()),
                ],
            );
            return match session {
                Some(s) => self.logout_confirmation(StatusCode::FORBIDDEN, cookies, &s.user),
                None => self.logged_out(None, &[], client),
            };
        }
        match &session {
            Some(s) => self.logged_out(Some(&s.user), &s.services, client),
            None => self.logged_out(None, &[], client),
        }
    }

    fn logout_confirmation(&self, status: StatusCode, cookies: &Cookies, user: &str) -> Resp {
        let (token, set_cookie) = self.csrf_token(cookies);
        let mut resp = self.page(
            status,
            html::logout_confirmation(&self.config.title, user, &token),
        );
        if let Some(c) = set_cookie {
            resp.headers_mut().append(header::SET_COOKIE, c);
        }
        resp
    }

    /// Ends the session: the cookie is cleared and each service's
    /// `sso_logout` is loaded as an image.
    fn logged_out(&self, user: Option<&str>, services: &[String], client: IpAddr) -> Resp {
        log_event(
            "logout",
            &[
                ("user", user.unwrap_or("")),
                ("services", &services.join(",")),
                ("addr", &client.to_string()),
            ],
        );
        let mut resp = self.page(
            StatusCode::OK,
            html::logout_page(&self.config.title, user, services),
        );
        resp.headers_mut()
            .append(header::SET_COOKIE, self.clear_session_cookie());
        resp
    }
}
