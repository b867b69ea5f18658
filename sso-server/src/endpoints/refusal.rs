//! [`Refusal`]: the ways the login pages refuse a request, and the one
//! place ([`App::refuse`]) that turns one into its status, its page, its
//! log line (`event=` and fields) and its metrics.
//!
//! Handlers answer `Result<Resp, Refusal>`; the router refuses the `Err`.
//! The JSON answers of the WebAuthn ceremonies and the plain-text ones of
//! `/exchange` keep their own format (see those files).

use std::net::IpAddr;

use hyper::header::{self, HeaderValue};
use hyper::StatusCode;

use crate::app::{header_value, log_event, App, Resp};
use crate::auth::BackendError;
use crate::params::ParamError;
use crate::second_factor::Unavailable;
use crate::throttle_store::StoreError;
use crate::totp::Verdict;

use super::oidc_refusal::OidcRefusal;
use super::BodyRefused;

/// Why a request was refused. Display is the message of the page.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// A parameter is missing, malformed or repeated.
    #[error("{0}")]
    BadRequest(ParamError),
    #[error("This login server does not issue tickets for the service {service}.")]
    ServiceNotAllowed {
        service: String,
        user: Option<String>,
    },
    /// The CSRF token does not go with the browser's cookie.
    #[error(
        "The {} was not sent by this server or has expired. Go back and load the page again.",
        if *login_form { "login form" } else { "form" }
    )]
    FormExpired { login_form: bool },
    /// The authentication backend cannot tell (fail closed).
    #[error("The authentication service is not available right now. Try again later.")]
    Backend {
        /// The backend's name, for the log.
        backend: &'static str,
        error: BackendError,
        user: String,
        service: Option<String>,
    },
    /// The throttle store did not answer: nothing was counted or checked.
    #[error("Logging in is not possible right now. Try again in a few minutes.")]
    ThrottleStore { error: StoreError, user: String },
    /// A second factor's file cannot be read (fail closed).
    #[error("The second-factor service is not available right now. Try again later.")]
    SecondFactorUnavailable { error: Unavailable, user: String },
    #[error(
        "The service {service} requires a second factor, and {user} has none enrolled. Ask the \
         administrator to enrol one."
    )]
    NoFactorEnrolled { service: String, user: String },
    #[error("{user} is not in any of the groups this service requires ({}).", groups.join(", "))]
    NotInGroups {
        user: String,
        service: String,
        groups: Vec<String>,
    },
    /// The ticket cannot be signed with these values (`check` names why).
    #[error("A ticket cannot carry these values.")]
    CannotSign {
        check: &'static str,
        user: String,
        service: String,
    },
    /// `GET /metrics` from another host.
    #[error("The metrics are served to this host only.")]
    MetricsNotLocal,
    /// `GET /webauthn/register` where `[webauthn]` is not configured.
    #[error("Security keys are not enabled on this server.")]
    SecurityKeysDisabled,
    /// `GET /webauthn/register` without a session.
    #[error("Log in first, then come back to this page to add a security key.")]
    NotLoggedIn,
    /// Enrolment needs the factor the user has (see [`crate::enrolment`]).
    #[error(
        "You already have a second factor: log in with it to a service that asks for it, then \
         come back to add a security key."
    )]
    EnrolmentNeedsFactor,
    /// Enrolment needs a proven factor or an administrator's code.
    #[error(
        "Adding a security key needs a second factor proven in this login, or a one-time \
         enrolment code from the administrator."
    )]
    EnrolmentNeedsCode,
    #[error("{}", .0.message())]
    Body(BodyRefused),
    #[error("There is nothing at this address.")]
    NotFound,
    #[error("This address does not accept that method.")]
    MethodNotAllowed {
        /// The `Allow` header: the methods the path answers.
        allow: String,
    },
    /// The OpenID Connect provider's refusals, answered in the protocol's
    /// own way (see [`super::oidc_refusal`]).
    #[error("{0}")]
    Oidc(OidcRefusal),
    /// A refusal that also (re)sends the session cookie: the session was
    /// made by this request (a password login) and must outlive the
    /// refusal.
    #[error("{refusal}")]
    KeepingSession {
        refusal: Box<Refusal>,
        cookie: HeaderValue,
    },
}

