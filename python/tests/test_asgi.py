"""sso.asgi.SSOMiddleware in real ASGI servers (uvicorn, hypercorn): what
only ASGI has (WebSockets checked before they are accepted, the user in
``scope["user"]``), API mode, the access log at sso_login, and uvicorn
with 4 worker processes. The flow's cases (test_flow_cases.py) and the
browser flow (test_wsgi.py) run under both servers through the shared
``wsgi`` fixture."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Iterator

import pytest
import requests
import websockets.client
import websockets.exceptions

import harness
from conftest import site_settings
from test_wsgi import browser_login, cookie_header

ASGI_SERVERS = ["uvicorn", "hypercorn"]


@pytest.fixture(scope="module", params=ASGI_SERVERS)
def asgi(request: pytest.FixtureRequest, keys: harness.Keys) -> Iterator[harness.WsgiServer]:
    server = harness.WsgiServer(request.param, site_settings(keys))
    yield server
    server.close()


def websocket(server: harness.WsgiServer, path: str, headers: dict[str, str]) -> str:
    """The first message of a WebSocket to ``path``, or ``refused NNN``
    when the server answered the handshake with status NNN."""

    async def talk() -> str:
        uri = f"ws://127.0.0.1:{server.port}{path}"
        try:
            async with websockets.client.connect(uri, extra_headers=headers, open_timeout=10) as ws:
                return str(await ws.recv())
        except websockets.exceptions.InvalidStatusCode as e:
            return f"refused {e.status_code}"

    return asyncio.run(talk())


def test_a_websocket_is_checked_before_it_is_accepted(asgi: harness.WsgiServer, keys: harness.Keys) -> None:
    before = len(asgi.log())
    # No cookie: closed before websocket.accept, which the server answers 403.
    assert websocket(asgi, "/app/ws", {}) == "refused 403"
    assert "no valid ticket (no ticket)" in asgi.log()[before:]
    jar, _, login = browser_login(asgi, keys)
    assert login.status_code == 302, login.text
    # The browser's cookies (ticket and binding): the application accepts it
    # and sees the user.
    answer = websocket(asgi, "/app/ws", cookie_header(jar))
    assert "REMOTE_USER=alice" in answer and "SSO_GROUPS=staff" in answer, answer
    assert "USER=alice ['staff']" in answer, answer
    # The ticket cookie without its binding cookie is refused, as for HTTP.
    assert websocket(asgi, "/app/ws", {"Cookie": f"SSO_ticket={jar['SSO_ticket']}"}) == "refused 403"
    # A program's ticket in Authorization, and a group asked for.
    ok = keys.sign("carol", asgi.service, groups=["admins"])
    assert "REMOTE_USER=carol" in websocket(asgi, "/app/needgroup/ws", {"Authorization": f"SSO {ok}"})
    other = keys.sign("dave", asgi.service, groups=["dev"])
    assert websocket(asgi, "/app/needgroup/ws", {"Authorization": f"SSO {other}"}) == "refused 403"
    assert "check 'missing group' failed" in asgi.log()
    assert ok not in asgi.log() and jar["SSO_ticket"] not in asgi.log()


def test_the_access_log_never_shows_a_ticket(asgi: harness.WsgiServer, keys: harness.Keys) -> None:
    """At sso_login the middleware leaves only the core's mask in the
    scope's query string, which the servers' access logs read."""
    jar, ticket, login = browser_login(asgi, keys, user="erin")
    assert login.status_code == 302 and "SSO_binding" in jar, login.text
    access = asgi.dir / "access.log" if asgi.kind == "hypercorn" else asgi.dir / "server.log"
    deadline = time.monotonic() + 5
    while "sso_login?t=ticket-" not in access.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    text = access.read_text()
    assert "sso_login?t=ticket-" in text, text
    assert ticket not in text and ticket[:40] not in text


def test_api_mode_authenticates_websockets_by_header(keys: harness.Keys) -> None:
    """API mode (HTTP: test_wsgi.py, parametrised over uvicorn too): a
    WebSocket without a ticket is refused before accept, one with
    ``Authorization: SSO`` is accepted."""
    server = harness.WsgiServer("uvicorn", site_settings(keys, browser=False, needgroup=None))
    try:
        ok = keys.sign("alice", server.service)
        assert websocket(server, "/app/ws", {}) == "refused 403"
        assert "REMOTE_USER=alice" in websocket(server, "/app/ws", {"Authorization": f"SSO {ok}"})
    finally:
        server.close()


def test_scope_of_a_mounted_application(keys: harness.Keys) -> None:
    """The flow's path is the whole path, ``root_path`` included (as
    SCRIPT_NAME + PATH_INFO in WSGI); ``raw_path`` keeps bytes that are
    not UTF-8 for the core to refuse; the server's ``state`` is copied."""
    from sso.asgi import SSOMiddleware, request_of

    scope = {
        "type": "http",
        "method": "GET",
        "root_path": "/app",
        "path": "/x y",
        "raw_path": b"/x%20y",
        "query_string": b"a=1",
        "headers": [(b"cookie", b"a=1"), (b"cookie", b"b=2"), (b"x-forwarded-proto", b"https")],
        "client": ("127.0.0.1", 1234),
        "scheme": "http",
    }
    request = request_of(scope)
    assert request.path == b"/app/x y" and request.unparsed_uri == b"/app/x%20y?a=1"
    assert request.cookie_headers == [b"a=1", b"b=2"] and not request.https
    assert request_of(scope, [ipaddress.ip_network("127.0.0.0/8")]).https
    assert request_of(dict(scope, raw_path=b"/%ff")).path == b"/app/\xff"

    seen = {}

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        seen.update(scope)

    async def receive() -> dict[str, object]:
        return {"type": "http.request"}

    async def send(message: dict[str, object]) -> None:
        pass

    middleware = SSOMiddleware(
        app,
        login_server=harness.LOGIN,
        service="a.test.example/app/",
        domain=harness.DOMAIN,
        public_keys=[str(keys.public)],
    )
    state = {"db": "shared"}
    ok = keys.sign("alice", "a.test.example/app/", groups=["g"])
    asyncio.run(middleware(dict(scope, state=state, headers=[(b"authorization", f"SSO {ok}".encode())]), receive, send))
    assert seen["state"] == {
        "db": "shared",
        "REMOTE_USER": "alice",
        "AUTH_TYPE": "SSO",
        "SSO_USER": "alice",
        "SSO_GROUPS": "g",
        "SSO_SERVICE": "a.test.example/app/",
    }
    assert state == {"db": "shared"}  # the server's dict is not changed
    user = seen["user"]
    assert getattr(user, "is_authenticated") and getattr(user, "display_name") == "alice"
