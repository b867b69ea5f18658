"""Real servers for the Python tests, started as processes on free ports:
apache2 with the built mod_sso, the WSGI test application under wsgiref,
gunicorn or waitress, and the login server (sshd and realms: realms.py).
The same set-up as the Rust harness (tests/src/apache.rs, server.rs,
ssh.rs), driven from Python; nothing here is a stand-in for a component.

Built artifacts come from ``$SSO_BUILD_DIR`` (a cargo profile directory,
default ``$CARGO_TARGET_DIR/debug`` or ``target/debug``).
"""

from __future__ import annotations

import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[2]
TESTS = Path(__file__).resolve().parent
DOMAIN = "test.example"
LOGIN = "https://login.test.example/"


def build_dir() -> Path:
    if os.environ.get("SSO_BUILD_DIR"):
        return Path(os.environ["SSO_BUILD_DIR"])
    return Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target") / "debug"


def artifact(name: str) -> Path:
    p = build_dir() / name
    if not p.exists():
        raise RuntimeError(f"{p} is missing: build the workspace first (cargo build --workspace)")
    return p


def is_root() -> bool:
    return os.geteuid() == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 20.0, proc: subprocess.Popen[bytes] | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group, SIGKILL if it lingers."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def ssotool(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([str(artifact("ssotool")), *args], capture_output=True, text=True)
    if check and out.returncode != 0:
        raise RuntimeError(f"ssotool {args[0]}: {out.stderr.strip()}")
    return out


def self_signed_certificate(key: Path, cert: Path) -> None:
    """A throwaway P-256 certificate for 127.0.0.1, valid two days."""
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )


def read_log(path: Path) -> str:
    """A server's log so far ("" before it exists)."""
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def end(proc: subprocess.Popen[bytes], log: IO[bytes], root: Path) -> None:
    """Stops a server started by this module, closes its log, removes its
    directory."""
    stop(proc)
    log.close()
    shutil.rmtree(root, ignore_errors=True)


class Keys:
    """A throwaway Ed25519 key pair in PEM (PKCS#8 / SubjectPublicKeyInfo),
    made by openssl: one of the two key formats the core reads."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="sso-keys-")
        os.chmod(self.dir, 0o755)
        self.public = Path(self.dir) / "public.pem"
        self.secret = Path(self.dir) / "secret.pem"
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(self.secret)], check=True)
        os.chmod(self.secret, 0o600)
        subprocess.run(["openssl", "pkey", "-in", str(self.secret), "-pubout", "-out", str(self.public)], check=True)
        os.chmod(self.public, 0o644)

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def sign(
        self,
        user: str,
        service: str,
        domain: str = DOMAIN,
        ttl: int = 600,
        nonce: str | None = None,
        groups: list[str] | tuple[str, ...] = (),
        version: int = 4,
    ) -> str:
        """A ticket expiring ``ttl`` seconds from now (negative: already
        expired), signed by the C ABI's ``sso_signer_sign``."""
        return sign_with(self.secret, user, service, domain, int(time.time()) + ttl, nonce, list(groups), version)


def sign_with(
    secret: Path,
    user: str,
    service: str,
    domain: str,
    expires: int,
    nonce: str | None,
    groups: list[str],
    version: int = 4,
) -> str:
    from sso import _lib

    lib = _lib.lib()
    lib.sso_signer_new.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
    lib.sso_signer_new.restype = ctypes.c_uint32
    lib.sso_signer_free.argtypes = [ctypes.c_void_p]
    lib.sso_signer_sign.restype = ctypes.c_uint32
    lib.sso_signer_sign.argtypes = [
        ctypes.c_void_p,
        ctypes.c_uint32,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_uint64,
        ctypes.c_char_p,
        ctypes.POINTER(ctypes.c_char_p),
        ctypes.c_size_t,
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.POINTER(ctypes.c_size_t),
    ]
    signer = ctypes.c_void_p()
    code = lib.sso_signer_new(str(secret).encode(), ctypes.byref(signer))
    assert code == 0, _lib.result_message(code)
    try:
        buf = ctypes.create_string_buffer(8192)
        n = ctypes.c_size_t()
        g = [x.encode() for x in groups]
        code = lib.sso_signer_sign(
            signer,
            version,
            user.encode(),
            service.encode(),
            domain.encode(),
            max(expires, 0),
            nonce.encode() if nonce else None,
            _lib.string_array(g),
            len(g),
            buf,
            len(buf),
            ctypes.byref(n),
        )
        assert code == 0, _lib.result_message(code)
        return buf.raw[: n.value].decode()
    finally:
        lib.sso_signer_free(signer)


