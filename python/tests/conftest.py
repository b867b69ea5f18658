"""Fixtures: keys, a real apache2 with mod_sso, and the WSGI test
application in real servers. Tests that need root (apache2 drops to
www-data, realms create accounts) skip when not root, and fail instead
under the test command (``SSO_TESTS_NEED_ROOT`` set), as the Rust tests do.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import harness

SERVERS = ["wsgiref", "gunicorn", "waitress", "uvicorn", "hypercorn"]


def need_root() -> None:
    if not harness.is_root():
        if os.environ.get("SSO_TESTS_NEED_ROOT"):
            pytest.fail("SSO_TESTS_NEED_ROOT is set but the tests do not run as root")
        pytest.skip("needs root (apache2 as www-data, realm accounts, sshd)")


@pytest.fixture(scope="session")
def keys() -> Iterator[harness.Keys]:
    k = harness.Keys()
    yield k
    k.close()


@pytest.fixture(scope="session")
def forger() -> Iterator[harness.Keys]:
    k = harness.Keys()
    yield k
    k.close()


@pytest.fixture(scope="session")
def apache(keys: harness.Keys) -> Iterator[harness.Apache]:
    need_root()
    a = harness.Apache([keys.public])
    yield a
    a.close()


def site_settings(keys: harness.Keys, **extra: object) -> dict[str, object]:
    """The middleware settings of the site the Apache fixture serves."""
    settings: dict[str, object] = {
        "login_server": harness.LOGIN,
        "service": "@HOSTPORT@/app/",
        "domain": harness.DOMAIN,
        "public_keys": [str(keys.public)],
        "needgroup": ["admins", "staff"],
    }
    settings.update(extra)
    return settings


@pytest.fixture(scope="session", params=SERVERS)
def wsgi(request: pytest.FixtureRequest, keys: harness.Keys) -> Iterator[harness.WsgiServer]:
    server = harness.WsgiServer(request.param, site_settings(keys))
    yield server
    server.close()
