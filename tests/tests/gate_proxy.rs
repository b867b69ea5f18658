//! sso-gate as a reverse proxy in front of a real application (Python's
//! http.server, tests/src/gate.rs): identity from the ticket, spoofed
//! identity headers removed on protected and public routes, bodies
//! streamed both ways, a WebSocket upgrade joined. One fixture for the
//! binary: the steps run in order in one test.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use tests::gate::{echoed_headers, header_values, Echo, Gate};
use tests::server::{http, DOMAIN};
use tests::util::{free_port, TestKeys};

const SPOOFED: [(&str, &str); 6] = [
    ("Remote-User", "root"),
    ("Remote-Groups", "admins"),
    ("X-Forwarded-User", "root"),
    ("X-Forwarded-Groups", "admins"),
    ("X-Auth-Request-User", "root"),
    ("X-Auth-Request-Email", "root@example.org"),
];

fn config(keys: &TestKeys, upstream: &str) -> String {
    format!(
        "listen = \"127.0.0.1:{{port}}\"\nlogin_server = \"https://login.example.org/\"\n\
         domain = \"{DOMAIN}\"\npublic_key_files = [{:?}]\n\
         [[route]]\nservice = \"127.0.0.1:{{port}}/app/\"\nupstream = \"{upstream}\"\n\
         [[route]]\npath = \"/down/\"\nmode = \"public\"\nupstream = \"http://127.0.0.1:{}\"\n\
         [[route]]\npath = \"/\"\nmode = \"public\"\nupstream = \"{upstream}\"\n",
        keys.public_path,
        free_port()
    )
}

fn with(headers: &[(&str, &str)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn sso_gate_as_a_reverse_proxy() {
    let keys = TestKeys::new();
    let echo = Echo::start();
    let gate = Gate::start(&config(&keys, &format!("http://127.0.0.1:{}", echo.port)));
    let service = format!("127.0.0.1:{}/app/", gate.port);
    let ticket = keys.ticket("alice", &service, DOMAIN, 300, None, &["staff", "ops"]);
    let sso = format!("SSO {ticket}");

    // A protected route: the identity is the ticket's, whatever the client said.
    let mut h = with(&SPOOFED);
    h.push(("Authorization".into(), sso.clone()));
    let r = http(gate.port, "GET", "/app/page?x=1", &h, None);
    assert_eq!(r.status, 200, "{r:?}\n{}", gate.log());
    let seen = echoed_headers(&r.body);
    for (name, want) in [
        ("remote-user", "alice"),
        ("x-forwarded-user", "alice"),
        ("x-auth-request-user", "alice"),
        ("remote-groups", "staff,ops"),
        ("x-forwarded-groups", "staff,ops"),
    ] {
        assert_eq!(header_values(&seen, name), [want], "{name}: {seen:?}");
    }
    assert!(
        header_values(&seen, "x-auth-request-email").is_empty(),
        "{seen:?}"
    );
    assert!(
        header_values(&seen, "authorization").is_empty(),
        "the ticket went upstream: {seen:?}"
    );
    assert_eq!(
        header_values(&seen, "host"),
        [format!("127.0.0.1:{}", gate.port).as_str()]
    );
    assert_eq!(header_values(&seen, "x-forwarded-for"), ["127.0.0.1"]);
    assert_eq!(header_values(&seen, "x-forwarded-proto"), ["http"]);

    // A public route: nobody's identity at all.
    let r = http(gate.port, "GET", "/public", &with(&SPOOFED), None);
    assert_eq!(r.status, 200, "{r:?}");
    let seen = echoed_headers(&r.body);
    for (name, _) in SPOOFED {
        let lower = name.to_ascii_lowercase();
        assert!(
            header_values(&seen, &lower).is_empty(),
            "{name} reached the upstream: {seen:?}"
        );
    }

    // No ticket: the browser goes to log in, the upstream sees nothing.
    let r = http(gate.port, "GET", "/app/page", &with(&SPOOFED), None);
    assert_eq!(r.status, 302, "{r:?}");
    assert!(
        r.location()
            .unwrap_or_default()
            .starts_with("https://login.example.org/?s="),
        "{r:?}"
    );
    let r = http(gate.port, "POST", "/app/form", &with(&SPOOFED), Some("a=1"));
    assert_eq!(r.status, 401, "{r:?}");

    // 10 MB each way, streamed.
    let big = "y".repeat(10 * 1000 * 1000);
    let r = http(
        gate.port,
        "POST",
        "/app/upload",
        &with(&[("Authorization", &sso)]),
        Some(&big),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains(&format!("\"received\": {}", big.len())),
        "{}",
        r.body
    );
    let r = http(
        gate.port,
        "GET",
        "/app/big",
        &with(&[("Authorization", &sso)]),
        None,
    );
    assert_eq!((r.status, r.body.len()), (200, 10 * 1000 * 1000));

    // A WebSocket upgrade, joined end to end after the ticket is accepted.
    let mut s = TcpStream::connect(("127.0.0.1", gate.port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    write!(
        s,
        "GET /app/ws HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Authorization: {sso}\r\n\r\n",
        gate.port
    )
    .expect("write");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut byte).expect("read"), 1, "closed: {head:?}");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    s.write_all(b"hello through the gate").expect("write");
    let mut back = [0u8; 22];
    s.read_exact(&mut back).expect("echo");
    assert_eq!(&back, b"hello through the gate");
    // Without a ticket no upgrade happens.
    let r = http(
        gate.port,
        "GET",
        "/app/ws",
        &with(&[("Upgrade", "websocket"), ("Connection", "Upgrade")]),
        None,
    );
    assert_eq!(r.status, 302, "{r:?}");

    // Kept-alive connections to the upstream: requests one after the other
    // reuse connections (sso-gate/src/upstream.rs). Not always one: a
    // connection goes back to the pool a moment after its answer has been
    // sent, and idle ones from the requests above may be picked.
    let peer = |_| {
        let r = http(gate.port, "GET", "/pooled", &[], None);
        assert_eq!(r.status, 200, "{r:?}");
        let v: serde_json::Value = serde_json::from_str(&r.body).expect("the echo's JSON");
        v["peer"].as_u64().expect("peer")
    };
    let peers: std::collections::HashSet<u64> = (0..10).map(peer).collect();
    assert!(peers.len() <= 5, "10 requests, connections: {peers:?}");

    // An upstream that is down: 502, and the gate says why.
    let r = http(gate.port, "GET", "/down/", &[], None);
    assert_eq!(r.status, 502, "{r:?}");
    assert!(gate.log().contains("upstream"), "{}", gate.log());
    assert!(
        !gate.log().contains(&ticket),
        "a ticket in the log:\n{}",
        gate.log()
    );
}
