"""``get_token``: a ticket from an ssh token realm, through the cache that
``ssotool token`` and sso-client use.

The same cache, byte for byte, as sso-client/src/cache.rs: one file per
destination and service in ``$XDG_CACHE_HOME/sso`` (else
``~/.cache/sso``), named ``ticket-`` + the first 16 bytes of
SHA-256(destination NUL service) in hex, holding the ticket and a newline,
mode 0600 in a 0700 directory; a file someone else owns or could read is
ignored. So the command line and Python share tickets both ways.

The same ssh call as sso-client/src/ssh.rs: ``ssh -T -o BatchMode=yes
[$SSO_SSH_OPTIONS] -- REALM@HOST [SERVICE]`` from an argument vector
(never a shell), ``$SSO_SSH`` naming the program. Unlike the command line
it never waits forever: a realm that does not answer within ``timeout``
seconds is an error naming it.

A ticket's expiry and service are read by the core
(``sso_ticket_decode_unverified``), never parsed here.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import signal
import stat
import subprocess
import time
from pathlib import Path

from .errors import TicketError, TokenError
from .verifier import decode_unverified

#: A cached ticket is reused only while it has this many seconds left, so
#: it does not expire on its way to the server (sso-client's value).
MIN_REMAINING_SECS = 10
#: Longest ticket the core accepts (sso-core's MAX_TICKET_LEN).
MAX_TICKET_LEN = 4096
#: Seconds ssh may take by default before the fetch is given up.
DEFAULT_TIMEOUT = 30.0

SSH_PROGRAM_ENV = "SSO_SSH"
SSH_OPTIONS_ENV = "SSO_SSH_OPTIONS"

_REALM = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
_HOST = re.compile(r"[A-Za-z0-9._:\[\]-]{1,255}")
# Characters a POSIX shell reads literally: a destination that is by
# mistake an ordinary account hands the service to a shell.
_SERVICE_ARG = re.compile(r"[A-Za-z0-9._~:/+=-]+")
_counter = itertools.count()


def _shorten(s: str, limit: int = 80) -> str:
    return s if len(s) <= limit else s[:limit] + "..."


def check_destination(destination: str) -> None:
    """``REALM@HOST`` with sso-client's alphabet (no option-looking host)."""
    realm, sep, host = destination.partition("@")
    if not sep or not _REALM.fullmatch(realm):
        raise TokenError(
            _shorten(destination), "invalid ssh destination: write REALM@HOST with a realm of a-z, 0-9, _ and -"
        )
    if not _HOST.fullmatch(host) or host.startswith("-"):
        raise TokenError(_shorten(destination), "invalid host in the ssh destination")


def check_service(destination: str, service: str) -> None:
    """A service that may go on the ssh command line."""
    if not _SERVICE_ARG.fullmatch(service) or "/" not in service:
        raise TokenError(
            destination,
            f"invalid service name {_shorten(service)!r}: write HOST[:PORT]/PATH/ with A-Z a-z 0-9 . _ ~ : / + = -",
        )


