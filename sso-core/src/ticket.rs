//! The ticket format of the protocol (ai-sso v3 and v4): the plain
//! `|`-separated content and the wire form `base64url(signature || content)`.
//!
//! Parsing here never looks at the signature; [`crate::Verifier`] does that.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;

use crate::Error;

/// Length of an Ed25519 signature, the first bytes of a decoded ticket.
pub const SIGNATURE_LEN: usize = 64;

/// Upper bound on the encoded (wire) size of a ticket, in bytes: 4096.
///
/// Browsers keep about 4 KiB per cookie, so a longer ticket could not travel
/// in one anyway; anything longer is refused before it is decoded.
pub const MAX_TICKET_LEN: usize = 4096;

/// The smallest possible content, `3|u|s|d|0|`.
const MIN_CONTENT_LEN: usize = 10;

/// Longest expiry field accepted: `u64::MAX` has 20 digits.
const MAX_EXPIRY_DIGITS: usize = 20;

/// URL-safe base64 that emits `=` padding and accepts input with or without it.
pub(crate) const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Ticket format version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// `3|user|service|domain|expires|groups`
    V3 = 3,
    /// `4|user|service|domain|expires|nonce|groups`
    V4 = 4,
}

impl Version {
    /// Field count of the content for this version.
    pub fn field_count(self) -> usize {
        match self {
            Version::V3 => 6,
            Version::V4 => 7,
        }
    }

    /// The version for its number, if supported.
    pub fn from_number(n: u32) -> Option<Version> {
        match n {
            3 => Some(Version::V3),
            4 => Some(Version::V4),
            _ => None,
        }
    }

    /// The version number (3 or 4).
    pub fn number(self) -> u32 {
        self as u32
    }
}

/// The statement a ticket carries: user U may use service S in domain D
/// until `expires`, and is in `groups`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ticket {
    pub version: Version,
    pub user: String,
    pub service: String,
    pub domain: String,
    /// Absolute Unix time in seconds.
    pub expires: u64,
    /// v4 only (may be empty there); always `None` for v3.
    pub nonce: Option<String>,
    pub groups: Vec<String>,
}

impl Ticket {
    /// A v4 ticket without nonce or groups.
    pub fn new(user: &str, service: &str, domain: &str, expires: u64) -> Ticket {
        Ticket {
            version: Version::V4,
            user: user.to_owned(),
            service: service.to_owned(),
            domain: domain.to_owned(),
            expires,
            nonce: None,
            groups: Vec::new(),
        }
    }

    /// The plain content to sign, after checking every field can be carried:
    /// non-empty user, service and domain, no `|` anywhere, no `,` or empty
    /// name among the groups, and no nonce on a v3 ticket.
    pub fn to_content(&self) -> Result<String, Error> {
        let plain = |s: &str| !s.contains(['|', '\0']);
        let required = |s: &str| !s.is_empty() && plain(s);
        if !required(&self.user) || !required(&self.service) || !required(&self.domain) {
            return Err(Error::InvalidField);
        }
        if self
            .groups
            .iter()
            .any(|g| g.is_empty() || g.contains(',') || !plain(g))
        {
            return Err(Error::InvalidField);
        }
        let groups = self.groups.join(",");
        match (self.version, &self.nonce) {
            (Version::V3, Some(_)) => Err(Error::InvalidField),
            (Version::V3, None) => Ok(format!(
                "3|{}|{}|{}|{}|{}",
                self.user, self.service, self.domain, self.expires, groups
            )),
            (Version::V4, nonce) => {
                let nonce = nonce.as_deref().unwrap_or("");
                if !plain(nonce) {
                    return Err(Error::InvalidField);
                }
                Ok(format!(
                    "4|{}|{}|{}|{}|{}|{}",
                    self.user, self.service, self.domain, self.expires, nonce, groups
                ))
            }
        }
    }

    /// Parses plain content (the bytes after the signature).
    pub fn parse_content(content: &[u8]) -> Result<Ticket, Error> {
        let text = std::str::from_utf8(content).map_err(|_| Error::NotUtf8)?;
        if content.contains(&0) {
            return Err(Error::NulByte);
        }
        let fields: Vec<&str> = text.split('|').collect();
        let version = match fields[0] {
            "3" => Version::V3,
            "4" => Version::V4,
            _ => return Err(Error::BadVersion),
        };
        if fields.len() != version.field_count() {
            return Err(Error::BadFieldCount);
        }
        let (user, service, domain) = (fields[1], fields[2], fields[3]);
        if user.is_empty() {
            return Err(Error::EmptyUser);
        }
        if service.is_empty() {
            return Err(Error::EmptyService);
        }
        if domain.is_empty() {
            return Err(Error::EmptyDomain);
        }
        let expires = parse_expiry(fields[4])?;
        let (nonce, groups_field) = match version {
            Version::V3 => (None, fields[5]),
            Version::V4 => (Some(fields[5].to_owned()), fields[6]),
        };
        let groups = if groups_field.is_empty() {
            Vec::new()
        } else {
            let groups: Vec<String> = groups_field.split(',').map(str::to_owned).collect();
            if groups.iter().any(String::is_empty) {
                return Err(Error::BadGroups);
            }
            groups
        };
        Ok(Ticket {
            version,
            user: user.to_owned(),
            service: service.to_owned(),
            domain: domain.to_owned(),
            expires,
            nonce,
            groups,
        })
    }

