"""``SSOMiddleware``: mod_sso's protection for a WSGI application.

Every request goes through the core's ``sso_flow_decide`` (see
:mod:`sso.flow`), exactly as mod_sso's hooks do: this module only turns
the WSGI environ into the flow's input and the decision into a WSGI
response. No ticket, cookie or redirect rule is written here.

What the application sees on success (as mod_sso's CGI environment):
``REMOTE_USER``, ``AUTH_TYPE=SSO``, ``SSO_USER``, ``SSO_GROUPS`` (comma
separated), ``SSO_SERVICE``, and the :class:`sso.Ticket` under
``environ["sso.ticket"]``.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from . import _lib
from .errors import ConfigError
from .flow import Decision, FlowConfig, Kind, LogLevel

logger = logging.getLogger("sso.wsgi")

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

_LEVELS = {
    LogLevel.ERROR: logging.ERROR,
    LogLevel.WARNING: logging.WARNING,
    LogLevel.INFO: logging.INFO,
    LogLevel.DEBUG: logging.DEBUG,
}

#: Characters of a decoded path that stay as they are in a rebuilt request
#: URI (RFC 3986 pchar plus `/`), when the server gives no raw URI.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


class _Refused(Exception):
    """The request's own text cannot be handed to the core (400)."""


def _wire(environ: Environ, key: str, default: str = "") -> bytes:
    """An environ value as the bytes that came on the wire: WSGI keeps
    them as latin-1 ``str`` (PEP 3333). A NUL would cut the C string the
    core reads, so it is refused rather than passed."""
    value = environ.get(key, default)
    if not isinstance(value, str):
        raise _Refused(f"{key} is not a string")
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:
        raise _Refused(f"{key} is not a WSGI byte string") from None
    if b"\0" in raw:
        raise _Refused(f"{key} holds a NUL byte")
    return raw


def _request_uri(environ: Environ, path: bytes, query: bytes) -> bytes:
    """The URI as the client sent it (the return URL after login):
    gunicorn's ``RAW_URI`` or waitress' ``REQUEST_URI`` when the server
    keeps it, else rebuilt from the decoded path and the raw query."""
    for key in ("RAW_URI", "REQUEST_URI"):
        if environ.get(key):
            return _wire(environ, key)
    uri = quote(path, safe=_PATH_SAFE).encode("ascii")
    return uri + b"?" + query if query else uri


TrustedProxies = Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]


def parse_trusted_proxies(proxies: Sequence[str]) -> TrustedProxies:
    """``trusted_proxies``: addresses or CIDR networks; IPv4-mapped IPv6
    forms count as the IPv4 address they map. Raises ``ConfigError``
    naming the bad entry."""
    out = []
    for p in proxies:
        try:
            net = ipaddress.ip_network(p, strict=False)
        except ValueError:
            raise ConfigError(f"trusted_proxies: {p!r} is not an IP address or CIDR network") from None
        if isinstance(net, ipaddress.IPv6Network) and net.network_address.ipv4_mapped and net.prefixlen >= 96:
            net = ipaddress.ip_network(f"{net.network_address.ipv4_mapped}/{net.prefixlen - 96}")
        out.append(net)
    return out


def is_https(environ: Environ, trusted: TrustedProxies) -> bool:
    """The rule of sso-core's ``proxy::request_is_https`` (mod_sso's
    ``SSOTrustedProxies``): https if the server says so, or if the peer
    (``REMOTE_ADDR``) is a trusted proxy whose last ``X-Forwarded-Proto``
    value is ``https``. Nobody else's header is believed."""
    if str(environ.get("wsgi.url_scheme", "http")).lower() == "https":
        return True
    if not trusted:
        return False
    try:
        peer = ipaddress.ip_address(str(environ.get("REMOTE_ADDR", "")))
    except ValueError:
        return False
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped:
        peer = peer.ipv4_mapped
    if not any(peer in net for net in trusted):
        return False
    proto = str(environ.get("HTTP_X_FORWARDED_PROTO", ""))
    return proto.rsplit(",", 1)[-1].strip().lower() == "https"


def request_of(environ: Environ, trusted: TrustedProxies = ()) -> dict[str, Any]:
    """The flow's input (the arguments of :meth:`FlowConfig.decide`) from
    a WSGI environ. Raises ``_Refused`` for text the core cannot take."""
    path = _wire(environ, "SCRIPT_NAME") + _wire(environ, "PATH_INFO")
    query = _wire(environ, "QUERY_STRING")
    cookie = _wire(environ, "HTTP_COOKIE")
    authorization = _wire(environ, "HTTP_AUTHORIZATION") if "HTTP_AUTHORIZATION" in environ else None
    return {
        "method": _wire(environ, "REQUEST_METHOD", "GET"),
        "path": path,
        "query": query,
        "unparsed_uri": _request_uri(environ, path, query),
        "cookie_headers": [cookie] if cookie else [],
        "authorization": authorization,
        "https": is_https(environ, trusted),
    }


