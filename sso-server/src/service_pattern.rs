//! Service patterns: the regular expressions of `allowed_services`,
//! `[[second_factor]] services` and the like, which must match a service
//! name whole.

use regex::Regex;

/// Compiles a service pattern so that it must match the whole name: an
/// unanchored `example\.org/` would otherwise allow `evil.com/example.org/`.
pub fn whole_match(pattern: &str) -> Result<Regex, regex::Error> {
    Regex::new(&format!("^(?:{pattern})$"))
}
