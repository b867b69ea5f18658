//! pam_sso: a PAM module that accepts an SSO ticket as the password.
//!
//! The user name is the PAM user, the password is a ticket (v3 or v4, see
//! the protocol page), verified offline against the configured public keys
//! for the configured service and domain; the ticket's user must equal the
//! PAM user. The manual page is `docs/pam_sso.8`.
//!
//! The module exports exactly `pam_sm_authenticate` and `pam_sm_setcred`
//! (the only `#[no_mangle]` items), keeps no global state (keys are read on
//! every call), never lets a panic reach the host, wipes and frees every
//! conversation answer, and logs through `pam_syslog` with the fixed lines of
//! [`log`], which never hold a ticket.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

mod auth;
mod log;
/// Public only for the fuzz target of the option parser (fuzz/).
#[doc(hidden)]
pub mod options;
mod trusted;

use auth::{Decision, Outcome};
use options::{Options, PasswordSource};
use pam_sys as ffi;
use pam_sys::pam_handle_t as PamHandle;

/// Writes one fixed-format line to the system log through libpam, which
/// prefixes it with `pam_sso(SERVICE:auth):`.
fn syslog(pamh: *const PamHandle, priority: c_int, line: &str) {
    // A line never holds NUL (every user value went through log::sanitize),
    // but if one did it is cut there rather than dropped.
    let bytes: Vec<u8> = line.bytes().take_while(|&b| b != 0).chain([0]).collect();
    // SAFETY: pamh comes from libpam; the format is the constant "%s" and
    // its one argument is a NUL-terminated string that outlives the call.
    unsafe {
        ffi::pam_syslog(
            pamh,
            priority,
            c"%s".as_ptr(),
            bytes.as_ptr() as *const c_char,
        )
    };
}

fn pam_code(outcome: Outcome) -> c_int {
    match outcome {
        Outcome::Success => ffi::PAM_SUCCESS,
        Outcome::AuthErr => ffi::PAM_AUTH_ERR,
        Outcome::AuthinfoUnavail => ffi::PAM_AUTHINFO_UNAVAIL,
        Outcome::ServiceErr => ffi::PAM_SERVICE_ERR,
    }
}

fn report(pamh: *const PamHandle, decision: &Decision) -> c_int {
    let priority = match decision.outcome {
        Outcome::Success => ffi::LOG_INFO,
        Outcome::AuthErr => ffi::LOG_NOTICE,
        Outcome::AuthinfoUnavail | Outcome::ServiceErr => ffi::LOG_ERR,
    };
    syslog(pamh, priority, &decision.line);
    pam_code(decision.outcome)
}

/// Runs an entry point's body, turning a panic into a logged, closed failure.
fn guarded(pamh: *const PamHandle, entry_point: &str, body: impl FnOnce() -> c_int) -> c_int {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(code) => code,
        Err(_) => {
            let _ = catch_unwind(AssertUnwindSafe(|| {
                syslog(pamh, ffi::LOG_ERR, &log::internal_error(entry_point))
            }));
            ffi::PAM_SERVICE_ERR
        }
    }
}

/// The module arguments as byte strings.
///
/// # Safety
/// `argv` must hold `argc` valid C strings (libpam guarantees it).
unsafe fn arguments<'a>(argc: c_int, argv: *const *const c_char) -> Option<Vec<&'a [u8]>> {
    let n = usize::try_from(argc).ok()?;
    if n == 0 {
        return Some(Vec::new());
    }
    if argv.is_null() {
        return None;
    }
    let mut args = Vec::with_capacity(n);
    for i in 0..n {
        let p = *argv.add(i);
        if p.is_null() {
            return None;
        }
        args.push(CStr::from_ptr(p).to_bytes());
    }
    Some(args)
}

/// A conversation answer owned by this module: wiped and freed on drop,
/// on every path including unwinding.
struct Answer {
    text: *mut c_char,
}

impl Answer {
    fn bytes(&self) -> &[u8] {
        if self.text.is_null() {
            return &[];
        }
        // SAFETY: a conversation answer is a NUL-terminated malloc'ed string
        // that this module owns until drop.
        unsafe { CStr::from_ptr(self.text).to_bytes() }
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        if self.text.is_null() {
            return;
        }
        // SAFETY: the answer is a NUL-terminated string we own.
        unsafe { wipe(self.text) };
        // SAFETY: the application allocated the answer with malloc and
        // handed it to us (Linux-PAM conversation contract).
        unsafe { libc::free(self.text as *mut c_void) };
    }
}

/// Overwrites a C string's bytes with zeros, up to its terminating NUL.
///
/// # Safety
/// `text` is a valid, writable, NUL-terminated string.
unsafe fn wipe(text: *mut c_char) {
    let len = CStr::from_ptr(text).to_bytes().len();
    for i in 0..len {
        // Volatile, so the wipe of memory about to be freed is not
        // optimised away.
        ptr::write_volatile(text.add(i), 0);
    }
}

