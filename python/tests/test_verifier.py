"""sso.Verifier over the real libsso: the core's checks come back as
exceptions carrying the check's name, the same name ``ssotool verify``
prints; several threads share one verifier."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

import harness
import sso
from sso._lib import SSO_ERR_KEY_UNTRUSTED
from sso.flow import FlowConfig
from sso.verifier import decode_unverified

SERVICE = "www.test.example/app/"


@pytest.fixture()
def verifier(keys: harness.Keys) -> sso.Verifier:
    return sso.Verifier([keys.public], SERVICE, harness.DOMAIN)


def test_a_good_ticket_gives_its_claims(keys: harness.Keys, verifier: sso.Verifier) -> None:
    t = keys.sign("alice", SERVICE, groups=["staff", "dev"], nonce="n0nce")
    got = verifier.verify(t, nonce="n0nce", groups=["dev"])
    assert (got.user, got.service, got.domain, got.groups, got.nonce, got.version) == (
        "alice",
        SERVICE,
        harness.DOMAIN,
        ("staff", "dev"),
        "n0nce",
        4,
    )
    assert abs(got.expires - (time.time() + 600)) < 5
    assert verifier.verify(t.encode()).user == "alice"  # bytes too
    v3 = keys.sign("bob", SERVICE, version=3)
    assert verifier.verify(v3).version == 3
    assert verifier.verify(v3).nonce is None


@pytest.mark.parametrize(
    "make, check",
    [
        (lambda k, f: k.sign("alice", SERVICE, ttl=-5), "expired"),
        (lambda k, f: k.sign("alice", "other.test.example/", ttl=60), "wrong service"),
        (lambda k, f: k.sign("alice", SERVICE, domain="other.example"), "wrong domain"),
        (lambda k, f: f.sign("alice", SERVICE), "bad signature"),
        (lambda k, f: "not*a*ticket!", "bad encoding"),
        (lambda k, f: "A" * 5000, "too long"),
        (lambda k, f: "", "too short"),
    ],
)
def test_each_failed_check_is_named(
    keys: harness.Keys, forger: harness.Keys, verifier: sso.Verifier, make, check
) -> None:
    with pytest.raises(sso.TicketError) as e:
        verifier.verify(make(keys, forger))
    assert e.value.check == check
    assert check in str(e.value)


def test_nonce_groups_clock_skew_and_now(keys: harness.Keys, verifier: sso.Verifier) -> None:
    t = keys.sign("alice", SERVICE, nonce="abc", groups=["staff"])
    with pytest.raises(sso.TicketError) as e:
        verifier.verify(t, nonce="xyz")
    assert e.value.check == "nonce mismatch"
    with pytest.raises(sso.TicketError) as e:
        verifier.verify(t, groups=["admins"])
    assert e.value.check == "missing group"
    # now= moves the clock: the same ticket is expired an hour later...
    with pytest.raises(sso.TicketError) as e:
        verifier.verify(t, now=int(time.time()) + 3600)
    assert e.value.check == "expired"
    # ...unless the clock skew allows it.
    skewed = sso.Verifier([keys.public], SERVICE, harness.DOMAIN, clock_skew=3600, cache_entries=0)
    assert skewed.verify(t, now=int(time.time()) + 3600).user == "alice"


def test_bad_settings_are_config_errors(keys: harness.Keys, tmp_path) -> None:
    with pytest.raises(sso.ConfigError) as e:
        sso.Verifier([tmp_path / "missing.key"], SERVICE, harness.DOMAIN)
    assert "does not exist" in str(e.value)
    (tmp_path / "junk.key").write_bytes(b"junk")
    with pytest.raises(sso.ConfigError):
        sso.Verifier([tmp_path / "junk.key"], SERVICE, harness.DOMAIN)
    with pytest.raises(sso.ConfigError):
        sso.Verifier([], SERVICE, harness.DOMAIN)
    with pytest.raises(sso.ConfigError):
        sso.Verifier([keys.public], SERVICE, harness.DOMAIN, clock_skew=7200)
    with pytest.raises(TypeError):
        sso.Verifier(str(keys.public), SERVICE, harness.DOMAIN)  # type: ignore[arg-type]


def test_a_key_file_others_could_write_is_refused(keys: harness.Keys) -> None:
    os.chmod(keys.public, 0o664)
    with pytest.raises(sso.ConfigError) as e:
        sso.Verifier([keys.public], SERVICE, harness.DOMAIN)
    assert e.value.code == SSO_ERR_KEY_UNTRUSTED
    assert "writable" in e.value.reason
    os.chmod(keys.public, 0o644)
    assert sso.Verifier([keys.public], SERVICE, harness.DOMAIN) is not None


def test_pinned_keys_sign_only_for_their_services(keys: harness.Keys, forger: harness.Keys) -> None:
    both = [forger.public, keys.public]
    pinned_elsewhere = {keys.public: r"other\.test\.example/"}
    v = sso.Verifier(both, SERVICE, harness.DOMAIN, key_services=pinned_elsewhere)
    with pytest.raises(sso.TicketError) as e:
        v.verify(keys.sign("alice", SERVICE))
    assert e.value.check == "bad signature"
    pinned_here = {keys.public: r"www\.test\.example/.*"}
    v = sso.Verifier(both, SERVICE, harness.DOMAIN, key_services=pinned_here)
    assert v.verify(keys.sign("alice", SERVICE)).user == "alice"
    with pytest.raises(sso.ConfigError):
        sso.Verifier([keys.public], SERVICE, harness.DOMAIN, key_services=pinned_elsewhere)
    with pytest.raises(sso.ConfigError):
        sso.Verifier([keys.public], SERVICE, harness.DOMAIN, key_services={keys.public: "("})
    with pytest.raises(sso.ConfigError):
        sso.Verifier([keys.public], SERVICE, harness.DOMAIN, key_services={forger.public: "x/"})
    flow = FlowConfig(
        login_server="https://login.test.example/",
        service=SERVICE,
        domain=harness.DOMAIN,
        public_keys=[keys.public],
        key_services=pinned_here,
    )
    assert flow.service == SERVICE
    with pytest.raises(sso.ConfigError):
        FlowConfig(
            login_server="https://login.test.example/",
            service=SERVICE,
            domain=harness.DOMAIN,
            public_keys=[keys.public],
            key_services=pinned_elsewhere,
        )


def test_threads_share_one_verifier(keys: harness.Keys, forger: harness.Keys) -> None:
    v = sso.Verifier([keys.public], SERVICE, harness.DOMAIN, cache_entries=64)
    good = [keys.sign(f"user{i}", SERVICE) for i in range(8)]
    bad = forger.sign("mallory", SERVICE)
    errors: list[str] = []

    def work(n: int) -> None:
        for i in range(200):
            t = good[(n + i) % len(good)]
            if v.verify(t).user != f"user{(n + i) % len(good)}":
                errors.append("wrong user")
            try:
                v.verify(bad)
                errors.append("forged accepted")
            except sso.TicketError as e:
                if e.check != "bad signature":
                    errors.append(e.check)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_same_check_name_as_ssotool_verify(keys: harness.Keys, forger: harness.Keys, verifier: sso.Verifier) -> None:
    for ticket in (
        keys.sign("a", SERVICE, ttl=-5),
        forger.sign("a", SERVICE),
        "not*a*ticket!",
        keys.sign("a", "x.test.example/"),
    ):
        with pytest.raises(sso.TicketError) as e:
            verifier.verify(ticket)
        out = harness.ssotool(
            "verify",
            "--public-key",
            str(keys.public),
            "--service",
            SERVICE,
            "--domain",
            harness.DOMAIN,
            "--",
            ticket,
            check=False,
        )
        assert out.returncode != 0
        assert f"invalid: {e.value.check} (" in out.stderr, out.stderr


def test_decode_unverified_reads_claims_only(keys: harness.Keys, forger: harness.Keys) -> None:
    claims = decode_unverified(forger.sign("eve", "x.test.example/", ttl=-100))
    assert (claims.user, claims.service) == ("eve", "x.test.example/")
    with pytest.raises(sso.TicketError) as e:
        decode_unverified("not*a*ticket!")
    assert e.value.check == "bad encoding"


def test_a_missing_library_is_a_clear_error(tmp_path) -> None:
    code = (
        "import sso\n"
        "try:\n"
        "    sso.Verifier(['/k'], 'a.example/', 'example')\n"
        "except sso.LibraryError as e:\n"
        "    print('LibraryError:', e)\n"
    )
    env = dict(os.environ, SSO_LIBRARY=str(tmp_path / "libsso.so.0"))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.startswith("LibraryError: cannot load libsso from $SSO_LIBRARY="), out.stdout + out.stderr
    assert str(tmp_path) in out.stdout
