//! OpenSSH public keys and the managed `authorized_keys` lines.
//!
//! A key given to `ssotool realm add` is never copied through: it is parsed
//! into type, blob and comment, the type must be on an allowlist, the blob
//! must decode and its own embedded structure must match that type, and the
//! comment is limited to a small alphabet. The line written for sshd is then
//! built from these parts only, with `restrict` and a forced command.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use sha2::{Digest, Sha256};

use sso_client::names::{check_command_path, check_realm_name, check_user_name, shorten};

use crate::error::InvalidName;

/// Key types a realm accepts (the public key algorithms of OpenSSH; RSA keys
/// are `ssh-rsa` whatever signature algorithm they later use).
pub const ALLOWED_KEY_TYPES: [&str; 7] = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// Longest key blob accepted (a 16384-bit RSA key is about 2 KiB).
const MAX_BLOB_LEN: usize = 8192;
/// Longest comment kept.
const MAX_COMMENT_LEN: usize = 100;

/// A parsed, validated OpenSSH public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKeyLine {
    pub key_type: String,
    /// The decoded key blob.
    pub blob: Vec<u8>,
    /// Empty or a comment of safe characters only.
    pub comment: String,
}

fn read_string<'a>(blob: &mut &'a [u8]) -> Option<&'a [u8]> {
    if blob.len() < 4 {
        return None;
    }
    let len = u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    let rest = &blob[4..];
    if rest.len() < len {
        return None;
    }
    let (value, tail) = rest.split_at(len);
    *blob = tail;
    Some(value)
}

/// Checks the wire structure of a key blob (RFC 4253 / 5656 / OpenSSH's
/// PROTOCOL.u2f): the embedded type equals `key_type`, the fields it must
/// hold are there with plausible sizes, and nothing trails them.
fn check_blob(key_type: &str, blob: &[u8]) -> Result<(), &'static str> {
    let mut rest = blob;
    let embedded = read_string(&mut rest).ok_or("key data is truncated")?;
    if embedded != key_type.as_bytes() {
        return Err("the key type inside the key data differs from the declared type");
    }
    let mut field = || read_string(&mut rest).ok_or("key data is truncated");
    match key_type {
        "ssh-ed25519" => {
            if field()?.len() != 32 {
                return Err("an ed25519 key must hold 32 bytes");
            }
        }
        "sk-ssh-ed25519@openssh.com" => {
            if field()?.len() != 32 {
                return Err("an ed25519 key must hold 32 bytes");
            }
            field()?; // application
        }
        "ssh-rsa" => {
            let e = field()?;
            let n = field()?;
            if e.is_empty() || n.len() < 128 {
                return Err("RSA keys shorter than 1024 bits are refused");
            }
        }
        t if t.starts_with("ecdsa-sha2-") || t.starts_with("sk-ecdsa-sha2-") => {
            let curve = t
                .trim_start_matches("sk-")
                .trim_start_matches("ecdsa-sha2-")
                .trim_end_matches("@openssh.com");
            if field()? != curve.as_bytes() {
                return Err("the curve inside the key data differs from the key type");
            }
            // An uncompressed point (SEC 1: 0x04, then x and y of the
            // curve's field size each), as OpenSSH writes and requires.
            let point_len = match curve {
                "nistp256" => 1 + 2 * 32,
                "nistp384" => 1 + 2 * 48,
                "nistp521" => 1 + 2 * 66,
                _ => return Err("unsupported ECDSA curve"),
            };
            let point = field()?;
            if point.first() != Some(&4) {
                return Err("the ECDSA point is not an uncompressed point");
            }
            if point.len() != point_len {
                return Err("the ECDSA point has the wrong length for its curve");
            }
            if t.starts_with("sk-") {
                field()?; // application
            }
        }
        _ => return Err("unsupported key type"),
    }
    if !rest.is_empty() {
        return Err("trailing bytes after the key data");
    }
    Ok(())
}

/// Splits off the first field of `s` at a run of spaces and tabs (as sshd
/// reads key lines, where any amount of blanks separates the fields);
/// returns the field and the rest, without its leading blanks.
fn split_field(s: &str) -> (&str, &str) {
    const BLANKS: [char; 2] = [' ', '\t'];
    match s.split_once(BLANKS) {
        Some((field, rest)) => (field, rest.trim_start_matches(BLANKS)),
        None => (s, ""),
    }
}