def _plain(start_response: StartResponse, status: int, headers: list[tuple[str, str]], body: str) -> list[bytes]:
    data = body.encode("utf-8")
    phrase = HTTPStatus(status).phrase
    out = [h for h in headers if h[0].lower() not in ("content-type", "content-length")]
    out += [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data)))]
    start_response(f"{status} {phrase}", out)
    return [data]


class SSOMiddleware:
    """Protects ``app`` as mod_sso protects a location.

    ``login_server``: the login server's URL; ``service``:
    ``HOST[:PORT]/PATH/`` as the login server knows this application (its
    path is where ``sso_login`` and ``sso_logout`` live); ``domain``: the
    SSO domain; ``public_keys``: key file paths or key bytes; ``groups``:
    a ticket must hold one of them (asked for with ``g=``), else 403;
    ``cookie_secure``: ``"auto"`` (Secure and ``__Host-`` names over
    https), ``"on"`` or ``"off"`` (plain-http test setups only);
    ``browser=False``: API mode, never a redirect, always 401 naming the
    failed check. ``binding``: ticket binding (on, as in mod_sso; it works
    in servers with several processes, see docs/python.md).
    ``trusted_proxies``: addresses or CIDR networks of TLS-terminating
    proxies whose ``X-Forwarded-Proto: https`` makes a request count as
    https for ``cookie_secure="auto"`` (as mod_sso's ``SSOTrustedProxies``).
    ``key_services``: ``{key file path: regex}`` pins a key file to the
    services the regular expression matches (as mod_sso's
    ``SSOPublicKeyFile PATH services=REGEX``). A key file someone besides
    root or this process's user could write is refused (``ConfigError``).
    """

    def __init__(
        self,
        app: WSGIApp,
        *,
        login_server: str,
        service: str,
        domain: str,
        public_keys: Sequence[str | os.PathLike[str] | bytes],
        groups: Sequence[str] | None = None,
        cookie_secure: str | bool = "auto",
        browser: bool = True,
        binding: bool = True,
        cookie_prefix: str | None = None,
        clock_skew: int = 0,
        cache_entries: int = 16384,
        binding_entries: int = 16384,
        trusted_proxies: Sequence[str] = (),
        key_services: Mapping[str | os.PathLike[str], str] | None = None,
    ) -> None:
        self.app = app
        self.trusted_proxies = parse_trusted_proxies(trusted_proxies)
        self.flow = FlowConfig(
            login_server=login_server,
            service=service,
            domain=domain,
            public_keys=public_keys,
            groups=groups,
            cookie_secure=cookie_secure,
            cookie_prefix=cookie_prefix,
            browser=browser,
            binding=binding,
            clock_skew=clock_skew,
            cache_entries=cache_entries,
            binding_entries=binding_entries,
            key_services=key_services,
        )

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        try:
            request = request_of(environ, self.trusted_proxies)
        except _Refused as why:
            logger.info("refused a request the flow cannot read: %s", why)
            return _plain(start_response, 400, [("Cache-Control", "no-store")], "Bad Request\n")
        decision = self.flow.decide(**request)
        if isinstance(decision, int):
            if decision == _lib.SSO_ERR_INVALID_ARGUMENT:
                logger.info("refused a request whose method, path or query is not UTF-8")
                return _plain(start_response, 400, [("Cache-Control", "no-store")], "Bad Request\n")
            logger.error("the SSO flow failed: %s", _lib.result_message(decision))
            return _plain(start_response, 500, [("Cache-Control", "no-store")], "Internal Server Error\n")
        for level, message in decision.logs:
            logger.log(_LEVELS.get(level, logging.ERROR), "%s", message)
        if decision.kind is Kind.ACCEPT and decision.ticket is not None:
            return self._accept(environ, start_response, decision)
        if decision.ticket_param_mask:
            _mask_ticket_parameter(environ, request["path"], decision.ticket_param_mask)
        return self._answer(start_response, decision)

    def _accept(self, environ: Environ, start_response: StartResponse, decision: Decision) -> Iterable[bytes]:
        ticket = decision.ticket
        assert ticket is not None
        environ["REMOTE_USER"] = ticket.user
        environ["AUTH_TYPE"] = "SSO"
        environ["SSO_USER"] = ticket.user
        environ["SSO_GROUPS"] = ",".join(ticket.groups)
        environ["SSO_SERVICE"] = ticket.service
        environ["sso.ticket"] = ticket
        environ["sso.fingerprint"] = decision.fingerprint
        return self.app(environ, start_response)

    @staticmethod
    def _answer(start_response: StartResponse, decision: Decision) -> list[bytes]:
        status = decision.status or 403  # the core never answers 0 here; fail closed
        if decision.kind is Kind.LOGOUT:
            return _plain(start_response, status, decision.headers, decision.body or "")
        return _plain(start_response, status, decision.headers, f"{HTTPStatus(status).phrase}\n")


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
