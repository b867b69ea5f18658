//! The client side against a real sshd: `ssotool token` gets tickets with
//! `ssh -T` and caches them; sshd's log counts the ssh logins. The HTTP
//! side (`ssotool fetch`) is tested against apache2 + mod_sso in
//! `ssh_apache.rs` and `ssh_apache_skew.rs`.

use std::os::unix::fs::MetadataExt;
use std::process::{Command, Output};

use sso_client::TicketCache;
use tests::ssh::{ClientKey, Realm, Sshd};
use tests::util::bin;

use tests::ssh::{REALM_API as API, REALM_DOMAIN as DOMAIN};

struct Setup {
    realm: Realm,
    key: ClientKey,
    sshd: Sshd,
    cache_home: tempfile::TempDir,
}

fn setup(ttl: u64) -> Option<Setup> {
    tests::return_unless_root!("creates a system account and runs sshd", None);
    let (realm, key) = Realm::with_alice(DOMAIN, &[API], ttl, "ops");
    let sshd = Sshd::start(&[&realm.name]);
    Some(Setup {
        realm,
        key,
        sshd,
        cache_home: tempfile::tempdir().unwrap(),
    })
}

impl Setup {
    fn destination(&self) -> String {
        format!("{}@127.0.0.1", self.realm.name)
    }

    fn cache(&self) -> TicketCache {
        TicketCache::new(self.cache_home.path().join("sso"))
    }

    /// `ssotool ARGS` with the cache in a private XDG_CACHE_HOME and the ssh
    /// options for the test sshd in SSO_SSH_OPTIONS.
    fn ssotool(&self, args: &[&str]) -> Output {
        Command::new(bin("ssotool"))
            .args(args)
            .env("XDG_CACHE_HOME", self.cache_home.path())
            .env(
                "SSO_SSH_OPTIONS",
                self.sshd.ssh_options(&self.key).join(" "),
            )
            .env_remove("SSO_SSH")
            .output()
            .expect("run ssotool")
    }

    fn logins(&self) -> usize {
        self.sshd.accepted_logins(&self.realm.name)
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn ssh_token_prints_and_caches_a_ticket() {
    let Some(s) = setup(600) else { return };
    // Options given on the command line this time, not by SSO_SSH_OPTIONS.
    let mut args = vec!["token".to_string(), s.destination(), API.to_string()];
    for o in s.sshd.ssh_options(&s.key) {
        args.push(format!("--ssh-option={o}"));
    }
    let out = Command::new(bin("ssotool"))
        .args(&args)
        .env("XDG_CACHE_HOME", s.cache_home.path())
        .env_remove("SSO_SSH_OPTIONS")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}\n{}", s.sshd.log());
    let ticket = text(&out.stdout).trim().to_owned();
    let verified = s.realm.verify(&ticket, API);
    assert!(verified.status.success(), "{ticket:?}: {verified:?}");
    assert_eq!(s.logins(), 1);

    let path = s.cache().entry_path(&s.destination(), Some(API));
    let meta = std::fs::metadata(&path).expect("cached ticket file");
    assert_eq!(meta.mode() & 0o777, 0o600);
    assert_eq!(
        std::fs::metadata(path.parent().unwrap()).unwrap().mode() & 0o777,
        0o700
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), ticket);

    // Reused while valid: same ticket, no new ssh login.
    let out = s.ssotool(&["token", &s.destination(), API]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(text(&out.stdout).trim(), ticket);
    assert_eq!(s.logins(), 1);

    // --fresh goes to the realm again.
    let out = s.ssotool(&["token", "--fresh", &s.destination(), API]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(s.logins(), 2);

    // A refusal of the realm comes back as a failure with its reason.
    let out = s.ssotool(&[
        "token",
        "--no-cache",
        &s.destination(),
        "other.example.org/",
    ]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("not allowed"), "{out:?}");
}
