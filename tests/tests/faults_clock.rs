//! The clock of a running apache2 + mod_sso stepped forward by an hour,
//! back by an hour, and back to the true time (libfaketime preloaded into
//! httpd only, its offset read from a file on every clock call, so the
//! step happens under the running server). Whatever the clock says, a
//! ticket is accepted until its expiry plus `SSOClockSkew` by that clock
//! and refused after it, also when mod_sso's verification cache has seen
//! it before the step.
//!
//! One test in its own binary: the faketime variables are set in this
//! process's environment just for the moment apache is spawned.

use std::path::Path;

use tests::apache::{Apache, ApacheConfig};
use tests::util::{preload_faketime, TestKeys};

const DOMAIN: &str = "test.example.org";
const APP: &str = "/app/";
/// mod_sso's allowance after expiry, in seconds.
const SKEW: i64 = 300;
const HOUR: i64 = 3600;

/// Sets httpd's clock offset (libfaketime syntax, seconds).
fn step_clock(file: &Path, offset: i64) {
    std::fs::write(file, format!("{offset:+}\n")).expect("faketime file");
}

#[test]
fn clock_steps_keep_expiry_plus_skew_by_the_servers_clock() {
    tests::return_unless_root!("apache2");
    let keys = TestKeys::new();
    let (_clock_dir, clock) = tests::util::temp_path("faketime");
    step_clock(&clock, 0);
    preload_faketime(&[
        ("FAKETIME_TIMESTAMP_FILE", clock.as_os_str()),
        ("FAKETIME_NO_CACHE", "1".as_ref()),
    ]);
    let apache = Apache::start(ApacheConfig {
        config: format!(
            "SSOLoginServer https://login.{DOMAIN}/\nSSODomain {DOMAIN}\n\
             SSOPublicKeyFile {}\nSSOClockSkew {SKEW}\n\
             <Location {APP}>\n  AuthType SSO\n  SSOService @HOSTPORT@{APP}\n  \
             Require valid-user\n</Location>\n",
            keys.public_path.display()
        ),
        files: vec![("htdocs/app/index.html".into(), "protected\n".into(), 0o644)],
        ..ApacheConfig::default()
    });
    for var in [
        "LD_PRELOAD",
        "FAKETIME_TIMESTAMP_FILE",
        "FAKETIME_NO_CACHE",
        "FAKETIME_DONT_FAKE_MONOTONIC",
    ] {
        std::env::remove_var(var);
    }
    let service = format!("{}{APP}", apache.host_port());
    // A ticket expiring `ttl` seconds from the true time.
    let ticket = |ttl: i64| keys.ticket("alice", &service, DOMAIN, ttl, None, &[]);
    let status = |ticket: &str| -> u16 {
        apache
            .request(APP)
            .header("Authorization", &format!("SSO {ticket}"))
            .send()
            .status
    };
    // Two minutes inside the skew allowance and ten minutes beyond it,
    // relative to each clock the server is given.
    let (inside, beyond) = (-120, -600);

    // The true time.
    let warm = ticket(30 * 60);
    let stale = ticket(beyond);
    for _ in 0..3 {
        assert_eq!(status(&warm), 200, "{}", apache.error_log());
    }
    assert_eq!(status(&ticket(inside)), 200);
    assert_eq!(status(&stale), 401);

    // An hour ahead: the warm ticket is past expiry + skew, cached or not.
    step_clock(&clock, HOUR);
    assert_eq!(status(&warm), 401, "a cached ticket outlived its expiry");
    assert_eq!(status(&ticket(HOUR + 30 * 60)), 200);
    assert_eq!(status(&ticket(HOUR + inside)), 200);
    assert_eq!(status(&ticket(HOUR + beyond)), 401);

    // An hour behind: the server goes by its clock, so a ticket the true
    // time calls stale is accepted, and the skew boundary moves with it.
    step_clock(&clock, -HOUR);
    assert_eq!(status(&stale), 200, "{}", apache.error_log());
    assert_eq!(status(&ticket(-HOUR + inside)), 200);
    assert_eq!(status(&ticket(-HOUR + beyond)), 401);

    // Back to the true time: what the slow clock let in (and cached) is
    // refused again; the warm ticket is good again.
    step_clock(&clock, 0);
    assert_eq!(status(&stale), 401, "a ticket cached under a slow clock");
    assert_eq!(status(&warm), 200);
    assert!(
        apache.error_log().contains("expired"),
        "{}",
        apache.error_log()
    );
}
