//! `conf=FILE`: module arguments kept in a file, so that a packaged PAM
//! profile (`pam-auth-update`) can name one line that administrators never
//! edit, while the site's key, service and domain live in a conffile they
//! own (`/etc/security/pam_sso.conf`, as Linux-PAM's own modules keep
//! theirs). The file holds the same `name=value` arguments and flags as the
//! module line, any number per line, `#` to the end of a line a comment.
//!
//! The file says which keys to trust, so it is checked like a key file
//! (StrictModes, [`sso_core::file_trust`]) before it is read.

use std::io::Read;
use std::path::{Path, PathBuf};

use sso_core::file_trust;

/// Largest conf file read: a few dozen arguments fit many times over.
const MAX_CONF_BYTES: u64 = 64 * 1024;

/// The value of `conf=` on the module line, if any. Only the syntax is
/// judged here; a second `conf=` is left for [`crate::options::parse`]
/// to refuse by name.
pub fn conf_argument<A: AsRef<[u8]>>(args: &[A]) -> Option<PathBuf> {
    args.iter().find_map(|a| {
        let v = a.as_ref().strip_prefix(b"conf=")?;
        Some(PathBuf::from(std::str::from_utf8(v).ok()?))
    })
}

/// Splits a conf file's text into arguments.
pub fn arguments(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| line.split_once('#').map_or(line, |(before, _)| before))
        .flat_map(str::split_whitespace)
        .map(str::to_owned)
        .collect()
}

/// Checks and reads the conf file. The error is a complete sentence for
/// the log, naming the file and what is wrong with it.
pub fn read(path: &Path, trusted_uid: u32) -> Result<String, String> {
    let resolved = file_trust::check_file(path, trusted_uid).map_err(|e| match e.rule {
        file_trust::Rule::Unreadable(why) => {
            format!("conf={}: cannot be read: {why}", path.display())
        }
        _ => format!("conf={e}"),
    })?;
    let file = std::fs::File::open(&resolved)
        .map_err(|e| format!("conf={}: cannot be read: {e}", path.display()))?;
    let mut text = String::new();
    file.take(MAX_CONF_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("conf={}: cannot be read: {e}", path.display()))?;
    if text.len() as u64 > MAX_CONF_BYTES {
        return Err(format!(
            "conf={}: larger than {MAX_CONF_BYTES} bytes",
            path.display()
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn arguments_split_on_blanks_and_lines_and_drop_comments() {
        let text = "# the site's ticket settings\n\
                    key=/etc/sso/public.key   key=/etc/sso/next.key\n\
                    \tdomain=example.org # the SSO domain\n\
                    \n\
                    service=host.example.org/\n\
                    #debug\n";
        assert_eq!(
            arguments(text),
            [
                "key=/etc/sso/public.key",
                "key=/etc/sso/next.key",
                "domain=example.org",
                "service=host.example.org/"
            ]
        );
        assert!(arguments("# nothing set yet\n\n").is_empty());
    }

    #[test]
    fn the_conf_argument_is_found_on_the_line() {
        assert_eq!(
            conf_argument(&["try_first_pass", "conf=/etc/security/pam_sso.conf"]),
            Some(PathBuf::from("/etc/security/pam_sso.conf"))
        );
        assert_eq!(conf_argument(&["try_first_pass", "key=/k"]), None);
    }

    #[test]
    fn an_untrusted_or_missing_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("pam_sso.conf");
        std::fs::write(&conf, "domain=example.org\n").unwrap();
        std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o644)).unwrap();
        let me = file_trust::effective_uid();
        assert_eq!(read(&conf, me).unwrap(), "domain=example.org\n");

        std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o666)).unwrap();
        let e = read(&conf, me).unwrap_err();
        assert!(
            e.starts_with(&format!(
                "conf={}: refused: is writable by its group",
                conf.display()
            )),
            "{e}"
        );
        let e = read(&dir.path().join("missing.conf"), me).unwrap_err();
        assert!(e.contains("missing.conf: cannot be read"), "{e}");

        std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::write(&conf, "#".repeat(MAX_CONF_BYTES as usize + 1)).unwrap();
        assert!(read(&conf, me).unwrap_err().contains("larger than"));
    }
}