/// Where the module got the password from.
enum Password<'a> {
    /// `PAM_AUTHTOK` set by an earlier module: libpam owns and wipes it.
    Item(&'a [u8]),
    /// Our own conversation answer.
    Answer(Answer),
}

impl Password<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Password::Item(b) => b,
            Password::Answer(a) => a.bytes(),
        }
    }
}

/// `PAM_AUTHTOK` if an earlier module set it.
///
/// # Safety
/// `pamh` is the live handle of this call.
unsafe fn authtok_item<'a>(pamh: *mut PamHandle) -> Option<&'a [u8]> {
    let mut item: *const c_void = ptr::null();
    if ffi::pam_get_item(pamh, ffi::PAM_AUTHTOK, &mut item) != ffi::PAM_SUCCESS || item.is_null() {
        return None;
    }
    Some(CStr::from_ptr(item as *const c_char).to_bytes())
}

/// Asks for the password through the application's conversation function
/// and stores the answer as `PAM_AUTHTOK`, so that a following module with
/// `try_first_pass` reuses it instead of asking again.
///
/// # Safety
/// `pamh` is the live handle of this call.
unsafe fn ask(pamh: *mut PamHandle) -> Result<Answer, (c_int, &'static str)> {
    let mut item: *const c_void = ptr::null();
    if ffi::pam_get_item(pamh, ffi::PAM_CONV, &mut item) != ffi::PAM_SUCCESS || item.is_null() {
        return Err((ffi::PAM_CONV_ERR, "no conversation function"));
    }
    let conv = &*(item as *const ffi::pam_conv);
    let Some(conv_fn) = conv.conv else {
        return Err((ffi::PAM_CONV_ERR, "no conversation function"));
    };
    let message = ffi::pam_message {
        msg_style: ffi::PAM_PROMPT_ECHO_OFF,
        msg: c"Password: ".as_ptr(),
    };
    let mut messages: [*const ffi::pam_message; 1] = [&message];
    let mut responses: *mut ffi::pam_response = ptr::null_mut();
    let rc = conv_fn(1, messages.as_mut_ptr(), &mut responses, conv.appdata_ptr);
    // Whatever came back is ours now, even after a failure (as pam_prompt
    // does): take the one answer out and free the array.
    let answer = Answer {
        text: if responses.is_null() {
            ptr::null_mut()
        } else {
            (*responses).resp
        },
    };
    if !responses.is_null() {
        libc::free(responses as *mut c_void);
    }
    match rc {
        ffi::PAM_SUCCESS => {}
        ffi::PAM_CONV_AGAIN => return Err((ffi::PAM_INCOMPLETE, "conversation incomplete")),
        _ => return Err((ffi::PAM_CONV_ERR, "conversation failed")),
    }
    if answer.text.is_null() {
        return Err((ffi::PAM_AUTH_ERR, "no answer"));
    }
    let rc = ffi::pam_set_item(pamh, ffi::PAM_AUTHTOK, answer.text as *const c_void);
    if rc != ffi::PAM_SUCCESS {
        return Err((rc, "cannot store PAM_AUTHTOK"));
    }
    Ok(answer)
}

