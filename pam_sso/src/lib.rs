//! pam_sso: work in progress.
