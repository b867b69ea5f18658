//! The SSO environment reaches SSI (mod_include) and mod_rewrite, not only
//! CGI and proxied backends.

mod mod_sso_common;

use mod_sso_common::*;
use tests::util::TestKeys;

#[test]
fn sso_env_reaches_ssi_and_mod_rewrite() {
    tests::return_unless_root!("apache2 as www-data");
    let keys = TestKeys::new();
    let extra = "\
<Directory @DOCROOT@/app/ssi>\n  Options +Includes\n  AddOutputFilter INCLUDES .shtml\n</Directory>\n\
<Location /app/rw/>\n  RewriteEngine On\n  RewriteCond %{ENV:SSO_USER} ^alice$\n  RewriteRule ^ - [E=REWRITE_SAW:%{ENV:SSO_USER}]\n</Location>\n";
    let mut files = site_files();
    files.push((
        "htdocs/app/ssi/page.shtml".into(),
        "user=<!--#echo var=\"SSO_USER\" --> groups=<!--#echo var=\"SSO_GROUPS\" -->\n".into(),
        0o644,
    ));
    files.push((
        "htdocs/app/rw/env.cgi".into(),
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\necho \"REWRITE_SAW=$REWRITE_SAW\"\n".into(),
        0o755,
    ));
    let apache = start_with_modules(&["include", "rewrite"], &[&keys.public_path], extra, files);
    let service = format!("{}/app/", apache.host_port());
    let names = cookie_names(&service);
    let alice = keys.ticket("alice", &service, DOMAIN, 600, None, &["a", "b"]);
    let r = apache
        .request("/app/ssi/page.shtml")
        .cookie(&names.ticket, &alice)
        .send();
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body.trim(), "user=alice groups=a,b");
    let r = apache
        .request("/app/rw/env.cgi")
        .cookie(&names.ticket, &alice)
        .send();
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        cgi_value(&r.body, "REWRITE_SAW"),
        Some("alice"),
        "{}",
        r.body
    );
    let bob = keys.ticket("bob", &service, DOMAIN, 600, None, &[]);
    let r = apache
        .request("/app/rw/env.cgi")
        .cookie(&names.ticket, &bob)
        .send();
    assert_eq!(cgi_value(&r.body, "REWRITE_SAW"), Some(""), "{}", r.body);
}
