//! The PAM backend: `pam_authenticate` + `pam_acct_mgmt` under a configured
//! service name, through the generated Linux-PAM bindings (pam-sys).
//! The user's groups are the Unix groups of the account (getgrouplist).
//!
//! A PAM stack may change the user during authentication (a module that
//! maps aliases or case-folds names sets `PAM_USER`), and NSS may answer
//! `getpwnam` for a name that is not the account's own: the ticket would
//! then carry the typed name, not the account that proved the password. So
//! the typed name must be `PAM_USER` after the stack ran, and the account's
//! canonical name when the passwd database knows it, as the LDAP backend
//! requires of its directory entry.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr;

use pam_sys::{
    pam_acct_mgmt, pam_authenticate, pam_conv, pam_end, pam_get_item, pam_handle_t, pam_message,
    pam_response, pam_start, pam_strerror, PAM_ACCT_EXPIRED, PAM_AUTHTOK_EXPIRED, PAM_AUTH_ERR,
    PAM_BUF_ERR, PAM_CONV_ERR, PAM_CRED_INSUFFICIENT, PAM_DISALLOW_NULL_AUTHTOK, PAM_MAXTRIES,
    PAM_NEW_AUTHTOK_REQD, PAM_PERM_DENIED, PAM_PROMPT_ECHO_OFF, PAM_PROMPT_ECHO_ON, PAM_SILENT,
    PAM_SUCCESS, PAM_USER, PAM_USER_UNKNOWN,
};

use super::{Account, Backend, BackendError};
use crate::session::valid_name;

/// Answers every prompt with the password (appdata points to a CString).
/// PAM frees the responses with free(), so they come from calloc/strdup.
unsafe extern "C" fn conversation(
    num_msg: c_int,
    msg: *mut *const pam_message,
    resp: *mut *mut pam_response,
    appdata: *mut c_void,
) -> c_int {
    let body = std::panic::catch_unwind(|| {
        if num_msg <= 0 || num_msg > 32 || msg.is_null() || resp.is_null() || appdata.is_null() {
            return PAM_CONV_ERR;
        }
        let password = &*(appdata as *const CString);
        let n = num_msg as usize;
        let replies = libc::calloc(n, std::mem::size_of::<pam_response>()) as *mut pam_response;
        if replies.is_null() {
            return PAM_BUF_ERR;
        }
        for i in 0..n {
            // Linux-PAM passes an array of pointers.
            let m = *msg.add(i);
            if m.is_null() {
                continue;
            }
            let style = (*m).msg_style;
            if style == PAM_PROMPT_ECHO_OFF || style == PAM_PROMPT_ECHO_ON {
                let copy = libc::strdup(password.as_ptr());
                if copy.is_null() {
                    for j in 0..i {
                        let r = (*replies.add(j)).resp;
                        if !r.is_null() {
                            libc::free(r as *mut c_void);
                        }
                    }
                    libc::free(replies as *mut c_void);
                    return PAM_BUF_ERR;
                }
                (*replies.add(i)).resp = copy;
            }
        }
        *resp = replies;
        PAM_SUCCESS
    });
    body.unwrap_or(PAM_CONV_ERR)
}

/// Authenticates through a PAM service.
pub struct Pam {
    service: CString,
}

impl Pam {
    pub fn new(service: &str) -> Result<Pam, BackendError> {
        let service = CString::new(service)
            .map_err(|_| BackendError("PAM service name contains NUL".into()))?;
        Ok(Pam { service })
    }
}

