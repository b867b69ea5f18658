//! The OpenID Connect provider on the LDAP backend, against a real slapd:
//! Authlib (tests/oidc/authlib_rp.py, scopes `profile` and `email`) gets
//! the display name (`displayName`, else `cn`: `name_attributes`) and the
//! e-mail address (`mail`: `email_attribute`) of the user's entry in the
//! id_token and from userinfo; an entry without `mail` gets no `email`
//! claim, never an empty or made-up one.

use tests::ldap::{Slapd, LDAP_SUFFIX};
use tests::oidc::authlib_login;
use tests::server::{listen_port, oidc_gen_key, Setup, SsoServer};
use tests::util::TestKeys;

const SECRET: &str = "an-ldap-client-secret-0123456789";
const CB: &str = "http://127.0.0.1:9/cb";

#[test]
fn name_and_email_come_from_the_directory_entry() {
    let ldap = Slapd::start(
        &[("alice", "alice-ldap-pw"), ("bob", "bob-ldap-pw")],
        &[("staff", &["alice", "bob"])],
    );
    ldap.modify(&format!(
        "dn: uid=alice,ou=people,{LDAP_SUFFIX}\nchangetype: modify\nadd: mail\n\
         mail: alice@example.org\n-\nadd: displayName\ndisplayName: Alice Liddell\n"
    ));
    let keys = TestKeys::new();
    let (_dir, key) = tests::util::temp_path("oidc.pem");
    oidc_gen_key(&key);
    let hash = sso_oidc::token::hash_secret(SECRET).unwrap();
    let mut setup = Setup::users_file(std::path::Path::new("/unused"));
    setup.auth = format!(
        "backend = \"ldap\"\n[auth.ldap]\nurl = \"{}\"\n\
         user_dn_template = \"uid={{user}},ou=people,{LDAP_SUFFIX}\"\n\
         group_base = \"ou=groups,{LDAP_SUFFIX}\"\n",
        ldap.url()
    );
    let server = SsoServer::start_with(&keys, &setup, |text| {
        let port = listen_port(&text);
        format!(
            "{text}\n[oidc]\nissuer = \"http://127.0.0.1:{port}\"\nsigning_key_file = {key:?}\n\
             [[oidc.client]]\nid = \"web\"\nsecret_hash = '{hash}'\nredirect_uris = [\"{CB}\"]\n"
        )
    });
    let issuer = format!("http://127.0.0.1:{}", server.port);

    let seen = authlib_login(
        &server,
        &issuer,
        ("web", SECRET),
        CB,
        "alice",
        "alice-ldap-pw",
    );
    for claims in [&seen["id_token"], &seen["userinfo"]] {
        assert_eq!(claims["sub"], "alice", "{seen}");
        assert_eq!(claims["preferred_username"], "alice", "{seen}");
        assert_eq!(claims["name"], "Alice Liddell", "{seen}");
        assert_eq!(claims["email"], "alice@example.org", "{seen}");
        assert_eq!(claims["groups"], serde_json::json!(["staff"]), "{seen}");
    }

    // bob's entry has a cn and no mail.
    let seen = authlib_login(&server, &issuer, ("web", SECRET), CB, "bob", "bob-ldap-pw");
    for claims in [&seen["id_token"], &seen["userinfo"]] {
        assert_eq!(claims["name"], "bob", "{seen}");
        assert!(claims.get("email").is_none(), "{seen}");
        assert!(claims.get("email_verified").is_none(), "{seen}");
    }
}
