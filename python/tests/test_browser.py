"""End to end in Debian's chromium (over WebDriver, as tests/src/browser.rs
drives it): log in at the real login server, land in the WSGI application
(SSOMiddleware under gunicorn, https), reach an Apache + mod_sso service
and the Django example's admin (sso.django) with the same login session
and no form, log out at the login server, and all three services send the
browser to the login form again (Django's own session notwithstanding)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import harness
from conftest import need_root, site_settings
from test_django import django_site

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
PASSWORD = "browser password"


class Browser:
    """Headless chromium via chromedriver, trusting only the system roots
    plus ``trusted`` (imported into a private NSS database)."""

    def __init__(self, trusted: list[Path]) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="chromium-"))
        db = f"sql:{self.home}/.pki/nssdb"
        (self.home / ".pki/nssdb").mkdir(parents=True)
        subprocess.run(["certutil", "-N", "-d", db, "--empty-password"], check=True)
        for i, cert in enumerate(trusted):
            subprocess.run(["certutil", "-A", "-d", db, "-t", "CT,,", "-n", f"test-{i}", "-i", str(cert)], check=True)
        self.port = harness.free_port()
        self.driver = subprocess.Popen(
            ["chromedriver", f"--port={self.port}"],
            env=dict(os.environ, HOME=str(self.home)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        assert harness.wait_port(self.port, 30, self.driver), "chromedriver did not listen"
        args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1000,800",
            f"--user-data-dir={self.home}/chromium",
        ]
        caps = {
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "acceptInsecureCerts": False,
                    "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args},
                }
            }
        }
        self.session = self._call("POST", "/session", caps)["sessionId"]

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        r = requests.request(method, f"http://127.0.0.1:{self.port}{path}", json=body, timeout=120)
        value = r.json()
        assert r.status_code == 200, f"WebDriver {method} {path}: {value}"
        return value if "sessionId" in value else value["value"]

    def cmd(self, method: str, rel: str, body: Any = None) -> Any:
        return self._call(method, f"/session/{self.session}{rel}", body)

    def goto(self, url: str) -> None:
        self.cmd("POST", "/url", {"url": url})

    def url(self) -> str:
        return str(self.cmd("GET", "/url"))

    def source(self) -> str:
        return str(self.cmd("GET", "/source"))

    def type_into(self, css: str, text: str) -> None:
        e = self.cmd("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]
        self.cmd("POST", f"/element/{e}/value", {"text": text})

    def click(self, css: str) -> None:
        e = self.cmd("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]
        self.cmd("POST", f"/element/{e}/click", {})

    def wait(self, what: str, done: Any) -> None:
        deadline = time.monotonic() + 60
        while not done():
            assert time.monotonic() < deadline, f"waited in vain for {what}: {self.url()}\n{self.source()[:2000]}"
            time.sleep(0.1)

    def close(self) -> None:
        try:
            self.cmd("DELETE", "")
        except Exception:
            pass
        try:
            os.killpg(self.driver.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.driver.wait()
        shutil.rmtree(self.home, ignore_errors=True)


def ca_signed_certificate(d: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a 127.0.0.1 certificate it signed: (ca, cert, key)."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=sso test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    )
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "key.pem", "-out", "req.csr")
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    openssl(
        "x509",
        "-req",
        "-in",
        "req.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "ext.cnf",
        "-out",
        "cert.pem",
    )
    return d / "ca.pem", d / "cert.pem", d / "key.pem"


@pytest.fixture()
def world(keys: harness.Keys, tmp_path: Path) -> Iterator[dict[str, Any]]:
    need_root()
    ca, cert, key = ca_signed_certificate(tmp_path)
    parts: list[Any] = []
    try:
        login = harness.SsoServer(
            keys,
            {"alice": (PASSWORD, ["staff", "admins"])},
            allowed=(r"127\.0\.0\.1:[0-9]+/app/", r"127\.0\.0\.1:[0-9]+/"),
            tls=(cert, key),
        )
        parts.append(login)
        wsgi = harness.WsgiServer("gunicorn", site_settings(keys, login_server=login.url, needgroup=None), tls=True)
        parts.append(wsgi)
        apache = harness.Apache([keys.public], tls=True, login=login.url)
        parts.append(apache)
        django = django_site(
            keys, "gunicorn", "django_site.wsgi:application", login=login.url, tls=(cert, key), groups="staff,admins"
        )
        parts.append(django)
        browser = Browser([ca, wsgi.dir / "cert.pem", apache.root / "conf/cert.pem"])
        parts.append(browser)
        yield {"login": login, "wsgi": wsgi, "apache": apache, "django": django, "browser": browser}
    finally:
        for p in reversed(parts):
            p.close()


def test_one_login_for_wsgi_and_apache_and_one_logout(world: dict[str, Any]) -> None:
    login, wsgi, apache, b = world["login"], world["wsgi"], world["apache"], world["browser"]
    app_url, apache_url = wsgi.url("/app/"), apache.url("/app/env.cgi")
    b.goto(app_url)
    b.wait("the login form", lambda: b.url().startswith(login.url + "?s=") and 'name="password"' in b.source())
    b.type_into("#username", "alice")
    b.type_into("#password", PASSWORD)
    b.click("#submit")
    b.wait("the WSGI application", lambda: b.url().startswith(app_url) and "REMOTE_USER=alice" in b.source())
    # Apache: in without a form, through the login server's session.
    b.goto(apache_url)
    b.wait("the Apache service", lambda: b.url().startswith(apache_url) and "REMOTE_USER=alice" in b.source())
    # Back to the WSGI application: still in (its own cookies, bound).
    b.goto(app_url)
    b.wait("the WSGI application again", lambda: "REMOTE_USER=alice" in b.source())
    # The Django site (sso.django behind gunicorn): the same login session
    # creates the user, and alice (in admins) reaches the admin.
    django = world["django"]
    b.goto(django.url("/admin/"))
    b.wait("Django's admin", lambda: b.url().startswith(django.url("/admin/")) and "Site administration" in b.source())
    b.goto(django.url("/whoami/"))
    b.wait("Django's view", lambda: "user=alice" in b.source())
    assert "groups=Administrators,Staff members" in b.source() and "superuser=True" in b.source(), b.source()
    # Log out everywhere: the login server's page loads both sso_logout.
    b.goto(login.url + "logout")
    b.click("#logout")
    b.wait("the logged-out page", lambda: "Logged out" in b.source())
    page = b.source()
    assert f"{wsgi.service}sso_logout" in page and f"{apache.service}sso_logout" in page, page
    assert f"{django.service}sso_logout" in page, page
    for url in (app_url, apache_url, django.url("/whoami/")):
        b.goto(url)
        b.wait(
            f"the login form instead of {url}",
            lambda: b.url().startswith(login.url + "?s=") and 'name="password"' in b.source(),
        )
    assert PASSWORD not in login.log() and PASSWORD not in wsgi.log()
