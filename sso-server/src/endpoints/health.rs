//! `GET /healthz` for load balancers and `GET /style.css` for the pages.

use hyper::header::{self, HeaderValue};
use hyper::StatusCode;

use crate::app::{App, Resp};

impl App {
    /// `GET /healthz`: the process answers.
    pub fn healthz(&self) -> Resp {
        self.text(StatusCode::OK, "ok\n".into())
    }

    /// `GET /style.css`: the only style the pages use (the CSP forbids
    /// inline styles), cacheable.
    pub fn style(&self) -> Resp {
        let mut r = self.respond(
            StatusCode::OK,
            "text/css; charset=utf-8",
            self.ui.style().to_owned(),
        );
        r.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        );
        r
    }
}
