//! The decisions of a login, as pure functions (in the manner of
//! `sso_core::flow` and [`crate::enrolment`]): the endpoints gather the
//! facts (the password check, the session, the `[[second_factor]]` policy,
//! what the user enrolled, a code's verdict) and act on the answer; the
//! rules themselves are here, with their tests.
//!
//! A password login and the silent path both end in [`after_login`]: a
//! ticket, or the second-factor step when the policy asks for a factor the
//! session has not proven, or a refusal when the user has none enrolled.
//! `POST /second-factor` ends in [`after_code`].

use crate::throttle::Throttled;
use crate::totp::Verdict;

/// Which second factors the user has enrolled (and the step offers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    pub totp: bool,
    pub webauthn: bool,
}

impl Offer {
    pub fn any(self) -> bool {
        self.totp || self.webauthn
    }
}

/// What a session that asks for a ticket gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// The ticket (if the user is in the groups the request names).
    Ticket,
    /// The second-factor step: the policy asks for a factor the session
    /// has not proven, and the user has one enrolled.
    SecondFactor,
    /// The policy asks for a factor and the user has none enrolled (403).
    NoFactorEnrolled,
}

/// The step after a session is established (a password just checked, or
/// a session cookie on the silent path). `required`: a `[[second_factor]]`
/// table covers the service for the user's groups; `proven`: the session
/// holds a second factor; `enrolled` is asked only when it matters (it
/// reads files), and its error is returned as it is (fail closed).
pub fn after_login<E>(
    required: bool,
    proven: bool,
    enrolled: impl FnOnce() -> Result<Offer, E>,
) -> Result<Next, E> {
    if proven || !required {
        return Ok(Next::Ticket);
    }
    Ok(if enrolled()?.any() {
        Next::SecondFactor
    } else {
        Next::NoFactorEnrolled
    })
}

/// What a TOTP code's verdict leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeOutcome {
    /// A right code, not used before: the factor is added to the session
    /// and the counts of failures are cleared; then [`after_login`].
    Proven,
    /// The user has no TOTP secret: the attempt is given back, nothing is
    /// added; then [`after_login`] (which asks again or refuses).
    NotEnrolled,
    /// Wrong or already used: counted as a failure, the form again (401).
    Refused,
}

/// The verdict of [`crate::totp::TotpFile::verify`], and the outcome.
/// This process had not seen an accepted step used; replicas sharing a
/// throttle store ask it too, so that a code is used once across all of
/// them: `claimed` is whether the store claimed the step for this attempt
/// (false: another replica used it, a replay). It matters for an accepted
/// code only.
pub fn after_code(verdict: Verdict, claimed: bool) -> (Verdict, CodeOutcome) {
    let verdict = match verdict {
        Verdict::Accepted(_) if !claimed => Verdict::Replayed,
        other => other,
    };
    let outcome = match verdict {
        Verdict::Accepted(_) => CodeOutcome::Proven,
        Verdict::NotEnrolled => CodeOutcome::NotEnrolled,
        Verdict::Wrong | Verdict::Replayed => CodeOutcome::Refused,
    };
    (verdict, outcome)
}

/// The `Retry-After` of a throttled attempt, in seconds: the second-factor
/// window when the per-user count of wrong codes refused it, the password
/// throttle's window otherwise.
pub fn retry_after(which: Throttled, window: u64, second_factor_window: u64) -> u64 {
    match which {
        Throttled::SecondFactor => second_factor_window,
        _ => window,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: Offer = Offer {
        totp: false,
        webauthn: false,
    };
    const TOTP: Offer = Offer {
        totp: true,
        webauthn: false,
    };
    const KEY: Offer = Offer {
        totp: false,
        webauthn: true,
    };

    fn never() -> Result<Offer, &'static str> {
        panic!("the enrolled factors are read only when the policy asks for one")
    }

    #[test]
    fn a_ticket_when_no_factor_is_required_or_one_is_proven() {
        assert_eq!(after_login(false, false, never), Ok(Next::Ticket));
        assert_eq!(after_login(true, true, never), Ok(Next::Ticket));
        assert_eq!(after_login(false, true, never), Ok(Next::Ticket));
    }

    #[test]
    fn a_required_factor_is_asked_for_or_refused_when_none_is_enrolled() {
        let ok = |o| move || Ok::<_, &str>(o);
        assert_eq!(after_login(true, false, ok(TOTP)), Ok(Next::SecondFactor));
        assert_eq!(after_login(true, false, ok(KEY)), Ok(Next::SecondFactor));
        assert_eq!(
            after_login(true, false, ok(NONE)),
            Ok(Next::NoFactorEnrolled)
        );
        // A file that cannot be read fails closed: no ticket.
        assert_eq!(
            after_login(true, false, || Err("unreadable")),
            Err("unreadable")
        );
    }

    #[test]
    fn a_code_counts_once_across_replicas() {
        assert_eq!(
            after_code(Verdict::Accepted(7), true),
            (Verdict::Accepted(7), CodeOutcome::Proven)
        );
        assert_eq!(
            after_code(Verdict::Accepted(7), false),
            (Verdict::Replayed, CodeOutcome::Refused)
        );
    }

    #[test]
    fn wrong_replayed_and_missing_codes() {
        for claimed in [true, false] {
            assert_eq!(
                after_code(Verdict::Wrong, claimed),
                (Verdict::Wrong, CodeOutcome::Refused)
            );
            assert_eq!(
                after_code(Verdict::Replayed, claimed),
                (Verdict::Replayed, CodeOutcome::Refused)
            );
            assert_eq!(
                after_code(Verdict::NotEnrolled, claimed),
                (Verdict::NotEnrolled, CodeOutcome::NotEnrolled)
            );
        }
    }

    #[test]
    fn a_throttled_code_waits_for_its_own_window() {
        assert_eq!(retry_after(Throttled::SecondFactor, 300, 900), 900);
        assert_eq!(retry_after(Throttled::User, 300, 900), 300);
        assert_eq!(retry_after(Throttled::Address, 300, 900), 300);
    }
}