impl From<OidcRefusal> for Refusal {
    fn from(o: OidcRefusal) -> Refusal {
        Refusal::Oidc(o)
    }
}

impl Refusal {
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::BadRequest(_) | Refusal::CannotSign { .. } => StatusCode::BAD_REQUEST,
            Refusal::NotLoggedIn => StatusCode::UNAUTHORIZED,
            Refusal::SecurityKeysDisabled | Refusal::NotFound => StatusCode::NOT_FOUND,
            Refusal::ServiceNotAllowed { .. }
            | Refusal::MetricsNotLocal
            | Refusal::EnrolmentNeedsFactor
            | Refusal::EnrolmentNeedsCode
            | Refusal::FormExpired { .. }
            | Refusal::NoFactorEnrolled { .. }
            | Refusal::NotInGroups { .. } => StatusCode::FORBIDDEN,
            Refusal::Backend { .. }
            | Refusal::ThrottleStore { .. }
            | Refusal::SecondFactorUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Refusal::Body(b) => b.status(),
            Refusal::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Refusal::KeepingSession { refusal, .. } => refusal.status(),
            Refusal::Oidc(o) => o.status(),
        }
    }

    /// The heading of the page.
    pub fn heading(&self) -> &'static str {
        match self {
            Refusal::BadRequest(_) | Refusal::Body(_) => "Bad request",
            Refusal::ServiceNotAllowed { .. } => "Service not allowed",
            Refusal::FormExpired { .. } => "Form expired",
            Refusal::Backend { .. }
            | Refusal::ThrottleStore { .. }
            | Refusal::SecondFactorUnavailable { .. } => "Login unavailable",
            Refusal::NoFactorEnrolled { .. } | Refusal::EnrolmentNeedsFactor => {
                "Second factor required"
            }
            Refusal::EnrolmentNeedsCode => "Enrolment code required",
            Refusal::MetricsNotLocal => "Forbidden",
            Refusal::NotLoggedIn => "Not logged in",
            Refusal::SecurityKeysDisabled => "Not found",
            Refusal::NotInGroups { .. } => "Access denied",
            Refusal::CannotSign { .. } => "Cannot issue a ticket",
            Refusal::NotFound => "Not found",
            Refusal::MethodNotAllowed { .. } => "Method not allowed",
            Refusal::KeepingSession { refusal, .. } => refusal.heading(),
            Refusal::Oidc(o) => o.heading(),
        }
    }

    /// The reason of `sso_login_failures_total` when `POST /login` ends in
    /// this refusal.
    fn login_failure(&self) -> Option<&'static str> {
        match self {
            Refusal::BadRequest(_) | Refusal::ServiceNotAllowed { .. } => Some("bad_request"),
            Refusal::FormExpired { .. } => Some("csrf"),
            Refusal::Backend { .. } => Some("backend_error"),
            Refusal::KeepingSession { refusal, .. } => refusal.login_failure(),
            _ => None,
        }
    }
}

impl App {
    /// The answer to `refusal` of a request to `path` from `client`: its
    /// log line, its metrics and its page. The one place a refusal becomes
    /// an answer.
    pub fn refuse(&self, refusal: &Refusal, path: &str, client: IpAddr) -> Resp {
        let addr = client.to_string();
        self.log_refusal(refusal, &addr);
        if path == "/login" {
            if let Some(reason) = refusal.login_failure() {
                self.metrics.login_failed(reason);
            }
        }
        self.count_refusal(refusal);
        if let Some(resp) = match refusal {
            Refusal::Oidc(o) => self.oidc_answer(o),
            _ => None,
        } {
            return resp;
        }
        let mut resp = self.error(refusal.status(), refusal.heading(), &refusal.to_string());
        match refusal {
            Refusal::MethodNotAllowed { allow } => {
                resp.headers_mut()
                    .insert(header::ALLOW, header_value(allow.clone()));
            }
            Refusal::KeepingSession { cookie, .. } => {
                resp.headers_mut()
                    .append(header::SET_COOKIE, cookie.clone());
            }
            _ => {}
        }
        resp
    }