fn is_comment_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | '_' | ':' | '+' | '=' | '/' | '-' | ' ')
}

/// Why a public key line or file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyLineError {
    #[error(
        "malformed key: {0:?} is not an allowed key type (allowed: {allowed}); a line with \
         options is not a public key",
        allowed = ALLOWED_KEY_TYPES.join(", ")
    )]
    KeyType(String),
    #[error("malformed key: the base64 key data is missing")]
    NoData,
    #[error("malformed key: the key data is too long")]
    TooLong,
    #[error("malformed key: the key data is not valid base64")]
    NotBase64,
    /// The key data does not hold a key of its declared type.
    #[error("malformed key: {0}")]
    Blob(&'static str),
    #[error(
        "malformed key: the comment {0:?} may hold at most {MAX_COMMENT_LEN} characters of \
         A-Z, a-z, 0-9, space and `@._:+=/-`"
    )]
    Comment(String),
    #[error("malformed key: the file holds no public key")]
    NoKey,
    /// A line of a key file.
    #[error("line {line}: {error}")]
    Line {
        line: usize,
        error: Box<KeyLineError>,
    },
}

impl PublicKeyLine {
    /// Parses one `TYPE BASE64 [COMMENT]` line (no options allowed).
    pub fn parse(line: &str) -> Result<PublicKeyLine, KeyLineError> {
        let (key_type, rest) = split_field(line.trim());
        if !ALLOWED_KEY_TYPES.contains(&key_type) {
            return Err(KeyLineError::KeyType(shorten(key_type)));
        }
        let (data, comment) = split_field(rest);
        if data.is_empty() {
            return Err(KeyLineError::NoData);
        }
        if data.len() > MAX_BLOB_LEN * 4 / 3 + 4 {
            return Err(KeyLineError::TooLong);
        }
        let blob = STANDARD
            .decode(data)
            .or_else(|_| STANDARD_NO_PAD.decode(data))
            .map_err(|_| KeyLineError::NotBase64)?;
        check_blob(key_type, &blob).map_err(KeyLineError::Blob)?;
        let comment = comment.split_whitespace().collect::<Vec<_>>().join(" ");
        if comment.len() > MAX_COMMENT_LEN || !comment.chars().all(is_comment_char) {
            return Err(KeyLineError::Comment(shorten(&comment)));
        }
        Ok(PublicKeyLine {
            key_type: key_type.to_owned(),
            blob,
            comment,
        })
    }

    /// Parses a public key file: one or more key lines; empty lines and `#`
    /// comments are skipped. At least one key is required.
    pub fn parse_file(text: &str) -> Result<Vec<PublicKeyLine>, KeyLineError> {
        let mut keys = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            keys.push(PublicKeyLine::parse(line).map_err(|e| KeyLineError::Line {
                line: n + 1,
                error: Box::new(e),
            })?);
        }
        if keys.is_empty() {
            return Err(KeyLineError::NoKey);
        }
        Ok(keys)
    }

    /// The key data in base64, as in a public key file.
    pub fn blob_base64(&self) -> String {
        STANDARD.encode(&self.blob)
    }

    /// `SHA256:...`, the fingerprint `ssh-keygen -l` shows.
    pub fn fingerprint(&self) -> String {
        format!(
            "SHA256:{}",
            STANDARD_NO_PAD.encode(Sha256::digest(&self.blob))
        )
    }

    /// `TYPE BASE64[ COMMENT]`.
    pub fn to_public_line(&self) -> String {
        if self.comment.is_empty() {
            format!("{} {}", self.key_type, self.blob_base64())
        } else {
            format!("{} {} {}", self.key_type, self.blob_base64(), self.comment)
        }
    }
}

/// The forced command for `user` of `realm`: `ISSUER realm issue --root
/// ROOT REALM USER`. The root is always written, `/` included, so that the
/// issuing side never has to find it elsewhere (the environment of a
/// forced command is partly the client's to choose). Every part is
/// validated, so the string needs no quoting inside `command="..."`, and
/// sshd runs it through the account's shell without any character the
/// shell would interpret.
pub fn forced_command(
    issuer: &str,
    root: &str,
    realm: &str,
    user: &str,
) -> Result<String, InvalidName> {
    check_command_path(issuer).map_err(InvalidName)?;
    check_command_path(root).map_err(InvalidName)?;
    check_realm_name(realm).map_err(InvalidName)?;
    check_user_name(user).map_err(InvalidName)?;
    Ok(format!("{issuer} realm issue --root {root} {realm} {user}"))
}

