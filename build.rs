//! Build script of libsso, the C ABI (include/sso.h).
//!
//! 1. Gives the shared object its soname, `libsso.so.0`: programs linked with
//!    `-lsso` then record `libsso.so.0` and keep working across compatible
//!    releases (the 0 changes only when the ABI breaks).
//! 2. Writes the pkg-config file `sso.pc` into `OUT_DIR` and copies it next
//!    to the built library (`target/<profile>/sso.pc`), where an installer
//!    picks it up (see "Installing libsso" in README.md).
//!
//! The header itself is not generated here: `include/sso.h` is committed and
//! the test `header_is_current` checks it against the Rust exports.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

/// The ABI major version: the number in the soname.
const SONAME: &str = "libsso.so.0";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    for var in ["SSO_PREFIX", "SSO_LIBDIR", "SSO_INCLUDEDIR"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{SONAME}");
    }

    let pc = pkg_config_file(
        &env::var("SSO_PREFIX").unwrap_or_else(|_| "/usr/local".into()),
        &env::var("SSO_LIBDIR").unwrap_or_else(|_| "${prefix}/lib".into()),
        &env::var("SSO_INCLUDEDIR").unwrap_or_else(|_| "${prefix}/include".into()),
        &env::var("CARGO_PKG_VERSION").expect("cargo sets CARGO_PKG_VERSION"),
    );
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let generated = out_dir.join("sso.pc");
    fs::write(&generated, pc).expect("write sso.pc into OUT_DIR");
    if let Some(profile_dir) = profile_dir(&out_dir) {
        fs::copy(&generated, profile_dir.join("sso.pc")).expect("copy sso.pc next to libsso");
    }
}

/// The text of `sso.pc`. `Libs.private` lists what the static library
/// needs from the system (the Rust standard library's dependencies), for
/// `pkg-config --static`.
fn pkg_config_file(prefix: &str, libdir: &str, includedir: &str, version: &str) -> String {
    format!(
        "prefix={prefix}\n\
         libdir={libdir}\n\
         includedir={includedir}\n\
         \n\
         Name: sso\n\
         Description: Verify and mint ai-sso compatible single sign-on tickets\n\
         Version: {version}\n\
         Libs: -L${{libdir}} -lsso\n\
         Libs.private: -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc\n\
         Cflags: -I${{includedir}}\n"
    )
}

/// `target/<profile>` (or `target/<triple>/<profile>`), where cargo puts the
/// library: OUT_DIR is `<profile dir>/build/<package>-<hash>/out`.
fn profile_dir(out_dir: &Path) -> Option<&Path> {
    let dir = out_dir.ancestors().nth(3)?;
    dir.is_dir().then_some(dir)
}
