//! The PAM backend: `pam_authenticate` + `pam_acct_mgmt` under a configured
//! service name, through the safe PAM layer (pam/, over pam-sys).
//! The user's groups are the Unix groups of the account (getgrouplist).
//!
//! A PAM stack may change the user during authentication (a module that
//! maps aliases or case-folds names sets `PAM_USER`), and NSS may answer
//! `getpwnam` for a name that is not the account's own: the ticket would
//! then carry the typed name, not the account that proved the password. So
//! the typed name must be `PAM_USER` after the stack ran, and the account's
//! canonical name when the passwd database knows it, as the LDAP backend
//! requires of its directory entry.

use std::ffi::{c_char, c_int, CStr, CString};
use std::ptr;

use pam::sys::{
    PAM_ACCT_EXPIRED, PAM_AUTHTOK_EXPIRED, PAM_AUTH_ERR, PAM_CRED_INSUFFICIENT,
    PAM_DISALLOW_NULL_AUTHTOK, PAM_MAXTRIES, PAM_NEW_AUTHTOK_REQD, PAM_PERM_DENIED, PAM_SILENT,
    PAM_SUCCESS, PAM_USER_UNKNOWN,
};
use pam::{Conversation, Transaction};

use super::{Account, Backend, BackendError};
use crate::session::valid_name;

/// Authenticates through a PAM service.
pub struct Pam {
    service: String,
}

impl Pam {
    pub fn new(service: &str) -> Result<Pam, BackendError> {
        if service.contains('\0') {
            return Err(BackendError("PAM service name contains NUL".into()));
        }
        Ok(Pam {
            service: service.to_owned(),
        })
    }
}

fn is_refusal(rc: c_int) -> bool {
    matches!(
        rc,
        PAM_AUTH_ERR
            | PAM_CRED_INSUFFICIENT
            | PAM_USER_UNKNOWN
            | PAM_MAXTRIES
            | PAM_NEW_AUTHTOK_REQD
            | PAM_ACCT_EXPIRED
            | PAM_PERM_DENIED
            | PAM_AUTHTOK_EXPIRED
    )
}

impl Backend for Pam {
    fn authenticate_account(
        &self,
        user: &str,
        password: &str,
    ) -> Result<Option<Account>, BackendError> {
        // Every prompt of the stack gets the password.
        let Some(conversation) = Conversation::answering(password) else {
            return Ok(None);
        };
        if user.contains('\0') {
            return Ok(None);
        }
        let mut transaction = self.start(user, &conversation)?;
        let mut rc = transaction.authenticate(PAM_DISALLOW_NULL_AUTHTOK);
        if rc == PAM_SUCCESS {
            rc = transaction.acct_mgmt(PAM_DISALLOW_NULL_AUTHTOK);
        }
        // Read before pam_end (the drop) frees the items.
        let pam_user = (rc == PAM_SUCCESS).then(|| transaction.user()).flatten();
        drop(transaction);
        if rc == PAM_SUCCESS {
            if !is_the_account(user, pam_user.as_deref()) {
                return Ok(None);
            }
            Ok(Some(Account::with_groups(unix_groups(user))))
        } else if is_refusal(rc) {
            Ok(None)
        } else {
            Err(BackendError(format!(
                "PAM service {:?}: {}",
                self.service,
                pam::strerror(rc)
            )))
        }
    }

    fn account(&self, user: &str) -> Result<Option<Account>, BackendError> {
        self.check_account(user)
    }

    fn name(&self) -> &'static str {
        "pam"
    }
}

impl Pam {
    /// `pam_start` for `user` on this service; `pam_end` runs when the
    /// transaction, which borrows the conversation, is dropped.
    fn start<'c>(
        &self,
        user: &str,
        conversation: &'c Conversation,
    ) -> Result<Transaction<'c>, BackendError> {
        Transaction::start(&self.service, user, conversation)
            .map_err(|e| BackendError(format!("pam_start({:?}) failed: {e}", self.service)))
    }

    /// The silent path's re-check: `pam_acct_mgmt` alone, without a
    /// password, so the service's account modules decide whether the
    /// account may still log in (pam_unix: it exists and has not expired).
    fn check_account(&self, user: &str) -> Result<Option<Account>, BackendError> {
        if user.contains('\0') {
            return Ok(None);
        }
        // A module that prompts here gets an empty answer.
        let no_password = Conversation::answering("").expect("no NUL in an empty string");
        let mut transaction = self.start(user, &no_password)?;
        let rc = transaction.acct_mgmt(PAM_SILENT);
        drop(transaction);
        match rc {
            PAM_SUCCESS => Ok(Some(Account::with_groups(unix_groups(user)))),
            rc if is_refusal(rc) => Ok(None),
            _ => Err(BackendError(format!(
                "PAM service {:?} account check: {}",
                self.service,
                pam::strerror(rc)
            ))),
        }
    }
}

