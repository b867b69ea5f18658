"""An application protected as mod_sso protects a location, whatever the
server's interface.

The adapters (:mod:`sso.wsgi`, :mod:`sso.asgi`) subclass
:class:`ProtectedApp`: each turns its server's request into a
:class:`Request`, asks :meth:`ProtectedApp.check`, and turns the outcome
into its server's response: :class:`Accepted` (the application runs, with
:func:`identity` in its environment) or :class:`Answer` (the middleware
answers itself). Every decision is the core's ``sso_flow_decide`` (see
:mod:`sso.flow`); nothing here decides about a ticket, a cookie or a
redirect.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar, Generic, TypeVar
from urllib.parse import quote

from . import _lib
from .errors import ConfigError
from .flow import FlowConfig, Kind, LogLevel
from .verifier import Ticket

_LEVELS = {
    LogLevel.ERROR: logging.ERROR,
    LogLevel.WARNING: logging.WARNING,
    LogLevel.INFO: logging.INFO,
    LogLevel.DEBUG: logging.DEBUG,
}


#: (Python level, the core's level) from the least severe, as plain ints:
#: an enum member's hash is a Python call, paid at every request.
_THRESHOLDS = tuple((int(_LEVELS[level]), int(level)) for level in sorted(_LEVELS, reverse=True))


#: Where _least_logged keeps its answer: in the logger's own cache of
#: isEnabledFor answers (``Logger._cache``, int keys), which logging
#: empties whenever a level may have changed (``setLevel`` of any logger,
#: ``logging.disable``), so the answer is as fresh as logging's own.
_LEAST_LOGGED_KEY = "sso: least logged core level"


def _least_logged(logger: logging.Logger) -> int:
    """The least severe core log level ``logger`` logs (the core keeps no
    line below it in the decision); 0: none."""
    try:
        cache: dict[object, int] | None = logger._cache  # type: ignore[attr-defined]
        return cache[_LEAST_LOGGED_KEY]  # type: ignore[index]
    except AttributeError:
        cache = None  # a logger without logging's cache: asked every time
    except KeyError:
        pass
    effective = logger.getEffectiveLevel()
    least = 0
    for python_level, core_level in _THRESHOLDS:
        if effective <= python_level:
            least = core_level
            break
    if cache is not None:
        cache[_LEAST_LOGGED_KEY] = least
    return least


#: Characters of a decoded path that stay as they are in a rebuilt request
#: URI (RFC 3986 pchar plus `/`), when the server gives no raw URI.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"

#: How many tickets' derived values a ProtectedApp keeps (per_ticket).
_PER_TICKET_ENTRIES = 4096

TrustedProxies = Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]


class Refused(Exception):
    """The request's own text cannot be handed to the core (400)."""


def checked(name: str, raw: bytes) -> bytes:
    """``raw`` as the core may read it: a NUL would cut the C string the
    core reads, so it is refused rather than passed."""
    if b"\0" in raw:
        raise Refused(f"{name} holds a NUL byte")
    return raw


def rebuilt_uri(path: bytes, query: bytes) -> bytes:
    """The request URI rebuilt from the decoded path and the raw query, for
    servers that do not keep the one the client sent."""
    uri = quote(path, safe=_PATH_SAFE).encode("ascii")
    return uri + b"?" + query if query else uri


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


def request_is_https(scheme: str, peer: str, forwarded_proto: str, trusted: TrustedProxies) -> bool:
    """The rule of sso-core's ``proxy::request_is_https`` (mod_sso's
    ``SSOTrustedProxies``): https if the server says so (``scheme``), or if
    the peer is a trusted proxy whose last ``X-Forwarded-Proto`` value is
    ``https``. Nobody else's header is believed."""
    if scheme.lower() in ("https", "wss"):
        return True
    if not trusted:
        return False
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if not any(address in net for net in trusted):
        return False
    return forwarded_proto.rsplit(",", 1)[-1].strip().lower() == "https"


@dataclass(slots=True)
class Request:
    """The flow's input: bytes as they came on the wire (``path`` decoded
    from its percent escapes, ``query`` not), none holding a NUL byte.
    ``unparsed_uri`` is the return URL after login."""

    method: bytes
    path: bytes
    query: bytes
    unparsed_uri: bytes
    cookie_headers: list[bytes]
    authorization: bytes | None
    https: bool


@dataclass(slots=True)
class Accepted:
    """The application runs for ``ticket``'s user."""

    ticket: Ticket
    fingerprint: str | None


