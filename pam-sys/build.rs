//! Generates the Linux-PAM bindings with bindgen over the system headers
//! (package libpam0g-dev) and links libpam. The allowlist names only what
//! the workspace calls, so the generated module stays small and a symbol
//! that a Linux-PAM release drops fails the build here, not at load time.

use std::path::PathBuf;

/// The `#define` constants (`PAM_SUCCESS`, `LOG_ERR`, ...) are `int` in C:
/// generate them as `c_int` instead of bindgen's default `u32`, so they
/// compare with the functions' results without casts.
#[derive(Debug)]
struct IntConstants;

impl bindgen::callbacks::ParseCallbacks for IntConstants {
    fn int_macro(&self, _name: &str, _value: i64) -> Option<bindgen::callbacks::IntKind> {
        Some(bindgen::callbacks::IntKind::Int)
    }
}

fn main() {
    println!("cargo:rerun-if-changed=wrapper.h");
    println!("cargo:rustc-link-lib=pam");

    let bindings = bindgen::Builder::default()
        .header("wrapper.h")
        .allowlist_type("pam_handle_t")
        .allowlist_type("pam_message")
        .allowlist_type("pam_response")
        .allowlist_type("pam_conv")
        // Application side: the login server, the tests, the benchmark.
        .allowlist_function("pam_start")
        .allowlist_function("pam_start_confdir")
        .allowlist_function("pam_authenticate")
        .allowlist_function("pam_acct_mgmt")
        .allowlist_function("pam_setcred")
        .allowlist_function("pam_end")
        .allowlist_function("pam_strerror")
        // Both sides.
        .allowlist_function("pam_get_item")
        .allowlist_function("pam_set_item")
        // Module side: pam_sso (through the safe layer, pam/).
        .allowlist_function("pam_get_user")
        .allowlist_function("pam_get_authtok")
        .allowlist_function("pam_syslog")
        // pam_error and pam_info are macros over it.
        .allowlist_function("pam_prompt")
        // Result codes, items, flags, message styles, syslog priorities.
        .allowlist_var("PAM_.*")
        .allowlist_var("LOG_(ERR|WARNING|NOTICE|INFO|DEBUG)")
        .parse_callbacks(Box::new(IntConstants))
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .layout_tests(false)
        .generate_comments(false)
        .generate()
        .expect("bindgen over the Linux-PAM headers failed: install libpam0g-dev");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    bindings
        .write_to_file(out.join("pam.rs"))
        .expect("write the PAM bindings");
}
