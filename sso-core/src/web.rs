//! Pure web logic shared by the HTTP side of the system (mod_sso, the login
//! server): service names, the redirect-target check of `sso_login`, query
//! strings and percent-encoding, `Cookie` parsing and `Set-Cookie` building,
//! the `Authorization: SSO` header, nonces.
//!
//! Percent-encoding and query strings go through the `percent-encoding`
//! and `form_urlencoded` crates; this module adds only the protocol's
//! strictness (a malformed escape is an error, not a literal `%`).
//!
//! Nothing here does I/O except [`new_nonce`] (the OS random generator).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};
use rand_core::{OsRng, RngCore};

/// A service name as the protocol writes it: `HOST[:PORT][/PATH]/`, no
/// scheme (https is implied), always ending in `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceName {
    name: String,
    /// Length of `HOST[:PORT]`: the path starts right after it.
    host_len: usize,
}

impl ServiceName {
    /// Checks the shape of a service name. Refused: a scheme, a missing
    /// trailing `/`, an empty host, and characters that have no business in
    /// a host or path and would break a header, a cookie or the ticket format
    /// (controls, space, `"`, `\`, `|`, `@`, `?`, `#`, `;`, `,`).
    pub fn parse(name: &str) -> Result<ServiceName, &'static str> {
        if name.contains("://") {
            return Err("a service name has no scheme (write HOST[:PORT]/PATH/, https is implied)");
        }
        if name
            .bytes()
            .any(|b| b <= 0x20 || b >= 0x7f || b"\"\\|@?#;,%".contains(&b))
        {
            return Err("a service name holds only visible ASCII without \" \\ | @ ? # ; , %");
        }
        if !name.ends_with('/') {
            return Err("a service name must end with '/'");
        }
        let host_len = name.find('/').unwrap_or(name.len());
        if host_len == 0 {
            return Err("a service name starts with its host");
        }
        let path = &name[host_len..];
        if path.contains("//") || path.split('/').any(|s| s == "." || s == "..") {
            return Err("a service path has no empty, '.' or '..' segments");
        }
        Ok(ServiceName {
            name: name.to_owned(),
            host_len,
        })
    }

    /// The name as configured, e.g. `www.example.org/app/`.
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// `HOST[:PORT]`.
    pub fn host_port(&self) -> &str {
        &self.name[..self.host_len]
    }

    /// The path, starting and ending with `/` (at least `/`).
    pub fn path(&self) -> &str {
        &self.name[self.host_len..]
    }

    /// `https://HOST[:PORT]/PATH/`: where a refused redirect target goes.
    pub fn root_url(&self) -> String {
        format!("https://{}", self.name)
    }

    /// The path of this service's login handler (`/PATH/sso_login`).
    pub fn login_path(&self) -> String {
        format!("{}sso_login", self.path())
    }

    /// The path of this service's logout handler (`/PATH/sso_logout`).
    pub fn logout_path(&self) -> String {
        format!("{}sso_logout", self.path())
    }
}

/// The rules for a login server URL (mod_sso's `SSOLoginServer`, the C ABI's
/// `login_server`): an absolute http(s) URL with a host and no fragment, in
/// printable ASCII without spaces or quotes (it goes into `Location` headers
/// and HTML attributes). The error says which rule failed.
pub fn check_login_server_url(url: &str) -> Result<(), &'static str> {
    if url.bytes().any(|b| b <= 0x20 || b >= 0x7f || b == b'"') {
        return Err("the URL must hold only printable ASCII, without spaces or quotes");
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("the login server must be an absolute http(s):// URL")?;
    if rest.is_empty() || rest.starts_with('/') || rest.contains('#') {
        return Err("the login server URL needs a host and no fragment");
    }
    Ok(())
}

/// Where `sso_login` may send the browser after storing the ticket: `d` if it
/// points inside the service (scheme https, the service's exact host and
/// port, a path under the service path with no dot segments, no control
/// characters, spaces, backslashes or non-ASCII anywhere), else the service
/// root. A path-absolute `d` (`/PATH/...`) is made absolute on the service's
/// host under the same rules. Case differences in scheme or host send the
/// browser to the root too (safe, if unfriendly).
pub fn safe_redirect_target(d: &str, service: &ServiceName) -> String {
    if d.bytes().any(|b| b <= 0x20 || b >= 0x7f || b == b'\\') {
        return service.root_url();
    }
    let after_host = if let Some(rest) = d.strip_prefix("https://") {
        rest.strip_prefix(service.host_port())
    } else if d.starts_with('/') && !d.starts_with("//") {
        Some(d)
    } else {
        None
    };
    match after_host {
        Some(path_and_query) if path_stays_inside(path_and_query, service.path()) => {
            format!("https://{}{}", service.host_port(), path_and_query)
        }
        _ => service.root_url(),
    }
}

