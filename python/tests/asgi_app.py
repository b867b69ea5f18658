"""The ASGI application of the tests: what sso.asgi.SSOMiddleware told it,
printed as wsgi_app.py prints the WSGI environ (the same lines, so the flow
cases compare it with mod_sso's env.cgi), plus ``USER=`` from
``scope["user"]``. A WebSocket is accepted and sent the same lines. Its
settings come from the same JSON file as wsgi_app.py's
(``$SSO_TEST_APP_CONFIG``, written by harness.WsgiServer).
"""

from __future__ import annotations

import os
import time
from typing import Any

from app_config import KEYS, protected
from sso.asgi import SSOMiddleware


def lines_of(scope: dict[str, Any]) -> bytes:
    state = scope.get("state", {})
    lines = [f"{k}={state.get(k, '')}" for k in KEYS]
    ticket = scope.get("sso.ticket")
    if ticket is not None:
        lines.append(f"TICKET_EXPIRES={ticket.expires}")
        lines.append(f"USER={scope['user'].display_name} {sorted(scope['auth'].scopes)}")
    lines.append(f"PID={os.getpid()}")  # which worker answered
    return ("\n".join(lines) + "\n").encode()


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "websocket":
        message = await receive()
        assert message["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": lines_of(scope).decode()})
        await send({"type": "websocket.close", "code": 1000})
        return
    if scope["path"].endswith("/slow"):
        time.sleep(0.2)  # holds the worker's event loop, so the next request needs another worker
    body = lines_of(scope)
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def build() -> Any:
    plain, grouped = protected(SSOMiddleware, echo)
    if grouped is None:
        return plain

    async def dispatch(scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("root_path", "") + scope.get("path", "")
        target = grouped if path.startswith("/app/needgroup/") else plain
        await target(scope, receive, send)

    return dispatch


app = build()
