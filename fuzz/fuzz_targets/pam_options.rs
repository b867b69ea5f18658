//! The pam_sso module arguments (the words after `pam_sso.so` on a PAM
//! line; one argument per NUL-separated chunk, as libpam hands them over as
//! C strings): parse never panics, a configuration it accepts keeps the
//! module's invariants, and an error's text holds no control character.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pam_sso::options::{self, MAX_CLOCK_SKEW};

fuzz_target!(|data: &[u8]| {
    let args: Vec<&[u8]> = data.split(|&b| b == 0).collect();
    match options::parse(&args) {
        Ok(o) => {
            assert!(!o.keys.is_empty());
            assert!(o.keys.iter().all(|k| k.is_absolute()));
            assert!(o.service.ends_with('/') && !o.service.contains('|'));
            assert!(!o.domain.is_empty() && !o.domain.contains('|'));
            assert!(o.groups.iter().all(|g| !g.is_empty() && !g.contains('|')));
            assert!(o.clock_skew <= MAX_CLOCK_SKEW);
            if let options::PamServices::Only(list) = &o.pam_services {
                assert!(!list.is_empty());
                assert!(list
                    .iter()
                    .all(|s| !s.is_empty() && s != "*" && !s.contains('/') && !s.contains(',')));
            }
        }
        Err(e) => {
            let text = e.to_string();
            assert!(!text.chars().any(char::is_control), "{text:?}");
        }
    }
});
