"""Loading libsso.so.0 and declaring the C ABI of include/sso.h.

The package never re-implements a rule of the core: every ticket check,
redirect, cookie and binding decision is a call into this library. The
prototypes below mirror include/sso.h one for one (tests/test_abi_header.py
checks them, the structs' layouts and the enum values against the header);
ctypes releases the GIL during each call, so threads verify in parallel.

Where the library comes from, in order:
1. ``$SSO_LIBRARY``: a path to ``libsso.so.0`` (a build tree, a test);
2. ``libsso.so.0`` beside this file: the copy a wheel built by
   ``scripts/package --wheel`` carries (docs/python.md);
3. the soname ``libsso.so.0`` through the dynamic loader's search path,
   i.e. an installed library (README.md, "Installing libsso").
"""

from __future__ import annotations

import ctypes
import os
import threading
from ctypes import (
    POINTER,
    Structure,
    c_bool,
    c_char_p,
    c_size_t,
    c_uint16,
    c_uint32,
    c_uint64,
    c_void_p,
)

from .errors import LibraryError

#: Environment variable naming the library file to load.
LIBRARY_ENV = "SSO_LIBRARY"
#: The soname build.rs gives libsso: the ABI's major version.
SONAME = "libsso.so.0"

# Values of the header's enums the package writes or tests (each checked
# against include/sso.h by tests/test_abi_header.py).
SSO_OK = 0
SSO_ERR_INVALID_ARGUMENT = 101
SSO_FLOW_MODE_BROWSER = 0
SSO_FLOW_MODE_API = 1
SSO_BINDING_ON = 0
SSO_BINDING_OFF = 1
SSO_COOKIE_SECURE_AUTO = 0
SSO_COOKIE_SECURE_ON = 1
SSO_COOKIE_SECURE_OFF = 2
#: A key file (or a directory above it) others than root or this process's
#: user could write: refused, as mod_sso and pam_sso refuse it.
SSO_ERR_KEY_UNTRUSTED = 109


class KeyBytes(Structure):
    """``sso_key_bytes``: a public key given as bytes (raw or PEM)."""

    _fields_ = [("data", c_char_p), ("len", c_size_t)]


class FlowSettings(Structure):
    """``sso_flow_settings``: zero values are the secure defaults."""

    _fields_ = [
        ("public_key_files", POINTER(c_char_p)),
        ("public_key_file_count", c_size_t),
        ("public_keys", POINTER(KeyBytes)),
        ("public_key_count", c_size_t),
        ("service", c_char_p),
        ("domain", c_char_p),
        ("login_server", c_char_p),
        ("groups", POINTER(c_char_p)),
        ("group_count", c_size_t),
        ("cookie_secure", c_uint32),
        ("cookie_prefix", c_char_p),
        ("mode", c_uint32),
        ("binding", c_uint32),
        ("clock_skew_secs", c_uint64),
        ("cache_entries", c_size_t),
        ("binding_entries", c_size_t),
    ]


class FlowSummary(Structure):
    """``sso_flow_summary``: what ``sso_flow_decide_summary`` writes beside
    the decision, all that a logged-in browser's request reads."""

    _fields_ = [
        ("kind", c_uint32),
        ("log_count", c_size_t),
        ("ticket", c_void_p),
        ("fingerprint", c_char_p),
        ("user", c_char_p),
        ("expires", c_uint64),
    ]


# The arguments sso_flow_decide and sso_flow_decide_summary both begin
# with: config, method, path, query, unparsed URI, the Cookie headers and
# their count, Authorization, https, now.
_FLOW_REQUEST: list[object] = [
    c_void_p,
    c_char_p,
    c_char_p,
    c_char_p,
    c_char_p,
    POINTER(c_char_p),
    c_size_t,
    c_char_p,
    c_bool,
    c_uint64,
]

