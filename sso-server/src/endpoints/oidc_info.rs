//! What the provider tells relying parties: the discovery document
//! (`/.well-known/openid-configuration`), the keys that verify its tokens
//! (`/oidc/jwks`), and who the bearer of an access token is
//! (`/oidc/userinfo`, RFC 6750): the account is asked about again, so a
//! deleted user gets `invalid_token` and the groups are current.

use hyper::StatusCode;
use sso_oidc::access;
use sso_oidc::claims::{self, Identity};

use crate::app::{App, Resp};
use crate::session::valid_name;

use super::oidc_refusal::OidcRefusal;
use super::refusal::Refusal;

fn invalid_token(why: &str) -> Refusal {
    Refusal::Oidc(OidcRefusal::InvalidToken(why.to_owned()))
}

impl App {
    /// `GET /.well-known/openid-configuration`.
    pub fn oidc_discovery(&self) -> Result<Resp, Refusal> {
        let provider = self.oidc.as_ref().ok_or(Refusal::NotFound)?;
        Ok(self.json_answer(StatusCode::OK, provider.discovery.clone()))
    }

    /// `GET /oidc/jwks`.
    pub fn oidc_jwks(&self) -> Result<Resp, Refusal> {
        let provider = self.oidc.as_ref().ok_or(Refusal::NotFound)?;
        Ok(self.json_answer(StatusCode::OK, provider.jwks.clone()))
    }

    /// `GET|POST /oidc/userinfo` with `Authorization: Bearer TOKEN`.
    pub async fn oidc_userinfo(&self, authorization: Option<&str>) -> Result<Resp, Refusal> {
        let provider = self.oidc.as_ref().ok_or(Refusal::NotFound)?;
        let token = authorization
            .and_then(access::bearer)
            .ok_or_else(|| invalid_token("no bearer token"))?;
        let now = sso_core::unix_now();
        let grant = access::verify(&provider.keys, &provider.config.issuer, token, now)
            .map_err(|e| invalid_token(&e.to_string()))?;
        let account = match crate::auth::current_account(
            &self.backend,
            &self.auth_slots,
            &grant.user,
        )
        .await
        {
            Ok(Some(account)) => account,
            Ok(None) => return Err(invalid_token("the account is gone")),
            Err(error) => {
                return Err(Refusal::Backend {
                    backend: self.backend.name(),
                    error,
                    user: grant.user,
                    service: Some(crate::oidc::service_of(&grant.client_id)),
                })
            }
        };
        let identity = Identity {
            user: grant.user.clone(),
            name: account.name,
            email: account.email,
            groups: account
                .groups
                .into_iter()
                .filter(|g| valid_name(g))
                .collect(),
        };
        let body = serde_json::Value::Object(claims::userinfo(&identity, &grant.scopes));
        Ok(self.json_answer(StatusCode::OK, body.to_string()))
    }
}