    /// The metrics every refusal of its kind counts, whatever the path.
    fn count_refusal(&self, refusal: &Refusal) {
        match refusal {
            Refusal::Backend { .. } => {
                self.metrics.backend_errors.inc();
            }
            Refusal::ThrottleStore { .. } => self.metrics.login_failed("throttle_unavailable"),
            Refusal::KeepingSession { refusal, .. } => self.count_refusal(refusal),
            _ => {}
        }
    }

    /// The log line of a refusal; none for a bad body, 404 and 405 (the
    /// client's own mistakes, which name no user), nor for the steps of
    /// the security key page.
    fn log_refusal(&self, refusal: &Refusal, addr: &str) {
        match refusal {
            Refusal::BadRequest(e) => log_event("refused", &[("check", e.check()), ("addr", addr)]),
            Refusal::ServiceNotAllowed { service, user } => log_event(
                "refused",
                &[
                    ("check", "service not allowed"),
                    ("service", service),
                    ("user", user.as_deref().unwrap_or("")),
                    ("addr", addr),
                ],
            ),
            Refusal::FormExpired { .. } => {
                log_event("refused", &[("check", "csrf"), ("addr", addr)])
            }
            Refusal::Backend {
                backend,
                error,
                user,
                service,
            } => {
                let error = error.to_string();
                let mut fields = vec![("backend", *backend), ("error", &error), ("user", user)];
                if let Some(s) = service {
                    fields.push(("service", s));
                }
                fields.push(("addr", addr));
                log_event("backend-error", &fields);
            }
            Refusal::ThrottleStore { error, user } => self.log_store_error(error, user, addr),
            Refusal::SecondFactorUnavailable { error, user } => log_event(
                "backend-error",
                &[
                    ("backend", "second-factor"),
                    ("error", &error.to_string()),
                    ("user", user),
                    ("addr", addr),
                ],
            ),
            Refusal::NoFactorEnrolled { service, user } => log_event(
                "refused",
                &[
                    ("check", Verdict::NotEnrolled.check()),
                    ("user", user),
                    ("service", service),
                    ("addr", addr),
                ],
            ),
            Refusal::NotInGroups {
                user,
                service,
                groups,
            } => log_event(
                "refused",
                &[
                    ("check", "not in groups"),
                    ("user", user),
                    ("service", service),
                    ("groups", &groups.join(",")),
                    ("addr", addr),
                ],
            ),
            Refusal::CannotSign {
                check,
                user,
                service,
            } => log_event(
                "error",
                &[
                    ("check", check),
                    ("user", user),
                    ("service", service),
                    ("addr", addr),
                ],
            ),
            Refusal::MetricsNotLocal => log_event(
                "refused",
                &[("check", "metrics for loopback only"), ("addr", addr)],
            ),
            Refusal::KeepingSession { refusal, .. } => self.log_refusal(refusal, addr),
            Refusal::Oidc(o) => log_event("oidc-refused", &[("check", &o.check()), ("addr", addr)]),
            Refusal::SecurityKeysDisabled
            | Refusal::NotLoggedIn
            | Refusal::EnrolmentNeedsFactor
            | Refusal::EnrolmentNeedsCode
            | Refusal::Body(_)
            | Refusal::NotFound
            | Refusal::MethodNotAllowed { .. } => {}
        }
    }

