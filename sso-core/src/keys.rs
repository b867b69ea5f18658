//! Key files: raw ai-sso keys (32-byte public, 64-byte secret = seed ||
//! public) and PEM (SubjectPublicKeyInfo / PKCS#8, as
//! `openssl genpkey -algorithm ed25519` and `openssl pkey -pubout` write).

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, KeypairBytes,
};
use ed25519_dalek::{SigningKey, VerifyingKey, PUBLIC_KEY_LENGTH, SECRET_KEY_LENGTH};
use sha2::{Digest, Sha256};

/// Key files are tiny; anything larger than this is not a key file.
const MAX_KEY_FILE_LEN: u64 = 16 * 1024;

/// Raw secret key file length: 32-byte seed followed by the 32-byte public key.
pub const RAW_SECRET_KEY_LEN: usize = SECRET_KEY_LENGTH + PUBLIC_KEY_LENGTH;

/// Why a key file could not be used. Display names the file and the fix.
#[derive(Debug)]
pub struct KeyError {
    pub path: PathBuf,
    pub kind: KeyErrorKind,
}

#[derive(Debug)]
pub enum KeyErrorKind {
    /// The file does not exist.
    NotFound,
    /// The file exists but cannot be opened or read (permissions, I/O).
    Unreadable(io::Error),
    /// The content is not a key of the expected kind.
    Malformed(&'static str),
    /// A secret key file that group or others may access.
    InsecurePermissions { mode: u32 },
    /// Writing: the file exists and overwriting was not asked for.
    Exists,
    /// Writing failed.
    WriteFailed(io::Error),
}

impl KeyError {
    fn new(path: &Path, kind: KeyErrorKind) -> KeyError {
        KeyError {
            path: path.to_owned(),
            kind,
        }
    }
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.path.display();
        match &self.kind {
            KeyErrorKind::NotFound => write!(f, "key file {p} does not exist"),
            KeyErrorKind::Unreadable(e) => write!(f, "key file {p} cannot be read: {e}"),
            KeyErrorKind::Malformed(what) => write!(f, "key file {p} is malformed: {what}"),
            KeyErrorKind::InsecurePermissions { mode } => write!(
                f,
                "secret key file {p} is accessible to group or others (mode {:04o}); \
                 fix it with: chmod 600 {p}",
                mode & 0o7777
            ),
            KeyErrorKind::Exists => write!(
                f,
                "{p} exists; refusing to overwrite it (use --force to replace it)"
            ),
            KeyErrorKind::WriteFailed(e) => write!(f, "cannot write key file {p}: {e}"),
        }
    }
}

impl std::error::Error for KeyError {}

fn read_key_file(path: &Path) -> Result<(Vec<u8>, u32), KeyError> {
    let file = File::open(path).map_err(|e| {
        let kind = if e.kind() == io::ErrorKind::NotFound {
            KeyErrorKind::NotFound
        } else {
            KeyErrorKind::Unreadable(e)
        };
        KeyError::new(path, kind)
    })?;
    read_open_key_file(file, path)
}

/// Reads an opened key file (`path` names it in errors). Permissions and
/// content come from the same open file, so a file swapped between the
/// check and the read cannot slip through.
fn read_open_key_file(file: File, path: &Path) -> Result<(Vec<u8>, u32), KeyError> {
    let meta = file
        .metadata()
        .map_err(|e| KeyError::new(path, KeyErrorKind::Unreadable(e)))?;
    if !meta.is_file() {
        return Err(KeyError::new(
            path,
            KeyErrorKind::Malformed("not a regular file"),
        ));
    }
    if meta.len() > MAX_KEY_FILE_LEN {
        return Err(KeyError::new(
            path,
            KeyErrorKind::Malformed("file is too large"),
        ));
    }
    let mut data = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_KEY_FILE_LEN + 1)
        .read_to_end(&mut data)
        .map_err(|e| KeyError::new(path, KeyErrorKind::Unreadable(e)))?;
    Ok((data, meta.mode()))
}

fn pem_text(data: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(data).ok()?;
    let trimmed = text.trim_start();
    trimmed.starts_with("-----BEGIN ").then_some(trimmed)
}