# (name, return type, argument types) of every function the package calls.
_PROTOTYPES: list[tuple[str, object, list[object]]] = [
    ("sso_version", c_char_p, []),
    ("sso_result_message", None, [c_uint32, c_char_p, c_size_t, POINTER(c_size_t)]),
    (
        "sso_verifier_new",
        c_uint32,
        [POINTER(c_char_p), c_size_t, c_char_p, c_char_p, c_uint64, c_size_t, POINTER(c_void_p)],
    ),
    (
        "sso_verifier_new_pinned",
        c_uint32,
        [
            POINTER(c_char_p),
            POINTER(c_char_p),
            c_size_t,
            c_char_p,
            c_char_p,
            c_uint64,
            c_size_t,
            POINTER(c_void_p),
        ],
    ),
    ("sso_verifier_free", None, [c_void_p]),
    (
        "sso_verifier_verify",
        c_uint32,
        [
            c_void_p,
            c_char_p,
            c_size_t,
            c_uint64,
            c_char_p,
            POINTER(c_char_p),
            c_size_t,
            POINTER(c_void_p),
        ],
    ),
    ("sso_ticket_decode_unverified", c_uint32, [c_char_p, c_size_t, POINTER(c_void_p)]),
    ("sso_ticket_free", None, [c_void_p]),
    ("sso_ticket_user", c_char_p, [c_void_p]),
    ("sso_ticket_service", c_char_p, [c_void_p]),
    ("sso_ticket_domain", c_char_p, [c_void_p]),
    ("sso_ticket_nonce", c_char_p, [c_void_p]),
    ("sso_ticket_group_count", c_size_t, [c_void_p]),
    ("sso_ticket_group", c_char_p, [c_void_p, c_size_t]),
    ("sso_ticket_expires", c_uint64, [c_void_p]),
    ("sso_ticket_version", c_uint32, [c_void_p]),
    ("sso_flow_config_new", c_uint32, [POINTER(FlowSettings), POINTER(c_void_p)]),
    (
        "sso_flow_config_new_pinned",
        c_uint32,
        [POINTER(FlowSettings), POINTER(c_char_p), POINTER(c_void_p)],
    ),
    ("sso_flow_config_free", None, [c_void_p]),
    ("sso_flow_decide", c_uint32, [*_FLOW_REQUEST, POINTER(c_void_p)]),
    (
        "sso_flow_decide_summary",
        c_uint32,
        [*_FLOW_REQUEST, c_uint32, POINTER(FlowSummary), POINTER(c_void_p)],
    ),
    ("sso_flow_decision_free", None, [c_void_p]),
    ("sso_flow_decision_kind", c_uint32, [c_void_p]),
    ("sso_flow_decision_status", c_uint16, [c_void_p]),
    ("sso_flow_decision_header_count", c_size_t, [c_void_p]),
    ("sso_flow_decision_header_name", c_char_p, [c_void_p, c_size_t]),
    ("sso_flow_decision_header_value", c_char_p, [c_void_p, c_size_t]),
    ("sso_flow_decision_body", c_char_p, [c_void_p]),
    ("sso_flow_decision_ticket", c_void_p, [c_void_p]),
    ("sso_flow_decision_fingerprint", c_char_p, [c_void_p]),
    ("sso_flow_decision_ticket_param_mask", c_char_p, [c_void_p]),
    ("sso_flow_decision_log_count", c_size_t, [c_void_p]),
    ("sso_flow_decision_log_level", c_uint32, [c_void_p, c_size_t]),
    ("sso_flow_decision_log_message", c_char_p, [c_void_p, c_size_t]),
]

_lock = threading.Lock()
_lib: ctypes.CDLL | None = None


def lib() -> ctypes.CDLL:
    """The loaded library with its prototypes, loaded once per process."""
    global _lib
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is None:
            _lib = _load()
    return _lib


#: Where a wheel carries its own copy of the library.
BUNDLED = os.path.join(os.path.dirname(os.path.abspath(__file__)), SONAME)


def _load() -> ctypes.CDLL:
    path = os.environ.get(LIBRARY_ENV) or (BUNDLED if os.path.exists(BUNDLED) else SONAME)
    try:
        handle = ctypes.CDLL(path)
    except OSError as e:
        where = {SONAME: f"{SONAME} (set ${LIBRARY_ENV})", BUNDLED: f"the wheel's {BUNDLED}"}.get(
            path, f"${LIBRARY_ENV}={path}"
        )
        raise LibraryError(f"cannot load libsso from {where}: {e}") from None
    for name, restype, argtypes in _PROTOTYPES:
        try:
            fn = getattr(handle, name)
        except AttributeError:
            raise LibraryError(f"{path} has no {name}: the installed libsso is older than this package") from None
        fn.restype = restype
        fn.argtypes = argtypes
    return handle


def result_message(code: int) -> str:
    """The core's name for result ``code``: for a ticket check, the check's
    name as logs and ``WWW-Authenticate`` spell it (``"expired"``)."""
    buf = ctypes.create_string_buffer(128)
    n = c_size_t(0)
    lib().sso_result_message(code, buf, len(buf), ctypes.byref(n))
    return buf.raw[: n.value].decode("utf-8", "replace")


def string_array(values: list[bytes]) -> ctypes.Array[c_char_p]:
    """A C array of C strings (kept alive by the caller while in use)."""
    return (c_char_p * len(values))(*values)


def optional_string_array(values: list[bytes | None]) -> ctypes.Array[c_char_p]:
    """A C array of C strings or NULLs (kept alive by the caller)."""
    return (c_char_p * len(values))(*values)


def version() -> str:
    """The loaded library's version string (``libsso 0.1.0``)."""
    v: bytes | None = lib().sso_version()
    return v.decode() if v else ""
