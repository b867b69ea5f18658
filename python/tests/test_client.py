"""sso.client.LoginClient against the real login server: the CSRF form,
the session cookie, tickets without the password again, refusals and
throttling as exceptions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import harness
import sso
from sso.client import LoginClient

PASSWORD = "correct horse battery staple"
WIKI = "wiki.test.example/"


@pytest.fixture(scope="module")
def server(keys: harness.Keys) -> Iterator[harness.SsoServer]:
    s = harness.SsoServer(
        keys,
        {"alice": (PASSWORD, ["staff", "dev"]), "bob": ("bobs password", [])},
        tables="[throttle]\nmax_failures_per_user_address = 3\n",
    )
    yield s
    s.close()


def test_login_then_tickets_for_services(server: harness.SsoServer, keys: harness.Keys) -> None:
    c = LoginClient(server.url, service=WIKI)
    c.login("alice", PASSWORD)
    t = c.ticket(WIKI, nonce="n0nce")
    v = sso.Verifier([keys.public], WIKI, harness.DOMAIN)
    got = v.verify(t, nonce="n0nce")
    assert got.user == "alice" and got.groups == ()
    # Another service, groups asked for: the session answers, no password.
    mail = "mail.test.example/"
    t = c.ticket(mail, groups=["staff", "admins"])
    got = sso.Verifier([keys.public], mail, harness.DOMAIN).verify(t, groups=["staff"])
    assert got.groups == ("staff",)
    with pytest.raises(sso.LoginError) as e:
        c.ticket("evil.example.org/")
    assert e.value.status in (400, 403)
    assert PASSWORD not in server.log()
    c.logout()
    with pytest.raises(sso.LoginError):
        c.ticket(WIKI)


def test_wrong_password_then_throttled(server: harness.SsoServer) -> None:
    c = LoginClient(server.url, service=WIKI)
    with pytest.raises(sso.BadCredentials):
        c.login("bob", "guess")
    with pytest.raises(sso.LoginError) as e:
        c.ticket(WIKI)
    assert e.value.status == 200  # no session: the login form
    seen = []
    for _ in range(5):
        try:
            c.login("bob", "another guess")
        except sso.Throttled as t:
            seen.append(t.retry_after)
            break
        except sso.BadCredentials:
            continue
    assert seen and (seen[0] is None or seen[0] > 0), "no 429 after repeated failures"
    # Even the right password is refused while throttled.
    with pytest.raises(sso.Throttled):
        c.login("bob", "bobs password")


def test_unreachable_login_server() -> None:
    c = LoginClient(f"http://127.0.0.1:{harness.free_port()}/", service=WIKI, timeout=5)
    with pytest.raises(sso.LoginError) as e:
        c.login("alice", PASSWORD)
    assert "unreachable" in str(e.value)
