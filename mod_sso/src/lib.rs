//! mod_sso: work in progress.