/// Whether the name typed at the login form is the account that PAM
/// authenticated: `PAM_USER` after the stack ran, and the passwd entry's
/// own name when NSS knows the account (an account PAM knows but NSS does
/// not, e.g. a directory without an NSS module, is judged by `PAM_USER`).
fn is_the_account(typed: &str, pam_user: Option<&[u8]>) -> bool {
    if pam_user != Some(typed.as_bytes()) {
        return false;
    }
    match passwd_entry(typed) {
        Some((canonical, _)) => canonical == typed,
        None => true,
    }
}

/// The account's name and primary group as the passwd database (NSS) has
/// them, for the name `user` (which NSS may match loosely).
fn passwd_entry(user: &str) -> Option<(String, libc::gid_t)> {
    let c_user = CString::new(user).ok()?;
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: a C struct of integers and pointers, for which all zeros
    // (NULL pointers) is a valid value; getpwnam_r fills it.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = ptr::null_mut();
    // SAFETY: buffers are sized as passed; result points into pwd or is NULL.
    let rc = unsafe {
        libc::getpwnam_r(
            c_user.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr() as *mut c_char,
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: pw_name points into buf, NUL-terminated.
    let name = unsafe { CStr::from_ptr(pwd.pw_name) }
        .to_string_lossy()
        .into_owned();
    Some((name, pwd.pw_gid))
}

/// The names of the Unix groups `user` belongs to (primary and
/// supplementary); empty when the account is not in the passwd database.
pub fn unix_groups(user: &str) -> Vec<String> {
    let Ok(c_user) = CString::new(user) else {
        return Vec::new();
    };
    let Some((_, primary)) = passwd_entry(user) else {
        return Vec::new();
    };
    let mut count: c_int = 64;
    let mut gids: Vec<libc::gid_t> = vec![0; count as usize];
    loop {
        // SAFETY: gids has `count` slots.
        let n =
            unsafe { libc::getgrouplist(c_user.as_ptr(), primary, gids.as_mut_ptr(), &mut count) };
        if n >= 0 {
            gids.truncate(n as usize);
            break;
        }
        if count as usize <= gids.len() || count > 65536 {
            return Vec::new();
        }
        gids.resize(count as usize, 0);
    }
    let mut names = Vec::new();
    for gid in gids {
        // SAFETY: as for passwd above: all zeros is a valid `group`.
        let mut grp: libc::group = unsafe { std::mem::zeroed() };
        let mut res: *mut libc::group = ptr::null_mut();
        let mut gbuf = vec![0u8; 64 * 1024];
        // SAFETY: as for getpwnam_r.
        let rc = unsafe {
            libc::getgrgid_r(
                gid,
                &mut grp,
                gbuf.as_mut_ptr() as *mut c_char,
                gbuf.len(),
                &mut res,
            )
        };
        if rc == 0 && !res.is_null() {
            // SAFETY: gr_name points into gbuf, NUL-terminated.
            let name = unsafe { CStr::from_ptr(grp.gr_name) }
                .to_string_lossy()
                .into_owned();
            if valid_name(&name) && !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_is_pam_user_and_the_passwd_name() {
        assert!(is_the_account("root", Some(b"root")));
        // The stack mapped the typed name to another account.
        assert!(!is_the_account("alias", Some(b"root")));
        assert!(!is_the_account("root", None));
        // Unknown to NSS: PAM_USER decides.
        assert!(is_the_account(
            "no-such-user-here",
            Some(b"no-such-user-here")
        ));
        assert_eq!(
            passwd_entry("root").map(|(n, _)| n).as_deref(),
            Some("root")
        );
    }

    #[test]
    fn root_is_in_group_root() {
        assert!(unix_groups("root").contains(&"root".to_string()));
        assert!(unix_groups("no-such-user-here").is_empty());
    }
}