fn strerror(pamh: *mut pam_handle_t, rc: c_int) -> String {
    // SAFETY: pam_strerror returns a static string for any code.
    unsafe {
        let s = pam_strerror(pamh, rc);
        if s.is_null() {
            format!("PAM error {rc}")
        } else {
            CStr::from_ptr(s).to_string_lossy().into_owned()
        }
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
    fn authenticate(
        &self,
        user: &str,
        password: &str,
    ) -> Result<Option<Vec<String>>, BackendError> {
        let (Ok(c_user), Ok(c_password)) = (CString::new(user), CString::new(password)) else {
            return Ok(None);
        };
        let conv = pam_conv {
            conv: Some(conversation),
            appdata_ptr: &c_password as *const CString as *mut c_void,
        };
        // `conv` and the password outlive the transaction, which ends with
        // pam_end below on every path.
        let pamh = self.start(&c_user, &conv)?;
        // SAFETY: pamh is a live handle from pam_start.
        let mut rc = unsafe { pam_authenticate(pamh, PAM_DISALLOW_NULL_AUTHTOK) };
        if rc == PAM_SUCCESS {
            // SAFETY: as above.
            rc = unsafe { pam_acct_mgmt(pamh, PAM_DISALLOW_NULL_AUTHTOK) };
        }
        // SAFETY: as above; read before pam_end frees the items.
        let pam_user = (rc == PAM_SUCCESS).then(|| unsafe { user_item(pamh) });
        let message = strerror(pamh, rc);
        // SAFETY: ends the transaction started above; pamh is not used after.
        unsafe { pam_end(pamh, rc) };
        if rc == PAM_SUCCESS {
            if !is_the_account(user, pam_user.flatten().as_deref()) {
                return Ok(None);
            }
            Ok(Some(unix_groups(user)))
        } else if is_refusal(rc) {
            Ok(None)
        } else {
            Err(BackendError(format!(
                "PAM service {:?}: {message}",
                self.service
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
    /// `pam_start` for `user` on this service. The caller keeps `conv` (and
    /// what its `appdata_ptr` points to) alive until it calls `pam_end`.
    fn start(&self, user: &CStr, conv: &pam_conv) -> Result<*mut pam_handle_t, BackendError> {
        let mut pamh: *mut pam_handle_t = ptr::null_mut();
        // SAFETY: the service name, user and conversation are valid C data
        // that outlive the call; the caller keeps `conv` alive until pam_end.
        let rc = unsafe { pam_start(self.service.as_ptr(), user.as_ptr(), conv, &mut pamh) };
        if rc != PAM_SUCCESS || pamh.is_null() {
            return Err(BackendError(format!(
                "pam_start({:?}) failed: {}",
                self.service,
                strerror(pamh, rc)
            )));
        }
        Ok(pamh)
    }

    /// The silent path's re-check: `pam_acct_mgmt` alone, without a
    /// password, so the service's account modules decide whether the
    /// account may still log in (pam_unix: it exists and has not expired).
    fn check_account(&self, user: &str) -> Result<Option<Account>, BackendError> {
        let Ok(c_user) = CString::new(user) else {
            return Ok(None);
        };
        // A module that prompts here gets an empty answer.
        let no_password = CString::default();
        let conv = pam_conv {
            conv: Some(conversation),
            appdata_ptr: &no_password as *const CString as *mut c_void,
        };
        // As in `authenticate`; pam_end below ends the transaction.
        let pamh = self.start(&c_user, &conv)?;
        // SAFETY: pamh is a live handle from pam_start, not used after pam_end.
        let rc = unsafe { pam_acct_mgmt(pamh, PAM_SILENT) };
        let message = strerror(pamh, rc);
        // SAFETY: ends the transaction pam_start began; pamh is not used again.
        unsafe { pam_end(pamh, rc) };
        match rc {
            PAM_SUCCESS => Ok(Some(Account {
                groups: unix_groups(user),
            })),
            rc if is_refusal(rc) => Ok(None),
            _ => Err(BackendError(format!(
                "PAM service {:?} account check: {message}",
                self.service
            ))),
        }
    }
}

/// `PAM_USER` as the stack left it, if set and readable.
///
/// # Safety
/// `pamh` is a live handle from pam_start.
unsafe fn user_item(pamh: *mut pam_handle_t) -> Option<Vec<u8>> {
    let mut item: *const c_void = ptr::null();
    if pam_get_item(pamh, PAM_USER, &mut item) != PAM_SUCCESS || item.is_null() {
        return None;
    }
    Some(CStr::from_ptr(item as *const c_char).to_bytes().to_vec())
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
