//! TOTP helpers of the tests: `sso-server user totp` and codes computed by
//! an independent implementation (`oathtool`, Debian's oathtool package).

use std::path::Path;
use std::process::Command;

use crate::server::run_sso_server;

/// Runs `sso-server user totp ...`; its exit code and output.
pub fn totp_cli(args: &[&str], file: &Path) -> (Option<i32>, String) {
    let mut all: Vec<&std::ffi::OsStr> = vec!["user".as_ref(), "totp".as_ref()];
    all.push(args[0].as_ref());
    all.push("--totp-file".as_ref());
    all.push(file.as_os_str());
    all.extend(args[1..].iter().map(std::ffi::OsStr::new));
    run_sso_server(&all)
}

/// Enrols `user` and returns the base32 secret of the URI that the command
/// prints on its first line.
pub fn enroll(file: &Path, user: &str) -> String {
    let (code, out) = totp_cli(&["enroll", user], file);
    assert_eq!(code, Some(0), "{out}");
    let first = out.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!("otpauth://totp/Single%20sign-on:{user}?")),
        "{out}"
    );
    // Then the QR code: rows of block characters.
    assert!(
        out.lines().filter(|l| l.contains('\u{2588}')).count() > 10,
        "{out}"
    );
    first
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("secret="))
        .expect("secret= in the URI")
        .to_owned()
}

/// The code `oathtool` computes for `secret` at Unix time `at` (now by
/// default).
pub fn oathtool(secret: &str, at: Option<u64>) -> String {
    let mut cmd = Command::new("oathtool");
    cmd.args(["--totp", "-b", secret]);
    if let Some(t) = at {
        cmd.arg(format!("--now=@{t}"));
    }
    let out = crate::util::run_ok(&mut cmd);
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A six-digit code that is none of the codes of `secret` within two steps
/// of now.
pub fn wrong_code(secret: &str) -> String {
    let now = sso_core::unix_now();
    let near: Vec<String> = (0..5)
        .map(|i| oathtool(secret, Some(now + i * 30 - 60)))
        .collect();
    (0..10)
        .map(|d| format!("{d}{d}{d}{d}{d}{d}"))
        .find(|c| !near.contains(c))
        .unwrap()
}