ENV_CGI = (
    '#!/bin/sh\nhead -c "${CONTENT_LENGTH:-0}" >/dev/null\n'
    "printf 'Content-Type: text/plain\\r\\n\\r\\n'\n"
    + "".join(f'echo "{k}=${k}"\n' for k in ("REMOTE_USER", "AUTH_TYPE", "SSO_USER", "SSO_GROUPS", "SSO_SERVICE"))
)


class Apache:
    """A private apache2 with the built mod_sso (as tests/src/apache.rs):
    ``/app/`` needs a valid user, ``/app/needgroup/`` asks for groups
    admins,staff; every directory has ``env.cgi``."""

    MODULES = "/usr/lib/apache2/modules"

    def __init__(
        self,
        public_keys: list[Path],
        tls: bool = False,
        extra: str = "",
        service: str | None = None,
        env: dict[str, str] | None = None,
        domain: str = DOMAIN,
        login: str = LOGIN,
    ) -> None:
        self.domain = domain
        self.login = login
        self.root = Path(tempfile.mkdtemp(prefix="apache-"))
        self.port = free_port()
        self.tls = tls
        self._service = service
        for d in ("htdocs/app/needgroup", "run", "conf"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        for d in ("app", "app/needgroup"):
            cgi = self.root / "htdocs" / d / "env.cgi"
            cgi.write_text(ENV_CGI)
            cgi.chmod(0o755)
        if tls:
            self_signed_certificate(self.root / "conf/key.pem", self.root / "conf/cert.pem")
        (self.root / "conf/httpd.conf").write_text(self._config(public_keys) + extra)
        for dirpath, _, _ in os.walk(self.root):
            os.chmod(dirpath, 0o755)
        self.stderr = open(self.root / "stderr.log", "wb")
        self.proc = subprocess.Popen(
            ["/usr/sbin/apache2", "-d", str(self.root), "-f", str(self.root / "conf/httpd.conf"), "-DFOREGROUND"],
            stdout=self.stderr,
            stderr=self.stderr,
            start_new_session=True,
            env=dict(os.environ, **(env or {})),
        )
        if not wait_port(self.port, 60, self.proc):
            self.close()
            raise RuntimeError(f"apache2 did not start:\n{self.error_log()}{(self.root / 'stderr.log').read_text()}")
        deadline = time.monotonic() + 5
        while "resuming normal operations" not in self.error_log() and time.monotonic() < deadline:
            time.sleep(0.02)

    def _config(self, keys: list[Path]) -> str:
        m = lambda name: f"LoadModule {name}_module {self.MODULES}/mod_{name}.so\n"  # noqa: E731
        s = (
            f'ServerRoot "{self.root}"\nPidFile "{self.root}/run/httpd.pid"\nDefaultRuntimeDir "{self.root}/run"\n'
            f'Mutex file:{self.root}/run default\nErrorLog "{self.root}/error.log"\nLogLevel warn sso:debug\n'
            f"Listen 127.0.0.1:{self.port}\nServerName 127.0.0.1:{self.port}\n"
        )
        if is_root():
            s += "User www-data\nGroup www-data\n"
        s += m("mpm_event") + "StartServers 1\nServerLimit 2\nThreadsPerChild 8\nMaxRequestWorkers 16\n"
        for name in ("authn_core", "authz_core", "authz_user", "alias", "mime", "env", "dir", "socache_shmcb"):
            s += m(name)
        s += m("cgid") + f'ScriptSock "{self.root}/run/cgid.sock"\n'
        if self.tls:
            s += m("ssl")
        s += f"LoadModule sso_module {artifact('libmod_sso.so')}\n"
        s += (
            f'TypesConfig /etc/mime.types\nDocumentRoot "{self.root}/htdocs"\n<Directory "{self.root}/htdocs">\n'
            "  Options +ExecCGI\n  AddHandler cgi-script .cgi\n  Require all granted\n</Directory>\n"
        )
        if self.tls:
            s += (
                f'SSLEngine on\nSSLCertificateFile "{self.root}/conf/cert.pem"\n'
                f'SSLCertificateKeyFile "{self.root}/conf/key.pem"\n'
            )
        s += f"SSOLoginServer {self.login}\nSSODomain {self.domain}\n" + "".join(
            f"SSOPublicKeyFile {k}\n" for k in keys
        )
        s += (
            f"<Location /app/>\n  AuthType SSO\n  SSOService {self.service}\n  Require valid-user\n</Location>\n"
            "<Location /app/needgroup/>\n  SSOGroups admins,staff\n</Location>\n"
        )
        return s

    @property
    def service(self) -> str:
        return self._service or f"127.0.0.1:{self.port}/app/"

    def url(self, path: str) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}{path}"

    def error_log(self) -> str:
        return read_log((self.root / "error.log"))

    def close(self) -> None:
        end(self.proc, self.stderr, self.root)


