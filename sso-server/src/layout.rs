//! The layout every page shares: a centred card (`<main>`) headed by the
//! site's name, in a document with a language, a viewport for phones and
//! the one stylesheet (`sso-server/static/style.css`, served as
//! `/style.css`). Pages only write what goes inside the card, so a page
//! added anywhere (through `html::page`) gets the same design.

use crate::html::escape;

/// The whole document around `body` (trusted HTML built by `html`);
/// `site` is the configured `title`, escaped here.
pub fn page(site: &str, body: &str) -> String {
    let site = escape(site);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta name=\"referrer\" content=\"no-referrer\">\n\
<meta name=\"robots\" content=\"noindex\">\n\
<title>{site}</title>\n<link rel=\"stylesheet\" href=\"/style.css\">\n</head>\n\
<body>\n<main id=\"main\">\n<header class=\"site\"><span id=\"site-name\">{site}</span></header>\n\
{body}\n</main>\n</body>\n</html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_names_the_site_escaped_and_links_only_the_stylesheet() {
        let html = page("<Example> & co", "<h1>Log in</h1>");
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
        assert!(html.contains("<span id=\"site-name\">&lt;Example&gt; &amp; co</span>"));
        assert!(html.contains("<main id=\"main\">"));
        assert!(html.contains("<h1>Log in</h1>"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("style="));
    }
}