def cache_dir() -> Path | None:
    """``$XDG_CACHE_HOME/sso`` if that is absolute, else ``$HOME/.cache/sso``."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):
        return Path(xdg) / "sso"
    home = os.environ.get("HOME", "")
    if os.path.isabs(home):
        return Path(home) / ".cache" / "sso"
    return None


def entry_path(directory: Path, destination: str, service: str | None) -> Path:
    """The cache file of one destination and service (sso-client's name)."""
    h = hashlib.sha256(destination.encode() + b"\0" + (service or "").encode())
    return directory / f"ticket-{h.digest()[:16].hex()}"


def load_cached(
    directory: Path, destination: str, service: str | None, now: int, margin: int = MIN_REMAINING_SECS
) -> str | None:
    """The cached ticket with at least ``margin`` seconds left (by its own,
    unverified, expiry), if any and if the file is private to us."""
    path = entry_path(directory, destination, service)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
            return None
        raw = f.read(MAX_TICKET_LEN + 2)
    try:
        ticket = raw.decode("ascii").strip()
        claims = decode_unverified(ticket)
    except (UnicodeDecodeError, TicketError):
        return None
    if service is not None and claims.service != service:
        return None
    return ticket if claims.expires >= now + margin else None


def store_cached(directory: Path, destination: str, service: str | None, ticket: str) -> None:
    """Stores a ticket atomically, mode 0600 in a 0700 directory."""
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    path = entry_path(directory, destination, service)
    tmp = path.with_name(f".{path.name}.tmp.{os.getpid()}.{next(_counter)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o600)  # the umask may have narrowed it
            f.write(ticket.encode("ascii") + b"\n")
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def forget_cached(directory: Path, destination: str, service: str | None) -> None:
    """Drops a cached ticket (missing is fine)."""
    entry_path(directory, destination, service).unlink(missing_ok=True)


def ssh_command(destination: str, service: str | None, options: list[str] | None = None) -> list[str]:
    """The argument vector of the fetch: ``--`` ends ssh's options, and the
    destination was checked not to start with ``-``."""
    check_destination(destination)
    program = os.environ.get(SSH_PROGRAM_ENV) or "ssh"
    argv = [program, "-T", "-o", "BatchMode=yes"]
    argv += os.environ.get(SSH_OPTIONS_ENV, "").split()
    argv += options or []
    argv += ["--", destination]
    if service is not None:
        check_service(destination, service)
        argv.append(service)
    return argv


def fetch_ticket(
    destination: str, service: str | None = None, *, timeout: float = DEFAULT_TIMEOUT, options: list[str] | None = None
) -> str:
    """A fresh ticket over ssh, checked to be one line that decodes (and,
    if ``service`` was asked for, names it). Raises :class:`TokenError`."""
    argv = ssh_command(destination, service, options)
    try:
        # A session of its own: on timeout the whole group (ssh and any
        # ProxyCommand) is killed, so no pipe stays open behind it.
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
    except OSError as e:
        raise TokenError(destination, f"cannot run {argv[0]}: {e.strerror}") from None
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()
        raise TokenError(destination, f"ssh did not answer within {timeout:g} s") from None
    if proc.returncode != 0:
        lines = [line.strip() for line in err.decode("utf-8", "replace").splitlines() if line.strip()]
        status = f"status {proc.returncode}" if proc.returncode > 0 else "a signal"
        raise TokenError(destination, f"ssh ended with {status}: {_shorten(lines[-1]) if lines else '(no message)'}")
    return _check_output(destination, out, service)


def _check_output(destination: str, out: bytes, service: str | None) -> str:
    lines = [line.strip() for line in out.decode("ascii", "replace").splitlines() if line.strip()]
    if len(lines) != 1:
        raise TokenError(destination, "the realm did not answer exactly one line")
    ticket = lines[0]
    if len(ticket) > MAX_TICKET_LEN:
        raise TokenError(destination, "the realm's answer is too long")
    try:
        claims = decode_unverified(ticket)
    except TicketError as e:
        raise TokenError(destination, f"the realm's answer is not a ticket: {e.check}") from None
    if service is not None and claims.service != service:
        raise TokenError(destination, f"the realm issued a ticket for {_shorten(claims.service)} instead of {service}")
    return ticket


def get_token(
    realm_at_host: str,
    service: str | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    cache: bool = True,
    fresh: bool = False,
    margin: int = MIN_REMAINING_SECS,
    ssh_options: list[str] | None = None,
) -> str:
    """A ticket from the realm ``REALM@HOST`` (for ``service``, or the
    realm's default): from the shared cache while it has ``margin``
    seconds left, else fresh over ssh (and stored). ``fresh=True`` skips
    the cache read, as ``ssotool token --fresh``. Raises
    :class:`TokenError` naming the realm."""
    return token_and_origin(
        realm_at_host, service, timeout=timeout, cache=cache, fresh=fresh, margin=margin, ssh_options=ssh_options
    )[0]


def token_and_origin(
    realm_at_host: str,
    service: str | None,
    *,
    timeout: float,
    cache: bool,
    fresh: bool,
    margin: int,
    ssh_options: list[str] | None,
) -> tuple[str, bool]:
    """:func:`get_token`, and whether the ticket was fetched over ssh."""
    check_destination(realm_at_host)
    directory = cache_dir() if cache else None
    if directory is not None and not fresh:
        cached = load_cached(directory, realm_at_host, service, int(time.time()), margin)
        if cached is not None:
            return cached, False
    ticket = fetch_ticket(realm_at_host, service, timeout=timeout, options=ssh_options)
    if directory is not None:
        try:
            store_cached(directory, realm_at_host, service, ticket)
        except OSError:
            pass  # a cache that cannot be written costs a refetch next time, no more
    return ticket, True