class WsgiServer:
    """The test application behind SSOMiddleware in a real server process:
    tests/wsgi_app.py under ``wsgiref``, ``gunicorn`` (one worker, threads)
    or ``waitress``, tests/asgi_app.py under ``uvicorn`` or ``hypercorn``.
    ``settings`` are the middleware's keyword arguments (``service`` may
    hold ``@HOSTPORT@``)."""

    def __init__(self, kind: str, settings: dict[str, object], tls: bool = False, workers: int = 1) -> None:
        self.kind = kind
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="wsgi-"))
        self.log_path = self.dir / "app.log"
        self.tls = tls
        config = dict(settings)
        config["service"] = str(config.get("service", "@HOSTPORT@/app/")).replace(
            "@HOSTPORT@", f"127.0.0.1:{self.port}"
        )
        self.service = str(config["service"])
        (self.dir / "config.json").write_text(json.dumps({"middleware": config, "log": str(self.log_path)}))
        env = dict(os.environ, SSO_TEST_APP_CONFIG=str(self.dir / "config.json"), PYTHONPATH=str(TESTS))
        bind = f"127.0.0.1:{self.port}"
        if kind == "wsgiref":
            argv = [sys.executable, str(TESTS / "wsgi_app.py"), str(self.port)]
        elif kind == "gunicorn":
            argv = [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(workers),
                "--threads",
                # Several workers are sync workers (one request each at a time),
                # so concurrent requests must spread over them.
                "1" if workers > 1 else "4",
                "--bind",
                bind,
                "--access-logfile",
                str(self.dir / "access.log"),
                "wsgi_app:app",
            ]
            if tls:
                self._certificate()
                argv += ["--certfile", str(self.dir / "cert.pem"), "--keyfile", str(self.dir / "key.pem")]
        elif kind == "waitress":
            argv = [sys.executable, "-m", "waitress", f"--listen={bind}", "--threads=4", "wsgi_app:app"]
        elif kind == "uvicorn":
            argv = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(self.port)]
            argv += ["--workers", str(workers), "--ws", "websockets", "asgi_app:app"]
        elif kind == "hypercorn":
            argv = [sys.executable, "-m", "hypercorn", "--bind", bind, "--workers", str(workers)]
            # The access log with each request's query (%(R)s), as uvicorn's shows it.
            argv += ["--access-logfile", str(self.dir / "access.log"), "--access-logformat", '%(h)s "%(R)s" %(s)s']
            argv += ["asgi_app:app"]
        else:
            raise ValueError(kind)
        self.out = open(self.dir / "server.log", "wb")
        self.proc = subprocess.Popen(argv, env=env, cwd=TESTS, stdout=self.out, stderr=self.out, start_new_session=True)
        if not wait_port(self.port, 30, self.proc):
            self.close()
            raise RuntimeError(f"{kind} did not start:\n{self.server_log()}")

    def _certificate(self) -> None:
        self_signed_certificate(self.dir / "key.pem", self.dir / "cert.pem")

    def url(self, path: str) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}{path}"

    def log(self) -> str:
        return read_log(self.log_path)

    def server_log(self) -> str:
        return read_log((self.dir / "server.log"))

    def close(self) -> None:
        end(self.proc, self.out, self.dir)


def random_name(prefix: str) -> str:
    return prefix + secrets.token_hex(5)


