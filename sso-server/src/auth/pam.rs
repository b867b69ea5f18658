//! The PAM backend: `pam_authenticate` + `pam_acct_mgmt` under a configured
//! service name, through hand-written bindings to libpam. The user's groups
//! are the Unix groups of the account (getgrouplist).

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr;

use super::{Account, Backend, BackendError};
use crate::session::valid_name;

const PAM_SUCCESS: c_int = 0;
const PAM_PROMPT_ECHO_OFF: c_int = 1;
const PAM_PROMPT_ECHO_ON: c_int = 2;
const PAM_CONV_ERR: c_int = 19;
const PAM_BUF_ERR: c_int = 5;
const PAM_DISALLOW_NULL_AUTHTOK: c_int = 0x0001;
/// Results that mean "no" rather than "PAM is broken".
const PAM_AUTH_ERR: c_int = 7;
const PAM_CRED_INSUFFICIENT: c_int = 8;
const PAM_USER_UNKNOWN: c_int = 10;
const PAM_MAXTRIES: c_int = 11;
const PAM_NEW_AUTHTOK_REQD: c_int = 12;
const PAM_ACCT_EXPIRED: c_int = 13;
const PAM_PERM_DENIED: c_int = 6;
const PAM_AUTHTOK_EXPIRED: c_int = 27;

#[repr(C)]
struct PamMessage {
    msg_style: c_int,
    msg: *const c_char,
}

#[repr(C)]
struct PamResponse {
    resp: *mut c_char,
    resp_retcode: c_int,
}

type ConvFn = unsafe extern "C" fn(
    num_msg: c_int,
    msg: *mut *const PamMessage,
    resp: *mut *mut PamResponse,
    appdata: *mut c_void,
) -> c_int;

#[repr(C)]
struct PamConv {
    conv: ConvFn,
    appdata_ptr: *mut c_void,
}

#[link(name = "pam")]
extern "C" {
    fn pam_start(
        service: *const c_char,
        user: *const c_char,
        conv: *const PamConv,
        pamh: *mut *mut c_void,
    ) -> c_int;
    fn pam_authenticate(pamh: *mut c_void, flags: c_int) -> c_int;
    fn pam_acct_mgmt(pamh: *mut c_void, flags: c_int) -> c_int;
    fn pam_end(pamh: *mut c_void, status: c_int) -> c_int;
    fn pam_strerror(pamh: *mut c_void, errnum: c_int) -> *const c_char;
}

/// Answers every prompt with the password (appdata points to a CString).
/// PAM frees the responses with free(), so they come from calloc/strdup.
unsafe extern "C" fn conversation(
    num_msg: c_int,
    msg: *mut *const PamMessage,
    resp: *mut *mut PamResponse,
    appdata: *mut c_void,
) -> c_int {
    let body = std::panic::catch_unwind(|| {
        if num_msg <= 0 || num_msg > 32 || msg.is_null() || resp.is_null() || appdata.is_null() {
            return PAM_CONV_ERR;
        }
        let password = &*(appdata as *const CString);
        let n = num_msg as usize;
        let replies = libc::calloc(n, std::mem::size_of::<PamResponse>()) as *mut PamResponse;
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

fn strerror(pamh: *mut c_void, rc: c_int) -> String {
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
        let conv = PamConv {
            conv: conversation,
            appdata_ptr: &c_password as *const CString as *mut c_void,
        };
        let mut pamh: *mut c_void = ptr::null_mut();
        // SAFETY: every pointer outlives the PAM transaction, which ends
        // with pam_end below on every path.
        let rc = unsafe { pam_start(self.service.as_ptr(), c_user.as_ptr(), &conv, &mut pamh) };
        if rc != PAM_SUCCESS || pamh.is_null() {
            return Err(BackendError(format!(
                "pam_start({:?}) failed: {}",
                self.service,
                strerror(pamh, rc)
            )));
        }
        // SAFETY: pamh is a live handle from pam_start.
        let mut rc = unsafe { pam_authenticate(pamh, PAM_DISALLOW_NULL_AUTHTOK) };
        if rc == PAM_SUCCESS {
            // SAFETY: as above.
            rc = unsafe { pam_acct_mgmt(pamh, PAM_DISALLOW_NULL_AUTHTOK) };
        }
        let message = strerror(pamh, rc);
        // SAFETY: ends the transaction started above; pamh is not used after.
        unsafe { pam_end(pamh, rc) };
        if rc == PAM_SUCCESS {
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
    /// The silent path's re-check: `pam_acct_mgmt` alone, without a
    /// password, so the service's account modules decide whether the
    /// account may still log in (pam_unix: it exists and has not expired).
    fn check_account(&self, user: &str) -> Result<Option<Account>, BackendError> {
        const PAM_SILENT: c_int = 0x8000;
        let Ok(c_user) = CString::new(user) else {
            return Ok(None);
        };
        // A module that prompts here gets an empty answer.
        let no_password = CString::default();
        let conv = PamConv {
            conv: conversation,
            appdata_ptr: &no_password as *const CString as *mut c_void,
        };
        let mut pamh: *mut c_void = ptr::null_mut();
        // SAFETY: as in `authenticate`; pam_end below ends the transaction.
        let rc = unsafe { pam_start(self.service.as_ptr(), c_user.as_ptr(), &conv, &mut pamh) };
        if rc != PAM_SUCCESS || pamh.is_null() {
            return Err(BackendError(format!(
                "pam_start({:?}) failed: {}",
                self.service,
                strerror(pamh, rc)
            )));
        }
        // SAFETY: pamh is a live handle from pam_start, not used after pam_end.
        let rc = unsafe { pam_acct_mgmt(pamh, PAM_SILENT) };
        let message = strerror(pamh, rc);
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

/// The names of the Unix groups `user` belongs to (primary and
/// supplementary); empty when the account is not in the passwd database.
pub fn unix_groups(user: &str) -> Vec<String> {
    let Ok(c_user) = CString::new(user) else {
        return Vec::new();
    };
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
    if rc != 0 || result.is_null() {
        return Vec::new();
    }
    let primary = pwd.pw_gid;
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
    fn root_is_in_group_root() {
        assert!(unix_groups("root").contains(&"root".to_string()));
        assert!(unix_groups("no-such-user-here").is_empty());
    }
}
