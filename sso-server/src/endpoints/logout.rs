//! Logout everywhere. `POST /logout` with the form's CSRF token ends the
//! session and answers a page whose invisible images load each service's
//! `sso_logout`. Any other way in (a `GET`, as a link or an `<img>` on
//! another site would send, or a `POST` without a valid token) only shows a
//! confirmation form: a third-party page cannot log the user out.
//!
//! `GET|POST /oidc/logout` is OpenID Connect RP-initiated logout: with an
//! `id_token_hint` of this browser's own login the session ends at once
//! and the browser goes to the client's registered
//! `post_logout_redirect_uri`; without one it is the confirmation form
//! again. Every logout revokes the refresh tokens of the login session, so
//! relying parties get nothing more from it.

use std::net::IpAddr;

use hyper::header;
use hyper::StatusCode;

use crate::app::{log_event, App, Cookies, Resp};
use crate::html;
use crate::oidc::{session_id, Provider, SERVICE_PREFIX};
use crate::params::form_params;
use crate::session::Session;
use crate::target::pairs;

use super::oidc_refusal::OidcRefusal;
use super::refusal::Refusal;

impl App {
    /// `GET /logout`: the confirmation form (or, without a session, the
    /// page that says the browser is logged out).
    pub async fn logout_get(&self, cookies: &Cookies, client: IpAddr) -> Resp {
        match self.session(cookies) {
            Some(s) => self.logout_confirmation(StatusCode::OK, cookies, &s.user),
            None => self.logged_out(None, None, None, client).await,
        }
    }

    /// `GET|POST /oidc/logout`; `params` is the query or the form.
    pub async fn oidc_end_session(
        &self,
        params: &str,
        cookies: &Cookies,
        client: IpAddr,
    ) -> Result<Resp, Refusal> {
        let provider = self.oidc.as_ref().ok_or(Refusal::NotFound)?;
        let end = sso_oidc::logout::end_session(&pairs(params), &provider.config, &provider.keys)
            .map_err(|m| Refusal::Oidc(OidcRefusal::EndSession(m)))?;
        let session = self.session(cookies);
        if let Some(s) = &session {
            // Only a hint of this very login proves the request comes
            // from a relying party of it, not from any page on the web.
            if end.sid.as_deref() != Some(session_id(s).as_str()) {
                return Ok(self.logout_confirmation(StatusCode::OK, cookies, &s.user));
            }
        }
        Ok(self
            .logged_out(
                session.as_ref(),
                end.redirect.as_deref(),
                end.client_id.as_deref(),
                client,
            )
            .await)
    }

    /// `POST /logout`: logs out when the CSRF token is valid; otherwise
    /// asks again.
    pub async fn logout_post(&self, body: &[u8], cookies: &Cookies, client: IpAddr) -> Resp {
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
                None => self.logged_out(None, None, None, client).await,
            };
        }
        self.logged_out(session.as_ref(), None, None, client).await
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

    /// Ends the session: the cookie is cleared, each service's
    /// `sso_logout` is loaded as an image, the refresh tokens of the login
    /// are revoked; then `next` (a relying party's registered
    /// post-logout URI), at once when no image must load first. Relying
    /// parties with a back-channel are told, but `initiator` (the client
    /// whose RP-initiated logout this is).
    async fn logged_out(
        &self,
        session: Option<&Session>,
        next: Option<&str>,
        initiator: Option<&str>,
        client: IpAddr,
    ) -> Resp {
        let user = session.map(|s| s.user.as_str());
        let all = session.map_or(&[][..], |s| s.services.as_slice());
        log_event(
            "logout",
            &[
                ("user", user.unwrap_or("")),
                ("services", &all.join(",")),
                ("addr", &client.to_string()),
            ],
        );
        if let (Some(provider), Some(s)) = (&self.oidc, session) {
            self.backchannel_logout(provider, s, initiator);
            if let Err(e) = provider.store.revoke_session(&session_id(s)).await {
                // The session cookie is cleared all the same; the tokens
                // of this login live on until they expire or are reused.
                log_event(
                    "oidc-store-error",
                    &[
                        ("error", &e.to_string()),
                        ("user", &s.user),
                        ("addr", &client.to_string()),
                    ],
                );
            }
        }
        let services: Vec<String> = all
            .iter()
            .filter(|s| !s.starts_with(SERVICE_PREFIX))
            .cloned()
            .collect();
        let mut resp = match next {
            Some(next) if services.is_empty() => self.redirect(next.to_owned()),
            _ => self.page(
                StatusCode::OK,
                html::logout_page(&self.config.title, user, &services, next),
            ),
        };
        resp.headers_mut()
            .append(header::SET_COOKIE, self.clear_session_cookie());
        resp
    }

    /// Back-channel logout at the relying parties of the session, after
    /// the answer (each request in a task of its own); the outcome logged,
    /// never the token.
    fn backchannel_logout(&self, provider: &Provider, session: &Session, initiator: Option<&str>) {
        for notice in provider.backchannel_notices(session, initiator) {
            let notice = match notice {
                Ok(n) => n,
                Err((client, error)) => {
                    log_event(
                        "oidc-backchannel-failed",
                        &[
                            ("client", &client),
                            ("user", &session.user),
                            ("error", &error),
                        ],
                    );
                    continue;
                }
            };
            let tls = provider.backchannel_tls.clone();
            tokio::spawn(async move {
                let fields = [
                    ("client", notice.client_id.as_str()),
                    ("user", &notice.user),
                ];
                match crate::oidc_backchannel::deliver(&notice, tls).await {
                    Ok(status) => log_event(
                        "oidc-backchannel",
                        &[&fields[..], &[("status", &status.to_string())]].concat(),
                    ),
                    Err(error) => log_event(
                        "oidc-backchannel-failed",
                        &[&fields[..], &[("error", &error.to_string())]].concat(),
                    ),
                }
            });
        }
    }
}
