//! The one error type of ticket handling. Every variant names the check that
//! failed, so a log line or an HTTP reason can say exactly why a ticket was
//! refused without ever quoting the ticket.

use std::fmt;

/// The ticket checks, spelled once. Each row is the variant's documentation,
/// `Variant = code` (stable: the C ABI's `sso_result` uses the same number),
/// the name of that `sso_result` code, the check's short name (what logs and
/// `WWW-Authenticate` answers say) and a sentence for `Display`.
///
/// Calls `$callback!` with the whole table: [`Error`] is defined from it
/// here, and the C ABI (libsso, `src/result.rs`) derives its conversion from
/// it and asserts at compile time that its `sso_result` enum agrees.
#[doc(hidden)]
#[macro_export]
macro_rules! for_each_ticket_check {
    ($callback:ident) => {
        $callback! {
            /// Not base64url (URL-safe alphabet, `=` padding optional but canonical).
            BadEncoding = 1, SSO_ERR_BAD_ENCODING, "bad encoding",
                "ticket is not valid base64url";
            /// Decodes to fewer bytes than a signature plus the smallest content.
            TooShort = 2, SSO_ERR_TOO_SHORT, "too short",
                "ticket is too short to hold a signature and content";
            /// Encoded form longer than [`crate::MAX_TICKET_LEN`].
            TooLong = 3, SSO_ERR_TOO_LONG, "too long",
                "ticket exceeds the maximum encoded size";
            /// Content is not UTF-8 text.
            NotUtf8 = 4, SSO_ERR_NOT_UTF8, "not utf-8",
                "ticket content is not UTF-8";
            /// Version field is neither `3` nor `4`.
            BadVersion = 5, SSO_ERR_BAD_VERSION, "bad version",
                "ticket version is not 3 or 4";
            /// Not exactly 6 (v3) or 7 (v4) `|`-separated fields.
            BadFieldCount = 6, SSO_ERR_BAD_FIELD_COUNT, "bad field count",
                "ticket does not have the field count of its version";
            /// Empty user field.
            EmptyUser = 7, SSO_ERR_EMPTY_USER, "empty user",
                "ticket user is empty";
            /// Empty service field.
            EmptyService = 8, SSO_ERR_EMPTY_SERVICE, "empty service",
                "ticket service is empty";
            /// Empty domain field.
            EmptyDomain = 9, SSO_ERR_EMPTY_DOMAIN, "empty domain",
                "ticket domain is empty";
            /// Expiry is not a decimal number of seconds that fits 64 bits.
            BadExpiry = 10, SSO_ERR_BAD_EXPIRY, "bad expiry",
                "ticket expiry is not a decimal Unix time";
            /// A group name is empty (as in `a,,b`).
            BadGroups = 11, SSO_ERR_BAD_GROUPS, "bad groups",
                "ticket group list holds an empty name";
            /// The signature does not verify with any configured public key.
            BadSignature = 12, SSO_ERR_BAD_SIGNATURE, "bad signature",
                "ticket signature does not verify with any configured key";
            /// The ticket's expiry (plus the clock-skew allowance) is in the past.
            Expired = 13, SSO_ERR_EXPIRED, "expired",
                "ticket has expired";
            /// The ticket was issued for another service.
            WrongService = 14, SSO_ERR_WRONG_SERVICE, "wrong service",
                "ticket was issued for another service";
            /// The ticket was issued for another domain.
            WrongDomain = 15, SSO_ERR_WRONG_DOMAIN, "wrong domain",
                "ticket was issued for another domain";
            /// The ticket's nonce differs from the expected one (or it has none).
            NonceMismatch = 16, SSO_ERR_NONCE_MISMATCH, "nonce mismatch",
                "ticket nonce does not match the expected nonce";
            /// The ticket holds none of the required groups.
            MissingGroup = 17, SSO_ERR_MISSING_GROUP, "missing group",
                "ticket holds none of the required groups";
            /// Issuer side: a value to sign is empty where it must not be, or holds a
            /// `|` (any field) or `,` (a group name), which the format cannot escape.
            InvalidField = 18, SSO_ERR_INVALID_FIELD, "invalid field",
                "a ticket field is empty or holds a character the format cannot carry";
            /// Content holds a NUL byte. It is valid UTF-8, but every C consumer
            /// (httpd's `r->user`, PAM) would silently cut the value there.
            NulByte = 19, SSO_ERR_NUL_BYTE, "nul byte",
                "ticket content holds a NUL byte";
        }
    };
}

/// Defines [`Error`] and its names from the table above.
macro_rules! define_error {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $code:literal, $c_name:ident, $check:literal, $detail:literal;
    )*) => {
        /// Why a ticket was refused (verifier side) or could not be made
        /// (issuer side).
        ///
        /// The numeric values are stable: the C ABI (`sso_result`) uses the
        /// same numbers, so that 0 is success.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum Error {
            $( $(#[$doc])* $variant = $code, )*
        }

        impl Error {
            /// Every variant, in numeric order (used by the C ABI and tests).
            pub const ALL: [Error; [$($code),*].len()] = [$(Error::$variant),*];

            /// A short, stable name of the failed check: used in logs and as
            /// the reason in `WWW-Authenticate` answers.
            pub fn check(self) -> &'static str {
                match self {
                    $( Error::$variant => $check, )*
                }
            }

            /// One sentence saying what the check found.
            fn detail(self) -> &'static str {
                match self {
                    $( Error::$variant => $detail, )*
                }
            }
        }
    };
}

crate::for_each_ticket_check!(define_error);

impl Error {
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
        write!(f, "{} ({})", self.check(), self.detail())
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
