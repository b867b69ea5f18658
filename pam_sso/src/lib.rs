//! pam_sso: a PAM module that accepts an SSO ticket as the password.
//!
//! The user name is the PAM user, the password is a ticket (v3 or v4, see
//! the protocol page), verified offline against the configured public keys
//! for the configured service and domain; the ticket's user must equal the
//! PAM user. The manual page is `docs/pam_sso.8`.
//!
//! The module exports exactly `pam_sm_authenticate` and `pam_sm_setcred`
//! (written by `pam::module_entry!`, the only `#[no_mangle]` items), keeps
//! no global state (keys are read on every call), never lets a panic reach
//! the host, gets the password with `pam_get_authtok` (libpam wipes it),
//! and logs through `pam_syslog` with the fixed lines of [`log`], which
//! never hold a ticket. The only message it shows the user, when a ticket
//! is refused, is left out under `PAM_SILENT`.
//!
//! libpam is reached through the safe layer `pam` (pam/) over `pam-sys`,
//! the workspace's one binding of the PAM headers: this crate has no
//! `unsafe` code.

#![deny(unsafe_code)]

use std::ffi::{c_int, CStr};

mod auth;
mod conf;
mod log;
/// Public only for the fuzz target of the option parser (fuzz/).
#[doc(hidden)]
pub mod options;
mod services;

use auth::{Decision, Outcome};
use options::{Options, PasswordSource};
use pam::module::{Flags, Handle, Item, Secret};
use pam::sys as ffi;

/// The prompt for the ticket, the same in every locale.
const PROMPT: &CStr = c"Password: ";

fn pam_code(outcome: Outcome) -> c_int {
    match outcome {
        Outcome::Success => ffi::PAM_SUCCESS,
        Outcome::AuthErr => ffi::PAM_AUTH_ERR,
        Outcome::AuthinfoUnavail => ffi::PAM_AUTHINFO_UNAVAIL,
        Outcome::ServiceErr => ffi::PAM_SERVICE_ERR,
    }
}

fn report(pamh: &Handle, flags: Flags, decision: &Decision) -> c_int {
    let priority = match decision.outcome {
        Outcome::Success => ffi::LOG_INFO,
        Outcome::AuthErr => ffi::LOG_NOTICE,
        Outcome::AuthinfoUnavail | Outcome::ServiceErr => ffi::LOG_ERR,
    };
    pamh.syslog(priority, &decision.line);
    if let Some(message) = &decision.message {
        pamh.error_message(flags, message);
    }
    pam_code(decision.outcome)
}

/// The password as the options say: `PAM_AUTHTOK` only (`use_first_pass`,
/// judged here because the option may come from `conf=`, which libpam does
/// not read), `pam_get_authtok` (`try_first_pass`), or, by default, a
/// fresh answer: `PAM_AUTHTOK` is unset first, so `pam_get_authtok` asks.
/// The error is the code to return and the reason to log.
fn password(pamh: &Handle, source: PasswordSource) -> Result<Secret, (c_int, String)> {
    let asked = |rc| (rc, format!("pam_get_authtok returned {rc}"));
    match source {
        PasswordSource::UseFirstPass => pamh.authtok().ok_or_else(|| {
            (
                ffi::PAM_AUTH_ERR,
                "use_first_pass: no earlier password".to_owned(),
            )
        }),
        PasswordSource::TryFirstPass => pamh.get_authtok(PROMPT).map_err(asked),
        PasswordSource::Prompt => {
            let rc = pamh.clear_authtok();
            if rc != ffi::PAM_SUCCESS {
                return Err((rc, "cannot unset PAM_AUTHTOK".to_owned()));
            }
            pamh.get_authtok(PROMPT).map_err(asked)
        }
    }
}