/// The services a pinned public key may sign for: a regular expression that
/// must match the whole service name (`www\.example\.org/app/`), so a realm
/// key cannot mint tickets for sites it was not made for.
#[derive(Clone, Debug)]
pub struct ServicePattern {
    source: String,
    regex: regex::Regex,
}

impl ServicePattern {
    /// Compiles `pattern`, anchored at both ends.
    pub fn new(pattern: &str) -> Result<ServicePattern, String> {
        if pattern.is_empty() {
            return Err("an empty service pattern would pin the key to nothing".into());
        }
        let regex = regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
            .size_limit(1 << 20)
            .build()
            .map_err(|e| {
                // One line, control characters escaped: the message goes to
                // logs (syslog, httpd's error log). The regex crate's own
                // message repeats the pattern over several lines; its last
                // line says what is wrong.
                let why = e.to_string();
                let why = why.lines().last().unwrap_or_default();
                format!(
                    "service pattern '{}': {}",
                    pattern.escape_debug(),
                    why.trim_start_matches("error: ").escape_debug()
                )
            })?;
        Ok(ServicePattern {
            source: pattern.to_owned(),
            regex,
        })
    }

    /// True when the key may sign for `service`.
    pub fn allows(&self, service: &str) -> bool {
        self.regex.is_match(service)
    }

    /// The pattern as configured.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

/// An Ed25519 public key that verifies tickets.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(pub(crate) VerifyingKey);

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.fingerprint())
    }
}

impl PublicKey {
    /// Parses raw (exactly 32 bytes) or PEM (`PUBLIC KEY`) data.
    pub fn from_bytes(data: &[u8]) -> Result<PublicKey, &'static str> {
        let key = if let Some(pem) = pem_text(data) {
            VerifyingKey::from_public_key_pem(pem)
                .map_err(|_| "not an Ed25519 PEM public key (expected BEGIN PUBLIC KEY)")?
        } else {
            let raw: &[u8; PUBLIC_KEY_LENGTH] = data
                .try_into()
                .map_err(|_| "a raw public key must be exactly 32 bytes")?;
            VerifyingKey::from_bytes(raw).map_err(|_| "not a valid Ed25519 point")?
        };
        if key.is_weak() {
            return Err("weak (small-order) Ed25519 public key");
        }
        Ok(PublicKey(key))
    }

    /// Reads a public key file (raw or PEM). Public keys may be world-readable.
    pub fn from_file(path: impl AsRef<Path>) -> Result<PublicKey, KeyError> {
        let path = path.as_ref();
        let (data, _) = read_key_file(path)?;
        PublicKey::from_bytes(&data).map_err(|m| KeyError::new(path, KeyErrorKind::Malformed(m)))
    }

    /// Reads a public key file already opened (after a trust check, say:
    /// see [`crate::file_trust::open_file`]); `path` names it in errors.
    pub fn from_open_file(file: File, path: &Path) -> Result<PublicKey, KeyError> {
        let (data, _) = read_open_key_file(file, path)?;
        PublicKey::from_bytes(&data).map_err(|m| KeyError::new(path, KeyErrorKind::Malformed(m)))
    }

    /// The 32 raw bytes (ai-sso public key file content).
    pub fn to_raw(&self) -> [u8; PUBLIC_KEY_LENGTH] {
        self.0.to_bytes()
    }

    /// SubjectPublicKeyInfo PEM, as `openssl pkey -pubout` writes.
    pub fn to_pem(&self) -> String {
        self.0
            .to_public_key_pem(LineEnding::LF)
            .expect("encoding a valid Ed25519 key as SPKI cannot fail")
    }

    /// A short identifier safe to log: the first 8 bytes of SHA-256 of the
    /// raw key, in hex.
    pub fn fingerprint(&self) -> String {
        hex8(&Sha256::digest(self.0.as_bytes()))
    }
}

/// An Ed25519 secret key that signs tickets.
#[derive(Clone)]
pub struct SecretKey(pub(crate) SigningKey);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(public {})", self.public_key().fingerprint())
    }
}

impl SecretKey {
    /// A new random key from the operating system's generator.
    pub fn generate() -> SecretKey {
        SecretKey(SigningKey::generate(&mut rand_core::OsRng))
    }

