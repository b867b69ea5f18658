//! Who may enrol a security key (`/webauthn/register`), decided at the
//! start of the ceremony and again at its finish.
//!
//! A password alone must not buy a second factor: whoever stole it would
//! enrol their own key and pass every `[[second_factor]]` rule. So a
//! session may enrol when it proved a second factor in this login, or
//! with a one-time enrolment code the administrator issued for the user
//! (see [`crate::enrolment_codes`]), or, only where self-enrolment is on,
//! when the user has no second factor yet. Self-enrolment is off by
//! default where `[[second_factor]]` tables exist (`[webauthn]
//! self_enrolment`).

/// What is known about one enrolment attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// The session proved a TOTP code or a key in this login.
    pub session_proved_factor: bool,
    /// The user has a TOTP secret or a key enrolled.
    pub has_factor: bool,
    /// `[webauthn] self_enrolment`, as resolved from the configuration.
    pub self_enrolment: bool,
    /// The enrolment code the user gave, if any.
    pub code: Code,
}

/// An enrolment code as checked against the codes file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    NotGiven,
    /// Issued for this user, unexpired and unused.
    Valid,
    /// Unknown, another user's, expired or used.
    Invalid,
}

/// Why enrolment is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// A second factor proven in this session.
    ProvenFactor,
    /// An administrator's code (spent when the enrolment finishes).
    Code,
    /// Self-enrolment of a user with no factor, where configured.
    SelfEnrolment,
}

impl Grant {
    /// A short stable name for logs.
    pub fn name(self) -> &'static str {
        match self {
            Grant::ProvenFactor => "proven factor",
            Grant::Code => "enrolment code",
            Grant::SelfEnrolment => "self-enrolment",
        }
    }
}

/// Why enrolment is refused (403, the check names the reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The user has a factor: prove it in this login first (or get a code).
    FactorRequired,
    /// No factor yet and self-enrolment is off: a code is needed.
    CodeRequired,
    /// The code given does not open enrolment.
    BadCode,
}

impl Refusal {
    /// A short stable name for logs and JSON answers.
    pub fn check(self) -> &'static str {
        match self {
            Refusal::FactorRequired => "second factor required",
            Refusal::CodeRequired => "enrolment code required",
            Refusal::BadCode => "invalid or expired enrolment code",
        }
    }
}

/// The decision. A code that was given is checked even when the session
/// would not need it, so a wrong code is never silently ignored.
pub fn decide(f: Facts) -> Result<Grant, Refusal> {
    match f.code {
        Code::Invalid => return Err(Refusal::BadCode),
        Code::Valid if !f.session_proved_factor => return Ok(Grant::Code),
        _ => {}
    }
    if f.session_proved_factor {
        Ok(Grant::ProvenFactor)
    } else if f.has_factor {
        Err(Refusal::FactorRequired)
    } else if f.self_enrolment {
        Ok(Grant::SelfEnrolment)
    } else {
        Err(Refusal::CodeRequired)
    }
}

/// `[webauthn] self_enrolment` as it applies: the value written, else on
/// only when no `[[second_factor]]` table exists (then a key protects
/// nothing a password does not already open).
pub fn self_enrolment(written: Option<bool>, has_rules: bool) -> bool {
    written.unwrap_or(!has_rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(proved: bool, has: bool, selfe: bool, code: Code) -> Facts {
        Facts {
            session_proved_factor: proved,
            has_factor: has,
            self_enrolment: selfe,
            code,
        }
    }

    /// The facts (factor proved in this session, user has a factor,
    /// self-enrolment on, code) and the decision they must give.
    type Case = (bool, bool, bool, Code, Result<Grant, Refusal>);

    fn check(cases: &[Case]) {
        for (proved, has, selfe, code, want) in cases {
            let got = decide(facts(*proved, *has, *selfe, *code));
            assert_eq!(&got, want, "{proved} {has} {selfe} {code:?}");
        }
    }

    #[test]
    fn a_password_alone_does_not_enrol_under_the_default() {
        check(&[
            (
                false,
                false,
                false,
                Code::NotGiven,
                Err(Refusal::CodeRequired),
            ),
            (
                false,
                true,
                true,
                Code::NotGiven,
                Err(Refusal::FactorRequired),
            ),
            (false, false, true, Code::NotGiven, Ok(Grant::SelfEnrolment)),
        ]);
    }

    #[test]
    fn a_proven_factor_or_a_valid_code_enrols() {
        check(&[
            (true, true, false, Code::NotGiven, Ok(Grant::ProvenFactor)),
            // A proven factor does not spend a code it does not need.
            (true, true, false, Code::Valid, Ok(Grant::ProvenFactor)),
            (false, false, false, Code::Valid, Ok(Grant::Code)),
            // A lost key: the administrator's code replaces the proof.
            (false, true, false, Code::Valid, Ok(Grant::Code)),
        ]);
    }

    #[test]
    fn a_bad_code_is_refused_whatever_else_holds() {
        for proved in [false, true] {
            for selfe in [false, true] {
                assert_eq!(
                    decide(facts(proved, false, selfe, Code::Invalid)),
                    Err(Refusal::BadCode)
                );
            }
        }
    }

    #[test]
    fn self_enrolment_defaults_to_off_under_rules() {
        assert!(!self_enrolment(None, true));
        assert!(self_enrolment(None, false));
        assert!(self_enrolment(Some(true), true));
        assert!(!self_enrolment(Some(false), false));
    }
}
