//! sso-gate listening on a unix socket (`listen = "unix:PATH"`), what a
//! proxy on the same host uses so that nobody else can reach the
//! forward-auth endpoints; a stale socket file is replaced at start.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tests::server::DOMAIN;
use tests::util::{bin, TestKeys};

fn ask(socket: &std::path::Path, uri: &str) -> String {
    let mut s = UnixStream::connect(socket).expect("connect to the gate's socket");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    write!(
        s,
        "GET /forward-auth HTTP/1.1\r\nHost: gate\r\nX-Forwarded-Host: app.test.example.org\r\n\
         X-Forwarded-Proto: https\r\nX-Forwarded-Uri: {uri}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("read");
    answer
}

#[test]
fn forward_auth_on_a_unix_socket() {
    let keys = TestKeys::new();
    let (dir, socket) = tests::util::temp_path("gate.sock");
    // A stale socket from an earlier run.
    drop(std::os::unix::net::UnixListener::bind(&socket).expect("stale socket"));
    let config = dir.path().join("gate.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"unix:{}\"\nlogin_server = \"https://login.example.org/\"\n\
             domain = \"{DOMAIN}\"\npublic_key_files = [{:?}]\n\
             [[route]]\nservice = \"app.test.example.org/app/\"\n",
            socket.display(),
            keys.public_path
        ),
    )
    .expect("write config");
    let log = dir.path().join("gate.log");
    let mut child = Command::new(bin("sso-gate"))
        .arg("--config")
        .arg(&config)
        .stdin(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("start sso-gate");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("event=listening")
    {
        assert!(
            Instant::now() < deadline,
            "{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let answer = ask(&socket, "/app/page");
    let _ = child.kill();
    let _ = child.wait();
    assert!(answer.starts_with("HTTP/1.1 302"), "{answer}");
    assert!(
        answer.contains("location: https://login.example.org/?s="),
        "{answer}"
    );
    // https was said by the proxy: the nonce cookie has its __Host- name.
    assert!(answer.contains("set-cookie: __Host-sso-"), "{answer}");
}
