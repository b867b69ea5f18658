//! The shared object exports exactly one symbol: the module record.

use std::process::Command;

#[test]
fn only_sso_module_is_exported() {
    let so = tests::util::cdylib("mod_sso");
    let out = tests::util::run_ok(Command::new("nm").args(["-D", "--defined-only"]).arg(&so));
    let text = String::from_utf8_lossy(&out.stdout);
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .collect();
    assert_eq!(names, ["sso_module"], "exported: {text}");
}
