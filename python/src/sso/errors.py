"""The exceptions of the package.

Each names what failed the way the rest of the system does, so one word
greps across Python logs, mod_sso's error log and ``ssotool verify``: a
refused ticket carries the core's check name (``TicketError.check ==
"expired"``). No message ever holds a ticket, a key or a password.
"""

from __future__ import annotations


class SSOError(Exception):
    """Base class of every error this package raises."""


class LibraryError(SSOError):
    """libsso.so.0 cannot be loaded, or lacks a function this package needs."""


class ConfigError(SSOError, ValueError):
    """Settings the core refuses (a key file, a service name, a domain...).

    ``code`` is the C ABI's ``sso_result`` value, ``reason`` its message.
    """

    def __init__(self, message: str, code: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


class TicketError(SSOError):
    """A ticket failed one of the core's checks.

    ``check`` is the check's name as the core spells it everywhere
    (``"expired"``, ``"bad signature"``, ``"wrong service"``, ...);
    ``code`` the matching ``sso_result`` number of include/sso.h.
    """

    def __init__(self, check: str, code: int) -> None:
        super().__init__(f"ticket refused: check '{check}' failed")
        self.check = check
        self.code = code


class TokenError(SSOError):
    """No ticket could be had from a token realm (ssh failed, timed out,
    the realm refused, or answered something that is not a ticket).
    ``realm`` is the ``REALM@HOST`` destination asked."""

    def __init__(self, realm: str, message: str) -> None:
        super().__init__(f"cannot get a ticket from {realm}: {message}")
        self.realm = realm


class LoginError(SSOError):
    """The login server refused or could not complete a login.

    ``status`` is the HTTP status of its answer (0 when none came)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class BadCredentials(LoginError):
    """The login server did not accept the user name and password."""


class Throttled(LoginError):
    """The login server is throttling logins (HTTP 429); ``retry_after``
    is its ``Retry-After`` in seconds when it sent one."""

    def __init__(self, message: str, status: int, retry_after: int | None) -> None:
        super().__init__(message, status)
        self.retry_after = retry_after
