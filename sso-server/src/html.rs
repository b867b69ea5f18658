//! The pages. Every value that reaches HTML goes through [`escape`]; there
//! is no script anywhere, and the style sheet is served from `/style.css`
//! so the Content-Security-Policy can forbid inline code.

use crate::target::Target;

pub use crate::escape::escape;

/// Every page: the shared layout of [`crate::layout`] around `body`.
fn page(title: &str, body: &str) -> String {
    crate::layout::page(title, body)
}

/// The login form, carrying the ticket request in hidden fields.
pub fn login_form(
    title: &str,
    target: &Target,
    csrf_token: &str,
    username: &str,
    error: Option<&str>,
) -> String {
    let hidden = |name: &str, value: &str| {
        format!(
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">\n",
            escape(value)
        )
    };
    let mut body = String::from("<h1>Log in</h1>\n");
    body.push_str(&format!(
        "<p>Log in to <span class=\"service\" id=\"service\">{}</span></p>\n",
        escape(target.shown())
    ));
    if let Some(e) = error {
        body.push_str(&format!(
            "<p class=\"error\" id=\"error\" role=\"alert\">{}</p>\n",
            escape(e)
        ));
    }
    body.push_str("<form method=\"post\" action=\"/login\" id=\"login\">\n");
    body.push_str(&hidden("csrf", csrf_token));
    for (name, value) in target.hidden_fields() {
        body.push_str(&hidden(name, &value));
    }
    body.push_str(&format!(
        "<label for=\"username\">User name</label>\
<input type=\"text\" id=\"username\" name=\"username\" value=\"{}\" autocomplete=\"username\" autofocus required>\n\
<label for=\"password\">Password</label>\
<input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\n\
<button type=\"submit\" id=\"submit\">Log in</button>\n</form>",
        escape(username)
    ));
    page(title, &body)
}

pub use crate::login_flow::Offer;

/// The second-factor step: a TOTP code for `user` (`POST /second-factor`)
/// and/or a security key (`/webauthn.js`), with the ticket request in
/// hidden fields like the login form.
pub fn second_factor_form(
    title: &str,
    target: &Target,
    csrf_token: &str,
    user: &str,
    error: Option<&str>,
    offer: Offer,
) -> String {
    let hidden = |name: &str, value: &str| {
        format!(
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">\n",
            escape(value)
        )
    };
    let mut body = format!("<h1>{}</h1>\n", escape(title));
    body.push_str(&format!(
        "<p id=\"second-factor\">{} must confirm with a second factor to log in to \
<span class=\"service\" id=\"service\">{}</span>.</p>\n",
        escape(user),
        escape(target.shown())
    ));
    if let Some(e) = error {
        body.push_str(&format!(
            "<p class=\"error\" id=\"error\">{}</p>\n",
            escape(e)
        ));
    }
    let mut fields = hidden("csrf", csrf_token);
    for (name, value) in target.hidden_fields() {
        fields.push_str(&hidden(name, &value));
    }
    if offer.totp {
        body.push_str(
            "<form method=\"post\" action=\"/second-factor\" id=\"second-factor-form\">\n",
        );
        body.push_str(&fields);
        body.push_str(
            "<label for=\"code\">Code from your authenticator app</label>\
<input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" pattern=\"[0-9]{6}\" \
maxlength=\"6\" autocomplete=\"one-time-code\" autofocus required>\n\
<button type=\"submit\" id=\"submit\">Confirm</button>\n</form>\n",
        );
    }
    if offer.webauthn {
        body.push_str("<form method=\"post\" action=\"/\" id=\"webauthn-login\">\n");
        body.push_str(&fields);
        body.push_str(
            "<button type=\"submit\" id=\"webauthn\">Use a security key</button>\n</form>\n\
<p id=\"webauthn-status\" role=\"status\"></p>\n<script src=\"/webauthn.js\"></script>",
        );
    }
    page(title, &body)
}

/// Enrolment of a security key for the logged-in `user`; with
/// `ask_code`, a field for the administrator's one-time enrolment code.
pub fn webauthn_register_page(title: &str, user: &str, csrf_token: &str, ask_code: bool) -> String {
    let code = if ask_code {
        "<label for=\"code\">Enrolment code from your administrator</label>\
<input type=\"text\" id=\"code\" name=\"code\" autocomplete=\"off\" spellcheck=\"false\" \
autocapitalize=\"characters\" required>\n"
    } else {
        ""
    };
    page(
        title,
        &format!(
            "<h1>Add a security key</h1>\n<p>Register a security key or this device's \
authenticator as a second factor for {}.</p>\n\
<form method=\"post\" action=\"/webauthn/register\" id=\"webauthn-register\">\n\
<input type=\"hidden\" name=\"csrf\" value=\"{}\">\n{code}\
<button type=\"submit\" id=\"register\">Register a security key</button>\n</form>\n\
<p id=\"webauthn-status\" role=\"status\"></p>\n<script src=\"/webauthn.js\"></script>",
            escape(user),
            escape(csrf_token)
        ),
    )
}

