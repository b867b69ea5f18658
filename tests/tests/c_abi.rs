//! Installs the built libsso into a throwaway prefix the way a package
//! does (`lib/libsso.so.0` plus the `libsso.so` development link,
//! `include/sso.h`, and the generated `sso.pc`), builds tests/c/abi_test.c
//! with -Wall -Wextra -Werror using the flags `pkg-config` gives for that
//! prefix, and runs it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use sso_core::{Ticket, Version};
use tests::util::{cdylib, profile_dir, workspace_root, TestKeys};

/// The soname that build.rs gives libsso: what programs record.
const SONAME: &str = "libsso.so.0";

/// Copies the built library and the committed header into `prefix` as an
/// installer would, and returns the directory holding the library.
fn install_libsso(prefix: &Path) -> PathBuf {
    let lib_dir = prefix.join("lib");
    let include_dir = prefix.join("include");
    std::fs::create_dir_all(&lib_dir).unwrap();
    std::fs::create_dir_all(&include_dir).unwrap();
    std::fs::copy(cdylib("sso"), lib_dir.join(SONAME)).unwrap();
    std::os::unix::fs::symlink(SONAME, lib_dir.join("libsso.so")).unwrap();
    std::fs::copy(
        workspace_root().join("include/sso.h"),
        include_dir.join("sso.h"),
    )
    .unwrap();
    lib_dir
}

/// `pkg-config --cflags --libs sso` for `prefix`, reading the sso.pc that
/// build.rs wrote next to the library.
fn pkg_config_flags(prefix: &Path) -> Vec<String> {
    let out = tests::util::run_ok(
        Command::new("pkg-config")
            .env("PKG_CONFIG_PATH", profile_dir())
            .arg(format!("--define-variable=prefix={}", prefix.display()))
            .args(["--cflags", "--libs", "sso"]),
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// The shared objects `exe` names as DT_NEEDED.
fn needed_libraries(exe: &Path) -> Vec<String> {
    let out = Command::new("readelf")
        .arg("-d")
        .arg(exe)
        .output()
        .expect("run readelf");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| Some(l.split_once('[')?.1.split_once(']')?.0.to_owned()))
        .collect()
}

#[test]
fn c_program_verifies_tickets_and_drives_the_flow() {
    let root = workspace_root();
    let keys = TestKeys::new();
    let other = TestKeys::new();
    let insecure = keys.dir.path().join("insecure.key");
    std::fs::copy(&keys.secret_path, &insecure).unwrap();
    std::fs::set_permissions(&insecure, std::fs::Permissions::from_mode(0o644)).unwrap();
    let untrusted = keys.dir.path().join("untrusted.pub");
    std::fs::copy(&keys.public_path, &untrusted).unwrap();
    std::fs::set_permissions(&untrusted, std::fs::Permissions::from_mode(0o664)).unwrap();

    let mut t = Ticket::new(
        "rustuser",
        "svc.example.org/",
        "example.org",
        sso_core::unix_now() + 600,
    );
    t.version = Version::V3;
    t.groups = vec!["ops".into()];
    let rust_ticket = keys.signer.sign(&t).unwrap();

    let prefix = keys.dir.path().join("prefix");
    let lib_dir = install_libsso(&prefix);
    let exe = keys.dir.path().join("abi_test");
    let status = Command::new("cc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-o"])
        .arg(&exe)
        .arg(root.join("tests/c/abi_test.c"))
        .args(pkg_config_flags(&prefix))
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .status()
        .expect("run cc");
    assert!(
        status.success(),
        "the C test program must compile warning-free"
    );
    assert!(
        needed_libraries(&exe).iter().any(|n| n == SONAME),
        "a program linked with -lsso must record the soname {SONAME}: {:?}",
        needed_libraries(&exe)
    );

    let out = Command::new(&exe)
        .arg(&keys.secret_path)
        .arg(&keys.public_path)
        .arg(&other.public_path)
        .arg(&insecure)
        .arg(&rust_ticket)
        .arg(&untrusted)
        .output()
        .expect("run abi_test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(out.status.success(), "C ABI checks failed:\n{stdout}");
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}
