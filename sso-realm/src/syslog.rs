//! Logging of the forced command to syslog (the journal picks it up), via
//! the C library, so no `logger` process and no shell are involved. Messages
//! never hold a ticket or key: only names and fingerprints.

use std::ffi::CString;

/// Logs one line with the given priority (`libc::LOG_INFO`, ...), facility
/// `LOG_AUTH`, ident `sso-realm`. Silently does nothing if no syslog socket
/// exists.
pub fn log(priority: libc::c_int, message: &str) {
    static IDENT: &[u8] = b"sso-realm\0";
    let clean: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let Ok(text) = CString::new(clean) else {
        return;
    };
    // SAFETY: IDENT is a static NUL-terminated string (openlog keeps the
    // pointer); the format is a literal "%s" and text is NUL-terminated.
    unsafe {
        libc::openlog(IDENT.as_ptr().cast(), libc::LOG_PID, libc::LOG_AUTH);
        libc::syslog(priority, c"%s".as_ptr(), text.as_ptr());
    }
}

/// Logs an informational line (a ticket was issued).
pub fn info(message: &str) {
    log(libc::LOG_INFO, message);
}

/// Logs a warning line (a request was refused).
pub fn warning(message: &str) {
    log(libc::LOG_WARNING, message);
}
