//! `POST /oidc/token`: codes and refresh tokens redeemed for tokens
//! (RFC 6749 4.1.3, 6). The client proves itself first (its secret is an
//! argon2 hash: checked on a blocking thread, within the bound of password
//! checks); a code is taken out of its store before it is checked, so a
//! refused code is spent too; a refresh token is rotated, and the account
//! is asked about again, as on the silent ticket path: a deleted account
//! gets nothing, a removed group is gone from the next tokens.

use std::net::IpAddr;

use hyper::{header, StatusCode};
use serde_json::json;
use sso_oidc::access::{self, Access};
use sso_oidc::claims::{self, Authentication, Identity};
use sso_oidc::codes::check_redemption;
use sso_oidc::config::Client;
use sso_oidc::error::ErrorCode;
use sso_oidc::refresh::{self, Redeemed, RefreshGrant};
use sso_oidc::token::{self, Grant};
use sso_oidc::OAuthError;

use crate::app::{header_value, log_event, App, Resp};
use crate::oidc::Provider;
use crate::session::valid_name;
use crate::target::pairs;
use crate::throttle_store::Refusal as ThrottleRefusal;

use super::oidc_refusal::{token_error, OidcRefusal};
use super::refusal::Refusal;

/// What the new tokens say.
struct Issue {
    user: String,
    groups: Vec<String>,
    /// The display name and e-mail address the backend knows, asked for
    /// only with the `profile` or `email` scope.
    name: Option<String>,
    email: Option<String>,
    scopes: Vec<String>,
    nonce: Option<String>,
    auth_time: u64,
    amr: Vec<String>,
    sid: String,
    /// The refresh token family to continue, or `None` for a new one.
    family: Option<String>,
}

/// Whether the scopes ask for claims only the backend's account has.
fn wants_profile(scopes: &[String]) -> bool {
    scopes.iter().any(|s| s == "profile" || s == "email")
}

fn refused(error: sso_oidc::OAuthError) -> Refusal {
    Refusal::Oidc(OidcRefusal::Token(error))
}

impl App {
    /// `POST /oidc/token`.
    pub async fn oidc_token(
        &self,
        body: &[u8],
        authorization: Option<&str>,
        client: IpAddr,
    ) -> Result<Resp, Refusal> {
        let provider = self.oidc.as_ref().ok_or(Refusal::NotFound)?;
        let body = std::str::from_utf8(body)
            .map_err(|_| token_error(ErrorCode::InvalidRequest, "the body is not UTF-8"))?;
        let (credentials, grant) = token::parse(&pairs(body), authorization).map_err(refused)?;
        let now = sso_core::unix_now();
        let rp = match self
            .throttled_client(provider, credentials, client, now)
            .await?
        {
            Ok(rp) => rp,
            Err(answer) => return Ok(answer),
        };
        let issue = match grant {
            Grant::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => {
                let grant = provider
                    .store
                    .take_code(&code)
                    .await
                    .map_err(|e| self.store_unavailable(&e, &client))?
                    .ok_or_else(|| {
                        token_error(ErrorCode::InvalidGrant, "unknown, used or expired code")
                    })?;
                check_redemption(
                    &grant,
                    &rp.id,
                    redirect_uri.as_deref(),
                    code_verifier.as_deref(),
                    now,
                )
                .map_err(refused)?;
                let (name, email) = if wants_profile(&grant.scopes) {
                    let account = self.current_account(&grant.user, &rp).await?;
                    (account.name, account.email)
                } else {
                    (None, None)
                };
                Issue {
                    user: grant.user,
                    groups: grant.groups,
                    name,
                    email,
                    scopes: grant.scopes,
                    nonce: grant.nonce,
                    auth_time: grant.auth_time,
                    amr: grant.amr,
                    sid: grant.sid,
                    family: None,
                }
            }
            Grant::RefreshToken {
                refresh_token,
                scope,
            } => {
                let redeemed = provider
                    .store
                    .redeem_refresh(&refresh_token, provider.config.refresh_token_lifetime)
                    .await
                    .map_err(|e| self.store_unavailable(&e, &client))?;
                let grant = match redeemed {
                    Redeemed::Live(g) => g,
                    Redeemed::Reused => {
                        log_event(
                            "oidc-refused",
                            &[
                                ("check", "refresh token reused: its family revoked"),
                                ("client", &rp.id),
                                ("addr", &client.to_string()),
                            ],
                        );
                        return Err(
                            token_error(ErrorCode::InvalidGrant, "refresh token reused").into()
                        );
                    }
                    Redeemed::Unknown => {
                        return Err(token_error(
                            ErrorCode::InvalidGrant,
                            "unknown, revoked or expired refresh token",
                        )
                        .into())
                    }
                };
                let scopes =
                    refresh::check(&grant, &rp.id, scope.as_deref(), now).map_err(refused)?;
                let account = self.current_account(&grant.user, &rp).await?;
                Issue {
                    user: grant.user,
                    groups: account.groups,
                    name: account.name,
                    email: account.email,
                    scopes,
                    nonce: None,
                    auth_time: grant.auth_time,
                    amr: grant.amr,
                    sid: grant.sid,
                    family: Some(grant.family),
                }
            }
        };
        log_event(
            "oidc-token",
            &[
                ("user", &issue.user),
                ("client", &rp.id),
                ("addr", &client.to_string()),
            ],
        );
        self.tokens(provider, &rp, issue, now, &client).await
    }