/// # Safety
/// Called by libpam with its handle and the module arguments.
unsafe fn authenticate(pamh: *mut PamHandle, argc: c_int, argv: *const *const c_char) -> c_int {
    let Some(args) = arguments(argc, argv) else {
        syslog(
            pamh,
            ffi::LOG_ERR,
            &log::config_error("unreadable module arguments"),
        );
        return ffi::PAM_SERVICE_ERR;
    };
    let options: Options = match options::parse(&args) {
        Ok(o) => o,
        Err(e) => {
            syslog(pamh, ffi::LOG_ERR, &log::config_error(&e.to_string()));
            return ffi::PAM_SERVICE_ERR;
        }
    };
    if options.debug {
        syslog(
            pamh,
            ffi::LOG_DEBUG,
            &log::debug(&format!(
                "service={} domain={} keys={} groups={} clock_skew={}",
                log::sanitize(&options.service),
                log::sanitize(&options.domain),
                options.keys.len(),
                options.groups.len(),
                options.clock_skew
            )),
        );
        if options.login_server.is_some() {
            syslog(
                pamh,
                ffi::LOG_DEBUG,
                &log::debug("login_server= is ignored: tickets are verified offline"),
            );
        }
    }

    let mut user_ptr: *const c_char = ptr::null();
    let rc = ffi::pam_get_user(pamh, &mut user_ptr, ptr::null());
    if rc != ffi::PAM_SUCCESS {
        syslog(pamh, ffi::LOG_NOTICE, &log::no_user(rc));
        return if rc == ffi::PAM_CONV_AGAIN {
            ffi::PAM_INCOMPLETE
        } else {
            rc
        };
    }
    let user: &[u8] = if user_ptr.is_null() {
        &[]
    } else {
        CStr::from_ptr(user_ptr).to_bytes()
    };

    // Keys before the password: when the module cannot verify anything it
    // does not prompt, and a stacked module asks for itself.
    let verifier = match auth::load_verifier(&options, trusted::effective_uid()) {
        Ok(v) => v,
        Err(decision) => return report(pamh, &decision),
    };

    let earlier = match options.password {
        PasswordSource::Prompt => None,
        PasswordSource::TryFirstPass | PasswordSource::UseFirstPass => authtok_item(pamh),
    };
    let password = match (options.password, earlier) {
        (_, Some(p)) => Password::Item(p),
        (PasswordSource::UseFirstPass, None) => {
            syslog(
                pamh,
                ffi::LOG_NOTICE,
                &log::no_password(user, "use_first_pass: no earlier password"),
            );
            return ffi::PAM_AUTH_ERR;
        }
        (PasswordSource::TryFirstPass | PasswordSource::Prompt, None) => match ask(pamh) {
            Ok(a) => Password::Answer(a),
            Err((code, why)) => {
                syslog(pamh, ffi::LOG_NOTICE, &log::no_password(user, why));
                return code;
            }
        },
    };
    if options.debug {
        let source = match password {
            Password::Item(_) => "password from PAM_AUTHTOK",
            Password::Answer(_) => "password from the conversation",
        };
        syslog(pamh, ffi::LOG_DEBUG, &log::debug(source));
    }
    let decision = auth::check_password(
        &verifier,
        &options.groups,
        user,
        password.bytes(),
        sso_core::unix_now(),
    );
    drop(password);
    report(pamh, &decision)
}

/// Authenticates the PAM user with a ticket as the password.
///
/// # Safety
/// Called by libpam with a valid handle and `argc` module arguments.
#[no_mangle]
pub unsafe extern "C" fn pam_sm_authenticate(
    pamh: *mut PamHandle,
    _flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    guarded(pamh, "pam_sm_authenticate", || {
        // SAFETY: forwarded unchanged from libpam.
        unsafe { authenticate(pamh, argc, argv) }
    })
}

/// A ticket establishes no credentials: nothing to set, delete or refresh.
/// PAM_SUCCESS (as pam_unix and pam_permit answer) keeps a stack whose only
/// auth module is pam_sso usable with applications that call pam_setcred.
///
/// # Safety
/// Called by libpam with a valid handle.
#[no_mangle]
pub unsafe extern "C" fn pam_sm_setcred(
    pamh: *mut PamHandle,
    _flags: c_int,
    _argc: c_int,
    _argv: *const *const c_char,
) -> c_int {
    guarded(pamh, "pam_sm_setcred", || ffi::PAM_SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_service_err() {
        // pam_syslog accepts a NULL handle (no module prefix), so the
        // guarded path runs for real here, logging included.
        let code = guarded(ptr::null(), "test", || panic!("boom"));
        assert_eq!(code, ffi::PAM_SERVICE_ERR);
        assert_eq!(
            guarded(ptr::null(), "test", || ffi::PAM_AUTH_ERR),
            ffi::PAM_AUTH_ERR
        );
    }

    #[test]
    fn outcomes_map_to_linux_pam_codes() {
        assert_eq!(pam_code(Outcome::Success), 0);
        assert_eq!(pam_code(Outcome::AuthErr), 7);
        assert_eq!(pam_code(Outcome::AuthinfoUnavail), 9);
        assert_eq!(pam_code(Outcome::ServiceErr), 3);
    }

    #[test]
    fn arguments_are_read_as_bytes() {
        let a = c"key=/k";
        let b = c"debug";
        let argv = [a.as_ptr(), b.as_ptr()];
        // SAFETY: two valid C strings.
        let args = unsafe { arguments(2, argv.as_ptr()) }.unwrap();
        assert_eq!(args, vec![&b"key=/k"[..], &b"debug"[..]]);
        assert_eq!(unsafe { arguments(0, ptr::null()) }, Some(vec![]));
        assert_eq!(unsafe { arguments(-1, argv.as_ptr()) }, None);
        assert_eq!(unsafe { arguments(1, ptr::null()) }, None);
    }

    #[test]
    fn wipe_zeroes_every_byte() {
        let mut buf = *b"secret ticket\0";
        // SAFETY: a writable NUL-terminated buffer.
        unsafe { wipe(buf.as_mut_ptr() as *mut c_char) };
        assert_eq!(buf, [0u8; 14]);
    }
}
