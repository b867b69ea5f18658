"""get_token and SSOAuth against a real sshd token realm (made by
``ssotool realm``) and a real apache2 + mod_sso over https: first fetch,
cache hits shared with ``ssotool token`` both ways, one refresh after a
``401 ... expired`` (apache's clock runs 20 minutes ahead under
libfaketime), never two, a realm that refuses, an ssh that hangs."""

from __future__ import annotations

import os
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import urllib3

import harness
import realms
import sso
from conftest import need_root
from sso.requests import SSOAuth, is_expired_challenge
from sso.token import entry_path, store_cached

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

DOMAIN = "example.org"
#: A service without a port: the host the tests reach, any port.
API = "127.0.0.1/app/"
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"


class World:
    def __init__(self) -> None:
        self.realm = realms.Realm(DOMAIN, [API], 3600)
        self.short = realms.Realm(DOMAIN, [API], 600)  # expired for the skewed apache even when fresh
        self.locked = realms.Realm(DOMAIN, [API], 3600)  # no key of ours
        self.key = realms.ClientKey()
        self.realm.add(self.key, "alice", "ops")
        self.short.add(self.key, "alice", "ops")
        self.sshd = realms.Sshd([self.realm.name, self.short.name, self.locked.name])
        keys = [self.realm.public_key, self.short.public_key]
        self.apache = harness.Apache(keys, tls=True, service=API, domain=DOMAIN)
        self.skewed = harness.Apache(
            keys,
            tls=True,
            service=API,
            domain=DOMAIN,
            env={"LD_PRELOAD": FAKETIME_LIB, "FAKETIME": "+20m", "FAKETIME_DONT_FAKE_MONOTONIC": "1"},
        )

    def dest(self, realm: realms.Realm) -> str:
        return f"{realm.name}@127.0.0.1"

    def close(self) -> None:
        for part in (self.apache, self.skewed, self.sshd, self.realm, self.short, self.locked, self.key):
            part.close()


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    need_root()
    w = World()
    yield w
    w.close()


