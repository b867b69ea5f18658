//! The original request a forward-auth subrequest asks about, rebuilt from
//! the headers the proxy sets (`X-Forwarded-Method`, `-Proto`, `-Host`,
//! `-Uri`, or nginx's `X-Original-URL`), or the request the gate serves
//! itself. Anything malformed is refused with the header and the check that
//! failed (a 400), never guessed at: the path decides which route, and so
//! which rules, apply.
//!
//! The path is percent-decoded and normalised as the proxy matched it
//! (dot segments resolved, repeated slashes merged, as nginx does before it
//! picks a `location`): `/public/../admin/` must be judged as `/admin/`.

/// The longest `X-Forwarded-Uri` (or request URI) accepted: longer ones
/// are refused, not truncated.
pub const MAX_URI: usize = 8192;
/// The longest host name with port.
pub const MAX_HOST: usize = 261;
/// The longest method name.
pub const MAX_METHOD: usize = 32;

/// The request the decision is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
    pub method: String,
    pub https: bool,
    /// `HOST[:PORT]` as sent, lower-cased.
    pub host: String,
    /// Decoded and normalised path.
    pub path: String,
    /// The raw query (without `?`).
    pub query: String,
    /// The URI as the client sent it: the return URL after login.
    pub uri: String,
}

/// Why a request cannot be rebuilt; the message names the header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("{0}: missing")]
    Missing(&'static str),
    #[error("{0}: longer than {1} bytes")]
    TooLong(&'static str, usize),
    #[error("{0}: {1}")]
    Invalid(&'static str, &'static str),
}

/// What the proxy sent about the original request (each value as given).
#[derive(Debug, Default, Clone, Copy)]
pub struct Forwarded<'a> {
    pub method: Option<&'a str>,
    pub proto: Option<&'a str>,
    pub host: Option<&'a str>,
    pub uri: Option<&'a str>,
    pub original_url: Option<&'a str>,
    /// The subrequest's own method and `Host`, used when the proxy sent no
    /// `X-Forwarded-Method` / `X-Forwarded-Host`.
    pub own_method: &'a str,
    pub own_host: Option<&'a str>,
}

const URI: &str = "X-Forwarded-Uri";
const URL: &str = "X-Original-URL";
const HOST: &str = "X-Forwarded-Host";
const PROTO: &str = "X-Forwarded-Proto";
const METHOD: &str = "X-Forwarded-Method";

/// The original request of a forward-auth subrequest. `X-Forwarded-Uri`
/// wins over `X-Original-URL`; the scheme and host of `X-Original-URL`
/// count where `X-Forwarded-Proto` / `-Host` are absent.
pub fn from_forwarded(f: &Forwarded<'_>) -> Result<Original, Malformed> {
    let (mut proto, mut host, uri, uri_name) = match (f.uri, f.original_url) {
        (Some(u), _) => (None, None, u, URI),
        (None, Some(url)) => {
            let (scheme, host, uri) = split_url(url)?;
            (Some(scheme), Some(host), uri, URL)
        }
        (None, None) => return Err(Malformed::Missing(URI)),
    };
    if let Some(p) = f.proto {
        proto = Some(p);
    }
    if let Some(h) = f.host {
        host = Some(h);
    }
    let host = host.or(f.own_host).ok_or(Malformed::Missing(HOST))?;
    let https = match proto {
        None => false,
        // A chain of proxies appends: the nearest one's value is last.
        Some(p) => match p.rsplit(',').next().map(str::trim) {
            Some(s) if s.eq_ignore_ascii_case("https") => true,
            Some(s) if s.eq_ignore_ascii_case("http") => false,
            _ => return Err(Malformed::Invalid(PROTO, "expected http or https")),
        },
    };
    let method = f.method.unwrap_or(f.own_method);
    rebuild(method, METHOD, host, HOST, uri, uri_name, https)
}

/// A request the gate serves itself (`PATH/sso_login`, the reverse proxy).
pub fn direct(
    method: &str,
    host: Option<&str>,
    uri: &str,
    https: bool,
) -> Result<Original, Malformed> {
    let host = host.ok_or(Malformed::Missing("Host"))?;
    rebuild(method, "method", host, "Host", uri, "request URI", https)
}

