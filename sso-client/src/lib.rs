//! sso-client: work in progress.
