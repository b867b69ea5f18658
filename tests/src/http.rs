//! The one HTTP client of the integration tests (ureq, http and https to
//! 127.0.0.1: the servers' certificates are throwaway ones, so they are not
//! verified), its response type, a cookie jar, and the URL encoding the
//! tests need. Redirects are never followed and every status is an answer,
//! not an error: the tests look at exactly what the server sent.

use std::time::Duration;

/// A response as the tests read it.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    /// In the order received; names as sent (compare ignoring case).
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    /// Asserts that the body holds `text`, showing the body when not.
    #[track_caller]
    pub fn assert_body_has(&self, text: &str) {
        assert!(self.body.contains(text), "{}", self.body);
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `Location` header.
    pub fn location(&self) -> Option<&str> {
        self.header("location")
    }

    /// Every value of header `name`, in order.
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The full Set-Cookie line for cookie `name`, if set.
    pub fn set_cookie_line(&self, name: &str) -> Option<&str> {
        self.headers_named("set-cookie")
            .into_iter()
            .find(|l| l.starts_with(&format!("{name}=")))
    }

    /// The value of the hidden form field `name` in the body.
    pub fn form_field(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find('"')? + start;
        Some(
            self.body[start..end]
                .replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&#39;", "'")
                .replace("&#96;", "`")
                .replace("&amp;", "&"),
        )
    }
}

fn agent() -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder()
        .disable_verification(true)
        .build();
    agent_with(tls)
}

fn agent_with(tls: ureq::tls::TlsConfig) -> ureq::Agent {
    ureq::Agent::config_builder()
        .tls_config(tls)
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

/// One request to `http://127.0.0.1:PORT` + `path`. A body goes out as
/// `application/x-www-form-urlencoded` unless `headers` name another type.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: Option<&str>,
) -> HttpResponse {
    request(
        &format!("http://127.0.0.1:{port}{path}"),
        method,
        headers,
        body,
    )
}

/// One request to a full `http://` or `https://` URL, the path and query
/// sent as given (no dot-segment removal, no re-encoding).
pub fn request(
    url: &str,
    method: &str,
    headers: &[(String, String)],
    body: Option<&str>,
) -> HttpResponse {
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        builder = builder.header(k, v);
    }
    let has_type = headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    if body.is_some() && !has_type {
        builder = builder.header("Content-Type", "application/x-www-form-urlencoded");
    }
    send(agent(), builder, url, method, body)
}

/// A GET of an `https://` URL whose certificate must chain to the PEM
/// certificate `ca_pem` and name the URL's host: for the tests of TLS itself.
pub fn get_verified(url: &str, ca_pem: &[u8]) -> HttpResponse {
    let ca = ureq::tls::Certificate::from_pem(ca_pem)
        .unwrap_or_else(|e| panic!("the CA certificate: {e}"))
        .to_owned();
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::new_with_certs(&[ca]))
        .build();
    let builder = ureq::http::Request::builder().method("GET").uri(url);
    send(agent_with(tls), builder, url, "GET", None)
}

fn send(
    agent: ureq::Agent,
    builder: ureq::http::request::Builder,
    url: &str,
    method: &str,
    body: Option<&str>,
) -> HttpResponse {
    let sent = match body {
        Some(b) => builder.body(b.to_owned()).map(|r| agent.run(r)),
        None => builder.body(()).map(|r| agent.run(r)),
    };
    let mut resp = sent
        .unwrap_or_else(|e| panic!("bad request {method} {url}: {e}"))
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = resp
        .body_mut()
        .read_to_string()
        .unwrap_or_else(|e| panic!("{method} {url}: reading the body: {e}"));
    HttpResponse {
        status: resp.status().as_u16(),
        headers,
        body,
    }
}

/// `a=1&b=2`, percent-encoded with `sso_core::web::percent_encode`.
pub fn form_urlencode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", pct(k), pct(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes everything but unreserved characters.
pub fn pct(s: &str) -> String {
    sso_core::web::percent_encode(s)
}

/// The query parameters of a URL, decoded (`+` as space).
pub fn query_params(url: &str) -> Vec<(String, String)> {
    let q = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A cookie jar, as simple as the tests need.
#[derive(Default, Clone, Debug)]
pub struct Cookies(pub Vec<(String, String)>);

impl Cookies {
    pub fn new() -> Cookies {
        Cookies::default()
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn set(&mut self, name: &str, value: &str) {
        self.0.retain(|(n, _)| n != name);
        if !value.is_empty() {
            self.0.push((name.to_owned(), value.to_owned()));
        }
    }

    /// Takes every Set-Cookie of a response (an empty value deletes).
    pub fn update(&mut self, resp: &HttpResponse) {
        for sc in resp.headers_named("set-cookie") {
            let first = sc.split(';').next().unwrap_or("");
            if let Some((n, v)) = first.split_once('=') {
                self.set(n.trim(), v.trim());
            }
        }
    }

    /// The `Cookie` request header for the jar (none when it is empty).
    pub fn header(&self) -> Vec<(String, String)> {
        if self.0.is_empty() {
            return Vec::new();
        }
        let v = self
            .0
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        vec![("Cookie".into(), v)]
    }
}
