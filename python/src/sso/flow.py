"""The web flow of a protected location, as the core decides it.

A handle over ``sso_flow_config`` and ``sso_flow_decide`` (include/sso.h):
the same decisions mod_sso makes (ticket cookie, redirect with the nonce
cookie, ``sso_login``/``sso_logout``, ``Authorization: SSO``, 401, 403,
ticket binding). :class:`Decision` is the answer copied into Python data;
the WSGI adapter (:mod:`sso.wsgi`) only translates it.
"""

from __future__ import annotations

import ctypes
import enum
import os
import threading
from collections.abc import Mapping, Sequence
from ctypes import c_char_p, c_void_p
from dataclasses import dataclass, field, replace

from . import _lib
from .verifier import Ticket, config_failed, key_pins, ticket_from_handle

StrPath = str | os.PathLike[str]


class Kind(enum.IntEnum):
    """``sso_flow_kind``: what the flow decided."""

    DECLINE = 0
    ACCEPT = 1
    REDIRECT = 2
    LOGIN_DONE = 3
    LOGOUT = 4
    UNAUTHORIZED = 5
    FORBIDDEN = 6
    BAD_REQUEST = 7
    UNAVAILABLE = 8
    LOGIN_REFUSED = 9


class LogLevel(enum.IntEnum):
    """``sso_log_level``: syslog's numbers."""

    ERROR = 3
    WARNING = 4
    INFO = 6
    DEBUG = 7


_COOKIE_SECURE = {
    "auto": _lib.SSO_COOKIE_SECURE_AUTO,
    True: _lib.SSO_COOKIE_SECURE_ON,
    "on": _lib.SSO_COOKIE_SECURE_ON,
    False: _lib.SSO_COOKIE_SECURE_OFF,
    "off": _lib.SSO_COOKIE_SECURE_OFF,
}
# Numbers to members by a dict: an enum's own lookup costs microseconds,
# paid at every request.
_KINDS = {int(k): k for k in Kind}
_LOG_LEVELS = {int(level): level for level in LogLevel}
_ACCEPT = int(Kind.ACCEPT)
#: How many accepted tickets' claims a config keeps copied (FlowConfig._accepted).
_TICKET_COPIES = 4096

#: ``char *[n]`` array types for the usual cookie header counts: making a
#: ctypes array type costs more than filling one.
_COOKIE_ARRAYS = [c_char_p * n for n in range(4)]

#: What the adapters read out of a decision and its ticket (include/sso.h).
_READERS = [
    "sso_flow_decision_free",
    "sso_flow_decision_kind",
    "sso_flow_decision_status",
    "sso_flow_decision_header_count",
    "sso_flow_decision_header_name",
    "sso_flow_decision_header_value",
    "sso_flow_decision_body",
    "sso_flow_decision_ticket",
    "sso_flow_decision_fingerprint",
    "sso_flow_decision_ticket_param_mask",
    "sso_flow_decision_log_count",
    "sso_flow_decision_log_level",
    "sso_flow_decision_log_message",
    "sso_ticket_user",
    "sso_ticket_expires",
]


def _reader(lib: ctypes.CDLL) -> ctypes.PyDLL:
    """The same library, for the calls that read a decision: each takes
    nanoseconds, and a ``CDLL`` call gives the GIL up and takes it back,
    which in a threaded server (gunicorn's threads, waitress) hands it to
    another thread a dozen times per request. A ``PyDLL`` keeps it.
    ``sso_flow_decide`` itself, which may check a signature, still lets
    other threads run."""
    reader = ctypes.PyDLL(lib._name, handle=lib._handle)
    for name in _READERS:
        source, target = getattr(lib, name), getattr(reader, name)
        target.restype, target.argtypes = source.restype, source.argtypes
    return reader


@dataclass(frozen=True)
class Decision:
    """One request's answer: the kind, the status (0: serve the request),
    the headers to set, the body, the accepted ticket and the log lines
    (which never hold a ticket, only fingerprints)."""

    kind: Kind
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str | None = None
    ticket: Ticket | None = None
    fingerprint: str | None = None
    ticket_param_mask: str | None = None
    logs: list[tuple[LogLevel, str]] = field(default_factory=list)


def _s(p: bytes | None) -> str | None:
    return p.decode("utf-8", "replace") if p is not None else None


