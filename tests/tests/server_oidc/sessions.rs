//! The provider over a session: silent answers, prompt=login and logout,
//! refresh and its account re-check, userinfo, the log, the signing key,
//! the second factor, and omniauth_openid_connect.

use super::*;

#[test]
fn the_session_answers_silently_until_prompt_login_or_logout() {
    let (_, mut jar) = code_for("web", WEB_CB, "alice", &[]);
    let silent = get(&authorize_path("web", WEB_CB, &[("prompt", "none")]), &jar);
    param(&silent, WEB_CB, "code");
    // max_age: a password older than it is asked again (the clock must
    // have moved past the login's second for max_age=0 to be exceeded).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let fresh = get(&authorize_path("web", WEB_CB, &[("max_age", "3600")]), &jar);
    param(&fresh, WEB_CB, "code");
    let old = get(&authorize_path("web", WEB_CB, &[("max_age", "0")]), &jar);
    assert_eq!(old.status, 200, "an exceeded max_age shows the form");
    assert!(old.form_field("o").is_some());
    let forced = get(&authorize_path("web", WEB_CB, &[("prompt", "login")]), &jar);
    assert_eq!(forced.status, 200, "prompt=login shows the form");
    let back = log_in(&forced, &mut jar, "alice", "alice password");
    let code = param(&back, WEB_CB, "code");
    let (status, json) = redeem(&code, WEB_CB, None);
    assert_eq!(status, 200);
    let id_token = json["id_token"].as_str().unwrap().to_owned();
    let refresh = json["refresh_token"].as_str().unwrap().to_owned();
    // RP-initiated logout with the hint of this login: to the registered
    // URI, the session over, its refresh tokens revoked.
    let bye = get(
        &format!(
            "/oidc/logout?id_token_hint={}&post_logout_redirect_uri={}&state=s9",
            pct(&id_token),
            pct(BYE)
        ),
        &jar,
    );
    assert_eq!(bye.status, 302, "{}", bye.body);
    assert_eq!(bye.location(), Some(format!("{BYE}?state=s9").as_str()));
    jar.update(&bye);
    let after = get(&authorize_path("web", WEB_CB, &[("prompt", "none")]), &jar);
    assert_eq!(param(&after, WEB_CB, "error"), "login_required");
    let (status, json, _) = token(
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        Some(("web", SECRET)),
    );
    assert_eq!(
        (status, json["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // A hint signed by another key (another issuer's): a page.
    let stranger = dir_key_signs(&claims_of(&id_token));
    let r = get(&logout_path(&stranger, BYE), &Cookies::new());
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.location().is_none());
    // An unregistered post-logout URI: a page, no redirect.
    let r = get(
        &logout_path(&id_token, "http://127.0.0.1:9/evil"),
        &Cookies::new(),
    );
    assert_eq!(r.status, 400);
    assert!(r.location().is_none());
}

#[test]
fn a_refresh_rechecks_the_account() {
    let (code, _) = code_for("web", WEB_CB, "carol", &[]);
    let (status, json) = redeem(&code, WEB_CB, None);
    assert_eq!(status, 200);
    let access = json["access_token"].as_str().unwrap().to_owned();
    let refresh = json["refresh_token"].as_str().unwrap().to_owned();
    let info = request(
        &format!("{}/oidc/userinfo", issuer()),
        "GET",
        &[("Authorization".into(), format!("Bearer {access}"))],
        None,
    );
    assert_eq!(info.status, 200, "{}", info.body);
    let out = Command::new(bin("sso-server"))
        .args(["user", "del", "--users-file"])
        .arg(&fixture().users)
        .arg("carol")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let (status, json, _) = token(
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        Some(("web", SECRET)),
    );
    assert_eq!(
        (status, json["error"].as_str()),
        (400, Some("invalid_grant")),
        "{json}"
    );
    let info = request(
        &format!("{}/oidc/userinfo", issuer()),
        "GET",
        &[("Authorization".into(), format!("Bearer {access}"))],
        None,
    );
    assert_eq!(info.status, 401);
}

#[test]
fn userinfo_refuses_tokens_it_did_not_sign_so() {
    let (code, _) = code_for("web", WEB_CB, "alice", &[]);
    let (_, json) = redeem(&code, WEB_CB, None);
    let access = json["access_token"].as_str().unwrap();
    let id_token = json["id_token"].as_str().unwrap();
    let parts: Vec<&str> = access.split('.').collect();
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"at+jwt"}"#),
        parts[1]
    );
    for (what, token) in [
        ("alg none", none.as_str()),
        ("an id_token", id_token),
        ("nothing", ""),
    ] {
        let r = request(
            &format!("{}/oidc/userinfo", issuer()),
            "GET",
            &[("Authorization".into(), format!("Bearer {token}"))],
            None,
        );
        assert_eq!(r.status, 401, "{what}");
        assert!(
            r.header("www-authenticate")
                .is_some_and(|h| h.contains("invalid_token")),
            "{what}"
        );
    }
}

#[test]
fn no_code_token_or_secret_reaches_the_log() {
    let (code, _) = code_for("web", WEB_CB, "alice", &[]);
    let (_, json) = redeem(&code, WEB_CB, None);
    let log = fixture().server.log();
    assert!(log.contains("event=oidc-code"), "{log}");
    for secret in [
        code.as_str(),
        SECRET,
        json["access_token"].as_str().unwrap(),
        json["refresh_token"].as_str().unwrap(),
    ] {
        assert!(!log.contains(secret));
    }
}