fn rebuild(
    method: &str,
    method_name: &'static str,
    host: &str,
    host_name: &'static str,
    uri: &str,
    uri_name: &'static str,
    https: bool,
) -> Result<Original, Malformed> {
    if method.is_empty()
        || method.len() > MAX_METHOD
        || !method.bytes().all(|b| b.is_ascii_uppercase() || b == b'-')
    {
        return Err(Malformed::Invalid(method_name, "not an HTTP method"));
    }
    let host = checked_host(host, host_name)?;
    if uri.len() > MAX_URI {
        return Err(Malformed::TooLong(uri_name, MAX_URI));
    }
    if !uri.starts_with('/') {
        return Err(Malformed::Invalid(uri_name, "must start with '/'"));
    }
    if uri.bytes().any(|b| b <= b' ' || b >= 0x7f || b == b'#') {
        return Err(Malformed::Invalid(
            uri_name,
            "holds a space, control, '#' or non-ASCII byte",
        ));
    }
    let (raw_path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let path = normalised_path(raw_path).ok_or(Malformed::Invalid(
        uri_name,
        "the path is badly encoded or climbs above '/'",
    ))?;
    Ok(Original {
        method: method.to_owned(),
        https,
        host,
        path,
        query: query.to_owned(),
        uri: uri.to_owned(),
    })
}

/// `HOST`, `HOST:PORT`, `[V6]:PORT`: letters, digits, `.-:[]`, lower-cased.
fn checked_host(host: &str, name: &'static str) -> Result<String, Malformed> {
    if host.is_empty() {
        return Err(Malformed::Missing(name));
    }
    if host.len() > MAX_HOST {
        return Err(Malformed::TooLong(name, MAX_HOST));
    }
    if !host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
    {
        return Err(Malformed::Invalid(name, "not a host name"));
    }
    Ok(host.to_ascii_lowercase())
}

/// `SCHEME://HOST/URI` of `X-Original-URL`.
fn split_url(url: &str) -> Result<(&str, &str, &str), Malformed> {
    if url.len() > MAX_URI {
        return Err(Malformed::TooLong(URL, MAX_URI));
    }
    let (scheme, rest) = url
        .split_once("://")
        .ok_or(Malformed::Invalid(URL, "expected SCHEME://HOST/PATH"))?;
    let slash = rest
        .find('/')
        .ok_or(Malformed::Invalid(URL, "expected SCHEME://HOST/PATH"))?;
    Ok((scheme, &rest[..slash], &rest[slash..]))
}

/// The decoded path with dot segments resolved and repeated slashes merged;
/// `None` for bad percent-encoding, non-UTF-8, a control character or NUL
/// once decoded, or `..` above the root.
pub fn normalised_path(raw: &str) -> Option<String> {
    // The usual path is its own normal form: ASCII, no escape, no control,
    // no empty or dot segment (each would follow a '/').
    if raw.starts_with('/')
        && raw
            .bytes()
            .all(|b| b.is_ascii() && b != b'%' && !b.is_ascii_control())
        && !raw.contains("//")
        && !raw.contains("/.")
    {
        return Some(raw.to_owned());
    }
    decoded_normalised_path(raw)
}

/// [`normalised_path`] the long way, for any path.
fn decoded_normalised_path(raw: &str) -> Option<String> {
    let decoded = String::from_utf8(sso_core::web::percent_decode(raw)?).ok()?;
    if decoded.chars().any(char::is_control) {
        return None;
    }
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = decoded.split('/').collect();
    let last = segments.len().saturating_sub(1);
    let mut trailing = false;
    for (i, seg) in segments.iter().enumerate().skip(1) {
        match *seg {
            "" => trailing = i == last,
            "." => trailing = true,
            ".." => {
                out.pop()?;
                trailing = true;
            }
            s => {
                out.push(s);
                trailing = false;
            }
        }
    }
    let mut path = String::with_capacity(decoded.len());
    for s in &out {
        path.push('/');
        path.push_str(s);
    }
    if trailing || out.is_empty() {
        path.push('/');
    }
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fwd<'a>(uri: Option<&'a str>) -> Forwarded<'a> {
        Forwarded {
            method: Some("GET"),
            proto: Some("https"),
            host: Some("App.Example.org"),
            uri,
            original_url: None,
            own_method: "GET",
            own_host: Some("gate"),
        }
    }

    #[test]
    fn rebuilt_from_forwarded_headers() {
        let o = from_forwarded(&fwd(Some("/app/x%20y?a=1&t=2"))).unwrap();
        assert_eq!(o.host, "app.example.org");
        assert!(o.https);
        assert_eq!(o.path, "/app/x y");
        assert_eq!(o.query, "a=1&t=2");
        assert_eq!(o.uri, "/app/x%20y?a=1&t=2");
    }

    #[test]
    fn rebuilt_from_original_url() {
        let f = Forwarded {
            original_url: Some("https://app.example.org/app/?q"),
            own_method: "GET",
            ..Forwarded::default()
        };
        let o = from_forwarded(&f).unwrap();
        assert!(o.https);
        assert_eq!(
            (o.host.as_str(), o.path.as_str(), o.query.as_str()),
            ("app.example.org", "/app/", "q")
        );
        let plain = Forwarded {
            original_url: Some("http://h/x"),
            own_method: "GET",
            ..Forwarded::default()
        };
        assert!(!from_forwarded(&plain).unwrap().https);
    }

    #[test]
    fn the_nearest_proxy_says_the_scheme() {
        let mut f = fwd(Some("/"));
        f.proto = Some("http, https");
        assert!(from_forwarded(&f).unwrap().https);
        f.proto = Some("https,http");
        assert!(!from_forwarded(&f).unwrap().https);
        f.proto = Some("gopher");
        assert_eq!(
            from_forwarded(&f),
            Err(Malformed::Invalid(PROTO, "expected http or https"))
        );
    }

    #[test]
    fn malformed_requests_are_refused() {
        assert_eq!(from_forwarded(&fwd(None)), Err(Malformed::Missing(URI)));
        let long = format!("/{}", "a".repeat(100_000));
        assert_eq!(
            from_forwarded(&fwd(Some(&long))),
            Err(Malformed::TooLong(URI, MAX_URI))
        );
        for bad in [
            "app/",
            "/a b",
            "/a\r\nX: y",
            "/%zz",
            "/%00",
            "/%ff",
            "/../etc",
            "/a#f",
            "/é",
        ] {
            assert!(from_forwarded(&fwd(Some(bad))).is_err(), "{bad:?}");
        }
        let mut f = fwd(Some("/"));
        f.host = Some("evil.org/x");
        assert!(from_forwarded(&f).is_err());
        f.host = Some("");
        assert!(from_forwarded(&f).is_err());
        let mut f = fwd(Some("/"));
        f.method = Some("get me");
        assert!(from_forwarded(&f).is_err());
        let f = Forwarded {
            original_url: Some("no-scheme"),
            own_method: "GET",
            ..Forwarded::default()
        };
        assert!(from_forwarded(&f).is_err());
    }

    #[test]
    fn paths_are_judged_as_the_proxy_matched_them() {
        for (raw, want) in [
            ("/", "/"),
            ("/app/", "/app/"),
            ("/app", "/app"),
            ("/public/../admin/", "/admin/"),
            ("/public/%2e%2e/admin/x", "/admin/x"),
            ("//admin//x", "/admin/x"),
            ("/a/./b/.", "/a/b/"),
            ("/a/..", "/"),
        ] {
            assert_eq!(normalised_path(raw).as_deref(), Some(want), "{raw}");
        }
        assert_eq!(normalised_path("/.."), None);
        assert_eq!(normalised_path("/a/."), Some("/a/".into()));
        assert_eq!(
            normalised_path("/.well-known/x"),
            Some("/.well-known/x".into())
        );
        assert_eq!(normalised_path("/a/../../b"), None);
    }

    #[test]
    fn direct_requests_need_a_host() {
        assert_eq!(
            direct("GET", None, "/", false),
            Err(Malformed::Missing("Host"))
        );
        assert_eq!(
            direct("GET", Some("h:8080"), "/x", true).unwrap().host,
            "h:8080"
        );
    }

    proptest::proptest! {
        /// The short way for the usual path gives what the long way gives.
        #[test]
        fn the_usual_path_is_normalised_as_any_other(raw in "[/a.%2fé\\x01]{0,12}") {
            proptest::prop_assert_eq!(normalised_path(&raw), decoded_normalised_path(&raw));
        }
    }
}