/// A refusal: what went wrong, in words, and nothing else.
pub fn error_page(title: &str, heading: &str, message: &str) -> String {
    page(
        title,
        &format!(
            "<h1>{}</h1>\n<p class=\"error\" id=\"error\" role=\"alert\">{}</p>",
            escape(heading),
            escape(message)
        ),
    )
}

/// Asks before logging out: a form that POSTs `/logout` with the CSRF
/// token, so that only a click on this server's own page logs out.
pub fn logout_confirmation(title: &str, user: &str, csrf_token: &str) -> String {
    page(
        title,
        &format!(
            "<h1>Log out?</h1>\n<p id=\"confirm\">Log {} out of every service of this \
single sign-on?</p>\n<form method=\"post\" action=\"/logout\" id=\"logout-form\">\n\
<input type=\"hidden\" name=\"csrf\" value=\"{}\">\n\
<button type=\"submit\" id=\"logout\">Log out</button>\n</form>",
            escape(user),
            escape(csrf_token)
        ),
    )
}

/// After logout: one invisible image per service loads its `sso_logout`,
/// which clears that service's cookies (no JavaScript needed); then a link
/// to `next` (where a relying party asked the browser to go), if any.
pub fn logout_page(
    title: &str,
    user: Option<&str>,
    services: &[String],
    next: Option<&str>,
) -> String {
    let mut body = String::from("<h1>Logged out</h1>\n");
    match user {
        Some(u) => body.push_str(&format!(
            "<p id=\"done\">{} has been logged out.</p>\n",
            escape(u)
        )),
        None => body.push_str("<p id=\"done\">You are logged out.</p>\n"),
    }
    if !services.is_empty() {
        body.push_str("<p>Logged out of these services:</p>\n<ul id=\"services\">\n");
        for s in services {
            let url = format!("https://{s}sso_logout");
            body.push_str(&format!(
                "<li><span class=\"service\">{}</span><img class=\"logout\" alt=\"\" src=\"{}\"></li>\n",
                escape(s),
                escape(&url)
            ));
        }
        body.push_str("</ul>\n");
    }
    if let Some(next) = next {
        body.push_str(&format!(
            "<p><a id=\"continue\" href=\"{}\">Continue</a></p>\n",
            escape(next)
        ));
    }
    page(title, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_dangerous() {
        assert_eq!(
            escape("<a href=\"x\" onclick='y'>&`"),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&#96;"
        );
    }

    #[test]
    fn form_escapes_request_values() {
        let req = Target::Ticket(crate::params::TicketRequest {
            service: "a.org/".into(),
            destination: Some("https://a.org/\"><script>alert(1)</script>".into()),
            nonce: None,
            groups: vec![],
        });
        let html = login_form("T", &req, "tok", "<b>", Some("<i>"));
        assert!(!html.contains("<script>"));
        assert!(!html.contains("<b>"));
        assert!(!html.contains("<i>"));
        assert!(html.contains("&quot;&gt;&lt;script&gt;"));
    }

    #[test]
    fn second_factor_form_posts_code_and_token_and_escapes() {
        let req = Target::Ticket(crate::params::TicketRequest {
            service: "a.org/<x>".into(),
            destination: None,
            nonce: None,
            groups: vec![],
        });
        let offer = Offer {
            totp: true,
            webauthn: false,
        };
        let html = second_factor_form("T", &req, "tok", "<b>", Some("<i>"), offer);
        assert!(html.contains("action=\"/second-factor\""));
        assert!(html.contains("name=\"code\""));
        assert!(html.contains("name=\"csrf\" value=\"tok\""));
        assert!(!html.contains("<b>") && !html.contains("<i>") && !html.contains("<x>"));
        assert!(!html.contains("<script"));
    }

    #[test]
    fn logout_confirmation_posts_the_token_and_escapes_the_user() {
        let html = logout_confirmation("T", "<b>", "tok");
        assert!(html.contains("method=\"post\" action=\"/logout\""));
        assert!(html.contains("name=\"csrf\" value=\"tok\""));
        assert!(!html.contains("<b>"));
    }

    #[test]
    fn logout_lists_services() {
        let html = logout_page(
            "T",
            Some("alice"),
            &["a.org/".into(), "b.org:8443/x/".into()],
            Some("https://app.example/bye?state=\"x"),
        );
        assert!(html.contains("href=\"https://app.example/bye?state=&quot;x\""));
        assert!(html.contains("src=\"https://a.org/sso_logout\""));
        assert!(html.contains("src=\"https://b.org:8443/x/sso_logout\""));
        assert!(!html.contains("<script"));
    }
}