    /// The key for a 32-byte seed (RFC 8032). For reproducible tests and
    /// fuzzing; real keys come from [`SecretKey::generate`].
    pub fn from_seed(seed: &[u8; SECRET_KEY_LENGTH]) -> SecretKey {
        SecretKey(SigningKey::from_bytes(seed))
    }

    /// Parses raw (64 bytes: seed || public, the public half must match) or
    /// PEM PKCS#8 (`PRIVATE KEY`) data. Does not look at file permissions.
    pub fn from_bytes(data: &[u8]) -> Result<SecretKey, &'static str> {
        if let Some(pem) = pem_text(data) {
            return SigningKey::from_pkcs8_pem(pem)
                .map(SecretKey)
                .map_err(|_| "not an Ed25519 PKCS#8 PEM private key (expected BEGIN PRIVATE KEY)");
        }
        if data.len() != RAW_SECRET_KEY_LEN {
            return Err("a raw secret key must be exactly 64 bytes (seed and public key)");
        }
        let mut seed = [0u8; SECRET_KEY_LENGTH];
        seed.copy_from_slice(&data[..SECRET_KEY_LENGTH]);
        let key = SigningKey::from_bytes(&seed);
        seed.fill(0);
        if key.verifying_key().as_bytes()[..] != data[SECRET_KEY_LENGTH..] {
            return Err("the public half of the raw secret key does not match its seed");
        }
        Ok(SecretKey(key))
    }

    /// Reads a secret key file, refusing one that group or others can access.
    pub fn from_file(path: impl AsRef<Path>) -> Result<SecretKey, KeyError> {
        let path = path.as_ref();
        let (data, mode) = read_key_file(path)?;
        SecretKey::from_key_data(data, mode, path)
    }

    /// Reads a secret key file already opened (after a trust check, say:
    /// see [`crate::file_trust::open_file`]), with the same refusals as
    /// [`SecretKey::from_file`]; `path` names it in errors.
    pub fn from_open_file(file: File, path: &Path) -> Result<SecretKey, KeyError> {
        let (data, mode) = read_open_key_file(file, path)?;
        SecretKey::from_key_data(data, mode, path)
    }

    fn from_key_data(mut data: Vec<u8>, mode: u32, path: &Path) -> Result<SecretKey, KeyError> {
        if mode & 0o077 != 0 {
            data.fill(0);
            return Err(KeyError::new(
                path,
                KeyErrorKind::InsecurePermissions { mode },
            ));
        }
        let key = SecretKey::from_bytes(&data);
        data.fill(0);
        key.map_err(|m| KeyError::new(path, KeyErrorKind::Malformed(m)))
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// The 64 raw bytes (ai-sso secret key file content). Wipe after use.
    pub fn to_raw(&self) -> [u8; RAW_SECRET_KEY_LEN] {
        self.0.to_keypair_bytes()
    }

    /// PKCS#8 v1 PEM (the seed only), exactly as `openssl genpkey -algorithm
    /// ed25519` writes. ed25519-dalek's own encoding is v2 (with the public
    /// key), which OpenSSL 3.0 cannot read.
    pub fn to_pem(&self) -> String {
        KeypairBytes {
            secret_key: self.0.to_bytes(),
            public_key: None,
        }
        .to_pkcs8_pem(LineEnding::LF)
        .expect("encoding a valid Ed25519 key as PKCS#8 cannot fail")
        .to_string()
    }
}