fn authenticate(pamh: &Handle, flags: Flags, args: Option<Vec<&[u8]>>) -> c_int {
    let Some(args) = args else {
        pamh.syslog(
            ffi::LOG_ERR,
            &log::config_error("unreadable module arguments"),
        );
        return ffi::PAM_SERVICE_ERR;
    };
    // conf=FILE: its arguments follow the line's, as if written there.
    let conf_path = conf::conf_argument(&args);
    let conf_args = match &conf_path {
        Some(path) if path.is_absolute() => {
            match conf::read(path, sso_core::file_trust::effective_uid()) {
                Ok(text) => conf::arguments(&text),
                Err(e) => {
                    pamh.syslog(ffi::LOG_ERR, &log::config_error(&e));
                    return ffi::PAM_SERVICE_ERR;
                }
            }
        }
        // A relative path is refused by name in the parse below.
        _ => Vec::new(),
    };
    let all: Vec<&[u8]> = args
        .iter()
        .copied()
        .chain(conf_args.iter().map(|a| a.as_bytes()))
        .collect();
    let options: Options = match options::parse(&all) {
        Ok(o) => o,
        Err(e) => {
            let place = match &conf_path {
                Some(path) => format!(" (module line and conf={})", path.display()),
                None => String::new(),
            };
            pamh.syslog(ffi::LOG_ERR, &log::config_error(&format!("{e}{place}")));
            return ffi::PAM_SERVICE_ERR;
        }
    };
    if options.debug {
        pamh.syslog(
            ffi::LOG_DEBUG,
            &log::debug(&format!(
                "service={} domain={} keys={} groups={} clock_skew={} pam_services={}",
                log::sanitize(&options.service),
                log::sanitize(&options.domain),
                options.keys.len(),
                options.groups.len(),
                options.clock_skew,
                log::pam_services(&options.pam_services)
            )),
        );
        if options.login_server.is_some() {
            pamh.syslog(
                ffi::LOG_DEBUG,
                &log::debug("login_server= is ignored: tickets are verified offline"),
            );
        }
    }

    // pam_services=: outside the services the module decides for, it steps
    // aside before asking anything. PAM_IGNORE (Linux-PAM's "this module
    // takes no part"), not PAM_AUTH_ERR: whatever the control of the line
    // (the profile's default=ignore in common-auth, or required/requisite
    // in a service's own file), sudo or su then go on to pam_unix and its
    // Unix password as if pam_sso were not there; a refusal would fail a
    // required line even for the right password. A stack whose only auth
    // module is pam_sso still fails, as no module succeeded.
    let Some(pam_service) = pamh.item(Item::Service) else {
        pamh.syslog(ffi::LOG_ERR, &log::no_pam_service());
        return ffi::PAM_SERVICE_ERR;
    };
    if let Err(skip) = services::check(&options.pam_services, &pam_service) {
        pamh.syslog(ffi::LOG_INFO, &log::ignored(&pam_service, skip.reason()));
        return ffi::PAM_IGNORE;
    }

    let user = match pamh.user() {
        Ok(user) => user,
        Err(rc) => {
            pamh.syslog(ffi::LOG_NOTICE, &log::no_user(rc));
            return if rc == ffi::PAM_CONV_AGAIN {
                ffi::PAM_INCOMPLETE
            } else {
                rc
            };
        }
    };

    // Keys before the password: when the module cannot verify anything it
    // does not prompt, and a stacked module asks for itself.
    let verifier = match auth::load_verifier(&options, sso_core::file_trust::effective_uid()) {
        Ok(v) => v,
        Err(decision) => return report(pamh, flags, &decision),
    };

    let from_item = match options.password {
        PasswordSource::UseFirstPass => true,
        PasswordSource::TryFirstPass => pamh.authtok().is_some(),
        PasswordSource::Prompt => false,
    };
    let password = match password(pamh, options.password) {
        Ok(p) => p,
        Err((code, why)) => {
            pamh.syslog(ffi::LOG_NOTICE, &log::no_password(&user, &why));
            return code;
        }
    };
    if options.debug {
        let source = match from_item {
            true => "password from PAM_AUTHTOK",
            false => "password from the conversation",
        };
        pamh.syslog(ffi::LOG_DEBUG, &log::debug(source));
    }
    let decision = auth::check_password(
        &verifier,
        &options.groups,
        &user,
        password.bytes(),
        sso_core::unix_now(),
    );
    drop(password);
    report(pamh, flags, &decision)
}

pam::module_entry!(
    /// Authenticates the PAM user with a ticket as the password.
    pam_sm_authenticate => authenticate
);

pam::module_entry!(
    /// A ticket establishes no credentials: nothing to set, delete or
    /// refresh. PAM_SUCCESS (as pam_unix and pam_permit answer) keeps a
    /// stack whose only auth module is pam_sso usable with applications
    /// that call pam_setcred.
    pam_sm_setcred => |_, _, _| ffi::PAM_SUCCESS
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_map_to_linux_pam_codes() {
        assert_eq!(pam_code(Outcome::Success), 0);
        assert_eq!(pam_code(Outcome::AuthErr), 7);
        assert_eq!(pam_code(Outcome::AuthinfoUnavail), 9);
        assert_eq!(pam_code(Outcome::ServiceErr), 3);
    }
}