@pytest.fixture()
def env(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private cache directory and the ssh options of the test sshd."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("SSO_SSH_OPTIONS", " ".join(world.sshd.ssh_options(world.key)))
    return tmp_path / "sso"


def ssotool_token(dest: str, service: str) -> str:
    out = subprocess.run(
        [str(harness.artifact("ssotool")), "token", dest, service],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_first_fetch_then_the_cache_shared_with_ssotool(world: World, env: Path) -> None:
    dest = world.dest(world.realm)
    before = world.sshd.accepted_logins(world.realm.name)
    t = sso.get_token(dest, API)
    assert world.sshd.accepted_logins(world.realm.name) == before + 1
    v = sso.Verifier([world.realm.public_key], API, DOMAIN)
    assert v.verify(t).user == "alice"
    entry = entry_path(env, dest, API)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600 and stat.S_IMODE(env.stat().st_mode) == 0o700
    assert sso.get_token(dest, API) == t  # cache hit
    assert ssotool_token(dest, API) == t  # ssotool reads Python's entry
    assert world.sshd.accepted_logins(world.realm.name) == before + 1
    # The other way: ssotool fetches and stores, Python reads.
    entry.unlink()
    t2 = ssotool_token(dest, API)
    assert world.sshd.accepted_logins(world.realm.name) == before + 2
    assert sso.get_token(dest, API) == t2
    assert world.sshd.accepted_logins(world.realm.name) == before + 2
    # fresh=True goes to the realm again, as `ssotool token --fresh`.
    assert sso.get_token(dest, API, fresh=True) != ""
    assert world.sshd.accepted_logins(world.realm.name) == before + 3


def test_ssoauth_reaches_mod_sso_and_reuses_the_ticket(world: World, env: Path) -> None:
    s = requests.Session()
    s.verify = False
    auth = SSOAuth(world.dest(world.realm), service=API)
    s.auth = auth
    r = s.get(world.apache.url("/app/env.cgi"), verify=False)
    assert r.status_code == 200, r.text
    assert "REMOTE_USER=alice" in r.text and "SSO_GROUPS=ops" in r.text
    r = s.get(world.apache.url("/app/env.cgi"), verify=False)
    assert r.status_code == 200
    assert auth.fetches == 1


def test_expired_at_the_server_is_refreshed_once(world: World, env: Path) -> None:
    dest = world.dest(world.realm)
    # Ten minutes left by our clock, expired by apache's (+20 min).
    cached = harness.sign_with(world.realm.secret_key, "alice", API, DOMAIN, int(time.time()) + 600, None, ["ops"])
    store_cached(env, dest, API, cached)
    before = world.sshd.accepted_logins(world.realm.name)
    auth = SSOAuth(dest, service=API)
    r = requests.get(world.skewed.url("/app/env.cgi"), auth=auth, verify=False)
    assert r.status_code == 200, r.text
    assert [h.status_code for h in r.history] == [401]
    assert is_expired_challenge(r.history[0].headers["WWW-Authenticate"])
    assert auth.fetches == 1 and world.sshd.accepted_logins(world.realm.name) == before + 1
    assert sso.get_token(dest, API) != cached  # the fresh one replaced it in the cache
    assert "check 'expired' failed" in world.skewed.error_log()


def test_never_more_than_one_retry(world: World, env: Path) -> None:
    dest = world.dest(world.short)
    before = world.sshd.accepted_logins(world.short.name)
    auth = SSOAuth(dest, service=API)
    r = requests.get(world.skewed.url("/app/env.cgi"), auth=auth, verify=False)
    assert r.status_code == 401
    assert len(r.history) == 1
    assert auth.fetches == 2  # the first ticket and one refresh
    assert world.sshd.accepted_logins(world.short.name) == before + 2


def test_a_realm_that_refuses(world: World, env: Path) -> None:
    with pytest.raises(sso.TokenError) as e:
        sso.get_token(world.dest(world.locked), API, timeout=20)
    assert e.value.realm == world.dest(world.locked)
    assert world.locked.name in str(e.value)
    with pytest.raises(sso.TokenError) as e:
        sso.get_token(world.dest(world.realm), "other.example.org/", timeout=20)
    assert world.realm.name in str(e.value)


def test_ssh_that_hangs_times_out(env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hang = tmp_path / "hanging-ssh"
    # A child keeps the pipes open too: the whole group must go.
    hang.write_text("#!/bin/sh\nsleep 60 &\nexec sleep 60\n")
    hang.chmod(0o755)
    monkeypatch.setenv("SSO_SSH", str(hang))
    start = time.monotonic()
    with pytest.raises(sso.TokenError) as e:
        sso.get_token("api@sso.example.org", timeout=1)
    assert time.monotonic() - start < 10
    assert "api@sso.example.org" in str(e.value) and "within 1 s" in str(e.value)


def test_bad_destinations_never_reach_ssh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "ran"
    spy = tmp_path / "ssh"
    spy.write_text(f"#!/bin/sh\ntouch {marker}\n")
    spy.chmod(0o755)
    monkeypatch.setenv("SSO_SSH", str(spy))
    for dest in ("-oProxyCommand=x", "api@-oProxyCommand=x", "no-at-sign", "API@host"):
        with pytest.raises(sso.TokenError):
            sso.get_token(dest)
    with pytest.raises(sso.TokenError):
        sso.get_token("api@host", "x.example/; rm -rf /")
    assert not marker.exists()


def test_ssoauth_sends_tickets_only_to_their_service(world: World, env: Path) -> None:
    auth = SSOAuth(world.dest(world.realm), service=API)
    with pytest.raises(sso.TokenError):
        requests.get(world.apache.url("/app/").replace("https://", "http://"), auth=auth)
    with pytest.raises(sso.TokenError):
        requests.get("https://localhost:1/app/", auth=auth, verify=False)


def test_expired_challenge_reading() -> None:
    assert is_expired_challenge('SSO realm="a/", error="expired"')
    assert is_expired_challenge("SSO reason=expired")
    assert not is_expired_challenge('SSO realm="a/", error="bad signature"')
    assert not is_expired_challenge('Basic realm="expired"')


def test_tickets_go_only_to_https_on_their_service_host(keys: harness.Keys) -> None:
    from sso.requests import _check_target

    api = keys.sign("alice", "api.test.example/", harness.DOMAIN)
    for ok in ("https://api.test.example/", "https://API.test.example:8443/x?y=1"):
        _check_target(ok, api, "r@h")
    for bad in (
        "http://api.test.example/",
        "https://evil.example/",
        "https://api.test.example.evil.org/",
        "https://api.test.example@evil.org/",
    ):
        with pytest.raises(sso.TokenError):
            _check_target(bad, api, "r@h")
    pinned = keys.sign("alice", "[::1]:8443/app/", harness.DOMAIN)
    _check_target("https://[::1]:8443/app/", pinned, "r@h")
    with pytest.raises(sso.TokenError):
        _check_target("https://[::1]:9443/app/", pinned, "r@h")
