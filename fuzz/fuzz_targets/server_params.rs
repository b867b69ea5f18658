//! The login server's query-string and form-body parsing and the ticket
//! request checks, on arbitrary bytes: never panics, and a request that
//! passes redirects only to its own service's `sso_login` with nothing
//! unencoded in the URL.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sso_server::params::{form_params, query_params, Params, TicketRequest};

fn check(params: Option<Params>) {
    let Some(p) = params else { return };
    let Ok(req) = TicketRequest::from_map(&p) else {
        return;
    };
    let url = req.redirect_url("v4.ticket+/=");
    let prefix = format!("https://{}sso_login?t=", req.service);
    assert!(url.starts_with(&prefix), "{url}");
    let rest = &url[prefix.len()..];
    assert!(
        rest.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~%&=".contains(&b)),
        "{url}"
    );
    assert_eq!(rest.matches('&').count(), 1, "{url}");
}

fuzz_target!(|data: &[u8]| {
    check(form_params(data));
    if let Ok(q) = std::str::from_utf8(data) {
        check(query_params(q));
    }
});
