"""``sso.Verifier``: the core's ticket verification, with its cache.

A thin handle over ``sso_verifier`` (include/sso.h). The core checks the
encoding, the signature, the expiry (with the configured clock skew), the
service, the domain, the nonce and the groups; this module only converts
arguments and results.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from ctypes import c_void_p
from dataclasses import dataclass

from . import _lib
from .errors import ConfigError, TicketError

#: The highest ``sso_result`` number that is a ticket check (1..=19).
_LAST_CHECK_CODE = 99

StrPath = str | os.PathLike[str]


@dataclass(frozen=True)
class Ticket:
    """A ticket's claims, as the core decoded them."""

    user: str
    service: str
    domain: str
    expires: int
    groups: tuple[str, ...]
    nonce: str | None
    version: int


def _text(p: bytes | None) -> str:
    return p.decode("utf-8") if p is not None else ""


def ticket_from_handle(handle: int | None) -> Ticket:
    """Copies the fields of a live ``sso_ticket`` into a :class:`Ticket`."""
    lib = _lib.lib()
    count = lib.sso_ticket_group_count(handle)
    nonce = lib.sso_ticket_nonce(handle)
    return Ticket(
        user=_text(lib.sso_ticket_user(handle)),
        service=_text(lib.sso_ticket_service(handle)),
        domain=_text(lib.sso_ticket_domain(handle)),
        expires=int(lib.sso_ticket_expires(handle)),
        groups=tuple(_text(lib.sso_ticket_group(handle, i)) for i in range(count)),
        nonce=nonce.decode("utf-8") if nonce is not None else None,
        version=int(lib.sso_ticket_version(handle)),
    )


def check_failed(code: int) -> TicketError:
    """The exception for a failed ticket check ``code``."""
    return TicketError(_lib.result_message(code), code)


def config_failed(what: str, code: int) -> ConfigError:
    """The exception for settings the core refused with ``code``."""
    reason = _lib.result_message(code)
    return ConfigError(f"{what}: {reason}", code, reason)


def _ticket_bytes(ticket: str | bytes) -> bytes:
    if isinstance(ticket, str):
        # A ticket is ASCII; other text is passed on for the core to refuse
        # with its own check name.
        return ticket.encode("utf-8", "surrogateescape")
    return bytes(ticket)


def decode_unverified(ticket: str | bytes) -> Ticket:
    """The claims of ``ticket`` WITHOUT any check of signature, expiry,
    service or domain: for a client holding a ticket meant for a server
    (a cache reading its expiry). Raises :class:`TicketError` when it does
    not even decode. Never use it to authenticate anyone."""
    lib = _lib.lib()
    raw = _ticket_bytes(ticket)
    out = c_void_p()
    code = lib.sso_ticket_decode_unverified(raw, len(raw), ctypes.byref(out))
    if code != _lib.SSO_OK:
        raise check_failed(code)
    try:
        return ticket_from_handle(out.value)
    finally:
        lib.sso_ticket_free(out)


def _paths(public_keys: Iterable[StrPath]) -> list[bytes]:
    if isinstance(public_keys, (str, bytes, os.PathLike)):
        raise TypeError("public_keys is a list of key file paths, not one path")
    return [os.fsencode(p) for p in public_keys]


def key_pins(paths: list[bytes], key_services: Mapping[StrPath, str] | None) -> list[bytes | None]:
    """Per key file path, the services pattern ``key_services`` pins it
    to (None: unpinned). A pin for a file that is not among the keys is
    refused: it would silently pin nothing."""
    pins = {os.fsencode(k): v.encode("utf-8") for k, v in (key_services or {}).items()}
    stray = set(pins) - set(paths)
    if stray:
        raise ConfigError("key_services names a file that is not among the public keys")
    return [pins.get(p) for p in paths]


class Verifier:
    """Verifies tickets for one service in one domain.

    ``public_keys``: paths of public key files (raw 32-byte or PEM, as
    ``ssotool keygen`` writes them); a ticket signed by any of them counts.
    ``service``: ``HOST[:PORT]/PATH/`` as the login server names it.
    ``clock_skew``: seconds a ticket stays good after its expiry (<= 3600).
    ``cache_entries``: verified tickets the core remembers (0: none), so a
    ticket seen again costs a lookup instead of a signature check.
    ``key_services``: pins key files to services: ``{path: regex}``, the
    regular expression matching whole service names the key may sign for
    (as ``SSOPublicKeyFile PATH services=REGEX``); other keys are unpinned.

    A key file that someone besides root or this process's user could
    write (the file or a directory above it) is refused with
    :class:`ConfigError` (code ``SSO_ERR_KEY_UNTRUSTED``).

    Thread-safe: one verifier serves any number of threads (the core's
    verifier and cache are; ctypes releases the GIL during the call).
    """

    def __init__(
        self,
        public_keys: Sequence[StrPath],
        service: str,
        domain: str,
        clock_skew: int = 0,
        cache_entries: int = 16384,
        key_services: Mapping[StrPath, str] | None = None,
    ) -> None:
        if clock_skew < 0 or cache_entries < 0:
            raise ConfigError("clock_skew and cache_entries must not be negative")
        lib = _lib.lib()
        paths = _paths(public_keys)
        pins = key_pins(paths, key_services)
        out = c_void_p()
        code = lib.sso_verifier_new_pinned(
            _lib.string_array(paths),
            _lib.optional_string_array(pins),
            len(paths),
            service.encode("utf-8"),
            domain.encode("utf-8"),
            clock_skew,
            cache_entries,
            ctypes.byref(out),
        )
        if code != _lib.SSO_OK:
            raise config_failed("cannot create the verifier", code)
        self._handle: int | None = out.value
        self._free = lib.sso_verifier_free
        self._closing = threading.Lock()
        self.service = service
        self.domain = domain

    def verify(
        self,
        ticket: str | bytes,
        nonce: str | None = None,
        groups: Sequence[str] | None = None,
        now: int | None = None,
    ) -> Ticket:
        """The verified ticket, or :class:`TicketError` naming the failed
        check. ``nonce``: the nonce the ticket must carry (browser flow);
        ``groups``: the ticket must hold at least one of them; ``now``: Unix
        time to check the expiry against (default: the current time)."""
        handle = self._handle
        if handle is None:
            raise ValueError("verifier is closed")
        if isinstance(groups, str):
            raise TypeError("groups is a list of group names, not one string")
        lib = _lib.lib()
        raw = _ticket_bytes(ticket)
        group_list = [g.encode("utf-8") for g in groups or ()]
        when = 0 if now is None else int(now)
        if when < 0:
            raise ValueError("now must not be negative")
        out = c_void_p()
        code = lib.sso_verifier_verify(
            handle,
            raw,
            len(raw),
            when,
            nonce.encode("utf-8") if nonce is not None else None,
            _lib.string_array(group_list) if group_list else None,
            len(group_list),
            ctypes.byref(out),
        )
        if code != _lib.SSO_OK:
            if 0 < code <= _LAST_CHECK_CODE:
                raise check_failed(code)
            raise config_failed("cannot verify", code)
        try:
            return ticket_from_handle(out.value)
        finally:
            lib.sso_ticket_free(out)

    def close(self) -> None:
        """Frees the core's verifier now (also done when collected). Only
        once no other thread is verifying with it."""
        with self._closing:
            handle, self._handle = self._handle, None
        if handle is not None:
            self._free(handle)

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # Collected: no thread can be using it any more.
        handle = getattr(self, "_handle", None)
        if handle is not None:
            self._handle = None
            self._free(handle)
