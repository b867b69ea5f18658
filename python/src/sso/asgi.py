"""``SSOMiddleware`` for ASGI applications (Starlette, FastAPI, Quart,
Django's ASGI mode): the same protection as :mod:`sso.wsgi`, over the same
transport-neutral core (:mod:`sso.protection`), so both answer every
request as mod_sso does.

What the application sees on success: ``scope["user"]`` (an
:class:`SSOUser`, shaped as Starlette's authenticated user), ``scope["auth"]``
(:class:`SSOCredentials`, whose ``scopes`` are the ticket's groups, as
Starlette's ``requires()`` reads them), ``REMOTE_USER``, ``AUTH_TYPE``,
``SSO_USER``, ``SSO_GROUPS``, ``SSO_SERVICE`` in ``scope["state"]``, and
the :class:`sso.Ticket` under ``scope["sso.ticket"]``.

WebSocket connections are checked from the same cookie (or
``Authorization`` header) before the application sees them: a connection
the flow does not accept is closed before ``websocket.accept``, which the
server answers with ``403``. Lifespan events pass through.

The core's decision is a call of a few microseconds on a cached ticket
(tens on a first signature check), made on the event loop's thread.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_to_bytes

from .protection import Accepted, Answer, ProtectedApp, Refused, Request, TrustedProxies
from .protection import checked, identity, rebuilt_uri, request_is_https
from .verifier import Ticket

__all__ = ["SSOCredentials", "SSOMiddleware", "SSOUser", "request_of"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class SSOUser:
    """The user a ticket names, in ``scope["user"]``: the attributes of
    Starlette's ``BaseUser`` (``is_authenticated``, ``display_name``,
    ``identity``) plus the ticket's groups."""

    name: str
    groups: tuple[str, ...]
    ticket: Ticket = field(repr=False)

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.name

    @property
    def identity(self) -> str:
        return self.name


@dataclass(frozen=True)
class SSOCredentials:
    """``scope["auth"]``: the ticket's groups as Starlette's scopes."""

    scopes: tuple[str, ...]


def _path(scope: Scope) -> tuple[bytes, bytes]:
    """(decoded path, path as the client sent it). ``raw_path`` keeps the
    bytes a client sent, so a percent escape that is not UTF-8 reaches the
    core as it is (which answers 400, as mod_sso does); servers without it
    give the path already decoded as UTF-8."""
    root = scope.get("root_path", "").encode("utf-8")
    raw = scope.get("raw_path")
    if isinstance(raw, str):  # uvicorn's websockets protocol gives a str
        raw = raw.encode("latin-1", "replace")
    if isinstance(raw, bytes):
        raw = raw.partition(b"?")[0]
        path = unquote_to_bytes(raw)
        if root and not path.startswith(root):
            path, raw = root + path, root + raw
        return path, raw
    path = scope.get("path", "").encode("utf-8")
    if root and not path.startswith(root):
        path = root + path
    return path, rebuilt_uri(path, b"")


#: The fields of a Request, in its order (what ProtectedApp.check_fields takes).
Fields = tuple[bytes, bytes, bytes, bytes, list[bytes], bytes | None, bool]


def request_of(scope: Scope, trusted: TrustedProxies = ()) -> Request:
    """The flow's input from an ``http`` or ``websocket`` scope (the
    handshake of a WebSocket is a GET). Raises
    :class:`sso.protection.Refused` for text the core cannot take."""
    return Request(*_fields(scope, trusted))


def _fields(scope: Scope, trusted: TrustedProxies) -> Fields:
    """:func:`request_of`'s fields as a tuple, what the middleware reads at
    every request (no ``Request`` built). The usual request (an ASCII
    method, no NUL anywhere, no trusted proxy) is read here with one check
    at C speed; any other goes through :func:`_fields_of_any`, which gives
    the same fields or names what it refuses."""
    if trusted:
        return _fields_of_any(scope, trusted)
    get = scope.get
    raw = get("raw_path")
    method = get("method", "GET")
    query = get("query_string", b"")
    if type(raw) is not bytes or type(method) is not str or not method.isascii() or type(query) is not bytes:
        return _fields_of_any(scope, trusted)
    root = get("root_path", "")
    if root:
        return _fields_of_any(scope, trusted)
    raw = raw.partition(b"?")[0]
    # unquote_to_bytes gives a path without an escape back as it is.
    path = unquote_to_bytes(raw) if b"%" in raw else raw
    cookies = []
    authorization = []
    for name, value in get("headers", ()):
        name = name.lower()
        if name == b"cookie":
            cookies.append(value)
            if 0 in value:
                return _fields_of_any(scope, trusted)
        elif name == b"authorization":
            authorization.append(value)
    auth = b", ".join(authorization) if authorization else None
    # 0, not b"\0": an int is looked for by memchr at once, a bytes
    # needle through the buffer protocol first (seven times slower).
    if 0 in raw or 0 in query or (path is not raw and 0 in path) or (auth is not None and 0 in auth):
        return _fields_of_any(scope, trusted)
    scheme = get("scheme", "http")
    return (
        method.encode("ascii"),
        path,
        query,
        raw + b"?" + query if query else raw,
        cookies,
        auth,
        # Without trusted proxies only the server's scheme counts, as in
        # request_is_https.
        (scheme if type(scheme) is str else str(scheme)).lower() in ("https", "wss"),
    )