class FlowConfig:
    """A protected location: settings, the core's verification cache and
    its store of used and revoked tickets (per process: see docs/python.md,
    "Several processes"). Thread-safe."""

    def __init__(
        self,
        *,
        login_server: str,
        service: str,
        domain: str,
        public_keys: Sequence[StrPath | bytes],
        groups: Sequence[str] | None = None,
        cookie_secure: str | bool = "auto",
        cookie_prefix: str | None = None,
        browser: bool = True,
        binding: bool = True,
        clock_skew: int = 0,
        cache_entries: int = 16384,
        binding_entries: int = 16384,
        key_services: Mapping[StrPath, str] | None = None,
    ) -> None:
        if isinstance(public_keys, (str, bytes, os.PathLike)):
            raise TypeError("public_keys is a list (of key file paths or key bytes)")
        if isinstance(groups, str):
            raise TypeError("groups is a list of group names, not one string")
        if cookie_secure not in _COOKIE_SECURE:
            raise ValueError('cookie_secure is "auto", "on" or "off"')
        if min(clock_skew, cache_entries, binding_entries) < 0:
            raise ValueError("clock_skew and the entry counts must not be negative")
        # Key bytes are given as they are; anything else is a file path.
        files = [os.fsencode(k) for k in public_keys if not isinstance(k, bytes)]
        blobs = [k for k in public_keys if isinstance(k, bytes)]
        group_list = [g.encode("utf-8") for g in groups or ()]
        # Every buffer the settings point to stays referenced here until
        # sso_flow_config_new returns (it copies what it keeps).
        file_arr = _lib.string_array(files)
        key_arr = (_lib.KeyBytes * len(blobs))(*[_lib.KeyBytes(b, len(b)) for b in blobs])
        group_arr = _lib.string_array(group_list)
        settings = _lib.FlowSettings(
            public_key_files=ctypes.cast(file_arr, ctypes.POINTER(ctypes.c_char_p)),
            public_key_file_count=len(files),
            public_keys=ctypes.cast(key_arr, ctypes.POINTER(_lib.KeyBytes)),
            public_key_count=len(blobs),
            service=service.encode("utf-8"),
            domain=domain.encode("utf-8"),
            login_server=login_server.encode("utf-8"),
            groups=ctypes.cast(group_arr, ctypes.POINTER(ctypes.c_char_p)),
            group_count=len(group_list),
            cookie_secure=_COOKIE_SECURE[cookie_secure],
            cookie_prefix=cookie_prefix.encode("utf-8") if cookie_prefix else None,
            mode=_lib.SSO_FLOW_MODE_BROWSER if browser else _lib.SSO_FLOW_MODE_API,
            binding=_lib.SSO_BINDING_ON if binding else _lib.SSO_BINDING_OFF,
            clock_skew_secs=clock_skew,
            cache_entries=cache_entries,
            binding_entries=binding_entries,
        )
        lib = _lib.lib()
        out = c_void_p()
        pins = _lib.optional_string_array(key_pins(files, key_services))
        code = lib.sso_flow_config_new_pinned(
            ctypes.byref(settings),
            ctypes.cast(pins, ctypes.POINTER(ctypes.c_char_p)),
            ctypes.byref(out),
        )
        if code != _lib.SSO_OK:
            raise config_failed("refused SSO settings", code)
        self._handle: int | None = out.value
        self._lib = lib
        self._reader = _reader(lib)
        self._tickets: dict[tuple[bytes | None, bytes | None, int], Decision] = {}
        self._decide_summary = lib.sso_flow_decide_summary
        self._free_decision = self._reader.sso_flow_decision_free
        self._free = lib.sso_flow_config_free
        self._closing = threading.Lock()
        self.service = service
        self.pid = os.getpid()

    def decide(
        self,
        method: bytes,
        path: bytes,
        query: bytes,
        unparsed_uri: bytes,
        cookie_headers: Sequence[bytes],
        authorization: bytes | None,
        https: bool,
        now: int = 0,
        log_level: int = LogLevel.DEBUG,
    ) -> Decision | int:
        """The core's decision for one request, or the ``sso_result`` code
        with which the core refused to decide (``INVALID_ARGUMENT``: a
        method, path or query that is not UTF-8, to be answered 400). No
        argument may hold a NUL byte. ``log_level``: the least severe log
        line to copy (a syslog number; lines below it are not read). The
        adapters pass every argument by position, at every request
        (keywords cost microseconds)."""
        handle = self._handle
        if handle is None:
            raise ValueError("flow config is closed")
        count = len(cookie_headers)
        # One Cookie header (the usual request) is passed as a pointer to
        # one char *: a c_char_p costs a third of a one-element array; none
        # is NULL, which the core takes with a count of 0.
        if count == 1:
            cookies: c_char_p | ctypes.Array[c_char_p] | None = c_char_p(cookie_headers[0])
        elif count:
            cookies = (_COOKIE_ARRAYS[count] if count < len(_COOKIE_ARRAYS) else c_char_p * count)(*cookie_headers)
        else:
            cookies = None
        summary = _lib.FlowSummary()
        out = c_void_p()
        # One call decides and says what an acceptance needs; lines less
        # severe than log_level are left out by the core.
        code = self._decide_summary(
            handle,
            method,
            path,
            query,
            unparsed_uri,
            cookies,
            count,
            authorization,
            https,
            now,
            log_level,
            summary,
            out,
        )
        if code != _lib.SSO_OK:
            return int(code)
        d = out.value
        try:
            if summary.kind != _ACCEPT:
                return _copy_decision(self._reader, d, log_level)
            # An acceptance has no status, headers, body or mask
            # (sso-core/src/flow/decision.rs): the summary holds all that a
            # logged-in browser's request reads. A copy of the ticket's
            # claims made for an earlier request is reused when
            # fingerprint, user and expiry are the same: the same ticket,
            # which the core has just accepted again (the fingerprint is
            # 8 bytes of SHA-256 over the ticket, ticket_fingerprint in
            # sso-core/src/lib.rs: not the key alone). Reading every claim
            # anew costs more calls into the library than the decision
            # itself. So is the whole decision when the core kept no log
            # line: a frozen dataclass costs microseconds to build.
            key = (summary.fingerprint, summary.user, summary.expires)
            decision = self._tickets.get(key)
            if decision is None:
                decision = self._copy_acceptance(summary.ticket, key)
                if decision.ticket is None:
                    return replace(decision, logs=_copy_logs(self._reader, d, log_level))
            if summary.log_count:
                return replace(decision, logs=_copy_logs(self._reader, d, log_level))
            return decision
        finally:
            self._free_decision(d)

    def _copy_acceptance(self, handle: int | None, key: tuple[bytes | None, bytes | None, int]) -> Decision:
        """The acceptance of the ticket at ``handle`` (fingerprint, user
        and expiry: ``key``), kept for the next requests with it."""
        fingerprint = _s(key[0])
        if not handle:
            return Decision(Kind.ACCEPT, 0, fingerprint=fingerprint)
        # Shared by the requests of this ticket: its (empty) log list is
        # never added to; a request with log lines gets its own copy.
        decision = Decision(Kind.ACCEPT, 0, ticket=ticket_from_handle(handle), fingerprint=fingerprint)
        if len(self._tickets) >= _TICKET_COPIES:
            self._tickets.clear()
        self._tickets[key] = decision
        return decision

    def close(self) -> None:
        """Frees the core's config (also done when collected); only once no
        request is being decided with it."""
        with self._closing:
            handle, self._handle = self._handle, None
        if handle is not None:
            self._free(handle)

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None:
            self._handle = None
            self._free(handle)