class SsoServer:
    """The login server (``sso-server``) on a free port with a users file
    and a temporary configuration, as tests/src/server.rs starts it."""

    SECRET = "JvNHJs4uLeBwMuMGQ9H5R9FU/12lFZfhRpTB+TsVYTI="

    def __init__(
        self,
        keys: Keys,
        users: dict[str, tuple[str, list[str]]],
        domain: str = DOMAIN,
        tables: str = "",
        allowed: tuple[str, ...] = (r"127\.0\.0\.1:[0-9]+/", r"[a-z0-9-]+\.test\.example/"),
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="sso-server-"))
        self.tls = tls is not None
        if tls is not None:
            tables += f'\n[tls]\ncert_file = "{tls[0]}"\nkey_file = "{tls[1]}"\n'

        users_file = self.dir / "users"
        for user, (password, groups) in users.items():
            argv = [str(artifact("sso-server")), "user", "add", "--users-file", str(users_file), user]
            if groups:
                argv += ["--groups", ",".join(groups)]
            subprocess.run(argv, input=password + "\n", text=True, check=True, capture_output=True)
        self.port = free_port()
        patterns = ", ".join(f"'{p}'" for p in allowed)
        (self.dir / "sso-server.toml").write_text(
            f'domain = "{domain}"\nlisten = "127.0.0.1:{self.port}"\nsecret_key_file = "{keys.secret}"\n'
            f'public_key_files = ["{keys.public}"]\nallowed_services = [{patterns}]\n'
            f'\n[session]\nsecrets = ["{self.SECRET}"]\n\n'
            f'[auth]\nbackend = "users_file"\nusers_file = "{users_file}"\n\n{tables}'
        )
        self.log_file = open(self.dir / "sso-server.log", "wb")
        self.proc = subprocess.Popen(
            [str(artifact("sso-server")), "--config", str(self.dir / "sso-server.toml")],
            stdin=subprocess.DEVNULL,
            stdout=self.log_file,
            stderr=self.log_file,
            start_new_session=True,
        )
        if not wait_port(self.port, 20, self.proc):
            self.close()
            raise RuntimeError(f"sso-server did not start:\n{self.log()}")

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/"

    def log(self) -> str:
        return read_log((self.dir / "sso-server.log"))

    def close(self) -> None:
        end(self.proc, self.log_file, self.dir)


class ExampleServer:
    """An application of python/examples (``module:app``) under gunicorn
    (one worker, threads) or uvicorn, configured by environment variables
    whose values may hold ``@HOSTPORT@``; its service is
    ``127.0.0.1:PORT/``. ``before``: commands run first in the same
    environment (a Django migration); ``tls``: (certificate, key) for
    gunicorn's https."""

    EXAMPLES = REPO / "python" / "examples"

    def __init__(
        self,
        app: str,
        env: dict[str, str],
        server: str = "gunicorn",
        before: list[list[str]] | None = None,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.port = free_port()
        self.tls = tls is not None
        self.service = f"127.0.0.1:{self.port}/"
        self.dir = Path(tempfile.mkdtemp(prefix="example-"))
        full = dict(os.environ)
        full.update({k: v.replace("@HOSTPORT@", f"127.0.0.1:{self.port}") for k, v in env.items()})
        full["PYTHONPATH"] = os.pathsep.join([str(self.EXAMPLES), full.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        self.out = open(self.dir / "server.log", "wb")
        for command in before or []:
            subprocess.run(command, env=full, cwd=self.dir, stdout=self.out, stderr=self.out, check=True)
        if server == "gunicorn":
            argv = [sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "4"]
            argv += ["--bind", f"127.0.0.1:{self.port}", "--access-logfile", str(self.dir / "access.log"), app]
            if tls is not None:
                argv += ["--certfile", str(tls[0]), "--keyfile", str(tls[1])]
        else:
            argv = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(self.port), app]
        self.proc = subprocess.Popen(
            argv, env=full, cwd=self.dir, stdout=self.out, stderr=self.out, start_new_session=True
        )
        if not wait_port(self.port, 30, self.proc):
            log = self.log()
            self.close()
            raise RuntimeError(f"{app} did not start:\n{log}")

    def url(self, path: str) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}{path}"

    def log(self) -> str:
        return read_log((self.dir / "server.log"))

    def close(self) -> None:
        end(self.proc, self.out, self.dir)