/// True when `path_and_query` (starting with `/`) lies under `base` (which
/// ends with `/`) once percent-decoded, without dot segments that could climb
/// out of it.
fn path_stays_inside(path_and_query: &str, base: &str) -> bool {
    if !path_and_query.starts_with(base) {
        return false;
    }
    let end = path_and_query
        .find(['?', '#'])
        .unwrap_or(path_and_query.len());
    let raw_path = &path_and_query[..end];
    let Some(decoded) = percent_decode(raw_path) else {
        return false;
    };
    let Ok(decoded) = String::from_utf8(decoded) else {
        return false;
    };
    if decoded
        .bytes()
        .any(|b| b < 0x20 || b == 0x7f || b == b'\\' || b == b'%')
    {
        // Controls or backslashes smuggled in encoded, or double encoding
        // (`%252e`) that another decoding layer might turn into a dot segment.
        return false;
    }
    if !decoded.starts_with(base) || decoded.contains("//") {
        return false;
    }
    !decoded.split('/').any(|seg| seg == "." || seg == "..")
}

/// Decodes `%XX` escapes; `None` when a `%` is not followed by two hex digits.
pub fn percent_decode(s: &str) -> Option<Vec<u8>> {
    escapes_are_valid(s).then(|| percent_encoding::percent_decode_str(s).collect())
}

/// True when every `%` starts a two-hex-digit escape: `percent-encoding`
/// passes a broken escape through as a literal `%`, the protocol refuses it.
fn escapes_are_valid(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || (bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

/// Everything but the unreserved characters of RFC 3986.
const QUERY_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes everything but the unreserved characters of RFC 3986
/// (`A-Z a-z 0-9 - . _ ~`): safe for a query-string component.
pub fn percent_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, QUERY_COMPONENT).to_string()
}

