//! What the mod_sso tests share: a site with protected locations, a CGI
//! that prints the environment, and ticket helpers.
#![allow(dead_code)]

use sso_core::flow::{CookieNames, CookiePolicy};
use sso_core::web::ServiceName;
use sso_core::{Ticket, Version};
use tests::apache::{Apache, ApacheConfig, Mpm};
use tests::util::TestKeys;

pub const DOMAIN: &str = "test.example";
pub const LOGIN: &str = "https://login.test.example/";
/// The path-scoped ticket cookie name of plain http (and of mod_sso before
/// `__Host-` cookies): on https, a cookie of this name is one a sibling
/// host could have planted, and must never count.
pub const LEGACY_TICKET_COOKIE: &str = "SSO_ticket";

/// The names mod_sso gives its cookies for `service` on https: `__Host-`
/// cookies derived from the service (docs/mod_sso.md, "Cookies").
pub fn cookie_names(service: &str) -> CookieNames {
    let service = ServiceName::parse(service).expect("service name");
    CookieNames::for_request(&service, &CookiePolicy::default(), true)
}

/// A CGI prints the variables mod_sso sets. It reads its request body
/// first, as RFC 3875 asks: under mod_cgid a script that exits with the body
/// unread makes the kernel reset the socket, and httpd then drops the
/// response (curl: "empty reply"), at random.
pub const ENV_CGI: &str = "#!/bin/sh\nhead -c \"${CONTENT_LENGTH:-0}\" >/dev/null\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\necho \"REMOTE_USER=$REMOTE_USER\"\necho \"AUTH_TYPE=$AUTH_TYPE\"\necho \"SSO_USER=$SSO_USER\"\necho \"SSO_GROUPS=$SSO_GROUPS\"\necho \"SSO_SERVICE=$SSO_SERVICE\"\necho \"SSO_TICKET=$SSO_TICKET\"\necho \"SSO_TICKET_PROOF=$SSO_TICKET_PROOF\"\n";

/// The site: `/app/` needs a valid user, with nested locations for
/// `Require user`, `Require group`, `Require sso-group`, `SSOGroups`, and an
/// exported ticket; `/open/` has no auth.
pub fn site_config(key_files: &[&std::path::Path]) -> String {
    let keys: Vec<String> = key_files
        .iter()
        .map(|k| format!("SSOPublicKeyFile {}\n", k.display()))
        .collect();
    format!(
        "SSOLoginServer {LOGIN}\nSSODomain {DOMAIN}\n{}\
<Location /app/>\n  AuthType SSO\n  SSOService @HOSTPORT@/app/\n  Require valid-user\n</Location>\n\
<Location /app/alice/>\n  Require user alice\n</Location>\n\
<Location /app/admins/>\n  Require group admins\n</Location>\n\
<Location /app/ssogroup/>\n  Require sso-group admins staff\n</Location>\n\
<Location /app/needgroup/>\n  SSOGroups admins,staff\n</Location>\n\
<Location /app/export/>\n  SSOExportTicket On\n</Location>\n",
        keys.concat()
    )
}

pub fn site_files() -> Vec<(String, String, u32)> {
    let mut files = vec![(
        "htdocs/open/index.html".to_owned(),
        "open\n".to_owned(),
        0o644,
    )];
    for dir in [
        "app",
        "app/alice",
        "app/admins",
        "app/ssogroup",
        "app/needgroup",
        "app/export",
    ] {
        files.push((format!("htdocs/{dir}/env.cgi"), ENV_CGI.to_owned(), 0o755));
        files.push((
            format!("htdocs/{dir}/index.html"),
            "protected\n".to_owned(),
            0o644,
        ));
    }
    files
}

pub struct Site {
    pub apache: Apache,
    pub keys: TestKeys,
}

impl Site {
    pub fn start(mpm: Mpm) -> Site {
        let keys = TestKeys::new();
        let apache = start_with(mpm, &[&keys.public_path], "");
        Site { apache, keys }
    }

    /// `127.0.0.1:PORT/app/`
    pub fn service(&self) -> String {
        format!("{}/app/", self.apache.host_port())
    }

    /// The cookie names of the service.
    pub fn cookies(&self) -> CookieNames {
        cookie_names(&self.service())
    }

    /// A browser login through `sso_login` with a fresh nonce: the ticket,
    /// and the cookies (ticket and binding, name and value) the browser
    /// sends afterwards.
    pub fn browser_login(&self, user: &str, groups: &[&str]) -> (String, Vec<(String, String)>) {
        let (t, _, cookies) = self.browser_login_keeping_the_secret(user, groups);
        (t, cookies)
    }

