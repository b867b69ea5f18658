"""SSOMiddleware in real WSGI servers, driven by requests: the whole
browser flow with ticket binding, API mode, https cookie names, hostile
input, several processes, and what reaches the logs."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
import urllib3

import harness
from conftest import SERVERS, site_settings

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)


def set_cookies(r: requests.Response) -> dict[str, str]:
    """name -> whole Set-Cookie line."""
    return {line.split("=", 1)[0]: line for line in r.raw.headers.getlist("Set-Cookie")}


def value(line: str) -> str:
    return line.split(";", 1)[0].split("=", 1)[1]


def browser_login(
    server: harness.WsgiServer, keys: harness.Keys, user: str = "alice", path: str = "/app/page?x=1"
) -> tuple[dict[str, str], str, requests.Response]:
    """What a browser does: the redirect with its nonce, a ticket from the
    login server for that nonce (signed here with the login server's key),
    then sso_login with the nonce cookie. Returns the cookies it holds
    afterwards, the ticket and sso_login's answer."""
    r = requests.get(server.url(path), allow_redirects=False, verify=False)
    assert r.status_code == 302, r.text
    q = parse_qs(urlsplit(r.headers["Location"]).query)
    assert q["s"] == [server.service]
    nonce = q["n"][0]
    # The one cookie of the redirect keeps the browser's secret; the login
    # server is asked for its commitment (docs/protocol.md), never for it.
    ((nonce_cookie, line),) = set_cookies(r).items()
    secret = value(line)
    assert secret != nonce and secret not in r.headers["Location"]
    ticket = keys.sign(user, server.service, nonce=nonce, groups=["staff"])
    location = "/" + server.service.split("/", 1)[1]  # where sso_login lives
    login = requests.get(
        server.url(f"{location}sso_login?t={quote(ticket, safe='')}&d={quote(q['d'][0], safe='')}"),
        headers={"Cookie": f"{nonce_cookie}={secret}"},
        allow_redirects=False,
        verify=False,
    )
    jar = {k: value(v) for k, v in set_cookies(login).items() if value(v)}
    login.nonce_cookie = f"{nonce_cookie}={secret}"  # type: ignore[attr-defined]
    login.nonce = nonce  # type: ignore[attr-defined]
    return jar, ticket, login


def cookie_header(jar: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}


def test_browser_flow_with_binding(wsgi: harness.WsgiServer, keys: harness.Keys) -> None:
    jar, ticket, login = browser_login(wsgi, keys)
    assert login.status_code == 302, login.text
    assert login.headers["Location"].endswith("/app/page?x=1")
    assert {"SSO_ticket", "SSO_binding"} <= set(jar), jar
    r = requests.get(wsgi.url("/app/page"), headers=cookie_header(jar), allow_redirects=False)
    assert r.status_code == 200, r.text
    assert "REMOTE_USER=alice" in r.text and "SSO_GROUPS=staff" in r.text
    assert "TICKET_EXPIRES=" in r.text  # environ["sso.ticket"] is the Ticket
    # The ticket cookie alone (stolen without its binding cookie) is refused.
    r = requests.get(
        wsgi.url("/app/page"), headers={"Cookie": f"SSO_ticket={jar['SSO_ticket']}"}, allow_redirects=False
    )
    assert r.status_code == 302
    # sso_login answers once per ticket: a replayed login is refused.
    again = requests.get(
        wsgi.url(f"/app/sso_login?t={quote(ticket, safe='')}"),
        allow_redirects=False,
        headers={"Cookie": login.nonce_cookie},
    )  # type: ignore[attr-defined]
    # A refusal sends the browser to a page whose URL holds no ticket.
    assert again.status_code == 302, again.text
    assert again.headers["Location"] == "/app/sso_login?error=replayed%20login"
    assert "check 'replayed login' failed" in wsgi.log()
    page = requests.get(wsgi.url(again.headers["Location"]), allow_redirects=False)
    assert page.status_code == 403
    # Whoever copied the sso_login URL reads the nonce in the ticket, but a
    # cookie holding it is not the browser's secret.
    copied = requests.get(
        wsgi.url(f"/app/sso_login?t={quote(ticket, safe='')}"),
        allow_redirects=False,
        headers={"Cookie": f"SSO_nonce={login.nonce}"},  # type: ignore[attr-defined]
    )
    assert copied.status_code == 302, copied.text
    assert copied.headers["Location"] == "/app/sso_login?error=nonce%20mismatch"
    assert "check 'nonce mismatch' failed" in wsgi.log()
    # That try did not log the browser out: a bound ticket stays bound.
    r = requests.get(wsgi.url("/app/page"), headers=cookie_header(jar), allow_redirects=False)
    assert r.status_code == 200, r.text
    # Logout clears both cookies.
    out = requests.get(wsgi.url("/app/sso_logout"), headers=cookie_header(jar))
    assert out.status_code == 200
    cleared = set_cookies(out)
    assert value(cleared["SSO_ticket"]) == "" and value(cleared["SSO_binding"]) == ""
    log = wsgi.log()
    assert ticket not in log and jar["SSO_binding"] not in log


@pytest.mark.parametrize("kind", ["wsgiref", "uvicorn"])
def test_api_mode_never_redirects(kind: str, keys: harness.Keys) -> None:
    server = harness.WsgiServer(kind, site_settings(keys, browser=False, needgroup=None))
    try:
        r = requests.get(server.url("/app/x"), allow_redirects=False)
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"].startswith("SSO ")
        expired = keys.sign("alice", server.service, ttl=-10)
        r = requests.get(server.url("/app/x"), headers={"Authorization": f"SSO {expired}"}, allow_redirects=False)
        assert r.status_code == 401 and "expired" in r.headers["WWW-Authenticate"]
        ok = keys.sign("alice", server.service)
        r = requests.get(server.url("/app/x"), headers={"Authorization": f"SSO {ok}"})
        assert r.status_code == 200 and "REMOTE_USER=alice" in r.text
        # A ticket cookie is no way in for a program either: still 401, no redirect.
        r = requests.get(server.url("/app/x"), headers={"Cookie": f"SSO_ticket={expired}"}, allow_redirects=False)
        assert r.status_code == 401
    finally:
        server.close()


def test_https_gets_host_cookies(keys: harness.Keys) -> None:
    server = harness.WsgiServer("gunicorn", site_settings(keys, needgroup=None), tls=True)
    try:
        r = requests.get(server.url("/app/"), allow_redirects=False, verify=False)
        assert r.status_code == 302
        nonce = set_cookies(r)
        assert len(nonce) == 1 and all(k.startswith("__Host-") for k in nonce), nonce
        line = next(iter(nonce.values()))
        assert "Secure" in line and "HttpOnly" in line and "Path=/" in line
        # On https a path-scoped name is one a sibling host could plant: never counted.
        ok = keys.sign("alice", server.service)
        r = requests.get(
            server.url("/app/"), headers={"Cookie": f"SSO_ticket={ok}"}, allow_redirects=False, verify=False
        )
        assert r.status_code == 302
        jar, _, login = browser_login(server, keys)
        assert login.status_code == 302
        r = requests.get(server.url("/app/"), headers=cookie_header(jar), verify=False)
        assert r.status_code == 200 and "REMOTE_USER=alice" in r.text
        # gunicorn's access log shows sso_login's t= masked by the core's fingerprint.
        time.sleep(0.5)
        access = (server.dir / "access.log").read_text()
        assert "sso_login?t=ticket-" in access, access
        assert quote(login.request.url.split("t=")[1].split("&")[0], safe="") not in access
    finally:
        server.close()


@pytest.mark.parametrize("kind", SERVERS)
def test_hostile_input_is_never_a_500(kind: str, keys: harness.Keys) -> None:
    server = harness.WsgiServer(kind, site_settings(keys, needgroup=None))
    try:
        cases = [
            ("/app/%ff%fe", {}),
            ("/app/x%00y", {}),
            ("/app/sso_login?t=%ff%00", {"Cookie": "SSO_nonce=\u00ff"}),
            ("/app/x", {"Cookie": "SSO_ticket=" + "\u00ff" * 3000}),
            ("/app/x", {"Cookie": "SSO_ticket=" + "A" * 20000}),
            ("/app/x", {"Authorization": "SSO " + "\u00e9" * 100}),
            ("/app/x", {"Authorization": "SSO"}),
            ("/app/x", {"Authorization": "SSO a b c"}),
            ("/app/x?" + "%ff" * 100, {}),
        ]
        for path, headers in cases:
            r = requests.get(server.url(path), headers=headers, allow_redirects=False)
            assert r.status_code in (
                302,
                400,
                401,
                403,
                404,
            ), f"{kind} {path} {headers}: {r.status_code} {r.text[:200]}"
            assert "Traceback" not in r.text
        assert "Traceback" not in server.log() and "Traceback" not in server.server_log()
    finally:
        server.close()


@pytest.mark.parametrize("kind", ["gunicorn", "uvicorn"])
def test_four_workers_keep_a_browser_logged_in(kind: str, keys: harness.Keys) -> None:
    """The binding cookie proves the nonce secret by itself: under gunicorn
    (4 sync worker processes) and uvicorn (4 worker processes), each with
    its own store, 40 requests of one logged-in browser all reach the
    application, none is sent to log in again, whichever worker answers.
    The requests go 8 at a time to a page that holds its worker for 0.2 s,
    so the kernel cannot hand them all to the worker that answered
    sso_login."""
    server = harness.WsgiServer(kind, site_settings(keys, needgroup=None), workers=4)
    try:
        jar, _, login = browser_login(server, keys)
        assert login.status_code == 302, login.text

        def one(_: int) -> requests.Response:
            return requests.get(server.url("/app/slow"), headers=cookie_header(jar), allow_redirects=False)

        with ThreadPoolExecutor(max_workers=8) as pool:
            responses = list(pool.map(one, range(40)))
        answers = [r.status_code for r in responses]
        assert answers == [200] * 40, answers
        assert all("REMOTE_USER=alice" in r.text for r in responses)
        workers = {line for r in responses for line in r.text.splitlines() if line.startswith("PID=")}
        # More than the worker that answered sso_login answered them.
        assert len(workers) > 1, workers
    finally:
        server.close()


def test_a_trusted_proxy_s_forwarded_proto_selects_host_cookies(keys: harness.Keys) -> None:
    """Behind a TLS-terminating proxy, cookie_secure="auto" believes
    X-Forwarded-Proto: https from a peer in trusted_proxies (and only from
    one): the nonce cookie then gets its __Host- name and Secure, as over
    https. waitress, which does not rewrite wsgi.url_scheme itself."""
    for trusted, host_only in (
        (["127.0.0.1"], True),
        (["::ffff:127.0.0.1"], True),
        ([], False),
        (["192.0.2.0/24"], False),
    ):
        server = harness.WsgiServer("waitress", site_settings(keys, needgroup=None, trusted_proxies=trusted))
        try:
            r = requests.get(server.url("/app/"), headers={"X-Forwarded-Proto": "https"}, allow_redirects=False)
            assert r.status_code == 302, r.text
            ((name, line),) = set_cookies(r).items()
            assert name.startswith("__Host-") is host_only, (trusted, name)
            assert ("Secure" in line) is host_only, (trusted, line)
        finally:
            server.close()
    import sso
    from sso.wsgi import SSOMiddleware

    with pytest.raises(sso.ConfigError, match="trusted_proxies"):
        SSOMiddleware(
            lambda e, s: [],
            login_server=harness.LOGIN,
            service="a.test.example/app/",
            domain=harness.DOMAIN,
            public_keys=[str(keys.public)],
            trusted_proxies=["not-an-address"],
        )


def test_middleware_import_spellings() -> None:
    from sso.middleware import SSOMiddleware as A
    from sso.wsgi import SSOMiddleware as B

    assert A is B


def test_bad_settings_fail_at_start(keys: harness.Keys) -> None:
    import sso
    from sso.wsgi import SSOMiddleware

    app = lambda e, s: []  # noqa: E731
    for bad in (
        {"login_server": "login.example.org"},
        {"service": "no-slash"},
        {"domain": ""},
        {"public_keys": ["/nonexistent"]},
    ):
        kwargs = dict(
            login_server=harness.LOGIN,
            service="a.test.example/app/",
            domain=harness.DOMAIN,
            public_keys=[str(keys.public)],
        )
        kwargs.update(bad)
        with pytest.raises(sso.ConfigError):
            SSOMiddleware(app, **kwargs)  # type: ignore[arg-type]
    # Key bytes work as well as files.
    SSOMiddleware(
        app,
        login_server=harness.LOGIN,
        service="a.test.example/app/",
        domain=harness.DOMAIN,
        public_keys=[keys.public.read_bytes()],
    )


def test_several_processes_work_with_binding_off(keys: harness.Keys) -> None:
    """The documented way to run several workers: binding=False; every
    request reaches the application whichever worker answers it."""
    server = harness.WsgiServer("gunicorn", site_settings(keys, needgroup=None, binding=False), workers=2)
    try:
        jar, _, login = browser_login(server, keys)
        assert login.status_code == 302
        for _ in range(12):
            r = requests.get(server.url("/app/page"), headers=cookie_header(jar), allow_redirects=False)
            assert r.status_code == 200, r.text
    finally:
        server.close()
