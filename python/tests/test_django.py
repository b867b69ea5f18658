"""python/examples/django_site (sso.django) under gunicorn, and under
uvicorn in Django's ASGI mode: the SSO user is created at the first login
and logged into Django's session, its groups mapped to Django groups and
staff/superuser flags (again when a new ticket brings other groups),
``login_required`` views and the admin behind it."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
import requests

import harness
from test_wsgi import browser_login, cookie_header


def django_site(
    keys: harness.Keys,
    server: str,
    app: str,
    login: str = harness.LOGIN,
    tls: tuple[harness.Path, harness.Path] | None = None,
    groups: str = "",
) -> harness.ExampleServer:
    """The example project (python/examples/django_site) with a fresh
    database, migrated; ``groups``: the groups the site asks for."""
    db = harness.Path(harness.tempfile.mkdtemp(prefix="django-")) / "db.sqlite3"
    env = {
        "SSO_REQUIRE_GROUPS": groups,
        "DJANGO_SETTINGS_MODULE": "django_site.settings",
        "DJANGO_DB": str(db),
        "SSO_LOGIN_SERVER": login,
        "SSO_SERVICE": "@HOSTPORT@/",
        "SSO_DOMAIN": harness.DOMAIN,
        "SSO_PUBLIC_KEY": str(keys.public),
        "SSO_COOKIE_SECURE": "auto" if tls else "off",
    }
    migrate = [sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"]
    return harness.ExampleServer(app, env, server=server, before=[migrate], tls=tls)


@pytest.fixture(scope="module", params=["gunicorn", "uvicorn"])
def site(request: pytest.FixtureRequest, keys: harness.Keys) -> Iterator[harness.ExampleServer]:
    app = "django_site.wsgi:application" if request.param == "gunicorn" else "django_site.asgi:application"
    server = django_site(keys, request.param, app)
    yield server
    server.close()


def fields(r: requests.Response) -> dict[str, str]:
    return dict(line.partition("=")[::2] for line in r.text.splitlines())


def test_first_login_creates_the_user_with_mapped_groups(site: harness.ExampleServer, keys: harness.Keys) -> None:
    r = requests.get(site.url("/whoami/"), allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(harness.LOGIN), r.text
    jar, _, login = browser_login(site, keys, path="/whoami/")  # type: ignore[arg-type]
    assert login.status_code == 302, login.text
    r = requests.get(site.url("/whoami/"), headers=cookie_header(jar), allow_redirects=False)
    assert r.status_code == 200, r.text
    assert fields(r) == {"user": "alice", "groups": "Staff members", "staff": "False", "superuser": "False"}
    # Not staff: the admin sends alice to its login page, which does not let her in.
    r = requests.get(site.url("/admin/"), headers=cookie_header(jar), allow_redirects=False)
    assert r.status_code == 302 and "/admin/login/" in r.headers["Location"], r.text


def test_the_admin_works_for_the_admins_group(site: harness.ExampleServer, keys: harness.Keys) -> None:
    browser = requests.Session()
    staff = keys.sign("root", site.service, groups=["staff"])
    r = browser.get(site.url("/whoami/"), headers={"Authorization": f"SSO {staff}"})
    assert fields(r) == {"user": "root", "groups": "Staff members", "staff": "False", "superuser": "False"}
    # Same Django session, a new ticket with other groups: the user follows it.
    admin = keys.sign("root", site.service, groups=["admins"])
    r = browser.get(site.url("/whoami/"), headers={"Authorization": f"SSO {admin}"})
    assert fields(r) == {"user": "root", "groups": "Administrators,Staff members", "staff": "True", "superuser": "True"}
    r = browser.get(site.url("/admin/"), headers={"Authorization": f"SSO {admin}"}, allow_redirects=False)
    assert r.status_code == 200 and "Site administration" in r.text, r.text[:500]
    r = browser.get(site.url("/admin/auth/user/"), headers={"Authorization": f"SSO {admin}"})
    assert r.status_code == 200 and ">root<" in r.text, r.text[:500]
    # Back to staff only: no longer staff, no longer in Administrators.
    r = browser.get(site.url("/whoami/"), headers={"Authorization": f"SSO {staff}"})
    assert fields(r) == {"user": "root", "groups": "Staff members", "staff": "False", "superuser": "False"}


def test_another_sso_user_replaces_the_session_user(site: harness.ExampleServer, keys: harness.Keys) -> None:
    browser = requests.Session()
    first = keys.sign("carol", site.service)
    r = browser.get(site.url("/whoami/"), headers={"Authorization": f"SSO {first}"})
    assert fields(r)["user"] == "carol" and "sessionid" in browser.cookies
    second = keys.sign("dave", site.service)
    r = browser.get(site.url("/whoami/"), headers={"Authorization": f"SSO {second}"})
    assert fields(r)["user"] == "dave"
    # Without a ticket the middleware answers before Django: no session can stand in for one.
    r = browser.get(site.url("/whoami/"), allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(harness.LOGIN)
