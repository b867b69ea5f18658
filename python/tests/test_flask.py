"""python/examples/flask_app.py under gunicorn: the browser flow through
SSOMiddleware into Flask's ``g.user``/``g.groups``, and the view that
needs the group ``admins``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

import harness
from test_wsgi import browser_login, cookie_header


@pytest.fixture(scope="module")
def flask_app(keys: harness.Keys) -> Iterator[harness.ExampleServer]:
    server = harness.ExampleServer(
        "flask_app:app",
        {
            "SSO_LOGIN_SERVER": harness.LOGIN,
            "SSO_SERVICE": "@HOSTPORT@/",
            "SSO_DOMAIN": harness.DOMAIN,
            "SSO_PUBLIC_KEY": str(keys.public),
            "SSO_COOKIE_SECURE": "off",
        },
    )
    yield server
    server.close()


def test_a_browser_logs_in_and_flask_sees_the_user(flask_app: harness.ExampleServer, keys: harness.Keys) -> None:
    r = requests.get(flask_app.url("/whoami"), allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(harness.LOGIN), r.text
    jar, _, login = browser_login(flask_app, keys, path="/whoami")  # type: ignore[arg-type]
    assert login.status_code == 302 and login.headers["Location"].endswith("/whoami"), login.text
    r = requests.get(flask_app.url("/whoami"), headers=cookie_header(jar), allow_redirects=False)
    assert r.status_code == 200, r.text
    assert r.json() == {"user": "alice", "groups": ["staff"], "service": flask_app.service}
    r = requests.get(flask_app.url("/"), headers=cookie_header(jar))
    assert r.text == "hello alice\n"
    # The group-protected view: alice is in staff, not admins.
    r = requests.get(flask_app.url("/admin/"), headers=cookie_header(jar), allow_redirects=False)
    assert r.status_code == 403, r.text


def test_the_admin_view_needs_the_group(flask_app: harness.ExampleServer, keys: harness.Keys) -> None:
    admin = keys.sign("root", flask_app.service, groups=["staff", "admins"])
    r = requests.get(flask_app.url("/admin/"), headers={"Authorization": f"SSO {admin}"})
    assert r.status_code == 200 and r.text == "admin page for root\n", r.text
    forged = harness.Keys()
    try:
        bad = forged.sign("root", flask_app.service, groups=["admins"])
    finally:
        forged.close()
    r = requests.get(flask_app.url("/admin/"), headers={"Authorization": f"SSO {bad}"})
    assert r.status_code == 401 and "bad signature" in r.headers["WWW-Authenticate"], r.text
