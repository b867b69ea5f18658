"""N warm requests through sso.wsgi.SSOMiddleware or sso.asgi.SSOMiddleware
in this process, no server (bench/python_instructions.sh runs it under
callgrind; with --time it prints µs per request over the bare application
instead, the best of 7 runs).

Usage: python_warm.py wsgi|asgi N PUBLIC_KEY_FILE TICKET_FILE SERVICE DOMAIN [--time]
"""

from __future__ import annotations

import sys
import time
from typing import Any

mode, n, public_key, ticket_file, service, domain = sys.argv[1:7]
count = int(n)
ticket = open(ticket_file).read().strip()
settings: dict[str, Any] = dict(
    login_server="https://login.bench.example/",
    service=service,
    domain=domain,
    public_keys=[public_key],
)
path = "/" + service.split("/", 1)[1] + "page"


def bare(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "6")])
    return [b"hello\n"]


async def bare_asgi(scope: Any, receive: Any, send: Any) -> None:
    pass


def start_response(status: str, headers: Any) -> None:
    assert status.startswith("200"), status


def run(app: Any, request: dict[str, Any]) -> Any:
    if mode == "wsgi":
        return lambda: app(dict(request), start_response)

    def one() -> None:
        coroutine = app(dict(request), None, None)
        try:
            coroutine.send(None)
        except StopIteration:
            pass

    return one


if mode == "wsgi":
    from sso.wsgi import SSOMiddleware

    request: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "RAW_URI": path,
        "HTTP_COOKIE": "SSO_ticket=" + ticket,
        "HTTP_HOST": service.split("/", 1)[0],
        "wsgi.url_scheme": "http",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    protected, plain = run(SSOMiddleware(bare, **settings), request), run(bare, request)
else:
    from sso.asgi import SSOMiddleware as ASGIMiddleware

    request = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 5000),
        "scheme": "http",
        "method": "GET",
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [
            (b"host", service.split("/", 1)[0].encode()),
            (b"cookie", b"SSO_ticket=" + ticket.encode()),
        ],
        "state": {},
    }
    protected, plain = run(ASGIMiddleware(bare_asgi, **settings), request), run(
        bare_asgi, request
    )

protected()  # the first request checks the signature: not measured
if "--time" in sys.argv:
    best = float("inf")
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(count):
            protected()
        middle = time.perf_counter()
        for _ in range(count):
            plain()
        best = min(
            best, ((middle - start) - (time.perf_counter() - middle)) / count * 1e6
        )
    print(f"{mode}: {best:.2f} µs per warm request over the bare application")
else:
    for _ in range(count):
        protected()