    /// The throttle store failed (`event=throttle-error`): logged whether
    /// or not the attempt is refused for it.
    pub(crate) fn log_store_error(&self, error: &StoreError, username: &str, addr: &str) {
        log_event(
            "throttle-error",
            &[
                ("store", self.throttle.name()),
                ("error", &error.to_string()),
                ("user", username),
                ("addr", addr),
            ],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_has_its_status_heading_and_message() {
        let cases = [
            (
                Refusal::FormExpired { login_form: true },
                StatusCode::FORBIDDEN,
                "Form expired",
                "The login form was not sent by this server or has expired. Go back and load \
                 the page again.",
            ),
            (
                Refusal::FormExpired { login_form: false },
                StatusCode::FORBIDDEN,
                "Form expired",
                "The form was not sent by this server or has expired. Go back and load the page \
                 again.",
            ),
            (
                Refusal::ServiceNotAllowed {
                    service: "x.org/".into(),
                    user: None,
                },
                StatusCode::FORBIDDEN,
                "Service not allowed",
                "This login server does not issue tickets for the service x.org/.",
            ),
            (
                Refusal::NotInGroups {
                    user: "alice".into(),
                    service: "x.org/".into(),
                    groups: vec!["a".into(), "b".into()],
                },
                StatusCode::FORBIDDEN,
                "Access denied",
                "alice is not in any of the groups this service requires (a, b).",
            ),
            (
                Refusal::Backend {
                    backend: "ldap",
                    error: BackendError("down".into()),
                    user: "alice".into(),
                    service: None,
                },
                StatusCode::SERVICE_UNAVAILABLE,
                "Login unavailable",
                "The authentication service is not available right now. Try again later.",
            ),
            (
                Refusal::ThrottleStore {
                    error: StoreError::Timeout,
                    user: "alice".into(),
                },
                StatusCode::SERVICE_UNAVAILABLE,
                "Login unavailable",
                "Logging in is not possible right now. Try again in a few minutes.",
            ),
            (
                Refusal::Body(BodyRefused::TooSlow),
                StatusCode::REQUEST_TIMEOUT,
                "Bad request",
                "request body too slow",
            ),
            (
                Refusal::MethodNotAllowed {
                    allow: "POST".into(),
                },
                StatusCode::METHOD_NOT_ALLOWED,
                "Method not allowed",
                "This address does not accept that method.",
            ),
        ];
        for (refusal, status, heading, message) in cases {
            assert_eq!(refusal.status(), status, "{refusal:?}");
            assert_eq!(refusal.heading(), heading, "{refusal:?}");
            assert_eq!(refusal.to_string(), message, "{refusal:?}");
        }
    }

    #[test]
    fn a_refusal_keeping_the_session_is_the_refusal_it_wraps() {
        let inner = Refusal::NoFactorEnrolled {
            service: "x.org/".into(),
            user: "alice".into(),
        };
        let message = inner.to_string();
        let kept = Refusal::KeepingSession {
            refusal: Box::new(inner),
            cookie: HeaderValue::from_static("s=1"),
        };
        assert_eq!(kept.status(), StatusCode::FORBIDDEN);
        assert_eq!(kept.heading(), "Second factor required");
        assert_eq!(kept.to_string(), message);
    }

    #[test]
    fn only_the_login_form_s_own_failures_count_as_failed_logins() {
        let bad = Refusal::BadRequest(ParamError::DuplicateParameter);
        assert_eq!(bad.login_failure(), Some("bad_request"));
        assert_eq!(
            Refusal::FormExpired { login_form: true }.login_failure(),
            Some("csrf")
        );
        assert_eq!(Refusal::NotFound.login_failure(), None);
        // Counted whatever the path, by `count_refusal`.
        let store = Refusal::ThrottleStore {
            error: StoreError::Timeout,
            user: "alice".into(),
        };
        assert_eq!(store.login_failure(), None);
    }
}
