//! Builds tests/c/abi_test.c with -Wall -Wextra -Werror against
//! include/sso.h, links it to the built libsso.so and runs it.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use sso_core::{Ticket, Version};
use sso_integration::util::{cdylib, profile_dir, workspace_root, TestKeys};

#[test]
fn c_program_verifies_good_and_bad_tickets() {
    let root = workspace_root();
    let lib = cdylib("sso");
    let keys = TestKeys::new();
    let other = TestKeys::new();
    let insecure = keys.dir.path().join("insecure.key");
    std::fs::copy(&keys.secret_path, &insecure).unwrap();
    std::fs::set_permissions(&insecure, std::fs::Permissions::from_mode(0o644)).unwrap();

    let mut t = Ticket::new(
        "rustuser",
        "svc.example.org/",
        "example.org",
        sso_core::unix_now() + 600,
    );
    t.version = Version::V3;
    t.groups = vec!["ops".into()];
    let rust_ticket = keys.signer.sign(&t).unwrap();

    let exe = keys.dir.path().join("abi_test");
    let status = Command::new("cc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-o"])
        .arg(&exe)
        .arg(root.join("tests/c/abi_test.c"))
        .arg("-I")
        .arg(root.join("include"))
        .arg("-L")
        .arg(lib.parent().unwrap())
        .arg("-lsso")
        .arg(format!("-Wl,-rpath,{}", profile_dir().display()))
        .status()
        .expect("run cc");
    assert!(
        status.success(),
        "the C test program must compile warning-free"
    );

    let out = Command::new(&exe)
        .arg(&keys.secret_path)
        .arg(&keys.public_path)
        .arg(&other.public_path)
        .arg(&insecure)
        .arg(&rust_ticket)
        .output()
        .expect("run abi_test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(out.status.success(), "C ABI checks failed:\n{stdout}");
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}
