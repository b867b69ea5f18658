//! The pool against tiny HTTP/1.1 servers that count the connections they
//! accept.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use http_body_util::{BodyExt, Empty};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

type TestPool = Pool<Empty<Bytes>>;

const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n";
const SWITCH: &[u8] =
    b"HTTP/1.1 101 Switching Protocols\r\nupgrade: echo\r\nconnection: upgrade\r\n\r\n";

/// Reads one request head; false at the end of the connection.
async fn read_head(s: &mut (impl AsyncReadExt + Unpin)) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// Answers every request of one connection: an `Upgrade` with 101 and then
/// an echo of the stream, a path `/chunked` with a chunked body, others
/// with [`OK`].
async fn answer(mut s: impl AsyncReadExt + AsyncWriteExt + Unpin) {
    while let Some(head) = read_head(&mut s).await {
        let head = head.to_ascii_lowercase();
        if head.contains("upgrade: echo") {
            let _ = s.write_all(SWITCH).await;
            let mut buf = [0u8; 64];
            while let Ok(n @ 1..) = s.read(&mut buf).await {
                let _ = s.write_all(&buf[..n]).await;
            }
            return;
        }
        let reply = if head.starts_with("get /chunked ") {
            CHUNKED
        } else {
            OK
        };
        if s.write_all(reply).await.is_err() {
            return;
        }
    }
}

/// Answers every connection `listener` (TCP or unix) accepts with
/// [`answer`], on the runtime; the count of accepted connections.
macro_rules! serve_counting {
    ($listener:expr) => {{
        let listener = $listener;
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(answer(s));
            }
        });
        accepted
    }};
}

/// A TCP server on the runtime; its upstream and the count of accepted
/// connections.
async fn tcp_server() -> (Upstream, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let authority = listener.local_addr().unwrap().to_string();
    let accepted = serve_counting!(listener);
    (Upstream::Http { authority }, accepted)
}

fn get(path: &str) -> Request<Empty<Bytes>> {
    Request::get(path).body(Empty::new()).unwrap()
}

/// One request, its body read to the end.
async fn fetch(pool: &TestPool, upstream: &Upstream, path: &str) -> Bytes {
    let resp = pool.send(upstream, get(path)).await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.into_body().collect().await.unwrap().to_bytes()
}

/// Lets the connection tasks run (a connection not yet ready when its
/// body ended goes back a moment later).
async fn settle() {
    tokio::time::sleep(Duration::from_millis(20)).await;
}

#[tokio::test]
async fn a_connection_is_reused() {
    let (upstream, accepted) = tcp_server().await;
    let pool = TestPool::default();
    for path in ["/", "/chunked", "/", "/chunked"] {
        assert_eq!(fetch(&pool, &upstream, path).await, "ok");
        settle().await;
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
    assert_eq!(pool.idle_count(&upstream), 1);
}

#[tokio::test]
async fn a_unix_socket_upstream_is_reused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("up.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let accepted = serve_counting!(listener);
    let upstream = Upstream::Unix(path);
    let pool = TestPool::default();
    for _ in 0..3 {
        assert_eq!(fetch(&pool, &upstream, "/").await, "ok");
        settle().await;
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

/// The one connection to `upstream` was not kept: the next request opens
/// a second.
async fn was_not_kept(pool: &TestPool, upstream: &Upstream, accepted: &AtomicUsize) {
    settle().await;
    assert_eq!(pool.idle_count(upstream), 0);
    assert_eq!(fetch(pool, upstream, "/").await, "ok");
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_body_not_read_to_the_end_closes_its_connection() {
    let (upstream, accepted) = tcp_server().await;
    let pool = TestPool::default();
    let resp = pool.send(&upstream, get("/chunked")).await.unwrap();
    drop(resp);
    was_not_kept(&pool, &upstream, &accepted).await;
}

#[tokio::test]
async fn an_upgraded_connection_is_not_reused() {
    let (upstream, accepted) = tcp_server().await;
    let pool = TestPool::default();
    let req = Request::get("/ws")
        .header(header::UPGRADE, "echo")
        .header(header::CONNECTION, "upgrade")
        .body(Empty::new())
        .unwrap();
    let mut resp = pool.send(&upstream, req).await.unwrap();
    assert_eq!(resp.status(), 101);
    let mut io = TokioIo::new(hyper::upgrade::on(&mut resp).await.unwrap());
    io.write_all(b"ping").await.unwrap();
    let mut echo = [0u8; 4];
    io.read_exact(&mut echo).await.unwrap();
    assert_eq!(&echo, b"ping");
    drop(resp);
    was_not_kept(&pool, &upstream, &accepted).await;
}

#[tokio::test]
async fn idle_connections_are_capped_and_closed_after_idle() {
    let (upstream, accepted) = tcp_server().await;
    let pool = TestPool::with_limits(2, Duration::from_millis(300));
    // Four requests at once: four connections.
    let mut pending = Vec::new();
    for _ in 0..4 {
        pending.push(pool.send(&upstream, get("/")).await.unwrap());
    }
    for resp in pending {
        resp.into_body().collect().await.unwrap();
    }
    settle().await;
    assert_eq!(accepted.load(Ordering::SeqCst), 4);
    assert_eq!(pool.idle_count(&upstream), 2);
    // The two kept serve the next two requests at once.
    let (a, b) = tokio::join!(
        pool.send(&upstream, get("/")),
        pool.send(&upstream, get("/"))
    );
    for resp in [a.unwrap(), b.unwrap()] {
        resp.into_body().collect().await.unwrap();
    }
    settle().await;
    assert_eq!(accepted.load(Ordering::SeqCst), 4);
    // Unused for longer than `idle` (checked every idle / 6): closed.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(pool.idle_count(&upstream), 0);
    assert_eq!(fetch(&pool, &upstream, "/").await, "ok");
    assert_eq!(accepted.load(Ordering::SeqCst), 5);
}

/// The upstream closes a kept-alive connection while the gate's runtime
/// is busy elsewhere: the pool still holds it as ready, hyper finds it
/// closed before writing and hands the request back, and the pool sends
/// it on a new connection. One thread, so that the connection task cannot
/// see the close before the request is queued on it.
#[tokio::test(flavor = "current_thread")]
async fn a_request_on_a_connection_the_upstream_closed_is_sent_again() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let upstream = Upstream::Http {
        authority: listener.local_addr().unwrap().to_string(),
    };
    let (close, closing) = mpsc::channel::<()>();
    let (closed, is_closed) = mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        let answer_one = |s: &mut std::net::TcpStream| {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                assert_eq!(s.read(&mut byte).unwrap(), 1);
                head.push(byte[0]);
            }
            s.write_all(OK).unwrap();
        };
        let (mut first, _) = listener.accept().unwrap();
        answer_one(&mut first);
        closing.recv().unwrap();
        drop(first);
        closed.send(()).unwrap();
        let (mut second, _) = listener.accept().unwrap();
        answer_one(&mut second);
    });
    // Any idle connection is copied from (by default, one idle for 1 s).
    let pool = TestPool {
        resend_after: Duration::ZERO,
        ..TestPool::default()
    };
    assert_eq!(fetch(&pool, &upstream, "/").await, "ok");
    settle().await;
    assert_eq!(pool.idle_count(&upstream), 1);
    close.send(()).unwrap();
    // Blocks the one thread: no task runs until the request is queued.
    is_closed.recv().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(fetch(&pool, &upstream, "/").await, "ok");
    server.join().unwrap();
}

