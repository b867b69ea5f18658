//! The layout every page shares (`sso-server/templates/layout.html`, or
//! its override, see [`crate::ui`]): a centred card (`<main>`) headed by
//! the site's name and logo, in a document with a language, a viewport for
//! phones and the one stylesheet (served as `/style.css`). Pages only write
//! what goes inside the card, so a page added anywhere (through
//! `html::page`) gets the same design.

use std::sync::{Arc, LazyLock};

use crate::ui::Ui;

tokio::task_local! {
    /// The design of the generation serving the current request (set by
    /// `App::handle`), so pages follow `[ui]` and its reloads.
    static UI: Arc<Ui>;
}

/// The compiled-in design, for pages built outside a request.
static DEFAULT: LazyLock<Arc<Ui>> = LazyLock::new(|| Arc::new(Ui::default_design()));

/// Runs `f` (one request) with `ui` as the design of its pages.
pub async fn scope<F: std::future::Future>(ui: Arc<Ui>, f: F) -> F::Output {
    UI.scope(ui, f).await
}

/// The whole document around `body` (trusted HTML built by `html`);
/// `site` is the configured `title`, escaped by the layout.
pub fn page(site: &str, body: &str) -> String {
    UI.try_with(|ui| ui.render(site, body))
        .unwrap_or_else(|_| DEFAULT.render(site, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_names_the_site_escaped_and_links_only_the_stylesheet() {
        let html = page("<Example> & co", "<h1>Log in</h1>");
        assert!(
            html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"),
            "{html}"
        );
        assert!(html.contains("<span id=\"site-name\">&lt;Example&gt; &amp; co</span>"));
        assert!(html.contains("<main id=\"main\">"));
        assert!(html.contains("<h1>Log in</h1>"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("style="));
    }
}