/// One managed `authorized_keys` line: `restrict,command="..." KEY`.
pub fn authorized_line(command: &str, key: &PublicKeyLine) -> String {
    debug_assert!(!command.contains(['"', '\\', '\n']));
    format!("restrict,command=\"{command}\" {}", key.to_public_line())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ssh_string(out: &mut Vec<u8>, s: &[u8]) {
        out.extend_from_slice(&(s.len() as u32).to_be_bytes());
        out.extend_from_slice(s);
    }

    fn ed25519_line(comment: &str) -> String {
        let mut blob = Vec::new();
        ssh_string(&mut blob, b"ssh-ed25519");
        ssh_string(&mut blob, &[7u8; 32]);
        format!("ssh-ed25519 {} {comment}", STANDARD.encode(blob))
    }

    #[test]
    fn parses_an_ed25519_key() {
        let key = PublicKeyLine::parse(&ed25519_line("alice@laptop")).unwrap();
        assert_eq!(key.key_type, "ssh-ed25519");
        assert_eq!(key.comment, "alice@laptop");
        assert!(key.fingerprint().starts_with("SHA256:"));
        assert_eq!(PublicKeyLine::parse(&key.to_public_line()).unwrap(), key);
    }

    #[test]
    fn parses_ecdsa_and_rsa_keys() {
        let mut blob = Vec::new();
        ssh_string(&mut blob, b"ecdsa-sha2-nistp256");
        ssh_string(&mut blob, b"nistp256");
        let mut point = vec![4u8];
        point.extend_from_slice(&[1u8; 64]);
        ssh_string(&mut blob, &point);
        let line = format!("ecdsa-sha2-nistp256 {}", STANDARD.encode(&blob));
        PublicKeyLine::parse(&line).unwrap();
        // The same blob declared as another curve is refused.
        let line = format!("ecdsa-sha2-nistp384 {}", STANDARD.encode(&blob));
        assert!(PublicKeyLine::parse(&line).is_err());

        let mut blob = Vec::new();
        ssh_string(&mut blob, b"ssh-rsa");
        ssh_string(&mut blob, &[1, 0, 1]);
        ssh_string(&mut blob, &[0xc5; 257]);
        PublicKeyLine::parse(&format!("ssh-rsa {}", STANDARD.encode(&blob))).unwrap();
    }

    #[test]
    fn fields_are_separated_by_runs_of_blanks() {
        let single = PublicKeyLine::parse(&ed25519_line("alice@laptop")).unwrap();
        let data = single.blob_base64();
        for line in [
            format!("ssh-ed25519  {data}  alice@laptop"),
            format!("ssh-ed25519\t{data}\talice@laptop"),
            format!("ssh-ed25519 \t {data} \t alice@laptop "),
        ] {
            assert_eq!(PublicKeyLine::parse(&line).unwrap(), single, "{line:?}");
        }
        let bare = PublicKeyLine::parse(&format!("ssh-ed25519  {data}  ")).unwrap();
        assert_eq!((bare.blob, bare.comment.as_str()), (single.blob, ""));
        // The blanks separate fields; they are not part of the key type.
        assert!(PublicKeyLine::parse(&format!("ssh-ed25519\u{a0}{data}")).is_err());
    }

    fn ecdsa_blob(key_type: &str, curve: &str, point: &[u8], sk: bool) -> String {
        let mut blob = Vec::new();
        ssh_string(&mut blob, key_type.as_bytes());
        ssh_string(&mut blob, curve.as_bytes());
        ssh_string(&mut blob, point);
        if sk {
            ssh_string(&mut blob, b"ssh:");
        }
        format!("{key_type} {}", STANDARD.encode(&blob))
    }

    #[test]
    fn ecdsa_points_must_have_their_curve_s_length() {
        for (curve, len) in [("nistp256", 65), ("nistp384", 97), ("nistp521", 133)] {
            let key_type = format!("ecdsa-sha2-{curve}");
            let point = |n: usize| {
                let mut p = vec![4u8];
                p.resize(n, 0x5a);
                p
            };
            PublicKeyLine::parse(&ecdsa_blob(&key_type, curve, &point(len), false)).unwrap();
            // Too short, too long, another curve's length.
            let other = if len == 65 { 97 } else { 65 };
            for bad in [1, len - 1, len + 1, other] {
                let err = PublicKeyLine::parse(&ecdsa_blob(&key_type, curve, &point(bad), false))
                    .unwrap_err()
                    .to_string();
                assert!(err.contains("wrong length"), "{curve} {bad}: {err}");
            }
            let mut compressed = point(len);
            compressed[0] = 2;
            let err = PublicKeyLine::parse(&ecdsa_blob(&key_type, curve, &compressed, false))
                .unwrap_err()
                .to_string();
            assert!(err.contains("not an uncompressed point"), "{err}");
        }
        let sk = "sk-ecdsa-sha2-nistp256@openssh.com";
        let mut point = vec![4u8; 65];
        PublicKeyLine::parse(&ecdsa_blob(sk, "nistp256", &point, true)).unwrap();
        point.push(0);
        assert!(PublicKeyLine::parse(&ecdsa_blob(sk, "nistp256", &point, true)).is_err());
    }

    #[test]
    fn refuses_malformed_keys() {
        let mut blob = Vec::new();
        ssh_string(&mut blob, b"ssh-ed25519");
        ssh_string(&mut blob, &[7u8; 32]);
        let good = STANDARD.encode(&blob);
        let mut trailing = blob.clone();
        trailing.push(0);
        let mut short = Vec::new();
        ssh_string(&mut short, b"ssh-ed25519");
        ssh_string(&mut short, &[7u8; 31]);
        let cases = [
            String::new(),
            "ssh-dss AAAA".into(),
            format!("command=\"/bin/sh\" ssh-ed25519 {good}"),
            format!("restrict ssh-ed25519 {good}"),
            "ssh-ed25519".into(),
            "ssh-ed25519 !!!notbase64".into(),
            // The embedded type must match the declared one.
            format!("ssh-rsa {good}"),
            format!("ssh-ed25519 {}", STANDARD.encode(trailing)),
            format!("ssh-ed25519 {}", STANDARD.encode(short)),
            format!("ssh-ed25519 {good} evil\"comment"),
            format!("ssh-ed25519 {good} a,command=\"x\""),
            format!("ssh-ed25519 {good} {}", "c".repeat(101)),
        ];
        for line in cases {
            let err = PublicKeyLine::parse(&line).unwrap_err().to_string();
            assert!(err.starts_with("malformed key"), "{line:?}: {err}");
        }
    }

    #[test]
    fn parses_files_with_comments_and_reports_the_line() {
        let text = format!("# keys\n\n{}\n{}\n", ed25519_line("a"), ed25519_line("b"));
        assert_eq!(PublicKeyLine::parse_file(&text).unwrap().len(), 2);
        assert!(PublicKeyLine::parse_file("# nothing\n").is_err());
        let err = PublicKeyLine::parse_file(&format!("{}\nbogus\n", ed25519_line("a")))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("line 2:"), "{err}");
    }

    #[test]
    fn builds_restricted_lines() {
        let key = PublicKeyLine::parse(&ed25519_line("alice@laptop")).unwrap();
        // The root is written even when it is `/`.
        let cmd = forced_command("/usr/bin/ssotool", "/", "api", "alice").unwrap();
        assert_eq!(cmd, "/usr/bin/ssotool realm issue --root / api alice");
        let line = authorized_line(&cmd, &key);
        assert!(line.starts_with(
            "restrict,command=\"/usr/bin/ssotool realm issue --root / api alice\" ssh-ed25519 "
        ));
        assert!(line.ends_with(" alice@laptop"));
        let cmd = forced_command("/usr/bin/ssotool", "/tmp/t1", "api", "alice").unwrap();
        assert_eq!(cmd, "/usr/bin/ssotool realm issue --root /tmp/t1 api alice");
        assert!(forced_command("/usr/bin/ssotool", "/", "api", "a b").is_err());
        assert!(forced_command("/usr/bin/ssotool", "/", "api;id", "a").is_err());
        assert!(forced_command("ssotool", "/", "api", "a").is_err());
        assert!(forced_command("/x", "/tmp/a\"b", "api", "a").is_err());
        assert!(forced_command("/x", "tmp", "api", "a").is_err());
    }
}
