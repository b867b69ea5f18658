//! What the tests of sso-gate behind a proxy (nginx, Caddy, Traefik,
//! Envoy) share: a gate with the case table's routes, the echo application
//! behind the proxy, the keys of the cases' tickets, and the run of the
//! whole table (tests/src/cases.rs) and the spoofing checks
//! (tests/src/spoof.rs) through the proxy.

use crate::cases::{cases, check, send, through_forward_auth};
use crate::gate::{Echo, Gate};
use crate::server::DOMAIN;
use crate::spoof::check_spoofing;
use crate::util::{free_port, TestKeys};

/// The login server the gate sends browsers to (never contacted).
pub const LOGIN: &str = "https://login.example.org/";

/// A gate for a proxy listening on `port` (the proxy is the test's).
pub struct ProxiedGate {
    pub keys: TestKeys,
    pub forger: TestKeys,
    pub echo: Echo,
    /// The proxy's port, on which the cases are sent.
    pub port: u16,
    /// The service of the protected routes, `127.0.0.1:PORT/app/`.
    pub service: String,
    pub gate: Gate,
}

impl ProxiedGate {
    /// Starts the echo application and a gate with the table's routes:
    /// `/app/`, `/app/needgroup/` (admins or staff), `/public/`.
    pub fn start() -> ProxiedGate {
        let keys = TestKeys::new();
        let echo = Echo::start();
        let port = free_port();
        let service = format!("127.0.0.1:{port}/app/");
        let gate = Gate::start(&format!(
            "listen = \"127.0.0.1:{{port}}\"\nlogin_server = \"{LOGIN}\"\ndomain = \"{DOMAIN}\"\n\
             public_key_files = [{:?}]\nlog_level = \"debug\"\n\
             [[route]]\nservice = \"{service}\"\n\
             [[route]]\nservice = \"{service}\"\npath = \"/app/needgroup/\"\n\
             groups = [\"admins\", \"staff\"]\n\
             [[route]]\npath = \"/public/\"\nmode = \"public\"\n",
            keys.public_path
        ));
        ProxiedGate {
            keys,
            forger: TestKeys::new(),
            echo,
            port,
            service,
            gate,
        }
    }

    /// A snippet of docs/sso-gate.md with its gate (`127.0.0.1:4180`) and
    /// application (`127.0.0.1:8080`) addresses made this gate's and echo's.
    pub fn wire(&self, snippet: &str) -> String {
        snippet
            .replace("127.0.0.1:4180", &format!("127.0.0.1:{}", self.gate.port))
            .replace("127.0.0.1:8080", &format!("127.0.0.1:{}", self.echo.port))
    }

    /// Every case of the table through the proxy (as a proxy in front of
    /// `/forward-auth` must answer it when `forward_auth`), then the
    /// spoofing checks, whose `sso_logout` answers `logout_status`.
    /// `front_log` is the proxy's log, shown with the gate's on a failure.
    pub fn answer_every_case(
        &self,
        forward_auth: bool,
        front_log: impl Fn() -> String,
        logout_status: u16,
    ) {
        for case in cases() {
            let case = if forward_auth {
                through_forward_auth(&case)
            } else {
                case
            };
            let before = self.gate.log().len();
            let r = send(&case, self.port, &self.service, &self.keys, &self.forger);
            let log = format!(
                "{}\n--- proxy:\n{}",
                &self.gate.log()[before..],
                front_log()
            );
            check(&case, &r, &log, &self.service, LOGIN);
        }
        let (keys, forger) = (&self.keys, &self.forger);
        check_spoofing(self.port, &self.service, keys, forger, logout_status);
    }
}
