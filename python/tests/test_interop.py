"""Interoperability: the same tickets given to sso.Verifier, to a real
apache2 + mod_sso (in Authorization), to ``ssotool verify`` and to pam_sso
(through pamtester) get the same verdict, and a refused ticket the same
failed check name from Python, ssotool and mod_sso's answer and log.
Tickets come from the login server (through LoginClient), from the C ABI's
signer, and broken in the usual ways."""

from __future__ import annotations

import re
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

import harness
import sso
from conftest import need_root
from sso.client import LoginClient

PASSWORD = "interop password"


@pytest.fixture(scope="module")
def login_server(keys: harness.Keys, apache: harness.Apache) -> Iterator[harness.SsoServer]:
    s = harness.SsoServer(keys, {"alice": (PASSWORD, ["staff"])}, allowed=(re.escape(apache.service),))
    yield s
    s.close()


@pytest.fixture(scope="module")
def pam_service(keys: harness.Keys, apache: harness.Apache) -> Iterator[str]:
    need_root()
    name = "pam-sso-py-" + secrets.token_hex(4)
    path = Path("/etc/pam.d") / name
    path.write_text(
        f"auth required {harness.artifact('libpam_sso.so')} key={keys.public} "
        f"domain={harness.DOMAIN} service={apache.service}\naccount required pam_permit.so\n"
    )
    yield name
    path.unlink(missing_ok=True)


def python_verdict(keys: harness.Keys, service: str, ticket: str) -> str:
    try:
        sso.Verifier([keys.public], service, harness.DOMAIN).verify(ticket)
        return "valid"
    except sso.TicketError as e:
        return e.check


def ssotool_verdict(keys: harness.Keys, service: str, ticket: str) -> str:
    out = harness.ssotool(
        "verify",
        "--public-key",
        str(keys.public),
        "--service",
        service,
        "--domain",
        harness.DOMAIN,
        "--",
        ticket,
        check=False,
    )
    if out.returncode == 0:
        return "valid"
    m = re.search(r"invalid: (.+?) \(", out.stderr)
    return m.group(1) if m else f"unparsed: {out.stderr.strip()}"


def mod_sso_verdict(apache: harness.Apache, ticket: str) -> tuple[str, str]:
    before = len(apache.error_log())
    r = requests.get(apache.url("/app/env.cgi"), headers={"Authorization": f"SSO {ticket}"}, allow_redirects=False)
    log = apache.error_log()[before:]
    if r.status_code == 200:
        return "valid", log
    m = re.search(r'error="([^"]+)"', r.headers.get("WWW-Authenticate", ""))
    return (m.group(1) if m else f"status {r.status_code}"), log


def pam_verdict(service: str, user: str, ticket: str) -> bool:
    out = subprocess.run(
        ["pamtester", "-v", service, user, "authenticate"], input=ticket + "\n", capture_output=True, text=True
    )
    return out.returncode == 0


def test_every_consumer_gives_the_same_verdict(
    keys: harness.Keys, forger: harness.Keys, apache: harness.Apache, login_server: harness.SsoServer, pam_service: str
) -> None:
    client = LoginClient(login_server.url, service=apache.service)
    client.login("alice", PASSWORD)
    from_server = client.ticket(apache.service)
    good = keys.sign("alice", apache.service, groups=["staff"])
    tickets = {
        "from the login server": from_server,
        "from the C ABI signer": good,
        "expired": keys.sign("alice", apache.service, ttl=-30),
        "forged": forger.sign("alice", apache.service),
        "wrong service": keys.sign("alice", "127.0.0.1:1/app/"),
        "wrong domain": keys.sign("alice", apache.service, domain="other.example"),
        "truncated": good[:-7],
        "garbage": "not*a*ticket!",
    }
    verdicts = {}
    for what, ticket in tickets.items():
        py = python_verdict(keys, apache.service, ticket)
        tool = ssotool_verdict(keys, apache.service, ticket)
        web, log = mod_sso_verdict(apache, ticket)
        pam = pam_verdict(pam_service, "alice", ticket)
        verdicts[what] = py
        assert py == tool == web, f"{what}: python {py!r}, ssotool {tool!r}, mod_sso {web!r}"
        assert pam == (py == "valid"), f"{what}: pam_sso {'accepted' if pam else 'refused'}, python said {py!r}"
        if py != "valid":
            assert f"check '{py}' failed" in log, f"{what}: mod_sso's log does not name {py!r}:\n{log}"
        assert ticket not in apache.error_log() or len(ticket) < 20
    assert verdicts["from the login server"] == "valid" and verdicts["from the C ABI signer"] == "valid"
    assert verdicts["expired"] == "expired" and verdicts["forged"] == "bad signature"