def _copy_logs(lib: ctypes.CDLL, d: int | None, log_level: int) -> list[tuple[LogLevel, str]]:
    logs = []
    for i in range(lib.sso_flow_decision_log_count(d)):
        level = _LOG_LEVELS.get(lib.sso_flow_decision_log_level(d, i), LogLevel.ERROR)
        if level > log_level:
            continue  # not logged: its text is not even read
        message = _s(lib.sso_flow_decision_log_message(d, i))
        if message is not None:
            logs.append((level, message))
    return logs


def _copy_decision(lib: ctypes.CDLL, d: int | None, log_level: int) -> Decision:
    """Every field of a decision other than an acceptance."""
    headers = []
    for i in range(lib.sso_flow_decision_header_count(d)):
        name = _s(lib.sso_flow_decision_header_name(d, i))
        value = _s(lib.sso_flow_decision_header_value(d, i))
        if name is not None and value is not None:
            headers.append((name, value))
    ticket = lib.sso_flow_decision_ticket(d)
    return Decision(
        kind=_KINDS[lib.sso_flow_decision_kind(d)],
        status=int(lib.sso_flow_decision_status(d)),
        headers=headers,
        body=_s(lib.sso_flow_decision_body(d)),
        ticket=ticket_from_handle(ticket) if ticket else None,
        fingerprint=_s(lib.sso_flow_decision_fingerprint(d)),
        ticket_param_mask=_s(lib.sso_flow_decision_ticket_param_mask(d)),
        logs=_copy_logs(lib, d, log_level),
    )