#[tokio::test]
async fn a_reload_forgets_the_connections_of_an_upstream_no_route_names() {
    let (kept, kept_accepted) = tcp_server().await;
    let (dropped, dropped_accepted) = tcp_server().await;
    let pool = TestPool::default();
    assert_eq!(fetch(&pool, &kept, "/").await, "ok");
    assert_eq!(fetch(&pool, &dropped, "/").await, "ok");
    settle().await;
    // One request to the dropped upstream (on its idle connection) is
    // still being answered.
    let mut pending = pool.send(&dropped, get("/")).await.unwrap();
    pool.keep_only([&kept]);
    assert_eq!(pool.idle_count(&dropped), 0);
    assert!(!pool.slots.lock().unwrap().contains_key(&dropped));
    // Its answer still arrives whole, and its connection is not kept.
    let body = pending.body_mut().collect().await.unwrap().to_bytes();
    assert_eq!(body, "ok");
    drop(pending);
    settle().await;
    assert_eq!(pool.idle_count(&dropped), 0);
    assert_eq!(fetch(&pool, &dropped, "/").await, "ok");
    assert_eq!(dropped_accepted.load(Ordering::SeqCst), 2);
    // The kept upstream's connection is still the one.
    assert_eq!(fetch(&pool, &kept, "/").await, "ok");
    assert_eq!(kept_accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_upstream_that_is_down_is_a_connect_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let authority = listener.local_addr().unwrap().to_string();
    drop(listener);
    let upstream = Upstream::Http { authority };
    let err = TestPool::default()
        .send(&upstream, get("/"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, UpstreamError::Connect(..)),
        "{err}: not a connect error"
    );
    assert!(err.to_string().starts_with("connect to http://127.0.0.1:"));
}

#[tokio::test]
async fn an_upstream_that_never_answers_the_connect_times_out() {
    // A listener that never accepts, its queue full: Linux drops further
    // SYNs, as a firewall dropping packets would.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let address = listener.local_addr().unwrap();
    let mut queued = Vec::new();
    while let Ok(Ok(s)) = tokio::time::timeout(
        Duration::from_millis(200),
        tokio::net::TcpStream::connect(address),
    )
    .await
    {
        queued.push(s);
        assert!(queued.len() < 64, "the listen queue never filled");
    }
    let upstream = Upstream::Http {
        authority: address.to_string(),
    };
    let pool = TestPool {
        connect_timeout: Duration::from_millis(300),
        ..TestPool::default()
    };
    let err = pool.send(&upstream, get("/")).await.unwrap_err();
    assert!(
        matches!(err, UpstreamError::ConnectTimeout(..)),
        "{err}: not a connect timeout"
    );
    assert_eq!(
        err.to_string(),
        format!("connect to http://{address}: no answer within 300ms")
    );
}

#[test]
fn the_request_is_sent_in_origin_form_with_a_host() {
    let upstream = Upstream::Unix("/run/app.sock".into());
    let mut req = get("http://app.example.org/a/b?c=d");
    prepare(&upstream, &mut req).unwrap();
    assert_eq!(req.uri(), "/a/b?c=d");
    assert_eq!(req.headers()[header::HOST], "localhost");
    let mut req = get("/x");
    req.headers_mut()
        .insert(header::HOST, HeaderValue::from_static("app.example.org"));
    prepare(&upstream, &mut req).unwrap();
    assert_eq!(req.uri(), "/x");
    assert_eq!(req.headers()[header::HOST], "app.example.org");
}
