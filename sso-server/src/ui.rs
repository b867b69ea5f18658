//! What the pages look like: the layout template and the stylesheet,
//! compiled in (`sso-server/templates/layout.html`,
//! `sso-server/static/style.css`) or overridden from `[ui] templates = DIR`,
//! and the optional `[ui] logo`.
//!
//! The layout is a minijinja template with HTML autoescaping on: `site`
//! and `logo` are escaped, `content` (the page, built and escaped by
//! `html`) is inserted as is. An override is checked completely at start
//! (and on reload): it must parse and render with every variable defined,
//! and errors name the key and the file.

use std::io::Read;
use std::path::Path;

use minijinja::{context, AutoEscape, Environment, UndefinedBehavior, Value};
use sso_core::file_trust;

/// The compiled-in layout.
pub const LAYOUT: &str = include_str!("../templates/layout.html");
/// The compiled-in stylesheet.
pub const STYLE: &str = include_str!("../static/style.css");

/// The files a templates directory may hold; each one is optional.
pub const FILES: [&str; 2] = ["layout.html", "style.css"];

/// The validated `[ui]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UiConfig {
    pub templates: Option<std::path::PathBuf>,
    /// An `https://` URL shown in the card's header.
    pub logo: Option<String>,
}

/// Why `[ui] templates` cannot be used; every message starts with the key.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    #[error("ui.templates: {0}")]
    Untrusted(#[from] file_trust::Untrusted),
    #[error("ui.templates: {}: {error}", path.display())]
    Io {
        path: std::path::PathBuf,
        error: std::io::Error,
    },
    #[error(
        "ui.templates: {}: not a file the server uses (only {files})",
        .0.display(),
        files = FILES.join(", ")
    )]
    NotUsed(std::path::PathBuf),
    #[error("ui.templates: {}: not UTF-8 text", .0.display())]
    NotUtf8(std::path::PathBuf),
    /// The layout does not parse or render; `at` is ` line N:` or empty.
    #[error("ui.templates: {file}:{at} {detail}")]
    Template {
        file: String,
        at: String,
        detail: String,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> UiError + '_ {
    move |error| UiError::Io {
        path: path.to_owned(),
        error,
    }
}

/// The layout and stylesheet in use.
pub struct Ui {
    env: Environment<'static>,
    style: String,
    logo: String,
}

impl Ui {
    /// The compiled-in design.
    pub fn default_design() -> Ui {
        Ui::build(
            LAYOUT.to_owned(),
            STYLE.to_owned(),
            String::new(),
            "layout.html",
        )
        .unwrap_or_else(|e| panic!("the compiled-in layout is broken: {e}"))
    }