    /// True when the ticket holds at least one of `wanted`, or `wanted` is empty.
    pub fn has_any_group<S: AsRef<str>>(&self, wanted: &[S]) -> bool {
        wanted.is_empty()
            || wanted
                .iter()
                .any(|w| self.groups.iter().any(|g| g == w.as_ref()))
    }
}

fn parse_expiry(field: &str) -> Result<u64, Error> {
    if field.is_empty()
        || field.len() > MAX_EXPIRY_DIGITS
        || !field.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(Error::BadExpiry);
    }
    field.parse::<u64>().map_err(|_| Error::BadExpiry)
}

/// A ticket split into its signature and its still-unparsed content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawTicket {
    pub signature: [u8; SIGNATURE_LEN],
    pub content: Vec<u8>,
}

impl RawTicket {
    /// Decodes the wire form: size bound, base64url (padded or not), and the
    /// minimum length. Does not parse the content or check the signature.
    pub fn decode(encoded: &str) -> Result<RawTicket, Error> {
        if encoded.len() > MAX_TICKET_LEN {
            return Err(Error::TooLong);
        }
        // The alphabet and the least length are checked before decoding,
        // so that an ordinary password typed where a ticket could go
        // (pam_sso before pam_unix) is never decoded into buffers that are
        // freed unwiped.
        let unpadded = encoded.trim_end_matches('=').len();
        if !encoded.as_bytes()[..unpadded]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(Error::BadEncoding);
        }
        if unpadded * 3 / 4 < SIGNATURE_LEN + MIN_CONTENT_LEN {
            return Err(Error::TooShort);
        }
        // Padding is optional, but where present it must be complete.
        let pad = encoded.len() - unpadded;
        if pad > 2 || (pad > 0 && !encoded.len().is_multiple_of(4)) {
            return Err(Error::BadEncoding);
        }
        let bytes = BASE64URL
            .decode(encoded.as_bytes())
            .map_err(|_| Error::BadEncoding)?;
        if bytes.len() < SIGNATURE_LEN + MIN_CONTENT_LEN {
            return Err(Error::TooShort);
        }
        let mut signature = [0u8; SIGNATURE_LEN];
        signature.copy_from_slice(&bytes[..SIGNATURE_LEN]);
        Ok(RawTicket {
            signature,
            content: bytes[SIGNATURE_LEN..].to_vec(),
        })
    }

    /// The wire form, with `=` padding.
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(SIGNATURE_LEN + self.content.len());
        bytes.extend_from_slice(&self.signature);
        bytes.extend_from_slice(&self.content);
        BASE64URL.encode(bytes)
    }
}