#[test]
fn a_bad_signing_key_stops_the_start_naming_the_key_and_the_file() {
    let keys = TestKeys::new();
    let (dir, users) = tests::util::temp_path("users");
    add_user(&users, "dave", "dave password", &[]);
    let ed25519 = dir.path().join("ed25519.pem");
    let out = Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(&ed25519)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let readable = dir.path().join("readable.pem");
    oidc_gen_key(&readable);
    std::fs::set_permissions(
        &readable,
        std::os::unix::fs::PermissionsExt::from_mode(0o640),
    )
    .unwrap();
    let base = Setup::users_file(&users).config_text(&keys, 8080);
    for (key, why) in [
        (&ed25519, "not an RSA private key"),
        (&readable, "chmod 600"),
    ] {
        let text = format!(
            "{base}\n[oidc]\nissuer = \"https://login.example.org\"\nsigning_key_file = {key:?}\n"
        );
        let (ok, out) = SsoServer::try_config(&text);
        assert!(!ok, "{out}");
        assert!(out.contains("oidc.signing_key_file"), "{out}");
        assert!(out.contains(key.to_str().unwrap()), "{out}");
        assert!(out.contains(why), "{out}");
    }
    // A client with a bad redirect URI is refused by its key.
    let good = dir.path().join("good.pem");
    std::fs::copy(&readable, &good).unwrap();
    std::fs::set_permissions(&good, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let text = format!(
        "{base}\n[oidc]\nissuer = \"https://login.example.org\"\nsigning_key_file = {good:?}\n\
         [[oidc.client]]\nid = \"x\"\npublic = true\nredirect_uris = [\"http://evil.example/cb\"]\n"
    );
    let (ok, out) = SsoServer::try_config(&text);
    assert!(!ok, "{out}");
    assert!(out.contains("oidc.client[x].redirect_uris"), "{out}");
}

#[test]
fn a_second_factor_policy_for_oidc_client_applies_to_its_logins() {
    // A password login for a client the policy does not cover.
    let (_, mut jar) = code_for("web", WEB_CB, "erin", &[]);
    // prompt=none cannot ask for the factor.
    let r = get(
        &authorize_path("secure", SECURE_CB, &[("prompt", "none")]),
        &jar,
    );
    assert_eq!(param(&r, SECURE_CB, "error"), "interaction_required");
    // Without it: the second-factor step, carrying the request.
    let step = get(&authorize_path("secure", SECURE_CB, &[]), &jar);
    assert_eq!(step.status, 200, "{}", step.body);
    jar.update(&step);
    let csrf = step.form_field("csrf").unwrap();
    let o = step.form_field("o").expect("the request rides along");
    let code = tests::totp::oathtool(&fixture().erin_totp, None);
    let resp = fixture().server.post(
        "/second-factor",
        &jar,
        &[("csrf", &csrf), ("o", &o), ("code", &code)],
    );
    let back = follow(resp, &mut jar);
    let code = param(&back, SECURE_CB, "code");
    let (status, json, _) = token(
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", SECURE_CB),
        ],
        Some(("secure", SECRET)),
    );
    assert_eq!(status, 200, "{json}");
    let id = claims_of(json["id_token"].as_str().unwrap());
    assert_eq!(id["amr"], serde_json::json!(["pwd", "otp"]));
    assert_eq!(id["acr"], "2");
    assert_eq!(id["sub"], "erin");
}

/// omniauth_openid_connect (Debian's ruby-omniauth-openid-connect, the
/// strategy GitLab uses) as a third relying party (tests/oidc/omniauth_rp.rb):
/// its discovery and authorization URL; the browser's part (the login
/// form) by this test's HTTP client; then its callback phase: the code
/// exchanged, the id_token verified against the JWKS, userinfo.
#[test]
fn omniauth_openid_connect_logs_in_through_discovery_and_the_code_flow() {
    use std::io::{BufRead, BufReader, Write};
    let mut child = Command::new("ruby")
        .arg(workspace_root().join("tests/oidc/omniauth_rp.rb"))
        .args([&issuer(), "web", SECRET, WEB_CB])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("ruby");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let authorize = line.trim().to_owned();
    assert!(
        authorize.starts_with(&format!("{}/oidc/authorize?", issuer())),
        "{authorize:?}: {:?}",
        child.wait_with_output()
    );
    let asked: Vec<(String, String)> = query_params(&authorize);
    let has = |k: &str| asked.iter().any(|(n, v)| n == k && !v.is_empty());
    assert!(has("state") && has("nonce"), "{authorize}");
    let mut jar = Cookies::new();
    let page = get(&path_of(&authorize), &jar);
    let back = log_in(&page, &mut jar, "alice", "alice password");
    assert_eq!(back.status, 302, "{}", back.body);
    let callback = back.location().unwrap().to_owned();
    assert!(callback.starts_with(WEB_CB), "{callback}");
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{callback}").unwrap();
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    let status = child.wait_with_output().unwrap();
    assert!(
        status.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&status.stderr),
        fixture().server.log()
    );
    let seen: Value = serde_json::from_str(rest.trim()).unwrap_or_else(|e| panic!("{e}: {rest}"));
    assert_eq!(seen["uid"], "alice", "{seen}");
    assert_eq!(seen["info"]["nickname"], "alice", "{seen}");
    assert_eq!(seen["raw_info"]["sub"], "alice", "{seen}");
    assert_eq!(seen["raw_info"]["iss"], issuer(), "{seen}");
    assert_eq!(
        seen["raw_info"]["groups"],
        serde_json::json!(["staff", "dev"]),
        "{seen}"
    );
    assert_eq!(seen["has_id_token"], true, "{seen}");
}
