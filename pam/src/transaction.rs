//! The application side: one PAM transaction, from `pam_start` to
//! `pam_end`, answering through a [`Conversation`].

use std::ffi::{c_int, c_void, CStr, CString};
use std::marker::PhantomData;
use std::path::Path;
use std::ptr::{self, NonNull};

use pam_sys::{pam_handle_t, PAM_SUCCESS, PAM_USER};

use crate::Conversation;

/// Why `pam_start` gave no transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartError {
    /// The service, user or directory holds a NUL byte.
    Nul(&'static str),
    /// `pam_start` failed with this code (and `pam_strerror`'s text).
    Failed(c_int, String),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Nul(what) => write!(f, "the PAM {what} contains a NUL byte"),
            StartError::Failed(code, text) => write!(f, "pam_start failed: {text} ({code})"),
        }
    }
}

impl std::error::Error for StartError {}

/// A live PAM transaction; `pam_end` runs on drop, with the status of the
/// last call. It borrows its conversation, which libpam calls back into
/// until then.
pub struct Transaction<'c> {
    pamh: NonNull<pam_handle_t>,
    status: c_int,
    _conversation: PhantomData<&'c Conversation>,
}

impl<'c> Transaction<'c> {
    /// `pam_start` for `user` on `service`, configured from `/etc/pam.d`.
    pub fn start(
        service: &str,
        user: &str,
        conversation: &'c Conversation,
    ) -> Result<Transaction<'c>, StartError> {
        Transaction::start_confdir(service, user, conversation, None)
    }

    /// `pam_start_confdir`: as [`Transaction::start`], with the service
    /// files read from `confdir` when given (Linux-PAM 1.4 and later).
    pub fn start_confdir(
        service: &str,
        user: &str,
        conversation: &'c Conversation,
        confdir: Option<&Path>,
    ) -> Result<Transaction<'c>, StartError> {
        let service = CString::new(service).map_err(|_| StartError::Nul("service name"))?;
        let user = CString::new(user).map_err(|_| StartError::Nul("user name"))?;
        let confdir = confdir
            .map(|d| CString::new(d.as_os_str().as_encoded_bytes()))
            .transpose()
            .map_err(|_| StartError::Nul("configuration directory"))?;
        let conv = conversation.as_pam_conv();
        let mut pamh: *mut pam_handle_t = ptr::null_mut();
        // SAFETY: every string is a valid C string that outlives the call;
        // libpam copies `conv`, whose appdata (the conversation) outlives the
        // handle by the lifetime 'c; `pamh` is an out-parameter.
        let rc = unsafe {
            pam_sys::pam_start_confdir(
                service.as_ptr(),
                user.as_ptr(),
                &conv,
                confdir.as_ref().map_or(ptr::null(), |d| d.as_ptr()),
                &mut pamh,
            )
        };
        match NonNull::new(pamh) {
            Some(pamh) if rc == PAM_SUCCESS => Ok(Transaction {
                pamh,
                status: rc,
                _conversation: PhantomData,
            }),
            Some(pamh) => {
                let text = strerror(rc);
                // SAFETY: a handle pam_start returned, ended once, not used after.
                unsafe { pam_sys::pam_end(pamh.as_ptr(), rc) };
                Err(StartError::Failed(rc, text))
            }
            None => Err(StartError::Failed(rc, strerror(rc))),
        }
    }

    /// Records the status that `pam_end` will be given.
    fn record(&mut self, rc: c_int) -> c_int {
        self.status = rc;
        rc
    }

    /// `pam_authenticate(flags)`.
    pub fn authenticate(&mut self, flags: c_int) -> c_int {
        // SAFETY: a live handle from pam_start.
        let rc = unsafe { pam_sys::pam_authenticate(self.pamh.as_ptr(), flags) };
        self.record(rc)
    }

    /// `pam_acct_mgmt(flags)`.
    pub fn acct_mgmt(&mut self, flags: c_int) -> c_int {
        // SAFETY: a live handle from pam_start.
        let rc = unsafe { pam_sys::pam_acct_mgmt(self.pamh.as_ptr(), flags) };
        self.record(rc)
    }

    /// `pam_setcred(flags)`.
    pub fn setcred(&mut self, flags: c_int) -> c_int {
        // SAFETY: a live handle from pam_start.
        let rc = unsafe { pam_sys::pam_setcred(self.pamh.as_ptr(), flags) };
        self.record(rc)
    }

    /// `PAM_USER` as the stack left it, if set.
    pub fn user(&self) -> Option<Vec<u8>> {
        let mut item: *const c_void = ptr::null();
        // SAFETY: a live handle; `item` is an out-parameter.
        let rc = unsafe { pam_sys::pam_get_item(self.pamh.as_ptr(), PAM_USER, &mut item) };
        if rc != PAM_SUCCESS || item.is_null() {
            return None;
        }
        // SAFETY: PAM_USER is a C string owned by libpam, copied out here
        // before any other call can change it.
        Some(unsafe { CStr::from_ptr(item.cast()) }.to_bytes().to_vec())
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        // SAFETY: ends the transaction pam_start began; the handle is not
        // used after (the Transaction is gone).
        unsafe { pam_sys::pam_end(self.pamh.as_ptr(), self.status) };
    }
}

/// `pam_strerror`'s text for a result code.
pub fn strerror(code: c_int) -> String {
    // SAFETY: Linux-PAM's pam_strerror accepts a NULL handle and returns a
    // static string for any code (or NULL, handled).
    let text = unsafe { pam_sys::pam_strerror(ptr::null_mut(), code) };
    if text.is_null() {
        return format!("PAM error {code}");
    }
    // SAFETY: a static, NUL-terminated string.
    unsafe { CStr::from_ptr(text) }
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pam_sys::PAM_AUTH_ERR;

    #[test]
    fn strerror_names_the_code() {
        assert_eq!(strerror(PAM_AUTH_ERR), "Authentication failure");
    }

    /// A real transaction through libpam on a private directory: pam_deny
    /// refuses without asking, pam_permit accepts.
    #[test]
    fn a_transaction_through_libpam() {
        let dir = std::env::temp_dir().join(format!("pam-layer-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("deny"), "auth required pam_deny.so\n").unwrap();
        std::fs::write(dir.join("permit"), "auth required pam_permit.so\n").unwrap();
        let conversation = Conversation::answering("pw").unwrap();
        let mut t = Transaction::start_confdir("deny", "alice", &conversation, Some(&dir)).unwrap();
        assert_eq!(t.authenticate(0), PAM_AUTH_ERR);
        drop(t);
        let mut t =
            Transaction::start_confdir("permit", "alice", &conversation, Some(&dir)).unwrap();
        assert_eq!(t.authenticate(0), PAM_SUCCESS);
        assert_eq!(t.user().as_deref(), Some(&b"alice"[..]));
        drop(t);
        assert_eq!(conversation.prompts(), 0);
        assert_eq!(
            Transaction::start("x\0y", "alice", &conversation).err(),
            Some(StartError::Nul("service name"))
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
