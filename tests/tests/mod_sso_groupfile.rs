//! `Require group` under AuthType SSO uses ticket groups, and outside it is
//! delegated to mod_authz_groupfile (AuthType Basic + AuthGroupFile), with
//! both modules loaded in one server.

mod mod_sso_common;

use mod_sso_common::*;
use tests::util::TestKeys;

#[test]
fn require_group_coexists_with_mod_authz_groupfile() {
    tests::return_unless_root!("apache2 as www-data");
    let keys = TestKeys::new();
    let extra = "\
<Location /basic/>\n  AuthType Basic\n  AuthName basic\n  AuthBasicProvider file\n\
  AuthUserFile @ROOT@/conf/htpasswd\n  AuthGroupFile @ROOT@/conf/groups\n  Require group wheel\n</Location>\n";
    let mut files = site_files();
    files.push(("htdocs/basic/index.html".into(), "basic\n".into(), 0o644));
    let apache = start_with_basic_auth(
        &[&keys.public_path],
        extra,
        files,
        "wheel: root1\n",
        &[("root1", "pw1"), ("other", "pw2")],
    );

    // Group file path: Basic users.
    let basic = |auth: &str| {
        apache
            .request("/basic/")
            .header("Authorization", auth)
            .send()
            .status
    };
    use_b64(|b64| {
        assert_eq!(basic(&format!("Basic {}", b64("root1:pw1"))), 200);
        assert_eq!(basic(&format!("Basic {}", b64("other:pw2"))), 401);
    });
    assert_eq!(apache.get("/basic/").status, 401);

    // Ticket path: the same directive name, ticket groups.
    let service = format!("{}/app/", apache.host_port());
    let names = cookie_names(&service);
    let admin = keys.ticket("root1", &service, DOMAIN, 600, None, &["admins"]);
    let wheel_only = keys.ticket("root1", &service, DOMAIN, 600, None, &["wheel"]);
    let get = |t: &str| {
        apache
            .request("/app/admins/")
            .cookie(&names.ticket, t)
            .send()
            .status
    };
    assert_eq!(get(&admin), 200);
    assert_eq!(
        get(&wheel_only),
        403,
        "group file membership does not count under AuthType SSO"
    );
}

fn use_b64(f: impl FnOnce(&dyn Fn(&str) -> String)) {
    let b64 = |s: &str| -> String {
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let b = s.as_bytes();
        let mut out = String::new();
        for c in b.chunks(3) {
            let n = (c[0] as u32) << 16
                | (*c.get(1).unwrap_or(&0) as u32) << 8
                | *c.get(2).unwrap_or(&0) as u32;
            for i in 0..4 {
                if i <= c.len() {
                    out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    };
    f(&b64)
}
