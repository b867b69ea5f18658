//! The one error type of ticket handling. Every variant names the check that
//! failed, so a log line or an HTTP reason can say exactly why a ticket was
//! refused without ever quoting the ticket.

use std::fmt;

/// Why a ticket was refused (verifier side) or could not be made (issuer side).
///
/// The numeric values are stable: the C ABI (`sso_result`) uses the same
/// numbers, offset so that 0 is success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Error {
    /// Not base64url (URL-safe alphabet, `=` padding optional but canonical).
    BadEncoding = 1,
    /// Decodes to fewer bytes than a signature plus the smallest content.
    TooShort = 2,
    /// Encoded form longer than [`crate::MAX_TICKET_LEN`].
    TooLong = 3,
    /// Content is not UTF-8 text.
    NotUtf8 = 4,
    /// Version field is neither `3` nor `4`.
    BadVersion = 5,
    /// Not exactly 6 (v3) or 7 (v4) `|`-separated fields.
    BadFieldCount = 6,
    /// Empty user field.
    EmptyUser = 7,
    /// Empty service field.
    EmptyService = 8,
    /// Empty domain field.
    EmptyDomain = 9,
    /// Expiry is not a decimal number of seconds that fits 64 bits.
    BadExpiry = 10,
    /// A group name is empty (as in `a,,b`).
    BadGroups = 11,
    /// The signature does not verify with any configured public key.
    BadSignature = 12,
    /// The ticket's expiry (plus the clock-skew allowance) is in the past.
    Expired = 13,
    /// The ticket was issued for another service.
    WrongService = 14,
    /// The ticket was issued for another domain.
    WrongDomain = 15,
    /// The ticket's nonce differs from the expected one (or it has none).
    NonceMismatch = 16,
    /// The ticket holds none of the required groups.
    MissingGroup = 17,
    /// Issuer side: a value to sign is empty where it must not be, or holds a
    /// `|` (any field) or `,` (a group name), which the format cannot escape.
    InvalidField = 18,
    /// Content holds a NUL byte. It is valid UTF-8, but every C consumer
    /// (httpd's `r->user`, PAM) would silently cut the value there.
    NulByte = 19,
}

impl Error {
    /// Every variant, in numeric order (used by the C ABI and tests).
    pub const ALL: [Error; 19] = [
        Error::BadEncoding,
        Error::TooShort,
        Error::TooLong,
        Error::NotUtf8,
        Error::BadVersion,
        Error::BadFieldCount,
        Error::EmptyUser,
        Error::EmptyService,
        Error::EmptyDomain,
        Error::BadExpiry,
        Error::BadGroups,
        Error::BadSignature,
        Error::Expired,
        Error::WrongService,
        Error::WrongDomain,
        Error::NonceMismatch,
        Error::MissingGroup,
        Error::InvalidField,
        Error::NulByte,
    ];

    /// A short, stable name of the failed check: used in logs and as the
    /// reason in `WWW-Authenticate` answers.
    pub fn check(self) -> &'static str {
        match self {
            Error::BadEncoding => "bad encoding",
            Error::TooShort => "too short",
            Error::TooLong => "too long",
            Error::NotUtf8 => "not utf-8",
            Error::BadVersion => "bad version",
            Error::BadFieldCount => "bad field count",
            Error::EmptyUser => "empty user",
            Error::EmptyService => "empty service",
            Error::EmptyDomain => "empty domain",
            Error::BadExpiry => "bad expiry",
            Error::BadGroups => "bad groups",
            Error::BadSignature => "bad signature",
            Error::Expired => "expired",
            Error::WrongService => "wrong service",
            Error::WrongDomain => "wrong domain",
            Error::NonceMismatch => "nonce mismatch",
            Error::MissingGroup => "missing group",
            Error::InvalidField => "invalid field",
            Error::NulByte => "nul byte",
        }
    }

    /// The numeric code (1..=19).
    pub fn code(self) -> u32 {
        self as u32
    }

    /// The variant for a numeric code, if any.
    pub fn from_code(code: u32) -> Option<Error> {
        Error::ALL.iter().copied().find(|e| e.code() == code)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let detail = match self {
            Error::BadEncoding => "ticket is not valid base64url",
            Error::TooShort => "ticket is too short to hold a signature and content",
            Error::TooLong => "ticket exceeds the maximum encoded size",
            Error::NotUtf8 => "ticket content is not UTF-8",
            Error::BadVersion => "ticket version is not 3 or 4",
            Error::BadFieldCount => "ticket does not have the field count of its version",
            Error::EmptyUser => "ticket user is empty",
            Error::EmptyService => "ticket service is empty",
            Error::EmptyDomain => "ticket domain is empty",
            Error::BadExpiry => "ticket expiry is not a decimal Unix time",
            Error::BadGroups => "ticket group list holds an empty name",
            Error::BadSignature => "ticket signature does not verify with any configured key",
            Error::Expired => "ticket has expired",
            Error::WrongService => "ticket was issued for another service",
            Error::WrongDomain => "ticket was issued for another domain",
            Error::NonceMismatch => "ticket nonce does not match the expected nonce",
            Error::MissingGroup => "ticket holds none of the required groups",
            Error::InvalidField => {
                "a ticket field is empty or holds a character the format cannot carry"
            }
            Error::NulByte => "ticket content holds a NUL byte",
        };
        write!(f, "{} ({})", self.check(), detail)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_dense() {
        for (i, e) in Error::ALL.iter().enumerate() {
            assert_eq!(e.code() as usize, i + 1);
            assert_eq!(Error::from_code(e.code()), Some(*e));
        }
        assert_eq!(Error::from_code(0), None);
        assert_eq!(Error::from_code(20), None);
    }

    #[test]
    fn check_names_are_unique() {
        let mut names: Vec<_> = Error::ALL.iter().map(|e| e.check()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Error::ALL.len());
    }
}