@dataclass(slots=True)
class Answer:
    """The middleware answers itself: status, headers (with their
    ``Content-Type`` and ``Content-Length``) and body. ``ticket_param_mask``:
    at ``sso_login``, what the query's ``t`` parameter is to be replaced
    with wherever the server logs the request."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    ticket_param_mask: str | None = None


def plain_answer(status: int, headers: list[tuple[str, str]], text: str, mask: str | None = None) -> Answer:
    data = text.encode("utf-8")
    out = [h for h in headers if h[0].lower() not in ("content-type", "content-length")]
    out += [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data)))]
    return Answer(status, out, data, mask)


BAD_REQUEST = plain_answer(400, [("Cache-Control", "no-store")], "Bad Request\n")
SERVER_ERROR = plain_answer(500, [("Cache-Control", "no-store")], "Internal Server Error\n")


def identity(ticket: Ticket) -> dict[str, str]:
    """What the application is told about the user, as mod_sso's CGI
    environment: ``REMOTE_USER``, ``AUTH_TYPE``, ``SSO_USER``,
    ``SSO_GROUPS`` (comma separated), ``SSO_SERVICE``."""
    return {
        "REMOTE_USER": ticket.user,
        "AUTH_TYPE": "SSO",
        "SSO_USER": ticket.user,
        "SSO_GROUPS": ",".join(ticket.groups),
        "SSO_SERVICE": ticket.service,
    }


App = TypeVar("App")


class ProtectedApp(Generic[App]):
    """``app`` protected as mod_sso protects a location.

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

    #: Where the adapter logs the core's messages and its own refusals.
    logger: ClassVar[logging.Logger] = logging.getLogger("sso")

    def __init__(
        self,
        app: App,
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
        self._per_ticket: dict[int, tuple[Ticket, Any]] = {}
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

    def per_ticket(self, ticket: Ticket, make: Callable[[Ticket], Any]) -> Any:
        """``make(ticket)``, made once per ticket: the flow hands out one
        :class:`Ticket` object for every request with the same ticket, so
        what an adapter derives from it (the identity it shows the
        application) is derived once. The value must not be changed by
        its users."""
        entry = self._per_ticket.get(id(ticket))
        if entry is not None and entry[0] is ticket:
            return entry[1]
        value = make(ticket)
        if len(self._per_ticket) >= _PER_TICKET_ENTRIES:
            self._per_ticket.clear()
        # The entry holds the ticket, so its id stays its own while kept.
        self._per_ticket[id(ticket)] = (ticket, value)
        return value

    def refused(self, why: Refused) -> Answer:
        """The answer to a request whose text the core cannot read."""
        self.logger.info("refused a request the flow cannot read: %s", why)
        return BAD_REQUEST

    def check(self, request: Request) -> Accepted | Answer:
        """The core's decision for ``request``, its log lines logged."""
        return self.check_fields(
            request.method,
            request.path,
            request.query,
            request.unparsed_uri,
            request.cookie_headers,
            request.authorization,
            request.https,
        )

    def check_fields(
        self,
        method: bytes,
        path: bytes,
        query: bytes,
        unparsed_uri: bytes,
        cookie_headers: list[bytes],
        authorization: bytes | None,
        https: bool,
    ) -> Accepted | Answer:
        """:meth:`check` on a :class:`Request`'s fields, in its order: what
        the adapters call at every request, with no ``Request`` built."""
        decision = self.flow.decide(
            method, path, query, unparsed_uri, cookie_headers, authorization, https, 0, _least_logged(self.logger)
        )
        if isinstance(decision, int):
            if decision == _lib.SSO_ERR_INVALID_ARGUMENT:
                self.logger.info("refused a request whose method, path or query is not UTF-8")
                return BAD_REQUEST
            self.logger.error("the SSO flow failed: %s", _lib.result_message(decision))
            return SERVER_ERROR
        for level, message in decision.logs:
            self.logger.log(_LEVELS.get(level, logging.ERROR), "%s", message)
        if decision.kind is Kind.ACCEPT and decision.ticket is not None:
            return Accepted(decision.ticket, decision.fingerprint)
        status = decision.status or 403  # the core never answers 0 here; fail closed
        text = (decision.body or "") if decision.kind is Kind.LOGOUT else f"{HTTPStatus(status).phrase}\n"
        return plain_answer(status, decision.headers, text, decision.ticket_param_mask)
