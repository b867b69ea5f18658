//! Every branch of the flow, with real keys and signatures.

use super::*;
use crate::web::{self, ServiceName};
use crate::{ticket_fingerprint, KeySet, SecretKey, Signer, Ticket, Verifier, Version};

const NOW: u64 = 1_900_000_000;
const SERVICE: &str = "www.example.org/app/";
const DOMAIN: &str = "example.org";
const LOGIN: &str = "https://login.example.org/";

struct Fixture {
    signer: Signer,
    settings: Settings,
    cache: VerifyCache,
    store: MemoryBindingStore,
}

fn fixture() -> Fixture {
    let signer = Signer::new(SecretKey::generate());
    let keys = KeySet::new(&[signer.public_key()]).unwrap();
    let verifier = Verifier::new(keys, SERVICE, DOMAIN).unwrap();
    let settings = Settings::new(ServiceName::parse(SERVICE).unwrap(), LOGIN, verifier);
    Fixture {
        signer,
        settings,
        cache: VerifyCache::new(64),
        store: MemoryBindingStore::new(64),
    }
}

impl Fixture {
    fn ticket(&self, user: &str, nonce: Option<&str>, groups: &[&str]) -> String {
        self.ticket_for(user, SERVICE, nonce, groups)
    }

    fn ticket_for(
        &self,
        user: &str,
        service: &str,
        nonce: Option<&str>,
        groups: &[&str],
    ) -> String {
        let mut t = Ticket::new(user, service, DOMAIN, NOW + 600);
        // As the login server does: the ticket carries what the redirect
        // asked for, the commitment of the browser's nonce cookie.
        t.nonce = nonce.map(web::nonce_commitment);
        t.groups = groups.iter().map(|g| g.to_string()).collect();
        self.signer.sign(&t).unwrap()
    }

    fn names(&self) -> CookieNames {
        CookieNames::for_request(&self.settings.service, &self.settings.cookies, true)
    }

    fn decide(&self, req: &Request<'_>) -> Decision {
        decide(&self.settings, req, &self.cache, &self.store)
    }

    /// The user a GET of the location accepts with these `Cookie` headers.
    fn cookie_user(&self, headers: &[&str]) -> Option<String> {
        accepted_user(&self.decide(&req("GET", "/app/", "", headers, None))).map(str::to_owned)
    }

    /// `sso_login?t=TICKET` with the nonce cookie `nonce`, against `store`.
    fn login_with(&self, ticket: &str, nonce: &str, store: &dyn BindingStore) -> Decision {
        let query = format!("t={ticket}");
        let cookie = format!("{}={nonce}", self.names().nonce);
        let headers = [cookie.as_str()];
        let req = req("GET", "/app/sso_login", &query, &headers, None);
        decide(&self.settings, &req, &self.cache, store)
    }

    /// Runs `sso_login` with `ticket` and the nonce cookie `nonce`; returns
    /// the decision and the cookies it sets as (name, value).
    fn login(&self, ticket: &str, nonce: &str) -> (Decision, Vec<(String, String)>) {
        let query = format!("t={ticket}&d=%2Fapp%2Fpage");
        let cookie = format!("{}={nonce}", self.names().nonce);
        let headers = [cookie.as_str()];
        let d = self.decide(&req("GET", "/app/sso_login", &query, &headers, None));
        let set = set_cookies(&d);
        (d, set)
    }
}

fn req<'a>(
    method: &'a str,
    path: &'a str,
    query: &'a str,
    cookies: &'a [&'a str],
    authorization: Option<&'a str>,
) -> Request<'a> {
    Request {
        method,
        path,
        query,
        unparsed_uri: "",
        cookie_headers: cookies,
        authorization,
        https: true,
        now: NOW,
    }
}

fn set_cookies(d: &Decision) -> Vec<(String, String)> {
    d.headers()
        .into_iter()
        .filter(|(k, _)| k == "Set-Cookie")
        .map(|(_, v)| {
            let pair = v.split(';').next().unwrap();
            let (n, v) = pair.split_once('=').unwrap();
            (n.to_owned(), v.to_owned())
        })
        .collect()
}

fn cookie_of<'a>(set: &'a [(String, String)], name: &str) -> Option<&'a str> {
    set.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

fn logs(d: &Decision) -> String {
    d.logs
        .iter()
        .map(|l| l.message.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

fn accepted_user(d: &Decision) -> Option<&str> {
    match &d.action {
        Action::Accept(a) => Some(a.ticket.user.as_str()),
        _ => None,
    }
}

/// Asserts that `d` is a refused `sso_login`: a redirect to the refusal
/// page naming `check`, with no cookie.
fn assert_refused(d: &Decision, check: &str) {
    let Action::LoginRefused { location } = &d.action else {
        panic!("not a refused login: {d:?}")
    };
    assert_eq!(d.status(), 302);
    assert_eq!(
        location,
        &format!("/app/sso_login?error={}", web::percent_encode(check)),
    );
    assert!(set_cookies(d).is_empty(), "{d:?}");
    assert!(
        logs(d).contains(&format!("check '{check}' failed")),
        "{}",
        logs(d)
    );
}

fn www_authenticate(d: &Decision) -> Option<&str> {
    match &d.action {
        Action::Unauthorized { www_authenticate } => Some(www_authenticate),
        _ => None,
    }
}

/// A full browser login: the cookie header a browser sends afterwards.
fn logged_in(f: &Fixture, user: &str) -> (String, String) {
    let ticket = f.ticket(user, Some("n1"), &[]);
    let (d, set) = f.login(&ticket, "n1");
    assert_eq!(d.status(), 302, "{}", logs(&d));
    let names = f.names();
    let header = format!(
        "{}={}; {}={}",
        names.ticket,
        cookie_of(&set, &names.ticket).unwrap(),
        names.binding,
        cookie_of(&set, &names.binding).unwrap()
    );
    (ticket, header)
}

mod authn;
mod handlers;
