//! The provider's signing keys: the active RSA key signs RS256 tokens,
//! previous keys stay in the JWKS after a rotation so tokens they signed
//! still verify, and an optional Ed25519 key signs for clients that ask for
//! EdDSA. Each key's `kid` is its RFC 7638 thumbprint, so the same key
//! always has the same `kid` on every replica. The server reads the files
//! (trust-checked); this module takes their bytes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::rsa::PublicKeyComponents;
use ring::signature::{Ed25519KeyPair, KeyPair, RsaKeyPair};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A key file that cannot serve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not a PEM file")]
    NotPem,
    #[error("PEM block {0:?}: expected PRIVATE KEY (PKCS#8)")]
    WrongBlock(String),
    #[error("not an RSA private key of 2048 to 8192 bits")]
    NotRsa,
    #[error("not an Ed25519 private key")]
    NotEd25519,
}

struct VerifyKey {
    kid: String,
    alg: Algorithm,
    jwk: Value,
    decoding: DecodingKey,
}

struct SignKey {
    kid: String,
    encoding: EncodingKey,
}

/// The keys, ready to sign and to publish.
pub struct SigningKeys {
    rsa: SignKey,
    eddsa: Option<SignKey>,
    /// Every key's public half, the active RSA key first.
    published: Vec<VerifyKey>,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// RFC 7638: SHA-256 over the required members in lexicographic order.
fn thumbprint(required: &Value) -> String {
    b64(&Sha256::digest(required.to_string().as_bytes()))
}

fn pkcs8_der(pem_bytes: &[u8]) -> Result<Vec<u8>, KeyError> {
    let block = pem::parse(pem_bytes).map_err(|_| KeyError::NotPem)?;
    if block.tag() != "PRIVATE KEY" {
        return Err(KeyError::WrongBlock(block.tag().to_owned()));
    }
    Ok(block.into_contents())
}

/// A key's signing half and its published half.
fn halves(
    kid: String,
    alg: Algorithm,
    jwk: Value,
    encoding: EncodingKey,
    decoding: DecodingKey,
) -> (SignKey, VerifyKey) {
    let sign = SignKey {
        kid: kid.clone(),
        encoding,
    };
    (
        sign,
        VerifyKey {
            kid,
            alg,
            jwk,
            decoding,
        },
    )
}

fn rsa_key(pem_bytes: &[u8]) -> Result<(SignKey, VerifyKey), KeyError> {
    let der = pkcs8_der(pem_bytes)?;
    let pair = RsaKeyPair::from_pkcs8(&der).map_err(|_| KeyError::NotRsa)?;
    let parts = PublicKeyComponents::<Vec<u8>>::from(pair.public());
    let (n, e) = (b64(&parts.n), b64(&parts.e));
    // serde_json orders object keys: e, kty, n as RFC 7638 wants.
    let kid = thumbprint(&json!({ "e": e, "kty": "RSA", "n": n }));
    let encoding = EncodingKey::from_rsa_pem(pem_bytes).map_err(|_| KeyError::NotRsa)?;
    let decoding = DecodingKey::from_rsa_components(&n, &e).map_err(|_| KeyError::NotRsa)?;
    let jwk = json!({ "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": n, "e": e });
    Ok(halves(kid, Algorithm::RS256, jwk, encoding, decoding))
}

fn ed25519_key(pem_bytes: &[u8]) -> Result<(SignKey, VerifyKey), KeyError> {
    let der = pkcs8_der(pem_bytes)?;
    let pair =
        Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der).map_err(|_| KeyError::NotEd25519)?;
    let x = b64(pair.public_key().as_ref());
    let kid = thumbprint(&json!({ "crv": "Ed25519", "kty": "OKP", "x": x }));
    let encoding = EncodingKey::from_ed_der(&der);
    let decoding = DecodingKey::from_ed_components(&x).map_err(|_| KeyError::NotEd25519)?;
    let jwk =
        json!({ "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "kid": kid, "x": x });
    Ok(halves(kid, Algorithm::EdDSA, jwk, encoding, decoding))
}

/// Which key of several files failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{which}: {error}")]
pub struct KeyFileError {
    /// `signing_key_file`, `previous_key_files[N]` or `eddsa_key_file`.
    pub which: String,
    pub error: KeyError,
}

impl SigningKeys {
    /// The keys from their PEM files' contents.
    pub fn new(
        active_rsa: &[u8],
        previous_rsa: &[Vec<u8>],
        eddsa: Option<&[u8]>,
    ) -> Result<SigningKeys, KeyFileError> {
        let at = |which: String| move |error| KeyFileError { which, error };
        let (rsa, public) = rsa_key(active_rsa).map_err(at("signing_key_file".into()))?;
        let mut published = vec![public];
        for (i, pem) in previous_rsa.iter().enumerate() {
            let (_, public) = rsa_key(pem).map_err(at(format!("previous_key_files[{i}]")))?;
            if published.iter().all(|p| p.kid != public.kid) {
                published.push(public);
            }
        }
        let eddsa = match eddsa {
            Some(pem) => {
                let (sign, public) = ed25519_key(pem).map_err(at("eddsa_key_file".into()))?;
                published.push(public);
                Some(sign)
            }
            None => None,
        };
        Ok(SigningKeys {
            rsa,
            eddsa,
            published,
        })
    }

    /// The JWKS document: every key's public half.
    pub fn jwks(&self) -> Value {
        json!({ "keys": self.published.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
    }

    /// The algorithms tokens may be signed with.
    pub fn algorithms(&self) -> Vec<&'static str> {
        let mut a = vec!["RS256"];
        if self.eddsa.is_some() {
            a.push("EdDSA");
        }
        a
    }

    /// Signs `claims` with the active key of `alg` (`RS256` or `EdDSA`),
    /// header `typ: JWT` (an id_token, a logout token).
    pub fn sign(&self, alg: &str, claims: &impl Serialize) -> Result<String, SignError> {
        self.sign_typed(alg, "JWT", claims)
    }

    /// Signs with header `typ` (`at+jwt` for access tokens, RFC 9068).
    pub fn sign_typed(
        &self,
        alg: &str,
        typ: &str,
        claims: &impl Serialize,
    ) -> Result<String, SignError> {
        let (algorithm, key) = match (alg, &self.eddsa) {
            ("RS256", _) => (Algorithm::RS256, &self.rsa),
            ("EdDSA", Some(k)) => (Algorithm::EdDSA, k),
            _ => return Err(SignError::NoKey(alg.to_owned())),
        };
        let mut header = Header::new(algorithm);
        header.kid = Some(key.kid.clone());
        header.typ = Some(typ.to_owned());
        jsonwebtoken::encode(&header, claims, &key.encoding)
            .map_err(|e| SignError::Failed(e.to_string()))
    }

    /// The claims of a token this provider signed (an `id_token_hint`):
    /// its `kid` names one of our keys, its `alg` is that key's (so never
    /// `none` nor an HMAC keyed with a public key), its signature holds and
    /// its issuer is `issuer`. Expiry is not checked: logout takes an
    /// expired hint (OpenID Connect RP-Initiated Logout 1.0, section 2).
    pub fn verify_own(&self, token: &str, issuer: &str) -> Result<Value, VerifyError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Malformed)?;
        let kid = header.kid.ok_or(VerifyError::UnknownKey)?;
        let key = self
            .published
            .iter()
            .find(|k| k.kid == kid)
            .ok_or(VerifyError::UnknownKey)?;
        if header.alg != key.alg {
            return Err(VerifyError::WrongAlgorithm);
        }
        let mut validation = Validation::new(key.alg);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["iss", "sub", "aud"]);
        jsonwebtoken::decode::<Value>(token, &key.decoding, &validation)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidIssuer => VerifyError::WrongIssuer,
                jsonwebtoken::errors::ErrorKind::InvalidSignature => VerifyError::BadSignature,
                _ => VerifyError::Malformed,
            })
    }
}

