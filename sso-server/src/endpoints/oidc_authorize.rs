//! `GET|POST /oidc/authorize`: the OpenID Connect authorization endpoint,
//! which is the login. A live session answers at once with a code (after
//! the backend is asked about the account again, as on the silent ticket
//! path); otherwise the login form, whose login resumes here (see
//! [`crate::target`]). `prompt=none` never shows a form
//! (`login_required`, `interaction_required`); `prompt=login` and an
//! exceeded `max_age` ask for the password again. A client or redirect
//! URI that is not genuine gets a page, never a redirect.

use std::net::IpAddr;

use hyper::header;
use hyper::StatusCode;
use sso_oidc::authorize::{AuthorizeRequest, Prompt};
use sso_oidc::codes::Grant;
use sso_oidc::error::ErrorCode;
use sso_oidc::OAuthError;

use crate::app::{log_event, App, Cookies, Resp};
use crate::oidc::{amr, auth_time, session_id, too_old, Provider};
use crate::session::Session;
use crate::target::{oidc_target, Target};

use super::oidc_refusal::{from_authorize, OidcRefusal};
use super::refusal::Refusal;

/// An error for a genuine client, sent back to its redirect URI.
fn back(request: &AuthorizeRequest, provider: &Provider, code: ErrorCode, why: &str) -> Refusal {
    let error = OAuthError::new(code, why);
    Refusal::Oidc(OidcRefusal::Redirect {
        location: request.error_location(&error, &provider.config.issuer),
        error,
    })
}

impl App {
    /// `GET|POST /oidc/authorize`; `params` is the query or the form.
    pub async fn oidc_authorize(
        &self,
        params: &str,
        cookies: &Cookies,
        client: IpAddr,
    ) -> Result<Resp, Refusal> {
        let provider = self.oidc.as_ref().ok_or(Refusal::NotFound)?;
        let (target, request) =
            oidc_target(params, &provider.config).map_err(|r| Refusal::Oidc(from_authorize(r)))?;
        let now = sso_core::unix_now();
        let session = self.session(cookies).filter(|s| {
            request.prompt != Prompt::Login && !too_old(request.max_age, auth_time(s), now)
        });
        let Some(mut session) = session else {
            if request.prompt == Prompt::None {
                return Err(back(
                    &request,
                    provider,
                    ErrorCode::LoginRequired,
                    "no login session",
                ));
            }
            let user = self.session(cookies).map(|s| s.user).unwrap_or_default();
            return Ok(self.login_form(StatusCode::OK, &target, cookies, &user, None));
        };
        let addr = client.to_string();
        let service = target.service();
        if !self
            .recheck_account(&mut session, Some(service.clone()))
            .await?
        {
            let fields = [
                ("user", session.user.as_str()),
                ("service", service.as_str()),
                ("addr", addr.as_str()),
            ];
            let resp = if request.prompt == Prompt::None {
                let refusal = back(&request, provider, ErrorCode::LoginRequired, "log in again");
                self.refuse(&refusal, "/oidc/authorize", client)
            } else {
                self.login_form(StatusCode::OK, &target, cookies, "", None)
            };
            return Ok(self.account_gone(&fields, resp));
        }
        let fields = [
            ("user", session.user.as_str()),
            ("service", service.as_str()),
            ("addr", addr.as_str()),
        ];
        let Some(rp) = provider.config.client(&request.client_id) else {
            return Err(Refusal::NotFound);
        };
        if !rp.admits(&session.groups) {
            log_event(
                "refused",
                &[&[("check", "not in the client's groups")], &fields[..]].concat(),
            );
            return Err(back(
                &request,
                provider,
                ErrorCode::AccessDenied,
                "the user may not use this client",
            ));
        }
        let required = self
            .config
            .second_factor
            .required(&service, &session.groups);
        if required && !session.has_second_factor() {
            if request.prompt == Prompt::None {
                return Err(back(
                    &request,
                    provider,
                    ErrorCode::InteractionRequired,
                    "a second factor is required",
                ));
            }
            return self.issue_or_second_factor(&target, session, cookies, client, false);
        }
        self.issue_code(provider, &request, &target, session, &addr)
            .await
    }

    /// The code, and the browser sent back to the client with it.
    async fn issue_code(
        &self,
        provider: &Provider,
        request: &AuthorizeRequest,
        target: &Target,
        mut session: Session,
        addr: &str,
    ) -> Result<Resp, Refusal> {
        let now = sso_core::unix_now();
        let grant = Grant {
            client_id: request.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            user: session.user.clone(),
            groups: session.groups.clone(),
            scopes: request.scopes.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            auth_time: auth_time(&session),
            amr: amr(&session),
            sid: session_id(&session),
            expires: now.saturating_add(provider.config.code_lifetime),
        };
        let code = provider.store.issue_code(grant, now).await.map_err(|e| {
            log_event(
                "oidc-store-error",
                &[("error", &e.to_string()), ("addr", addr)],
            );
            back(
                request,
                provider,
                ErrorCode::TemporarilyUnavailable,
                "the code cannot be issued right now",
            )
        })?;
        log_event(
            "oidc-code",
            &[
                ("user", &session.user),
                ("client", &request.client_id),
                ("addr", addr),
            ],
        );
        let send_cookie = session.add_service(&target.service());
        let mut resp = self.redirect(request.code_location(&code, &provider.config.issuer));
        let h = resp.headers_mut();
        if send_cookie {
            h.append(header::SET_COOKIE, self.session_cookie(&session));
        }
        Ok(resp)
    }
}