    /// [`Site::browser_login`], also returning the secret of the nonce
    /// cookie (the ticket carries only its commitment).
    pub fn browser_login_keeping_the_secret(
        &self,
        user: &str,
        groups: &[&str],
    ) -> (String, String, Vec<(String, String)>) {
        let secret = sso_core::web::new_nonce();
        let nonce = sso_core::web::nonce_commitment(&secret);
        let names = self.cookies();
        let t = self
            .keys
            .ticket(user, &self.service(), DOMAIN, 600, Some(&nonce), groups);
        let r = self
            .apache
            .request(&format!(
                "/app/sso_login?t={}",
                sso_core::web::percent_encode(&t)
            ))
            .cookie(&names.nonce, &secret)
            .send();
        assert_eq!(r.status, 302, "sso_login: {r:?}");
        assert!(
            !r.location()
                .unwrap_or_default()
                .contains("sso_login?error="),
            "sso_login refused: {r:?}"
        );
        let value = |name: &str| {
            let set = r.set_cookie_line(name).expect("cookie set at sso_login");
            let pair = set.split(';').next().unwrap_or_default();
            pair.split_once('=')
                .map(|(_, v)| v.to_owned())
                .unwrap_or_default()
        };
        let cookies = vec![
            (names.ticket.clone(), value(&names.ticket)),
            (names.binding.clone(), value(&names.binding)),
        ];
        (t, secret, cookies)
    }

    /// A valid v4 ticket for the service.
    pub fn ticket(&self, user: &str, groups: &[&str]) -> String {
        self.keys
            .ticket(user, &self.service(), DOMAIN, 600, None, groups)
    }
}

pub fn start_with(mpm: Mpm, key_files: &[&std::path::Path], extra: &str) -> Apache {
    Apache::start(ApacheConfig {
        mpm,
        config: site_config(key_files) + extra,
        files: site_files(),
        ..ApacheConfig::default()
    })
}

/// The site of `site_config` and `site_files` over plain http (event MPM).
pub fn start_plain_http(key_files: &[&std::path::Path]) -> Apache {
    Apache::start(ApacheConfig {
        tls: false,
        config: site_config(key_files),
        files: site_files(),
        ..ApacheConfig::default()
    })
}

/// Writes `conf/htpasswd` under the server root with `users` (name,
/// password; bcrypt, by Apache's own `htpasswd`), readable by the server's
/// user.
pub fn write_htpasswd(apache: &Apache, users: &[(&str, &str)]) {
    let htpasswd = apache.root().join("conf/htpasswd");
    for (user, pass) in users {
        let mut cmd = std::process::Command::new("htpasswd");
        if !htpasswd.exists() {
            cmd.arg("-c");
        }
        let st = cmd
            .args(["-b", "-B"])
            .arg(&htpasswd)
            .args([user, pass])
            .status()
            .expect("htpasswd");
        assert!(st.success());
    }
    std::fs::set_permissions(
        &htpasswd,
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
}

/// A signed v3 ticket (no nonce field).
pub fn ticket_v3(keys: &TestKeys, user: &str, service: &str, groups: &[&str]) -> String {
    let mut t = Ticket::new(user, service, DOMAIN, sso_core::unix_now() + 600);
    t.version = Version::V3;
    t.groups = groups.iter().map(|g| g.to_string()).collect();
    keys.signer.sign(&t).expect("sign v3")
}

/// The body line `KEY=value` of the env CGI.
pub fn cgi_value<'a>(body: &'a str, key: &str) -> Option<&'a str> {
    body.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
}

/// Polls until `f` holds (old-generation children may finish a request or
/// two after a restart); fails after 60 s.
pub fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !f() {
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// GET `path` with `Authorization: SSO ticket`.
pub fn with_ticket(apache: &Apache, path: &str, ticket: &str) -> tests::apache::Response {
    apache
        .request(path)
        .header("Authorization", &format!("SSO {ticket}"))
        .send()
}

/// The status of `/app/` with `Authorization: SSO ticket`.
pub fn authorized_status(apache: &Apache, ticket: &str) -> u16 {
    with_ticket(apache, "/app/", ticket).status
}

/// Two tests of `body(mpm)`, one for each MPM: `$event` on the event MPM,
/// `$prefork` on prefork.
#[macro_export]
macro_rules! test_on_both_mpms {
    ($event:ident, $prefork:ident, $body:path) => {
        #[test]
        fn $event() {
            $body(tests::apache::Mpm::Event);
        }

        #[test]
        fn $prefork() {
            $body(tests::apache::Mpm::Prefork);
        }
    };
}

/// The site of `site_config` plus `extra` with these further `modules`
/// and `files` (event MPM, https).
pub fn start_with_modules(
    modules: &[&str],
    key_files: &[&std::path::Path],
    extra: &str,
    files: Vec<(String, String, u32)>,
) -> Apache {
    Apache::start(ApacheConfig {
        modules: modules.iter().map(|m| m.to_string()).collect(),
        config: site_config(key_files) + extra,
        files,
        ..ApacheConfig::default()
    })
}

/// [`start_with_modules`] with mod_auth_basic and mod_authn_file, the group
/// file `conf/groups` holding `groups`, and `conf/htpasswd` these `users`.
pub fn start_with_basic_auth(
    key_files: &[&std::path::Path],
    extra: &str,
    mut files: Vec<(String, String, u32)>,
    groups: &str,
    users: &[(&str, &str)],
) -> Apache {
    files.push(("conf/groups".into(), groups.into(), 0o644));
    let apache = start_with_modules(&["auth_basic", "authn_file"], key_files, extra, files);
    write_htpasswd(&apache, users);
    apache
}
