"""ai-sso compatible single sign-on for Python, over the project's core.

- :class:`Verifier`: verify tickets (the core's checks and cache);
- :mod:`sso.wsgi` / :mod:`sso.middleware`: ``SSOMiddleware`` for WSGI;
- :mod:`sso.asgi`: ``SSOMiddleware`` for ASGI (HTTP and WebSocket);
- :mod:`sso.requests`: ``SSOAuth`` for ``requests``; :func:`get_token`;
- :mod:`sso.client`: ``LoginClient``, a program logging in at sso-server.

Everything that decides about a ticket runs in libsso.so.0 (include/sso.h);
see docs/python.md.
"""

from ._lib import version as library_version
from .errors import (
    BadCredentials,
    ConfigError,
    LibraryError,
    LoginError,
    SSOError,
    Throttled,
    TicketError,
    TokenError,
)
from .token import get_token
from .verifier import Ticket, Verifier

__all__ = [
    "BadCredentials",
    "ConfigError",
    "LibraryError",
    "LoginError",
    "SSOError",
    "Throttled",
    "Ticket",
    "TicketError",
    "TokenError",
    "Verifier",
    "get_token",
    "library_version",
]
