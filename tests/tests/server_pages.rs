//! The login server's pages in a real chromium (chromedriver): each page
//! (login form, login form with an error, error page, logout confirmation,
//! logged out) at desktop and phone width, screenshotted into the test
//! artifacts directory (`test-artifacts/`, not committed), and checked for
//! the accessibility basics: `<html lang>`, a label for every input, text
//! contrast of at least 4.5:1 computed from the rendered style, a visible
//! focus ring when moving by keyboard, and no sideways scrolling on a phone.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tests::server::{users_file, Browser, Setup, SsoServer};
use tests::util::{artifacts_dir, TestKeys};

const PASSWORD: &str = "pages-password";

/// Widths the pages are checked at: a desktop window and a phone.
const SIZES: [(&str, u32, u32); 2] = [("desktop", 1280, 800), ("phone", 375, 740)];

/// A throwaway CA (the one the browser trusts) and a certificate for
/// 127.0.0.1 signed by it: (CA, certificate, key).
fn certificate(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let ca = tests::tls::Ca::new(dir, "pages test CA");
    let (cert, key) = ca.issue("127.0.0.1");
    (ca.cert, cert, key)
}

/// The WCAG 2 relative luminance of `rgb(r, g, b)` / `rgba(...)`.
fn luminance(css: &str) -> f64 {
    let inner = css
        .trim_start_matches("rgba(")
        .trim_start_matches("rgb(")
        .trim_end_matches(')');
    let c: Vec<f64> = inner
        .split(',')
        .take(3)
        .map(|v| {
            v.trim()
                .parse::<f64>()
                .unwrap_or_else(|_| panic!("colour {css}"))
        })
        .collect();
    assert_eq!(c.len(), 3, "colour {css}");
    let lin = |v: f64| {
        let s = v / 255.0;
        if s <= 0.03928 {
            s / 12.92
        } else {
            ((s + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2])
}

fn contrast(a: &str, b: &str) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// For every element that shows text: its colour and the first opaque
/// background behind it (itself or an ancestor).
const TEXT_COLOURS: &str = r#"
const out = [];
for (const el of document.body.querySelectorAll('*')) {
  const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
  const field = el.tagName === 'INPUT' && el.type !== 'hidden';
  if (!own && !field) continue;
  const r = el.getBoundingClientRect();
  if (r.width < 2 || r.height < 2) continue;
  let bg = null;
  for (let a = el; a; a = a.parentElement) {
    const c = getComputedStyle(a).backgroundColor;
    if (c && c !== 'transparent' && !c.startsWith('rgba(0, 0, 0, 0)')) { bg = c; break; }
  }
  out.push([el.tagName + (el.id ? '#' + el.id : ''), getComputedStyle(el).color, bg || 'rgb(255, 255, 255)']);
}
return out;
"#;

/// Inputs (not hidden) without a label, buttons without text, the
/// document's language, and whether the page scrolls sideways.
const BASICS: &str = r#"
const unlabelled = Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(i => i.type !== 'hidden')
  .filter(i => !(i.labels && i.labels.length) && !i.getAttribute('aria-label'))
  .map(i => i.name || i.id);
const mute = Array.from(document.querySelectorAll('button'))
  .filter(b => !b.textContent.trim() && !b.getAttribute('aria-label')).length;
return {
  lang: document.documentElement.lang,
  unlabelled: unlabelled,
  mute: mute,
  h1: document.querySelectorAll('h1').length,
  main: document.querySelectorAll('main').length,
  sideways: document.documentElement.scrollWidth > window.innerWidth + 1
};
"#;

/// Screenshots `name` at both widths and checks the basics at each.
fn check_page(browser: &Browser, name: &str) {
    for (size, w, h) in SIZES {
        browser.set_window_size(w, h);
        let basics = browser.execute(BASICS);
        assert_eq!(basics["lang"], "en", "{name}: {basics}");
        assert_eq!(
            basics["unlabelled"],
            Value::Array(vec![]),
            "{name}: {basics}"
        );
        assert_eq!(basics["mute"], 0, "{name}: {basics}");
        assert_eq!(basics["h1"], 1, "{name}: {basics}");
        assert_eq!(basics["main"], 1, "{name}: {basics}");
        assert_eq!(basics["sideways"], false, "{name} at {size}: {basics}");
        let colours = browser.execute(TEXT_COLOURS);
        let colours = colours.as_array().expect("array");
        assert!(!colours.is_empty(), "{name}: no text found");
        for c in colours {
            let (what, fg, bg) = (
                c[0].as_str().unwrap_or(""),
                c[1].as_str().unwrap_or(""),
                c[2].as_str().unwrap_or(""),
            );
            let ratio = contrast(fg, bg);
            assert!(
                ratio >= 4.5,
                "{name}: {what} has contrast {ratio:.2} ({fg} on {bg})"
            );
        }
        browser.screenshot(&artifacts_dir().join(format!("server_pages_{name}_{size}.png")));
    }
}

#[test]
fn every_page_is_designed_accessible_and_fits_a_phone() {
    let keys = TestKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let users = users_file(dir.path(), &[("alice", PASSWORD)]);
    let (ca, cert, key) = certificate(dir.path());
    let mut setup = Setup::users_file(&users);
    setup.top_level = "title = \"Example Org sign-in\"\n".into();
    setup.tables = format!("[tls]\ncert_file = {cert:?}\nkey_file = {key:?}\n");
    let server = SsoServer::start(&keys, &setup);
    let base = format!("https://127.0.0.1:{}", server.port);
    let browser = Browser::start(&[&ca]);
    // A service that is allowed but not running: the ticket's redirect
    // and the logout image simply fail to load.
    let ask = format!("{base}/?s=127.0.0.1%3A9%2F");

    browser.goto(&ask);
    let page = browser.wait_for_text("name=\"password\"");
    assert!(page.contains("Example Org sign-in"));
    // The user name field has the focus; Tab moves it by keyboard to the
    // password, which then shows a focus ring.
    let focused = browser.execute("return document.activeElement.id;");
    assert_eq!(focused, "username");
    browser.send_keys("#username", "\u{E004}");
    let ring = browser.execute(
        "const a = document.activeElement; const s = getComputedStyle(a); \
         return [a.id, s.outlineStyle, s.outlineWidth];",
    );
    assert_eq!(ring[0], "password", "{ring}");
    assert_ne!(ring[1], "none", "no focus ring: {ring}");
    check_page(&browser, "login");

    browser.submit_login("alice", "not her password");
    let page = browser.wait_for_text("Wrong user name or password.");
    assert!(page.contains("role=\"alert\""), "{page}");
    check_page(&browser, "login_error");

    browser.goto(&format!("{base}/?s=evil.example.com%2F"));
    browser.wait_for_text("id=\"error\"");
    check_page(&browser, "error");

    browser.goto(&ask);
    browser.wait_for_text("name=\"password\"");
    browser.submit_login("alice", PASSWORD);
    // Logged in once the browser has left the login server for the
    // service (which is not running: its error page is fine).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while browser.url().starts_with(&base) {
        assert!(
            std::time::Instant::now() < deadline,
            "login did not redirect"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    browser.goto(&format!("{base}/logout"));
    browser.wait_for_text("id=\"logout\"");
    check_page(&browser, "logout_confirmation");

    browser.click("#logout");
    browser.wait_for_text("id=\"done\"");
    check_page(&browser, "logged_out");
}