/// Decodes and parses a ticket WITHOUT checking its signature or any claim.
/// For display and debugging only (`ssotool inspect`): never trust the result.
pub fn decode_unverified(encoded: &str) -> Result<Ticket, Error> {
    let raw = RawTicket::decode(encoded)?;
    Ticket::parse_content(&raw.content)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(version: Version) -> Ticket {
        Ticket {
            version,
            user: "alice".into(),
            service: "www.example.org/app/".into(),
            domain: "example.org".into(),
            expires: 1_900_000_000,
            nonce: match version {
                Version::V3 => None,
                Version::V4 => Some("n0nce".into()),
            },
            groups: vec!["admins".into(), "staff".into()],
        }
    }

    #[test]
    fn content_matches_protocol_layout() {
        assert_eq!(
            sample(Version::V3).to_content().unwrap(),
            "3|alice|www.example.org/app/|example.org|1900000000|admins,staff"
        );
        assert_eq!(
            sample(Version::V4).to_content().unwrap(),
            "4|alice|www.example.org/app/|example.org|1900000000|n0nce|admins,staff"
        );
        let mut t = sample(Version::V3);
        t.groups.clear();
        assert!(t.to_content().unwrap().ends_with("|1900000000|"));
    }

    #[test]
    fn issuer_refuses_uncarriable_values() {
        type Mutation = Box<dyn Fn(&mut Ticket)>;
        let cases: Vec<Mutation> = vec![
            Box::new(|t| t.user = String::new()),
            Box::new(|t| t.user = "a|b".into()),
            Box::new(|t| t.user = "a\0b".into()),
            Box::new(|t| t.service = String::new()),
            Box::new(|t| t.domain = "x|y".into()),
            Box::new(|t| t.groups = vec!["a,b".into()]),
            Box::new(|t| t.groups = vec![String::new()]),
            Box::new(|t| t.groups = vec!["a|b".into()]),
            Box::new(|t| t.nonce = Some("n|n".into())),
            Box::new(|t| {
                t.version = Version::V3;
                t.nonce = Some("n".into())
            }),
        ];
        for (i, mutate) in cases.iter().enumerate() {
            let mut t = sample(Version::V4);
            mutate(&mut t);
            assert_eq!(t.to_content(), Err(Error::InvalidField), "case {i}");
        }
    }

    #[test]
    fn parse_names_each_failed_check() {
        let cases: &[(&[u8], Error)] = &[
            (b"3|u|s|d|10|\xff", Error::NotUtf8),
            (b"5|u|s|d|10|", Error::BadVersion),
            (b"|u|s|d|10|", Error::BadVersion),
            (b"03|u|s|d|10|", Error::BadVersion),
            (b"3|u|s|d|10", Error::BadFieldCount),
            (b"3|u|s|d|10|g|x", Error::BadFieldCount),
            (b"4|u|s|d|10|g", Error::BadFieldCount),
            (b"3||s|d|10|", Error::EmptyUser),
            (b"3|u||d|10|", Error::EmptyService),
            (b"3|u|s||10|", Error::EmptyDomain),
            (b"3|u|s|d||", Error::BadExpiry),
            (b"3|u|s|d|-1|", Error::BadExpiry),
            (b"3|u|s|d|+1|", Error::BadExpiry),
            (b"3|u|s|d|1e9|", Error::BadExpiry),
            (b"3|u|s|d| 10|", Error::BadExpiry),
            (b"3|u|s|d|18446744073709551616|", Error::BadExpiry),
            (b"3|u|s|d|10|a,,b", Error::BadGroups),
            (b"3|u|s|d|10|a,", Error::BadGroups),
            (b"3|u\0x|s|d|10|", Error::NulByte),
            (b"4|u|s|d|10|n\0|", Error::NulByte),
        ];
        for (content, want) in cases {
            assert_eq!(
                Ticket::parse_content(content),
                Err(*want),
                "{:?}",
                String::from_utf8_lossy(content)
            );
        }
        let max = Ticket::parse_content(b"3|u|s|d|18446744073709551615|").unwrap();
        assert_eq!(max.expires, u64::MAX);
        let v4 = Ticket::parse_content(b"4|u|s|d|10||").unwrap();
        assert_eq!(v4.nonce.as_deref(), Some(""));
        assert!(v4.groups.is_empty());
    }

    #[test]
    fn decode_accepts_padded_and_unpadded_only_urlsafe() {
        let raw = RawTicket {
            signature: [7u8; 64],
            content: b"3|alice|s/|d|10|gg".to_vec(),
        };
        let padded = raw.encode();
        assert!(padded.ends_with('='), "issuers emit padding: {padded}");
        let unpadded = padded.trim_end_matches('=');
        assert_eq!(RawTicket::decode(&padded).unwrap(), raw);
        assert_eq!(RawTicket::decode(unpadded).unwrap(), raw);
        // The standard alphabet and broken padding are not base64url.
        let standard = padded.replace('-', "+").replace('_', "/");
        if standard != padded {
            assert_eq!(RawTicket::decode(&standard), Err(Error::BadEncoding));
        }
        assert_eq!(
            RawTicket::decode(&format!("{unpadded}=")),
            if padded.len() - unpadded.len() == 2 {
                Err(Error::BadEncoding)
            } else {
                Ok(raw.clone())
            }
        );
        assert_eq!(RawTicket::decode("a b"), Err(Error::BadEncoding));
        assert_eq!(RawTicket::decode(""), Err(Error::TooShort));
        assert_eq!(RawTicket::decode("AAAA"), Err(Error::TooShort));
        let long = "A".repeat(MAX_TICKET_LEN + 1);
        assert_eq!(RawTicket::decode(&long), Err(Error::TooLong));
    }

    #[test]
    fn group_membership() {
        let t = sample(Version::V3);
        assert!(t.has_any_group::<&str>(&[]));
        assert!(t.has_any_group(&["nobody", "staff"]));
        assert!(!t.has_any_group(&["nobody"]));
        assert!(!t.has_any_group(&["admin"]), "no prefix matching");
    }
}
