"""``SSOAuth``: ``requests`` authentication with a token realm's ticket.

Each request gets ``Authorization: SSO <ticket>``, the ticket from
:func:`sso.get_token` (the cache shared with ``ssotool token``, refreshed
ahead of expiry). A ``401`` whose ``WWW-Authenticate: SSO ...`` challenge
says ``expired`` (the server's clock ran past the ticket) costs one fresh
ticket and one retry, never more: the behaviour of sso-client's fetch.

As sso-client does (sso-client/src/target.rs), a ticket goes only over
https and only to the host its own service names: a ticket is a bearer
token, and one sent elsewhere can be replayed at its service.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlsplit

from requests import PreparedRequest, Response
from requests.auth import AuthBase

from .errors import TokenError
from .token import DEFAULT_TIMEOUT, MIN_REMAINING_SECS, check_destination, token_and_origin
from .verifier import decode_unverified

__all__ = ["SSOAuth", "is_expired_challenge"]


def is_expired_challenge(value: str) -> bool:
    """True for a ``WWW-Authenticate`` of scheme ``SSO`` whose reason is
    ``expired`` (``error="expired"``, ``reason="expired"`` or the bare
    word), as sso-client/src/fetch.rs reads it."""
    parts = value.strip().split(None, 1)
    if not parts or parts[0].lower() != "sso":
        return False
    params = parts[1] if len(parts) > 1 else ""
    for token in params.replace(",", " ").replace(";", " ").split():
        name, sep, val = token.partition("=")
        if not sep:
            name, val = "", token
        if name.strip().lower() in ("", "error", "reason") and val.strip().strip('"').lower() == "expired":
            return True
    return False


def _check_target(url: str, ticket: str, realm: str) -> None:
    """Refuses to send ``ticket`` anywhere but https://its service's host."""
    service = decode_unverified(ticket).service
    host_port = service.split("/", 1)[0]
    if host_port.startswith("["):  # [v6] or [v6]:port
        want_host, _, rest = host_port[1:].partition("]")
        want_port = rest[1:] if rest.startswith(":") else ""
    else:
        want_host, _, want_port = host_port.partition(":")
    target = urlsplit(url)
    if target.scheme.lower() != "https":
        raise TokenError(
            realm,
            f"a ticket is sent only over https, not to {target.scheme}://{target.hostname} (its service is {service})",
        )
    port_ok = not want_port or str(target.port or 443) == want_port
    if (target.hostname or "").lower() != want_host.lower() or not port_ok:
        raise TokenError(
            realm,
            f"the ticket is for service {service}: it is sent only to https://{host_port}, not to {target.hostname}",
        )


class SSOAuth(AuthBase):
    """``session.auth = SSOAuth("api@sso.example.org")``.

    ``service``: the service to ask the realm for (default: the realm's
    default service); ``timeout``: seconds ssh may take; ``margin``: a
    cached ticket is replaced when it has fewer seconds left.
    ``allow_any_url=True`` lifts the https/host rule (tests only).
    """

    def __init__(
        self,
        realm_at_host: str,
        service: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        margin: int = MIN_REMAINING_SECS,
        cache: bool = True,
        ssh_options: list[str] | None = None,
        allow_any_url: bool = False,
    ) -> None:
        check_destination(realm_at_host)
        self.realm = realm_at_host
        self.service = service
        self.timeout = timeout
        self.margin = margin
        self.cache = cache
        self.ssh_options = ssh_options
        self.allow_any_url = allow_any_url
        #: Tickets fetched over ssh by this object (not cache hits).
        self.fetches = 0
        self._lock = threading.Lock()

    def ticket(self, fresh: bool = False) -> str:
        """The ticket to send now (one thread fetches, the others wait)."""
        with self._lock:
            ticket, fetched = token_and_origin(
                self.realm,
                self.service,
                timeout=self.timeout,
                cache=self.cache,
                fresh=fresh,
                margin=self.margin,
                ssh_options=self.ssh_options,
            )
            self.fetches += fetched
            return ticket

    def _authorize(self, r: PreparedRequest, ticket: str) -> None:
        if not self.allow_any_url:
            _check_target(r.url or "", ticket, self.realm)
        r.headers["Authorization"] = f"SSO {ticket}"

    def __call__(self, r: PreparedRequest) -> PreparedRequest:
        self._authorize(r, self.ticket())
        r.register_hook("response", self._retry_if_expired)  # type: ignore[no-untyped-call]
        return r

    def _retry_if_expired(self, resp: Response, **kwargs: Any) -> Response:
        """One fresh ticket and one retry after ``401 ... expired``."""
        if resp.status_code != 401 or getattr(resp.request, "_sso_retried", False):
            return resp
        if not is_expired_challenge(resp.headers.get("WWW-Authenticate", "")):
            return resp
        resp.content  # read the answer so the connection can be reused
        resp.close()
        retry = resp.request.copy()
        self._authorize(retry, self.ticket(fresh=True))
        setattr(retry, "_sso_retried", True)
        # The adapter that sent the first answer sends the retry (the way
        # requests' own HTTPDigestAuth retries); requests sets it on every
        # response it returns.
        adapter = getattr(resp, "connection")
        again: Response = adapter.send(retry, **kwargs)
        again.history.append(resp)
        again.request = retry
        return again
