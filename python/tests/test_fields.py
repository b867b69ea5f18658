"""The adapters' quick reading of a request (the usual one, at every
request) gives what their careful reading gives, value by value, and
leaves every other request to the careful one, which names what it
refuses. The answers themselves are the case table's (test_flow_cases.py,
through real servers)."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from sso import asgi, wsgi
from sso.protection import Refused

TICKET = "SSO_ticket=" + "A" * 100

ENVIRONS: list[dict[str, Any]] = [
    {"REQUEST_METHOD": "GET", "PATH_INFO": "/app/x", "HTTP_COOKIE": TICKET, "wsgi.url_scheme": "http"},
    {"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/app", "PATH_INFO": "/x y", "QUERY_STRING": "a=1&b"},
    {"REQUEST_METHOD": "GET", "PATH_INFO": "/x", "RAW_URI": "/x?q", "QUERY_STRING": "q", "wsgi.url_scheme": "HTTPS"},
    {"REQUEST_METHOD": "GET", "PATH_INFO": "/x", "REQUEST_URI": "/x", "wsgi.url_scheme": "wss"},
    {"PATH_INFO": "/x", "HTTP_AUTHORIZATION": "SSO abc", "HTTP_X_FORWARDED_PROTO": "https", "REMOTE_ADDR": "10.0.0.1"},
    {"REQUEST_METHOD": "GET", "PATH_INFO": "/\xe9", "HTTP_COOKIE": "a=\xff"},
    {"REQUEST_METHOD": "GET", "PATH_INFO": "/x", "HTTP_COOKIE": "a=\0"},
    {"REQUEST_METHOD": "GET", "PATH_INFO": "/x", "HTTP_AUTHORIZATION": ""},
]

HEADERS = [(b"host", b"h"), (b"Cookie", TICKET.encode()), (b"cookie", b"b=2"), (b"x-forwarded-proto", b"https")]
SCOPES: list[dict[str, Any]] = [
    {"type": "http", "method": "GET", "path": "/x", "raw_path": b"/x", "query_string": b"", "headers": HEADERS},
    {"type": "http", "method": "GET", "raw_path": b"/x%20y?z", "query_string": b"a=1", "scheme": "HTTPS"},
    {"type": "http", "method": "GET", "raw_path": b"/x", "scheme": "wss", "client": ("10.0.0.1", 1)},
    {
        "type": "http",
        "method": "GET",
        "raw_path": b"/%ff",
        "headers": [(b"AUTHORIZATION", b"SSO a"), (b"authorization", b"b")],
    },
    {"type": "http", "method": "GET", "root_path": "/app", "path": "/x", "raw_path": b"/x"},
    {"type": "websocket", "path": "/x", "raw_path": "/x", "headers": HEADERS},
    {"type": "http", "path": "/x y", "headers": HEADERS},
    {"type": "http", "method": "G\xe9T", "raw_path": b"/x"},
    {"type": "http", "method": "GET", "raw_path": b"/x", "headers": [(b"cookie", b"a=\0")]},
    {"type": "http", "method": "GET", "raw_path": b"/x", "query_string": b"a\0"},
    {"type": "http", "method": "GET", "raw_path": b"/x\0", "headers": [(b"authorization", b"\0")]},
]
PROXIES = [(), [ipaddress.ip_network("10.0.0.0/8")]]


def outcome(read: Any, *args: Any) -> Any:
    try:
        return read(*args)
    except Refused as why:
        return f"refused: {why}"


@pytest.mark.parametrize("trusted", PROXIES)
@pytest.mark.parametrize("environ", ENVIRONS)
def test_wsgi_quick_reading_is_the_careful_one(environ: dict[str, Any], trusted: Any) -> None:
    assert outcome(wsgi._fields, environ, trusted) == outcome(wsgi._fields_of_any, environ, trusted)


@pytest.mark.parametrize("trusted", PROXIES)
@pytest.mark.parametrize("scope", SCOPES)
def test_asgi_quick_reading_is_the_careful_one(scope: dict[str, Any], trusted: Any) -> None:
    assert outcome(asgi._fields, scope, trusted) == outcome(asgi._fields_of_any, scope, trusted)
