"""``SSOMiddleware``: mod_sso's protection for a WSGI application.

Every request goes through the core's ``sso_flow_decide`` (see
:mod:`sso.flow` and :mod:`sso.protection`, shared with the ASGI adapter),
exactly as mod_sso's hooks do: this module only turns the WSGI environ
into the flow's input and the outcome into a WSGI response. No ticket,
cookie or redirect rule is written here.

What the application sees on success (as mod_sso's CGI environment):
``REMOTE_USER``, ``AUTH_TYPE=SSO``, ``SSO_USER``, ``SSO_GROUPS`` (comma
separated), ``SSO_SERVICE``, and the :class:`sso.Ticket` under
``environ["sso.ticket"]``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from .protection import Accepted, Answer, ProtectedApp, Refused, Request, TrustedProxies
from .protection import checked, identity, rebuilt_uri, request_is_https
from .protection import parse_trusted_proxies

__all__ = ["SSOMiddleware", "is_https", "parse_trusted_proxies", "request_of"]

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


def _wire(environ: Environ, key: str, default: str = "") -> bytes:
    """An environ value as the bytes that came on the wire: WSGI keeps
    them as latin-1 ``str`` (PEP 3333)."""
    value = environ.get(key, default)
    if type(value) is str and value.isascii() and "\0" not in value:
        return value.encode("ascii")  # the usual case, checked at C speed
    if not isinstance(value, str):
        raise Refused(f"{key} is not a string")
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:
        raise Refused(f"{key} is not a WSGI byte string") from None
    return checked(key, raw)


def _request_uri(environ: Environ, path: bytes, query: bytes) -> bytes:
    """The URI as the client sent it (the return URL after login):
    gunicorn's ``RAW_URI`` or waitress' ``REQUEST_URI`` when the server
    keeps it, else rebuilt from the decoded path and the raw query."""
    for key in ("RAW_URI", "REQUEST_URI"):
        if environ.get(key):
            return _wire(environ, key)
    return rebuilt_uri(path, query)


def is_https(environ: Environ, trusted: TrustedProxies) -> bool:
    """https by ``wsgi.url_scheme``, or by a trusted proxy's
    ``X-Forwarded-Proto`` (see :func:`sso.protection.request_is_https`)."""
    return request_is_https(
        str(environ.get("wsgi.url_scheme", "http")),
        str(environ.get("REMOTE_ADDR", "")),
        str(environ.get("HTTP_X_FORWARDED_PROTO", "")),
        trusted,
    )


#: The fields of a Request, in its order (what ProtectedApp.check_fields takes).
Fields = tuple[bytes, bytes, bytes, bytes, list[bytes], bytes | None, bool]


def request_of(environ: Environ, trusted: TrustedProxies = ()) -> Request:
    """The flow's input from a WSGI environ. Raises
    :class:`sso.protection.Refused` for text the core cannot take."""
    return Request(*_fields(environ, trusted))


def _fields(environ: Environ, trusted: TrustedProxies) -> Fields:
    """:func:`request_of`'s fields as a tuple: what the middleware reads at
    every request (no ``Request`` built)."""
    get = environ.get
    method, script, info = get("REQUEST_METHOD", "GET"), get("SCRIPT_NAME", ""), get("PATH_INFO", "")
    query, cookie, authorization = get("QUERY_STRING", ""), get("HTTP_COOKIE", ""), get("HTTP_AUTHORIZATION")
    uri = get("RAW_URI") or get("REQUEST_URI")
    try:
        text = method + script + info + query + cookie + (uri or "") + (authorization or "")
    except TypeError:
        text = "\0"
    if not text.isascii() or "\0" in text:
        return _fields_of_any(environ, trusted)
    # The usual request: ASCII strings all, checked at C speed at once.
    path, raw_query = (script + info).encode("ascii"), query.encode("ascii")
    scheme = get("wsgi.url_scheme", "http")
    return (
        method.encode("ascii"),
        path,
        raw_query,
        uri.encode("ascii") if uri else rebuilt_uri(path, raw_query),
        [cookie.encode("ascii")] if cookie else [],
        authorization.encode("ascii") if authorization is not None else None,
        # Without trusted proxies only the server's scheme counts: the rule
        # of is_https, without its calls.
        is_https(environ, trusted) if trusted or type(scheme) is not str else scheme.lower() in ("https", "wss"),
    )


def _fields_of_any(environ: Environ, trusted: TrustedProxies) -> Fields:
    """:func:`_fields` for any environ: each value checked by itself, so a
    refusal names the key."""
    path = _wire(environ, "SCRIPT_NAME") + _wire(environ, "PATH_INFO")
    query = _wire(environ, "QUERY_STRING")
    cookie = _wire(environ, "HTTP_COOKIE")
    authorization = _wire(environ, "HTTP_AUTHORIZATION") if "HTTP_AUTHORIZATION" in environ else None
    return (
        _wire(environ, "REQUEST_METHOD", "GET"),
        path,
        query,
        _request_uri(environ, path, query),
        [cookie] if cookie else [],
        authorization,
        is_https(environ, trusted),
    )


def _respond(start_response: StartResponse, answer: Answer) -> list[bytes]:
    start_response(f"{answer.status} {HTTPStatus(answer.status).phrase}", answer.headers)
    return [answer.body]


class SSOMiddleware(ProtectedApp[WSGIApp]):
    """Protects the WSGI application ``app`` as mod_sso protects a
    location; the keyword arguments are :class:`sso.protection.ProtectedApp`'s
    (``login_server``, ``service``, ``domain``, ``public_keys``, ``groups``,
    ``cookie_secure``, ``browser``, ``binding``, ``trusted_proxies``, ...)."""

    logger = logging.getLogger("sso.wsgi")

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        try:
            fields = _fields(environ, self.trusted_proxies)
        except Refused as why:
            return _respond(start_response, self.refused(why))
        outcome = self.check_fields(*fields)
        if isinstance(outcome, Accepted):
            environ.update(self.per_ticket(outcome.ticket, identity))
            environ["sso.ticket"] = outcome.ticket
            environ["sso.fingerprint"] = outcome.fingerprint
            return self.app(environ, start_response)
        if outcome.ticket_param_mask:
            _mask_ticket_parameter(environ, fields[1], outcome.ticket_param_mask)
        return _respond(start_response, outcome)


def _mask_ticket_parameter(environ: Environ, path: bytes, mask: str) -> None:
    """At ``sso_login``: the ``t`` parameter holds a ticket, and servers log
    the request's query (gunicorn's access log reads these keys after the
    response). Keep only the core's mask (``ticket-FINGERPRINT``) there."""
    shown = f"t={mask}"
    environ["QUERY_STRING"] = shown
    target = path.decode("latin-1") + "?" + shown
    for key in ("RAW_URI", "REQUEST_URI"):
        if key in environ:
            environ[key] = target