    /// The design `[ui]` asks for; errors name the key and the file.
    pub fn load(c: &UiConfig) -> Result<Ui, UiError> {
        let logo = c.logo.clone().unwrap_or_default();
        let Some(dir) = &c.templates else {
            return Ui::build(LAYOUT.to_owned(), STYLE.to_owned(), logo, "layout.html");
        };
        // The directory and each file in it are held to the trust rules
        // of the configuration (whoever writes the layout writes every
        // page, the login form's action included); the directory is then
        // listed, and the files read, by the paths and descriptors checked.
        let uid = file_trust::effective_uid();
        let dir = file_trust::open_file(dir, uid)?.path;
        let dir = dir.as_path();
        let entries = std::fs::read_dir(dir).map_err(io_error(dir))?;
        for entry in entries {
            let entry = entry.map_err(io_error(dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let kind = name.rsplit_once('.').map(|(_, ext)| ext);
            if matches!(kind, Some("html" | "css")) && !FILES.contains(&name.as_str()) {
                return Err(UiError::NotUsed(entry.path()));
            }
        }
        let layout_path = dir.join("layout.html");
        let layout = read_optional(&layout_path)?.unwrap_or_else(|| LAYOUT.to_owned());
        let style = read_optional(&dir.join("style.css"))?.unwrap_or_else(|| STYLE.to_owned());
        Ui::build(layout, style, logo, &layout_path.display().to_string())
    }

    fn build(layout: String, style: String, logo: String, file: &str) -> Result<Ui, UiError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        env.add_template_owned("layout.html", layout)
            .map_err(|e| template_error(file, &e))?;
        let ui = Ui { env, style, logo };
        // Every variable a page passes must be enough to render it.
        ui.try_render("Site", "<h1>Check</h1>")
            .map_err(|e| template_error(file, &e))?;
        Ok(ui)
    }

    fn try_render(&self, site: &str, content: &str) -> Result<String, minijinja::Error> {
        self.env.get_template("layout.html")?.render(context! {
            site => site,
            logo => self.logo.as_str(),
            content => Value::from_safe_string(content.to_owned()),
        })
    }

    /// The whole page: `content` is trusted HTML, `site` is escaped. A
    /// layout that fails at run time (it rendered at start) gives a bare
    /// but complete page rather than no answer.
    pub fn render(&self, site: &str, content: &str) -> String {
        self.try_render(site, content).unwrap_or_else(|_| {
            format!(
                "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>{s}</title><link rel=\"stylesheet\" href=\"/style.css\"></head>\n\
<body><main id=\"main\">{content}</main></body></html>\n",
                s = crate::escape::escape(site)
            )
        })
    }

    /// The stylesheet served as `/style.css`.
    pub fn style(&self) -> &str {
        &self.style
    }
}

/// The file's text, `None` if there is no such file; read through the
/// descriptor its trust check judged.
fn read_optional(path: &Path) -> Result<Option<String>, UiError> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        _ => {}
    }
    let mut opened = file_trust::open_file(path, file_trust::effective_uid())?;
    let mut b = Vec::new();
    opened.file.read_to_end(&mut b).map_err(io_error(path))?;
    String::from_utf8(b)
        .map(Some)
        .map_err(|_| UiError::NotUtf8(path.to_owned()))
}

fn template_error(file: &str, e: &minijinja::Error) -> UiError {
    UiError::Template {
        file: file.to_owned(),
        at: e.line().map(|l| format!(" line {l}:")).unwrap_or_default(),
        detail: e.detail().unwrap_or("invalid template").to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_layout_escapes_the_site_and_the_logo_but_not_the_page() {
        let ui = Ui::load(&UiConfig {
            templates: None,
            logo: Some("https://example.org/l.svg?a=1&b=\"x\"".into()),
        })
        .unwrap();
        let html = ui.render("<Org>", "<h1>Log in</h1>");
        assert!(
            html.contains("<span id=\"site-name\">&lt;Org&gt;</span>"),
            "{html}"
        );
        assert!(html.contains("<h1>Log in</h1>"));
        assert!(html.contains("&amp;b=&quot;x&quot;\""), "{html}");
        assert!(!html.contains("\"x\""), "{html}");
        assert!(!html.contains("<script") && !html.contains("style="));
    }

    #[test]
    fn an_override_is_used_and_a_broken_one_names_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let c = UiConfig {
            templates: Some(dir.path().to_owned()),
            logo: None,
        };
        std::fs::write(dir.path().join("style.css"), "body{color:#000}").unwrap();
        let ui = Ui::load(&c).unwrap();
        assert_eq!(ui.style(), "body{color:#000}");
        assert!(ui.render("S", "<p>x</p>").contains("id=\"site-name\""));
        let layout = dir.path().join("layout.html");
        std::fs::write(&layout, "<html lang=\"de\">{{ content }}</html>").unwrap();
        assert!(Ui::load(&c)
            .unwrap()
            .render("S", "<p>x</p>")
            .contains("lang=\"de\"><p>x</p>"));
        for broken in ["{% if site %}", "{{ sight }}"] {
            std::fs::write(&layout, broken).unwrap();
            let e = Ui::load(&c).err().unwrap().to_string();
            assert!(e.starts_with("ui.templates: "), "{e}");
            assert!(e.contains(&layout.display().to_string()), "{e}");
        }
        std::fs::remove_file(&layout).unwrap();
        std::fs::write(dir.path().join("login.html"), "x").unwrap();
        let e = Ui::load(&c).err().unwrap().to_string();
        assert!(
            e.contains("login.html") && e.contains("not a file the server uses"),
            "{e}"
        );
    }
}
