//! System accounts: look-up through the C library (so NSS sources count),
//! creation and removal with `useradd`/`userdel` run from argument vectors
//! (never a shell).

use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Why an account could not be looked up, created, changed or removed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("account name holds a NUL byte")]
    NulInName,
    #[error("cannot look up account {name}: {error}")]
    Lookup { name: String, error: String },
    #[error("cannot run {program}: {error}")]
    Spawn { program: String, error: String },
    /// The tool ran and failed; `stderr` is what it said.
    #[error("{program} failed ({status}): {stderr}")]
    Failed {
        program: String,
        status: String,
        stderr: String,
    },
    #[error("home directory {0} is not UTF-8")]
    HomeNotUtf8(String),
    #[error("useradd succeeded but account {0} is not visible")]
    NotVisible(String),
}

/// What the account database says about one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
    pub shell: PathBuf,
}

/// Looks an account up by name; `Ok(None)` if there is none.
pub fn lookup(name: &str) -> Result<Option<Account>, AccountError> {
    let cname = CString::new(name).map_err(|_| AccountError::NulInName)?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    loop {
        // SAFETY: pwd and result are plain out-parameters; buf outlives the
        // use of the pointers getpwnam_r stores into pwd.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = unsafe {
            libc::getpwnam_r(
                cname.as_ptr(),
                &mut pwd,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && buf.len() < 1024 * 1024 {
            buf.resize(buf.len() * 4, 0);
            continue;
        }
        if rc != 0 {
            return Err(AccountError::Lookup {
                name: name.to_owned(),
                error: std::io::Error::from_raw_os_error(rc).to_string(),
            });
        }
        if result.is_null() {
            return Ok(None);
        }
        // SAFETY: on success the string pointers point into buf, NUL-terminated.
        let text = |p: *const libc::c_char| unsafe {
            if p.is_null() {
                String::new()
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        };
        return Ok(Some(Account {
            name: text(pwd.pw_name),
            uid: pwd.pw_uid,
            gid: pwd.pw_gid,
            home: PathBuf::from(text(pwd.pw_dir)),
            shell: PathBuf::from(text(pwd.pw_shell)),
        }));
    }
}

/// Runs an account tool, retrying a few times while another process holds
/// the password database lock (exit status 10 of useradd/userdel) or, with
/// `busy_retry`, while the account still runs a process (exit status 8 of
/// userdel: a forced command or sshd session that is just ending).
fn run_account_tool(program: &str, args: &[&str], busy_retry: bool) -> Result<(), AccountError> {
    let mut last = None;
    for attempt in 0..20 {
        let out = Command::new(program)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .output()
            .map_err(|e| AccountError::Spawn {
                program: program.to_owned(),
                error: e.to_string(),
            })?;
        if out.status.success() {
            return Ok(());
        }
        last = Some(AccountError::Failed {
            program: program.to_owned(),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
        let locked =
            out.status.code() == Some(10) || String::from_utf8_lossy(&out.stderr).contains("lock");
        let busy = busy_retry && out.status.code() == Some(8);
        if !locked && !busy {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100 * (attempt + 1)));
    }
    // The loop ran at least once and ended on a failure.
    Err(last.unwrap_or_else(|| AccountError::Spawn {
        program: program.to_owned(),
        error: "not run".into(),
    }))
}

/// The GECOS comment that marks a realm account.
pub fn realm_gecos(realm: &str) -> String {
    format!("SSO token realm {realm}")
}

/// Creates a system account (and its own group) with `home` as its home
/// directory, which is not created, `shell` as its login shell (the issuer:
/// sshd runs the forced command through it, see [`crate::shell`]) and no
/// usable password (`*`: not locked, so sshd without PAM still accepts
/// public keys, but no password ever matches).
pub fn create_system_account(
    name: &str,
    home: &Path,
    shell: &str,
) -> Result<Account, AccountError> {
    let home = home
        .to_str()
        .ok_or_else(|| AccountError::HomeNotUtf8(home.display().to_string()))?;
    let gecos = realm_gecos(name);
    run_account_tool(
        "useradd",
        &[
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            home,
            "--shell",
            shell,
            "--password",
            "*",
            "--comment",
            &gecos,
            "--",
            name,
        ],
        false,
    )?;
    lookup(name)?.ok_or_else(|| AccountError::NotVisible(name.to_owned()))
}

/// Sets the login shell of an account.
pub fn set_shell(name: &str, shell: &str) -> Result<(), AccountError> {
    run_account_tool("usermod", &["--shell", shell, "--", name], false)
}

/// Removes an account (not its home, which the caller removes).
pub fn delete_account(name: &str) -> Result<(), AccountError> {
    run_account_tool("userdel", &["--", name], true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_up_root_and_missing_accounts() {
        let root = lookup("root").unwrap().expect("root exists");
        assert_eq!(root.uid, 0);
        assert!(lookup("no-such-account-sso-test").unwrap().is_none());
        assert!(lookup("a\0b").is_err());
    }
}
