"""The WSGI application of the tests: prints what SSOMiddleware put into
the environ, like mod_sso's tests' env.cgi. Its settings: app_config.py.

Run directly (``python wsgi_app.py PORT``) it serves with wsgiref.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable
from typing import Any

from app_config import KEYS, protected
from sso.wsgi import SSOMiddleware


def echo(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    lines = [f"{k}={environ.get(k, '')}" for k in KEYS]
    ticket = environ.get("sso.ticket")
    if ticket is not None:
        lines.append(f"TICKET_EXPIRES={ticket.expires}")
    lines.append(f"PID={os.getpid()}")  # which worker answered
    if environ.get("PATH_INFO", "").endswith("/boom"):
        raise RuntimeError("the application failed")  # the server's own 500
    if environ.get("PATH_INFO", "").endswith("/slow"):
        time.sleep(0.2)  # holds a sync worker, so the next request needs another
    body = ("\n".join(lines) + "\n").encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def build() -> Any:
    plain, grouped = protected(SSOMiddleware, echo)
    if grouped is None:
        return plain

    def dispatch(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        target = grouped if path.startswith("/app/needgroup/") else plain
        return target(environ, start_response)

    return dispatch


app = build()

if __name__ == "__main__":
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIServer, make_server

    class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    make_server("127.0.0.1", int(sys.argv[1]), app, server_class=ThreadingWSGIServer).serve_forever()
