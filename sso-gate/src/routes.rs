//! Which route a request falls under: the longest path prefix wins; among
//! routes of one prefix, one naming the request's host wins over one for
//! any host. No route: the request is refused (the gate fails closed).

use crate::config::Route;

/// The host without its port (`[::1]:80` → `[::1]`), lower-cased.
pub fn host_only(host: &str) -> String {
    let h = if host.starts_with('[') {
        host.find(']').map_or(host, |end| &host[..=end])
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    h.to_ascii_lowercase()
}

/// The route for `host` (as sent, with or without port) and the decoded,
/// normalised `path`.
pub fn select<'a>(routes: &'a [Route], host: &str, path: &str) -> Option<&'a Route> {
    let host = host_only(host);
    routes
        .iter()
        .filter(|r| r.host.as_deref().is_none_or(|h| h == host))
        .filter(|r| path.starts_with(&r.path))
        .max_by_key(|r| (r.path.len(), r.host.is_some()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Access;

    fn route(host: Option<&str>, path: &str) -> Route {
        Route {
            host: host.map(str::to_owned),
            path: path.to_owned(),
            access: Access::Public,
            upstream: None,
            preserve_host: true,
        }
    }

    fn pick(routes: &[Route], host: &str, path: &str) -> Option<(Option<String>, String)> {
        select(routes, host, path).map(|r| (r.host.clone(), r.path.clone()))
    }

    #[test]
    fn the_longest_prefix_wins_then_the_host() {
        let routes = [
            route(None, "/"),
            route(None, "/app/"),
            route(Some("a.example.org"), "/app/"),
            route(Some("b.example.org"), "/app/admin/"),
        ];
        let any = |p: &str| (None, p.to_owned());
        let a = |p: &str| (Some("a.example.org".to_owned()), p.to_owned());
        assert_eq!(pick(&routes, "x.org", "/other"), Some(any("/")));
        assert_eq!(pick(&routes, "x.org", "/app/x"), Some(any("/app/")));
        assert_eq!(
            pick(&routes, "A.example.org:8443", "/app/x"),
            Some(a("/app/"))
        );
        assert_eq!(
            pick(&routes, "a.example.org", "/app/admin/"),
            Some(a("/app/"))
        );
        assert_eq!(
            pick(&routes, "b.example.org", "/app/admin/x"),
            Some((Some("b.example.org".into()), "/app/admin/".into()))
        );
        // `/app` is not under `/app/`.
        assert_eq!(pick(&routes, "x.org", "/app"), Some(any("/")));
    }

    #[test]
    fn no_route_is_none() {
        let routes = [route(Some("a.example.org"), "/app/")];
        assert_eq!(pick(&routes, "b.example.org", "/app/"), None);
        assert_eq!(pick(&routes, "a.example.org", "/"), None);
    }

    #[test]
    fn hosts_lose_their_port() {
        assert_eq!(host_only("Example.org:80"), "example.org");
        assert_eq!(host_only("[::1]:8080"), "[::1]");
        assert_eq!(host_only("[::1]"), "[::1]");
        assert_eq!(host_only("h"), "h");
    }
}
