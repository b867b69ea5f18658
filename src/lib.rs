//! The C ABI of sso-core, declared in `include/sso.h`.
//!
//! Conventions (after rustls-ffi): one result enum, opaque handles created by
//! `_new` and released by `_free`, out-parameters written only on success,
//! and a panic boundary in every exported function so that no unwinding ever
//! reaches C: a caught panic becomes `SSO_ERR_PANIC` (or NULL / 0 from the
//! accessors), never success. Every pointer argument is checked for NULL.
//!
//! The committed header is generated from these sources by cbindgen; the test
//! `header_is_current` fails when they drift apart (regenerate with
//! `SSO_UPDATE_HEADER=1 cargo test -p sso header_is_current`).

#![allow(non_camel_case_types)]

use std::ffi::c_char;

mod boundary;
mod flow_config;
mod flow_decision;
mod panic_guard;
mod result;
mod signer;
mod ticket;
mod verifier;

// Everything exported to C is public to Rust too (the rlib), so Rust
// harnesses such as the fuzz targets call the same functions C does.
pub use flow_config::*;
pub use flow_decision::*;
pub use result::*;
pub use signer::*;
pub use ticket::*;
pub use verifier::*;

/// The library version, a static NUL-terminated string.
#[no_mangle]
pub extern "C" fn sso_version() -> *const c_char {
    concat!("libsso ", env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}

#[cfg(test)]
mod tests {
    use crate::result::{result_from_code, CORE_CODES};

    /// `(NAME, value)` of every constant of `enum sso_result` in the
    /// committed include/sso.h.
    fn committed_result_codes() -> Vec<(String, u32)> {
        let header = include_str!("../include/sso.h");
        let body = header
            .split_once("typedef enum sso_result {")
            .and_then(|(_, rest)| rest.split_once("} sso_result;"))
            .expect("include/sso.h declares enum sso_result")
            .0;
        body.lines()
            .map(str::trim)
            .filter(|l| l.starts_with("SSO_"))
            .map(|l| {
                let (name, value) = l.trim_end_matches(',').split_once(" = ").expect(l);
                (name.to_owned(), value.parse().expect(l))
            })
            .collect()
    }

    /// The numbers are the ABI: C programs compiled against an older
    /// header keep their meaning only if no check is ever renumbered.
    #[test]
    fn ticket_check_codes_match_the_committed_header() {
        let committed = committed_result_codes();
        for (name, code) in CORE_CODES {
            let in_header = committed.iter().find(|(n, _)| n == name).map(|c| c.1);
            assert_eq!(in_header, Some(code), "{name} in include/sso.h");
        }
        let checks_in_header = committed.iter().filter(|c| (1..100).contains(&c.1));
        assert_eq!(checks_in_header.count(), CORE_CODES.len());
        for (name, code) in &committed {
            let known = result_from_code(*code).unwrap_or_else(|| panic!("{name} = {code}"));
            assert_eq!(format!("{known:?}"), *name);
        }
    }

    #[test]
    fn header_is_current() {
        let crate_dir = env!("CARGO_MANIFEST_DIR");
        let header = std::path::Path::new(crate_dir).join("include/sso.h");
        let config = cbindgen::Config::from_file(format!("{crate_dir}/cbindgen.toml"))
            .expect("cbindgen.toml");
        let mut generated = Vec::new();
        cbindgen::Builder::new()
            .with_crate(crate_dir)
            .with_config(config)
            .generate()
            .expect("cbindgen generates the header")
            .write(&mut generated);
        if std::env::var_os("SSO_UPDATE_HEADER").is_some() {
            std::fs::write(&header, &generated).expect("write header");
        }
        let committed = std::fs::read(&header).unwrap_or_default();
        assert!(
            committed == generated,
            "include/sso.h differs from the Rust exports; regenerate with \
             SSO_UPDATE_HEADER=1 cargo test -p sso header_is_current and review the diff"
        );
    }
}