    /// The store of codes and refresh tokens did not answer (logged).
    fn store_unavailable(
        &self,
        error: &crate::throttle_store::StoreError,
        client: &IpAddr,
    ) -> Refusal {
        log_event(
            "oidc-store-error",
            &[("error", &error.to_string()), ("addr", &client.to_string())],
        );
        token_error(
            ErrorCode::TemporarilyUnavailable,
            "the grant cannot be checked right now",
        )
        .into()
    }

    /// [`App::authenticate_client`] within the login throttle (see
    /// [`crate::throttle`]): the attempt counts against the client id
    /// (as `oidc-client:ID`, a user key of its own) and the client's
    /// address before the secret is checked, a proven client gets it back.
    /// Once a limit is reached the answer is `invalid_client` with 429 and
    /// `Retry-After`, as the login form answers 429 (`Err`): the secret is
    /// not even checked then.
    async fn throttled_client(
        &self,
        provider: &Provider,
        credentials: token::Credentials,
        client: IpAddr,
        now: u64,
    ) -> Result<Result<Client, Resp>, Refusal> {
        let key = format!("oidc-client:{}", credentials.client_id);
        let addr = client.to_string();
        match self.throttle.begin(&key, client, now).await {
            Ok(()) => {}
            Err(ThrottleRefusal::Throttled(which)) => {
                self.note_throttled(
                    which,
                    &[("client", &credentials.client_id), ("addr", &addr)],
                );
                let error = OAuthError::new(
                    ErrorCode::InvalidClient,
                    "too many failed client authentications: retry later",
                );
                let mut resp = self.json_answer(StatusCode::TOO_MANY_REQUESTS, error.body());
                resp.headers_mut().insert(
                    header::RETRY_AFTER,
                    header_value(self.config.throttle.window.to_string()),
                );
                return Ok(Err(resp));
            }
            Err(ThrottleRefusal::Unavailable(error)) => {
                return Err(self.store_unavailable(&error, &client));
            }
        }
        let outcome = self.authenticate_client(provider, credentials).await;
        // A wrong secret stays counted (it is logged by the refusal, as
        // `oidc-refused`, with the client and never the secret); anything
        // but `invalid_client` was no guess and is given back.
        let counted = matches!(
            &outcome,
            Err(Refusal::Oidc(OidcRefusal::Token(e))) if e.code == ErrorCode::InvalidClient
        );
        let settled = if outcome.is_ok() {
            self.throttle.succeeded(&key, client).await
        } else if counted {
            Ok(())
        } else {
            self.throttle.release(&key, client).await
        };
        if let Err(e) = settled {
            self.log_store_error(&e, &key, &addr);
        }
        outcome.map(Ok)
    }