fn hex8(bytes: &[u8]) -> String {
    bytes[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// How to write a key file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormat {
    Raw,
    Pem,
}

/// Writes a secret key with mode 0600, never overwriting an existing file
/// unless `force` is set. The file is created under a temporary name with
/// its final mode and renamed into place, so no reader ever sees a partial
/// or world-readable secret.
pub fn write_secret_key(
    path: &Path,
    key: &SecretKey,
    format: KeyFormat,
    force: bool,
) -> Result<(), KeyError> {
    let mut bytes = match format {
        KeyFormat::Raw => key.to_raw().to_vec(),
        KeyFormat::Pem => key.to_pem().into_bytes(),
    };
    let result = write_key_file(path, &bytes, 0o600, force);
    bytes.fill(0);
    result
}

/// Writes a public key with mode 0644, never overwriting unless `force`.
pub fn write_public_key(
    path: &Path,
    key: &PublicKey,
    format: KeyFormat,
    force: bool,
) -> Result<(), KeyError> {
    let bytes = match format {
        KeyFormat::Raw => key.to_raw().to_vec(),
        KeyFormat::Pem => key.to_pem().into_bytes(),
    };
    write_key_file(path, &bytes, 0o644, force)
}

fn write_key_file(path: &Path, bytes: &[u8], mode: u32, force: bool) -> Result<(), KeyError> {
    let fail = |e| KeyError::new(path, KeyErrorKind::WriteFailed(e));
    if !force && fs::symlink_metadata(path).is_ok() {
        return Err(KeyError::new(path, KeyErrorKind::Exists));
    }
    let file_name = path
        .file_name()
        .ok_or_else(|| fail(io::Error::new(io::ErrorKind::InvalidInput, "no file name")))?;
    let tmp = path.with_file_name(format!(
        ".{}.tmp{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let write = || -> io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        if force {
            fs::rename(&tmp, path)
        } else {
            // hard_link fails if the target appeared meanwhile: no overwrite race.
            fs::hard_link(&tmp, path).and_then(|_| fs::remove_file(&tmp))
        }
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        if e.kind() == io::ErrorKind::AlreadyExists {
            KeyError::new(path, KeyErrorKind::Exists)
        } else {
            fail(e)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn raw_and_pem_round_trip() {
        let sk = SecretKey::generate();
        let pk = sk.public_key();
        assert_eq!(PublicKey::from_bytes(&pk.to_raw()).unwrap(), pk);
        assert_eq!(PublicKey::from_bytes(pk.to_pem().as_bytes()).unwrap(), pk);
        let back = SecretKey::from_bytes(&sk.to_raw()).unwrap();
        assert_eq!(back.public_key(), pk);
        let back = SecretKey::from_bytes(sk.to_pem().as_bytes()).unwrap();
        assert_eq!(back.public_key(), pk);
    }

    #[test]
    fn malformed_keys_are_refused() {
        assert!(PublicKey::from_bytes(&[1u8; 31]).is_err());
        assert!(PublicKey::from_bytes(&[1u8; 33]).is_err());
        assert!(PublicKey::from_bytes(
            b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
        )
        .is_err());
        // The identity point is a weak key.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(PublicKey::from_bytes(&identity).is_err());
        let sk = SecretKey::generate();
        let mut raw = sk.to_raw();
        raw[40] ^= 1;
        assert!(
            SecretKey::from_bytes(&raw).is_err(),
            "mismatched public half"
        );
        assert!(SecretKey::from_bytes(&raw[..32]).is_err());
        // A public PEM is not a secret key.
        assert!(SecretKey::from_bytes(sk.public_key().to_pem().as_bytes()).is_err());
    }

    #[test]
    fn secret_key_files_are_private_and_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let sk = SecretKey::generate();
        write_secret_key(&path, &sk, KeyFormat::Raw, false).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            SecretKey::from_file(&path).unwrap().public_key(),
            sk.public_key()
        );
        let other = SecretKey::generate();
        let err = write_secret_key(&path, &other, KeyFormat::Raw, false).unwrap_err();
        assert!(matches!(err.kind, KeyErrorKind::Exists), "{err}");
        write_secret_key(&path, &other, KeyFormat::Pem, true).unwrap();
        assert_eq!(
            SecretKey::from_file(&path).unwrap().public_key(),
            other.public_key()
        );

        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let err = SecretKey::from_file(&path).unwrap_err();
        assert!(matches!(err.kind, KeyErrorKind::InsecurePermissions { .. }));
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }

    #[test]
    fn missing_and_oversized_files() {
        let dir = tempfile::tempdir().unwrap();
        let err = PublicKey::from_file(dir.path().join("nope")).unwrap_err();
        assert!(matches!(err.kind, KeyErrorKind::NotFound));
        let big = dir.path().join("big");
        fs::write(&big, vec![b'A'; 20_000]).unwrap();
        assert!(matches!(
            PublicKey::from_file(&big).unwrap_err().kind,
            KeyErrorKind::Malformed(_)
        ));
        assert!(matches!(
            PublicKey::from_file(dir.path()).unwrap_err().kind,
            KeyErrorKind::Malformed(_) | KeyErrorKind::Unreadable(_)
        ));
    }
}