/// The `name=value` pairs of a query string (`a=1&b=2`), `+` read as space
/// and percent escapes decoded (`application/x-www-form-urlencoded`). Pairs
/// with a malformed escape or that do not decode to UTF-8 are left out (a
/// caller looking for them sees them as missing).
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| {
            escapes_are_valid(pair)
                && percent_encoding::percent_decode_str(pair)
                    .decode_utf8()
                    .is_ok()
        })
        .flat_map(|pair| form_urlencoded::parse(pair.as_bytes()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The first value of `name` in a query string.
pub fn query_param(query: &str, name: &str) -> Option<String> {
    parse_query(query)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Every value of the cookie `name` in a `Cookie` header value, in header
/// order (a browser sends the cookie with the most specific path first, and
/// may send several cookies of one name for nested paths). Split as
/// [`cookie_pairs`] splits it. Surrounding double quotes are removed.
pub fn cookie_values<'a>(header: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    cookie_pairs(header)
        .filter(move |(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// Every `(name, value)` pair of one `Cookie` header (RFC 6265, 4.2.1:
/// pairs separated by `;`), names and values trimmed and values without
/// surrounding double quotes; a piece without `=` or with an empty name is
/// skipped. The same pairs as the `cookie` crate's `Cookie::split_parse`
/// (a test holds the two together), without building a whole `Cookie`
/// (expiry, path, domain, ...) for each: this runs on every request of a
/// logged-in browser.
pub fn cookie_pairs(header: &str) -> impl Iterator<Item = (&str, &str)> + '_ {
    // `header.split(';')`, with the separators found by memchr: a ticket
    // cookie is a few hundred bytes to pass over on every request.
    let ends = memchr::memchr_iter(b';', header.as_bytes()).chain([header.len()]);
    let mut start = 0;
    let pieces = ends.map(move |end| {
        // Both ends are at an ASCII `;` or the end: char boundaries.
        let piece = header.get(start..end).unwrap_or("");
        start = end + 1;
        piece
    });
    pieces.filter_map(|piece| {
        let (name, value) = piece.split_once('=')?;
        let name = name.trim();
        if name.is_empty() {
            return None;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        Some((name, value))
    })
}

/// Most bytes of a cookie's name and value together that browsers keep
/// (RFC 6265bis, section 5.6): a longer one is dropped without a word.
pub const MAX_COOKIE_BYTES: usize = 4096;

/// Whether a browser would keep the cookie `name=value`.
pub fn fits_in_a_cookie(name: &str, value: &str) -> bool {
    name.len() + value.len() <= MAX_COOKIE_BYTES
}

/// The request line `METHOD URI PROTOCOL` with the value of every `name`
/// parameter of the URI's query replaced by `replacement`. For what httpd
/// logs: `sso_login?t=TICKET` is in the request line, which access logs
/// print (`%r`), and a ticket must never reach a log.
pub fn mask_request_line(request_line: &str, name: &str, replacement: &str) -> String {
    let Some(q) = request_line.find('?') else {
        return request_line.to_owned();
    };
    let (head, rest) = request_line.split_at(q + 1);
    let end = rest.find([' ', '#']).unwrap_or(rest.len());
    let (query, tail) = rest.split_at(end);
    format!("{head}{}{tail}", mask_query_param(query, name, replacement))
}

/// The query string with the value of every `name` parameter replaced by
/// `replacement` (what `%q` logs; see [`mask_request_line`]).
pub fn mask_query_param(query: &str, name: &str, replacement: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if k == name => format!("{k}={replacement}"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A `Set-Cookie` value for a session cookie (no Expires/Max-Age: the ticket
/// carries its own expiry): scoped to `path`, `HttpOnly`, `SameSite=Lax`,
/// and `Secure` when asked.
pub fn set_cookie(name: &str, value: &str, path: &str, secure: bool) -> String {
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax");
    if secure {
        c.push_str("; Secure");
    }
    c
}

/// A `Set-Cookie` value that removes the cookie `name` at `path`.
pub fn clear_cookie(name: &str, path: &str, secure: bool) -> String {
    let mut c = format!(
        "{name}=; Path={path}; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax"
    );
    if secure {
        c.push_str("; Secure");
    }
    c
}

/// A fresh random nonce: 16 bytes from the OS generator, as 32 hex digits
/// (safe in a cookie, a query string and a ticket field).
pub fn new_nonce() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

/// Lowercase hex of `bytes`, without a formatter per byte (this runs on
/// every request: fingerprints, commitments).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

/// The nonce a browser login asks the login server for, given the secret
/// the browser keeps in its nonce cookie: the first 16 bytes of SHA-256
/// over a label and the secret, as 32 hex digits (the shape of any nonce).
/// The ticket carries only this digest, so whoever copies a ticket from an
/// `sso_login` URL cannot make the cookie that goes with it: `sso_login`
/// accepts a ticket only beside a cookie whose commitment is its nonce
/// (docs/protocol.md, "Ticket binding").
pub fn nonce_commitment(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(b"sso nonce commitment v1\0")
        .chain_update(secret.as_bytes())
        .finalize();
    hex(&digest[..16])
}

/// The ticket of an `Authorization: SSO <ticket>` header value (scheme
/// case-insensitive); `None` for another scheme or an empty credential.
pub fn authorization_ticket(header: &str) -> Option<&str> {
    let header = header.trim();
    let (scheme, rest) = header.split_once([' ', '\t'])?;
    if !scheme.eq_ignore_ascii_case("SSO") {
        return None;
    }
    let ticket = rest.trim();
    (!ticket.is_empty()).then_some(ticket)
}

/// The `WWW-Authenticate` value of a 401: `SSO realm="SERVICE"`, plus
/// `error="REASON"` when there is one (a short check name such as
/// `expired`). Quotes and backslashes are dropped from both values.
pub fn www_authenticate(service: &str, reason: Option<&str>) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .filter(|c| !matches!(c, '"' | '\\') && !c.is_control())
            .collect()
    };
    match reason {
        Some(r) => format!("SSO realm=\"{}\", error=\"{}\"", clean(service), clean(r)),
        None => format!("SSO realm=\"{}\"", clean(service)),
    }
}

/// The login server URL a browser without a ticket is sent to:
/// `LOGIN_SERVER?s=SERVICE&d=ORIGINAL_URL&n=NONCE[&g=GROUPS]` (`&` instead of
/// `?` when the login server URL already has a query).
pub fn login_redirect_url(
    login_server: &str,
    service: &str,
    original_url: &str,
    nonce: &str,
    groups: &[String],
) -> String {
    let sep = if login_server.contains('?') { '&' } else { '?' };
    let mut url = format!(
        "{login_server}{sep}s={}&d={}&n={}",
        percent_encode(service),
        percent_encode(original_url),
        percent_encode(nonce)
    );
    if !groups.is_empty() {
        url.push_str("&g=");
        url.push_str(&percent_encode(&groups.join(",")));
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc() -> ServiceName {
        ServiceName::parse("www.example.org:8443/app/").unwrap()
    }

    #[test]
    fn service_names() {
        let s = svc();
        assert_eq!(s.host_port(), "www.example.org:8443");
        assert_eq!(s.path(), "/app/");
        assert_eq!(s.root_url(), "https://www.example.org:8443/app/");
        assert_eq!(s.login_path(), "/app/sso_login");
        let root = ServiceName::parse("example.org/").unwrap();
        assert_eq!(root.path(), "/");
        for bad in [
            "https://x/",
            "x",
            "/app/",
            "x/app",
            "a b/",
            "x/a|b/",
            "x/../",
            "u@x/",
            "x//",
            "x/\"/",
        ] {
            assert!(ServiceName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn redirect_targets_inside_are_kept() {
        let s = svc();
        for good in [
            "https://www.example.org:8443/app/",
            "https://www.example.org:8443/app/page?x=1&y=%2F",
            "https://www.example.org:8443/app/a/b.html#frag",
            "https://www.example.org:8443/app/%C3%A9t%C3%A9",
        ] {
            assert_eq!(safe_redirect_target(good, &s), good);
        }
        assert_eq!(
            safe_redirect_target("/app/x?y", &s),
            "https://www.example.org:8443/app/x?y"
        );
    }

    #[test]
    fn redirect_targets_outside_go_to_root() {
        let s = svc();
        let root = s.root_url();
        for bad in [
            "",
            "https://evil.org/",
            "http://www.example.org:8443/app/",
            "https://www.example.org/app/",
            "https://www.example.org:8443/",
            "https://www.example.org:8443/application",
            "https://www.example.org:8443@evil.org/app/",
            "https://www.example.org:84430/app/",
            "https://www.example.org:8443.evil.org/app/",
            "//evil.org/app/",
            "/\\evil.org",
            "\\\\evil.org",
            "/app/../admin",
            "/app/%2e%2e/admin",
            "/app/%2E%2e/admin",
            "/app/.%2e/admin",
            "/app/%252e%252e/admin",
            "/app/..%2fadmin",
            "/app/%5c%5cevil",
            "/app/\tx",
            "/app/x\r\nSet-Cookie: a=b",
            "/app/%0d%0aX: y",
            "javascript:alert(1)",
            "https://www.example.org:8443/app/../../etc",
            "https://www.example.org:8443/app//evil.org",
            "/app/%zz",
            "/app/\u{e9}",
            "https:/www.example.org:8443/app/",
            " https://www.example.org:8443/app/",
        ] {
            assert_eq!(safe_redirect_target(bad, &s), root, "{bad:?}");
        }
    }

    #[test]
    fn query_strings() {
        let q = "t=abc%3D%3D&d=https%3A%2F%2Fx%2F&e=a+b&bad=%zz&n";
        assert_eq!(query_param(q, "t").as_deref(), Some("abc=="));
        assert_eq!(query_param(q, "d").as_deref(), Some("https://x/"));
        assert_eq!(query_param(q, "e").as_deref(), Some("a b"));
        assert_eq!(query_param(q, "bad"), None);
        assert_eq!(query_param(q, "n").as_deref(), Some(""));
        assert_eq!(query_param(q, "zz"), None);
        assert_eq!(percent_encode("a b/é~"), "a%20b%2F%C3%A9~");
        assert_eq!(percent_decode("%41%4a%4A").unwrap(), b"AJJ");
        assert!(percent_decode("%4").is_none());
    }

    /// The pairs the `cookie` crate parses out of `header`, as
    /// [`cookie_pairs`] returns them.
    fn crate_pairs(header: &str) -> Vec<(&str, &str)> {
        cookie::Cookie::split_parse(header)
            .filter_map(Result::ok)
            .filter_map(|c| {
                let v = c.value_raw()?;
                let v = v
                    .strip_prefix('"')
                    .and_then(|x| x.strip_suffix('"'))
                    .unwrap_or(v);
                Some((c.name_raw()?, v))
            })
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn cookie_pairs_are_the_cookie_crates(
            header in "([ a-z\"=;\t\u{a0}\u{3000}é]|SSO_ticket|==|;;){0,24}"
        ) {
            let ours: Vec<_> = cookie_pairs(&header).collect();
            proptest::prop_assert_eq!(ours, crate_pairs(&header));
        }
    }

    #[test]
    fn cookie_pairs_of_odd_headers() {
        for h in [
            "",
            ";",
            " ; ;",
            "a",
            "=b",
            " = b",
            "a=",
            "a==b=",
            "a = \"q\" ; b=\"",
            "\u{a0}a\u{a0}=\u{3000}1\u{3000}",
            "a=1;;b=2; c",
            "\"=\"",
        ] {
            assert_eq!(cookie_pairs(h).collect::<Vec<_>>(), crate_pairs(h), "{h:?}");
        }
    }

    #[test]
    fn cookies() {
        let h = "a=1; SSO_ticket=abc==; x=\"q\"; SSO_ticket=def ;junk";
        let v: Vec<_> = cookie_values(h, "SSO_ticket").collect();
        assert_eq!(v, ["abc==", "def"]);
        assert_eq!(cookie_values(h, "x").next(), Some("q"));
        assert_eq!(cookie_values(h, "SSO").next(), None);
        assert_eq!(
            set_cookie("n", "v", "/app/", true),
            "n=v; Path=/app/; HttpOnly; SameSite=Lax; Secure"
        );
        assert!(clear_cookie("n", "/app/", false).contains("Max-Age=0"));
    }

    /// The commitment's exact form (a label, SHA-256, 16 bytes, hex) is
    /// pinned by a vector, so that other implementations (the benches'
    /// ticket makers, a future module) can check theirs against it.
    #[test]
    fn the_nonce_commitment_is_pinned() {
        let c = nonce_commitment("00112233445566778899aabbccddeeff");
        assert_eq!(c, "ca8121d3ecde380373c0908a5ba4ef9d");
        assert_ne!(nonce_commitment("a"), nonce_commitment("b"));
        assert_eq!(nonce_commitment(&new_nonce()).len(), 32);
    }

    #[test]
    fn nonces_and_headers() {
        let a = new_nonce();
        assert_eq!(a.len(), 32);
        assert_ne!(a, new_nonce());
        assert_eq!(authorization_ticket("SSO abc"), Some("abc"));
        assert_eq!(authorization_ticket("sso  abc "), Some("abc"));
        assert_eq!(authorization_ticket("Basic abc"), None);
        assert_eq!(authorization_ticket("SSO "), None);
        assert_eq!(
            www_authenticate("x/", Some("expired")),
            "SSO realm=\"x/\", error=\"expired\""
        );
        assert_eq!(
            login_redirect_url(
                "https://l/",
                "x/",
                "https://x/a?b",
                "n1",
                &["g1".into(), "g2".into()]
            ),
            "https://l/?s=x%2F&d=https%3A%2F%2Fx%2Fa%3Fb&n=n1&g=g1%2Cg2"
        );
        assert!(login_redirect_url("https://l/?a=1", "x/", "d", "n", &[])
            .starts_with("https://l/?a=1&s="));
    }

    #[test]
    fn cookie_size_bound() {
        assert!(fits_in_a_cookie("SSO_ticket", &"a".repeat(4086)));
        assert!(!fits_in_a_cookie("SSO_ticket", &"a".repeat(4087)));
    }

    #[test]
    fn masking_the_ticket_in_what_httpd_logs() {
        for (line, masked) in [
            (
                "GET /app/sso_login?t=SECRET&d=x HTTP/1.1",
                "GET /app/sso_login?t=-&d=x HTTP/1.1",
            ),
            (
                "GET /a/sso_login?d=x&t=S1&t=S2 HTTP/1.1",
                "GET /a/sso_login?d=x&t=-&t=- HTTP/1.1",
            ),
            ("GET /a/?x=1 HTTP/1.1", "GET /a/?x=1 HTTP/1.1"),
            // A `t=` in the path is no parameter.
            ("GET /t=x HTTP/1.1", "GET /t=x HTTP/1.1"),
        ] {
            assert_eq!(mask_request_line(line, "t", "-"), masked, "{line}");
        }
        assert_eq!(mask_query_param("t=S&d=x", "t", "-"), "t=-&d=x");
        assert_eq!(mask_query_param("dt=keep&t=S", "t", "-"), "dt=keep&t=-");
    }

    #[test]
    fn login_server_urls() {
        for good in [
            "https://login.example.org/",
            "http://127.0.0.1:8443",
            "https://a/x?y=1",
        ] {
            assert_eq!(check_login_server_url(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("login.example.org", "absolute"),
            ("ftp://login.example.org/", "absolute"),
            ("https://", "host"),
            ("https:///x", "host"),
            ("https://a/#f", "fragment"),
            ("https://a b/", "spaces"),
            ("https://a/\"x", "quotes"),
            ("https://\u{e9}.example/", "ASCII"),
            ("https://a/\n", "ASCII"),
        ] {
            let err = check_login_server_url(bad).expect_err(bad);
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }
}
