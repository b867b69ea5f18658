//! The login server's memory after many password checks: each Argon2id
//! check allocates a 19 MiB block, and the server keeps glibc from
//! parking those blocks in its heap (sso-server/src/main.rs,
//! `return_password_hash_memory_to_the_kernel`). Without that, 40 logins
//! leave several hundred MB resident, the figure bench/soak_login.sh
//! first showed.

use tests::server::{pct, users_file, Cookies, Setup, SsoServer};
use tests::util::TestKeys;

const PASSWORD: &str = "correct horse battery staple";

fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS in /proc/{pid}/status"))
}

#[test]
fn password_checks_do_not_stay_resident() {
    let keys = TestKeys::new();
    let users = tempfile::tempdir().unwrap();
    let users_file = users_file(users.path(), &[("alice", PASSWORD)]);
    let server = SsoServer::start(&keys, &Setup::users_file(&users_file));
    let path = format!("/?s={}&d=", pct("wiki.test.example.org/"));
    let before = resident_kib(server.pid());

    // Four at a time, as several browsers log in at once: the checks run on
    // different threads, each of which would keep its own heap.
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..10 {
                    let mut jar = Cookies::default();
                    let resp = server.login(&mut jar, &path, "alice", PASSWORD);
                    assert_eq!(resp.status, 302, "login failed: {}", resp.body);
                }
            });
        }
    });
    let after = resident_kib(server.pid());
    // 4 blocks in flight are 76 MiB; once every check has ended the server
    // is back near where it started. 40 blocks parked would be 760 MiB.
    assert!(
        after < before + 48 * 1024,
        "resident memory grew from {before} kB to {after} kB over 40 logins"
    );
}
