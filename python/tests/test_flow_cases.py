"""One table of cases (tests/cases/flow.json), three adapters of the
flow: every case goes to a real apache2 with mod_sso and to the WSGI
middleware in a real server (wsgiref, gunicorn, waitress) or the ASGI
middleware in one (uvicorn, hypercorn), driven by requests. Each answer
must meet the table's expectation, and the two answers must be the same
(status, cookies set, Location, challenge, the application's
environment), so the adapters cannot drift apart.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import pytest
import requests

import harness

CASES = json.loads((harness.REPO / "tests/cases/flow.json").read_text())["cases"]


class Target:
    """Where a case is sent: the service name, URL and log of a server."""

    def __init__(self, url: Any, service: str, log: Any) -> None:
        self.url, self.service, self.log = url, service, log


def ticket_of(spec: Any, target: Target, keys: harness.Keys, forger: harness.Keys) -> str:
    if isinstance(spec, str):
        return "A" * 5000 if spec == "@LONG@" else spec
    signer = forger if spec.get("signer") == "forged" else keys
    t = signer.sign(
        spec.get("user", "alice"),
        "127.0.0.1:1/app/" if spec.get("service") == "other" else target.service,
        "other.example" if spec.get("domain") == "other" else harness.DOMAIN,
        ttl=spec.get("ttl", 600),
        nonce=spec.get("nonce"),
        groups=spec.get("groups", []),
        version=spec.get("version", 4),
    )
    return t[: len(t) // 2] if spec.get("mangle") == "truncate" else t


def send(
    case: dict[str, Any], target: Target, keys: harness.Keys, forger: harness.Keys
) -> tuple[requests.Response, list[str]]:
    req = case["request"]
    shown = ticket_of(req["ticket"], target, keys, forger) if "ticket" in req else ""
    path = req["path"].replace("@TICKET@", quote(shown, safe=""))
    headers = {}
    tickets = [shown] if len(shown) > 40 else []
    cookies = []
    for name, spec in req.get("cookies", {}).items():
        value = ticket_of(spec, target, keys, forger)
        tickets.append(value)
        cookies.append(f"{name}={value}")
    if cookies:
        headers["Cookie"] = "; ".join(cookies)
    if "raw_cookie" in req:
        headers["Cookie"] = req["raw_cookie"].replace("@TICKET@", shown)
    if "authorization" in req:
        value = ticket_of(req["authorization"], target, keys, forger)
        tickets.append(value)
        headers["Authorization"] = f"SSO {value}"
    if "raw_authorization" in req:
        headers["Authorization"] = req["raw_authorization"]
    method = req.get("method", "GET")
    r = requests.request(
        method,
        target.url(path),
        headers=headers,
        allow_redirects=False,
        timeout=30,
        data=b"x=1" if method == "POST" else None,
        verify=False,
    )
    return r, [t for t in tickets if len(t) > 40 and t != "A" * 5000]


def cookie_shapes(r: requests.Response) -> list[tuple[str, ...]]:
    """Each Set-Cookie as (name, attributes...), the value left out."""
    shapes = []
    for line in r.raw.headers.getlist("Set-Cookie"):
        parts = [p.strip() for p in line.split(";")]
        name = parts[0].split("=", 1)[0]
        shapes.append((name, *sorted(p.lower() for p in parts[1:] if not p.lower().startswith("expires"))))
    return sorted(shapes)


def normalized(r: requests.Response, target: Target) -> dict[str, Any]:
    host_port = target.service.split("/", 1)[0]
    loc = r.headers.get("Location", "").replace(host_port, "HOSTPORT").replace(quote(host_port, safe=""), "HOSTPORT")
    loc = re.sub(r"n=[0-9A-Za-z_-]{16,}", "n=NONCE", loc)
    answer = {
        "status": r.status_code,
        "cookies": cookie_shapes(r),
        "location": loc,
        "challenge": r.headers.get("WWW-Authenticate", "").replace(host_port, "HOSTPORT"),
    }
    if r.status_code == 200 and "REMOTE_USER=" in r.text:
        answer["env"] = {
            k: v.replace(host_port, "HOSTPORT")
            for k, _, v in (line.partition("=") for line in r.text.splitlines())
            if k not in ("TICKET_EXPIRES", "PID", "USER")
        }
    return answer


def check_expectation(case: dict[str, Any], r: requests.Response, log: str, target: Target) -> None:
    exp = case["expect"]
    what = f"{case['name']} ({target.url('')})"
    assert r.status_code == exp["status"], f"{what}: {r.status_code} {r.headers} {r.text[:300]}"
    assert "Traceback" not in r.text, what
    if exp.get("location") == "login":
        assert r.headers["Location"].startswith(harness.LOGIN + "?"), what
        q = r.headers["Location"]
        assert f"s={quote(target.service, safe='')}" in q, f"{what}: {q}"
        assert "&n=" in q and "&d=" in q, f"{what}: {q}"
    if "location_has" in exp:
        assert exp["location_has"] in r.headers.get("Location", ""), what
    for name in exp.get("set_cookies", []):
        assert name in [c[0] for c in cookie_shapes(r)], f"{what}: {name} not set"
    if "check" in exp:
        assert f"check '{exp['check']}' failed" in log, f"{what}: no log line naming {exp['check']!r}:\n{log}"
    if "log" in exp:
        assert exp["log"] in log, f"{what}: {exp['log']!r} not logged:\n{log}"
    if "www_authenticate_has" in exp:
        assert exp["www_authenticate_has"] in r.headers.get("WWW-Authenticate", ""), what
    env = dict(line.partition("=")[::2] for line in r.text.splitlines()) if exp["status"] == 200 else {}
    for key, value in exp.get("env", {}).items():
        assert env.get(key) == value.replace("@SERVICE@", target.service), f"{what}: {key}={env.get(key)!r}"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_mod_sso_and_middleware_answer_alike(
    case: dict[str, Any], apache: harness.Apache, wsgi: harness.WsgiServer, keys: harness.Keys, forger: harness.Keys
) -> None:
    answers = []
    for target in (Target(apache.url, apache.service, apache.error_log), Target(wsgi.url, wsgi.service, wsgi.log)):
        before = len(target.log())
        r, tickets = send(case, target, keys, forger)
        log = target.log()[before:]
        check_expectation(case, r, log, target)
        for t in tickets:
            assert t not in target.log(), f"{case['name']}: a ticket reached the log"
        answers.append(normalized(r, target))
    assert answers[0] == answers[1], f"{case['name']}: mod_sso and SSOMiddleware differ"