    /// The client the credentials prove (its secret checked on a blocking
    /// thread: argon2 is slow by design), or `invalid_client`.
    async fn authenticate_client(
        &self,
        provider: &Provider,
        credentials: token::Credentials,
    ) -> Result<Client, Refusal> {
        let unavailable = || {
            Refusal::from(token_error(
                ErrorCode::TemporarilyUnavailable,
                "shutting down",
            ))
        };
        let _slot = self.auth_slots.acquire().await.map_err(|_| unavailable())?;
        let config = provider.config.clone();
        tokio::task::spawn_blocking(move || token::authenticate(&config, &credentials).cloned())
            .await
            .map_err(|_| unavailable())?
            .map_err(refused)
    }

    /// The account of `user` now (its groups, name and e-mail address),
    /// for a refresh, or the profile of a code: refused when the account
    /// is gone or may no longer use the client.
    async fn current_account(
        &self,
        user: &str,
        rp: &Client,
    ) -> Result<crate::auth::Account, Refusal> {
        match crate::auth::current_account(&self.backend, &self.auth_slots, user).await {
            Ok(Some(mut account)) => {
                account.groups.retain(|g| valid_name(g));
                if rp.admits(&account.groups) {
                    Ok(account)
                } else {
                    Err(token_error(
                        ErrorCode::InvalidGrant,
                        "the user may no longer use this client",
                    )
                    .into())
                }
            }
            Ok(None) => Err(token_error(ErrorCode::InvalidGrant, "the account is gone").into()),
            Err(_) => Err(token_error(
                ErrorCode::TemporarilyUnavailable,
                "the account cannot be checked right now",
            )
            .into()),
        }
    }

    /// The token response (RFC 6749 5.1, OpenID Connect Core 3.1.3.3).
    async fn tokens(
        &self,
        provider: &Provider,
        rp: &Client,
        issue: Issue,
        now: u64,
        client: &IpAddr,
    ) -> Result<Resp, Refusal> {
        let config = &provider.config;
        let server_error = |_| {
            Refusal::from(token_error(
                ErrorCode::ServerError,
                "the tokens cannot be signed",
            ))
        };
        let grant = Access {
            user: issue.user.clone(),
            client_id: rp.id.clone(),
            scopes: issue.scopes.clone(),
            sid: issue.sid.clone(),
        };
        let access_claims =
            access::claims(&config.issuer, &grant, now, config.access_token_lifetime);
        let access_token = provider
            .keys
            .sign_typed("RS256", access::TYPE, &access_claims)
            .map_err(server_error)?;
        let identity = Identity {
            user: issue.user.clone(),
            name: issue.name.clone(),
            email: issue.email.clone(),
            groups: issue.groups.clone(),
        };
        let authentication = Authentication {
            auth_time: issue.auth_time,
            amr: issue.amr.clone(),
            sid: issue.sid.clone(),
        };
        let id_claims = claims::id_token(
            &config.issuer,
            &rp.id,
            &identity,
            &issue.scopes,
            &authentication,
            issue.nonce.as_deref(),
            now,
            config.id_token_lifetime,
        );
        let id_token = provider
            .keys
            .sign(&rp.algorithm, &id_claims)
            .map_err(server_error)?;
        let mut body = json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": config.access_token_lifetime,
            "id_token": id_token,
            "scope": issue.scopes.join(" "),
        });
        if refresh::wanted(&issue.scopes) {
            let refresh_token = provider
                .store
                .issue_refresh(
                    RefreshGrant {
                        client_id: rp.id.clone(),
                        user: issue.user,
                        scopes: issue.scopes,
                        sid: issue.sid,
                        auth_time: issue.auth_time,
                        amr: issue.amr,
                        expires: now.saturating_add(config.refresh_token_lifetime),
                        family: issue.family.unwrap_or_default(),
                    },
                    now,
                )
                .await
                .map_err(|e| self.store_unavailable(&e, client))?;
            body["refresh_token"] = json!(refresh_token);
        }
        Ok(self.json_answer(StatusCode::OK, body.to_string()))
    }
}