def _fields_of_any(scope: Scope, trusted: TrustedProxies) -> Fields:
    """:func:`_fields` for any scope: each value checked by itself, in the
    order a refusal names them."""
    path, raw_path = _path(scope)
    query = checked("query string", scope.get("query_string", b""))
    cookies, authorization, forwarded = [], [], []
    for name, value in scope.get("headers", ()):
        name = name.lower()
        if name == b"cookie":
            cookies.append(value)
        elif name == b"authorization":
            authorization.append(value)
        elif name == b"x-forwarded-proto":
            forwarded.append(value)
    # The usual request holds no NUL anywhere: one check at C speed; else
    # each value by itself, in the order a refusal names them.
    clean = b"\0" not in b"".join((path, raw_path, *cookies))
    if not clean:
        for value in cookies:
            checked("Cookie", value)
    method = checked("method", scope.get("method", "GET").encode("latin-1"))
    if not clean:
        checked("path", path)
        checked("path", raw_path)
    client = scope.get("client") or ("", 0)
    return (
        method,
        path,
        query,
        raw_path + b"?" + query if query else raw_path,
        cookies,
        # Several header lines of one name are one value, as HTTP (and WSGI
        # servers) join them.
        checked("Authorization", b", ".join(authorization)) if authorization else None,
        request_is_https(
            str(scope.get("scheme", "http")), str(client[0]), b",".join(forwarded).decode("latin-1"), trusted
        ),
    )


def _identity_of(ticket: Ticket) -> tuple[SSOUser, SSOCredentials, dict[str, str]]:
    return SSOUser(ticket.user, ticket.groups, ticket), SSOCredentials(ticket.groups), identity(ticket)


async def _respond(send: Send, answer: Answer) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": answer.status,
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers],
        }
    )
    await send({"type": "http.response.body", "body": answer.body})


class SSOMiddleware(ProtectedApp[ASGIApp]):
    """Protects the ASGI application ``app`` as mod_sso protects a
    location; the keyword arguments are :class:`sso.wsgi.SSOMiddleware`'s
    (:class:`sso.protection.ProtectedApp`)."""

    logger = logging.getLogger("sso.asgi")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        try:
            outcome = self.check_fields(*_fields(scope, self.trusted_proxies))
        except Refused as why:
            outcome = self.refused(why)
        if isinstance(outcome, Accepted):
            await self.app(self._accepted_scope(scope, outcome), receive, send)
        elif kind == "websocket":
            await _refuse_websocket(receive, send)
        else:
            if outcome.ticket_param_mask:
                # Servers log the scope's query (uvicorn's access log reads
                # it at the response): keep only the core's mask there.
                scope["query_string"] = f"t={outcome.ticket_param_mask}".encode("ascii")
            await _respond(send, outcome)

    def _accepted_scope(self, scope: Scope, outcome: Accepted) -> Scope:
        """A copy of ``scope`` telling the application who the user is; the
        server's ``state`` dict (shared with its lifespan) is copied, not
        changed."""
        ticket = outcome.ticket
        user, credentials, names = self.per_ticket(ticket, _identity_of)
        # Item by item: dict(scope, **keywords) builds a keyword dict
        # first, microseconds at every request.
        shared = scope.get("state")
        state = {**shared, **names} if shared else names.copy()
        out = dict(scope)
        out["user"] = user
        out["auth"] = credentials
        out["state"] = state
        out["sso.ticket"] = ticket
        out["sso.fingerprint"] = outcome.fingerprint
        return out


async def _refuse_websocket(receive: Receive, send: Send) -> None:
    """Closes a WebSocket before it is accepted: the server answers the
    handshake with 403, and the application never sees the connection.
    No redirect: a WebSocket client cannot follow one."""
    message = await receive()
    if message.get("type") == "websocket.connect":
        await send({"type": "websocket.close", "code": 1008})
