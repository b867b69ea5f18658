//! `[ui] templates = DIR`: an administrator's layout and stylesheet replace
//! the compiled-in ones (and follow a reload); a broken template stops the
//! start with an error naming the key and the file.

use tests::http::pct;
use tests::server::{add_user, Cookies, Setup, SsoServer};
use tests::util::TestKeys;

const LAYOUT: &str = "<!DOCTYPE html>\n<html lang=\"en\"><head><title>{{ site }}</title>\
<link rel=\"stylesheet\" href=\"/style.css\"></head>\n<body class=\"acme\">\
<p id=\"banner\">ACME intranet: {{ site }}</p>{{ content }}</body></html>\n";

fn setup(users: &std::path::Path, templates: &std::path::Path) -> Setup {
    let mut s = Setup::users_file(users);
    s.top_level = "title = \"<ACME>\"\n".into();
    s.tables = format!("[ui]\ntemplates = {templates:?}\n");
    s
}

/// In `dir`: a users file with alice, and an empty templates folder.
fn folders(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let users = dir.join("users");
    add_user(&users, "alice", "pw", &[]);
    let templates = dir.join("ui");
    std::fs::create_dir(&templates).unwrap();
    (users, templates)
}

#[test]
fn a_custom_layout_and_stylesheet_are_used_and_follow_a_reload() {
    let keys = TestKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let (users, templates) = folders(dir.path());
    std::fs::write(templates.join("layout.html"), LAYOUT).unwrap();
    std::fs::write(templates.join("style.css"), "body.acme{color:#000}\n").unwrap();
    let mut server = SsoServer::start(&keys, &setup(&users, &templates));

    let page = server.get(
        &format!("/?s={}", pct("wiki.test.example.org/")),
        &Cookies::new(),
    );
    assert_eq!(page.status, 200);
    // The site's name is escaped by the layout; the form is the server's.
    page.assert_body_has("<p id=\"banner\">ACME intranet: &lt;ACME&gt;</p>");
    assert!(page.body.contains("name=\"csrf\""));
    assert!(page.body.contains("name=\"password\""));
    // Error pages use it too.
    let refused = server.get(
        &format!("/?s={}", pct("evil.example.com/")),
        &Cookies::new(),
    );
    assert_eq!(refused.status, 403);
    refused.assert_body_has("id=\"banner\"");
    let css = server.get("/style.css", &Cookies::new());
    assert_eq!(css.body, "body.acme{color:#000}\n");

    // A new layout applies on reload; the stylesheet falls back to the
    // compiled-in one once removed.
    std::fs::write(
        templates.join("layout.html"),
        LAYOUT.replace("ACME intranet", "ACME v2"),
    )
    .unwrap();
    std::fs::remove_file(templates.join("style.css")).unwrap();
    let line = server.reload();
    assert!(line.contains("event=reload "), "{line}");
    let page = server.get(
        &format!("/?s={}", pct("wiki.test.example.org/")),
        &Cookies::new(),
    );
    page.assert_body_has("ACME v2: &lt;ACME&gt;");
    let css = server.get("/style.css", &Cookies::new());
    css.assert_body_has("--accent");

    // A broken layout on reload is refused; the old one keeps serving.
    std::fs::write(templates.join("layout.html"), "{% if site %}<p>").unwrap();
    let line = server.reload();
    assert!(line.contains("event=reload-refused"), "{line}");
    assert!(line.contains("ui.templates"), "{line}");
    let page = server.get(
        &format!("/?s={}", pct("wiki.test.example.org/")),
        &Cookies::new(),
    );
    page.assert_body_has("ACME v2");
}

#[test]
fn a_broken_template_is_refused_at_start_naming_the_file() {
    let keys = TestKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let (users, templates) = folders(dir.path());
    let layout = templates.join("layout.html");
    for (broken, why) in [
        ("<html>{% for x in %}</html>", "syntax error"),
        ("<html>{{ contents }}</html>", "an undefined variable"),
    ] {
        std::fs::write(&layout, broken).unwrap();
        let text = setup(&users, &templates).config_text(&keys, 1);
        let (ok, out) = SsoServer::try_config(&text);
        assert!(!ok, "{why}: started:\n{out}");
        assert!(out.contains("ui.templates"), "{why}: {out}");
        assert!(out.contains(&layout.display().to_string()), "{why}: {out}");
    }
    // A missing directory is refused too, naming the key.
    let text = setup(&users, &dir.path().join("nowhere")).config_text(&keys, 1);
    let (ok, out) = SsoServer::try_config(&text);
    assert!(!ok && out.contains("ui.templates"), "{out}");
}
