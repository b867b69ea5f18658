//! Both MPMs, per-child state across fork, and a graceful restart that
//! picks up a changed key file.

mod mod_sso_common;

use mod_sso_common::*;
use tests::apache::{Apache, Mpm};
use tests::util::TestKeys;

fn flow_works(apache: &Apache, keys: &TestKeys) {
    let service = format!("{}/app/", apache.host_port());
    let names = cookie_names(&service);
    let r = apache.get("/app/env.cgi");
    assert_eq!(r.status, 302, "{r:?}");
    let t = keys.ticket("erin", &service, DOMAIN, 600, None, &["admins"]);
    // Many requests, so several children (prefork) / threads (event) each
    // verify with their own copy of the per-process state.
    for i in 0..40 {
        let r = apache
            .request("/app/env.cgi")
            .cookie(&names.ticket, &t)
            .send();
        assert_eq!(r.status, 200, "request {i}: {r:?}");
        assert_eq!(cgi_value(&r.body, "REMOTE_USER"), Some("erin"));
        let r = apache
            .request("/app/alice/")
            .cookie(&names.ticket, &t)
            .send();
        assert_eq!(r.status, 403, "request {i}");
    }
    let r = apache.get("/app/sso_logout");
    assert_eq!((r.status, r.body.as_str()), (200, "OK"));
}

#[test]
fn event_mpm_flow() {
    mpm_flow(Mpm::Event, None);
}

#[test]
fn prefork_mpm_flow() {
    mpm_flow(Mpm::Prefork, Some("mpm_prefork:notice"));
}

/// The flow on a server of `mpm`, whose error log says `started` if given.
fn mpm_flow(mpm: Mpm, started: Option<&str>) {
    tests::return_unless_root!("apache2 as www-data");
    let keys = TestKeys::new();
    let apache = start_with(mpm, &[&keys.public_path], "");
    if let Some(started) = started {
        assert!(
            apache.error_log().contains(started),
            "{}",
            apache.error_log()
        );
    }
    flow_works(&apache, &keys);
}

fn graceful_restart_with_changed_key(mpm: Mpm) {
    tests::return_unless_root!("apache2 as www-data");
    let old = TestKeys::new();
    let new = TestKeys::new();
    let (_key_dir, key_file) = tests::util::temp_path("sso.pub");
    std::fs::copy(&old.public_path, &key_file).unwrap();
    let mut apache = start_with(mpm, &[&key_file], "");
    let service = format!("{}/app/", apache.host_port());
    let t_old = old.ticket("olga", &service, DOMAIN, 600, None, &[]);
    let t_new = new.ticket("nina", &service, DOMAIN, 600, None, &[]);
    let status = |t: &str| authorized_status(&apache, t);
    assert_eq!(status(&t_old), 200);
    assert_eq!(status(&t_new), 401);

    std::fs::copy(&new.public_path, &key_file).unwrap();
    apache.graceful();
    let status = |t: &str| authorized_status(&apache, t);
    eventually("the new key is accepted", || status(&t_new) == 200);
    eventually("the old key is refused", || status(&t_old) == 401);
    // And stays so on every child.
    for _ in 0..20 {
        assert_eq!(status(&t_new), 200);
        assert_eq!(status(&t_old), 401);
    }
}

test_on_both_mpms!(
    graceful_restart_reloads_keys_event,
    graceful_restart_reloads_keys_prefork,
    graceful_restart_with_changed_key
);