/// Size of the RSA keys `sso-server oidc gen-key` makes.
pub const RSA_BITS: usize = 2048;

/// A new RSA private key, PKCS#8 PEM, for `signing_key_file`.
pub fn generate_rsa_pem() -> Result<String, String> {
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    let key =
        rsa::RsaPrivateKey::new(&mut rand_core::OsRng, RSA_BITS).map_err(|e| e.to_string())?;
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| e.to_string())?;
    Ok(pem.as_str().to_owned())
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("no {0} key configured")]
    NoKey(String),
    #[error("signing failed: {0}")]
    Failed(String),
}

/// Why a token is not one of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("malformed token")]
    Malformed,
    #[error("signed by a key this provider does not have")]
    UnknownKey,
    #[error("algorithm is not the key's")]
    WrongAlgorithm,
    #[error("bad signature")]
    BadSignature,
    #[error("issued by another issuer")]
    WrongIssuer,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::process::Command;

    /// A fresh PKCS#8 PEM key from openssl: "rsa" or "ed25519".
    pub(crate) fn generate(kind: &str) -> Vec<u8> {
        let mut cmd = Command::new("openssl");
        cmd.arg("genpkey");
        match kind {
            "rsa" => cmd.args(["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
            _ => cmd.args(["-algorithm", "ed25519"]),
        };
        let out = cmd.output().expect("openssl");
        assert!(out.status.success());
        out.stdout
    }

    const ISSUER: &str = "https://login.example.org";

    fn claims() -> Value {
        json!({ "iss": ISSUER, "sub": "alice", "aud": "app", "exp": 1, "iat": 0 })
    }

    #[test]
    fn signs_publishes_and_verifies_its_own() {
        let (active, old, ed) = (generate("rsa"), generate("rsa"), generate("ed25519"));
        let keys = SigningKeys::new(&active, std::slice::from_ref(&old), Some(&ed)).unwrap();
        let jwks = keys.jwks();
        let published = jwks["keys"].as_array().unwrap();
        assert_eq!(published.len(), 3);
        assert_eq!(keys.algorithms(), vec!["RS256", "EdDSA"]);
        for alg in ["RS256", "EdDSA"] {
            let token = keys.sign(alg, &claims()).unwrap();
            let header = jsonwebtoken::decode_header(&token).unwrap();
            let kid = header.kid.unwrap();
            assert!(published
                .iter()
                .any(|k| k["kid"] == kid.as_str() && k["alg"] == alg));
            // Expired, yet a valid hint.
            assert_eq!(keys.verify_own(&token, ISSUER).unwrap()["sub"], "alice");
            assert_eq!(
                keys.verify_own(&token, "https://other.example"),
                Err(VerifyError::WrongIssuer)
            );
        }
        // The same key file gives the same kid (replicas agree).
        let again = SigningKeys::new(&active, &[], None).unwrap();
        assert_eq!(again.jwks()["keys"][0]["kid"], published[0]["kid"]);
        // A token of the previous key still verifies after the rotation.
        let before = SigningKeys::new(&old, &[], None)
            .unwrap()
            .sign("RS256", &claims())
            .unwrap();
        assert!(keys.verify_own(&before, ISSUER).is_ok());
        assert_eq!(
            again.verify_own(&before, ISSUER),
            Err(VerifyError::UnknownKey)
        );
        assert_eq!(
            again.sign("EdDSA", &claims()),
            Err(SignError::NoKey("EdDSA".into()))
        );
    }

    #[test]
    fn forged_and_confused_tokens_are_refused() {
        let keys = SigningKeys::new(&generate("rsa"), &[], None).unwrap();
        let good = keys.sign("RS256", &claims()).unwrap();
        let kid = jsonwebtoken::decode_header(&good).unwrap().kid.unwrap();
        let parts: Vec<&str> = good.split('.').collect();
        // alg none, with our kid.
        let none = format!(
            "{}.{}.",
            b64(json!({ "alg": "none", "kid": kid }).to_string().as_bytes()),
            parts[1]
        );
        assert!(keys.verify_own(&none, ISSUER).is_err());
        // HS256 keyed with the public modulus (the classic confusion).
        let n = keys.jwks()["keys"][0]["n"].as_str().unwrap().to_owned();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.clone());
        let hs = jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(n.as_bytes()))
            .unwrap();
        assert_eq!(
            keys.verify_own(&hs, ISSUER),
            Err(VerifyError::WrongAlgorithm)
        );
        // Another key under our kid.
        let other = SigningKeys::new(&generate("rsa"), &[], None).unwrap();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid);
        let forged = jsonwebtoken::encode(&header, &claims(), &other.rsa.encoding).unwrap();
        assert_eq!(
            keys.verify_own(&forged, ISSUER),
            Err(VerifyError::BadSignature)
        );
        // A changed payload.
        let changed = format!("{}.{}.{}", parts[0], b64(b"{\"iss\":\"x\"}"), parts[2]);
        assert!(keys.verify_own(&changed, ISSUER).is_err());
        assert_eq!(
            keys.verify_own("not a token", ISSUER),
            Err(VerifyError::Malformed)
        );
    }

    #[test]
    fn a_generated_key_signs_and_verifies() {
        let pem = generate_rsa_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let keys = SigningKeys::new(pem.as_bytes(), &[], None).unwrap();
        let token = keys.sign("RS256", &claims()).unwrap();
        assert!(keys.verify_own(&token, ISSUER).is_ok());
        assert_ne!(generate_rsa_pem().unwrap(), pem);
    }

    #[test]
    fn bad_key_files_say_which() {
        let rsa = generate("rsa");
        let ed = generate("ed25519");
        let e = SigningKeys::new(b"nonsense", &[], None).err().unwrap();
        assert_eq!(
            (e.which.as_str(), e.error),
            ("signing_key_file", KeyError::NotPem)
        );
        let e = SigningKeys::new(&ed, &[], None).err().unwrap();
        assert_eq!(e.error, KeyError::NotRsa);
        let e = SigningKeys::new(&rsa, &[rsa.clone(), ed.clone()], None)
            .err()
            .unwrap();
        assert_eq!(e.which, "previous_key_files[1]");
        let e = SigningKeys::new(&rsa, &[], Some(&rsa)).err().unwrap();
        assert_eq!(
            (e.which.as_str(), e.error),
            ("eddsa_key_file", KeyError::NotEd25519)
        );
        let public = b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
        let e = SigningKeys::new(public, &[], None).err().unwrap();
        assert_eq!(e.error, KeyError::WrongBlock("PUBLIC KEY".into()));
    }
}
