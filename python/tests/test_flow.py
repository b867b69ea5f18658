"""sso.flow.FlowConfig in process: what the adapters' speed-ups must not
change. A ticket's claims are copied once and reused only for the same
ticket; log lines below the level asked for are left out, the others
kept."""

from __future__ import annotations

import time

import harness
from sso.flow import FlowConfig, Kind, LogLevel

SERVICE = "flow.test.example/app/"


def decide(flow: FlowConfig, ticket: str, **extra: object) -> object:
    return flow.decide(
        method=b"GET",
        path=b"/app/x",
        query=b"",
        unparsed_uri=b"/app/x",
        cookie_headers=[],
        authorization=f"SSO {ticket}".encode(),
        https=False,
        **extra,  # type: ignore[arg-type]
    )


def test_each_ticket_gets_its_own_claims(keys: harness.Keys) -> None:
    flow = FlowConfig(login_server=harness.LOGIN, service=SERVICE, domain=harness.DOMAIN, public_keys=[keys.public])
    expires = int(time.time()) + 600
    # Same user, same expiry second, other groups: other tickets.
    tickets = [
        harness.sign_with(keys.secret, "alice", SERVICE, harness.DOMAIN, expires, None, groups)
        for groups in (["staff"], ["dev", "ops"], [])
    ]
    for _ in range(2):  # the second round reads the copies
        seen = [decide(flow, t) for t in tickets]
        assert [d.kind for d in seen] == [Kind.ACCEPT] * 3  # type: ignore[attr-defined]
        assert [d.ticket.groups for d in seen] == [("staff",), ("dev", "ops"), ()]  # type: ignore[attr-defined]
        assert {d.ticket.user for d in seen} == {"alice"}  # type: ignore[attr-defined]
    other = harness.sign_with(keys.secret, "bob", SERVICE, harness.DOMAIN, expires, None, ["staff"])
    assert decide(flow, other).ticket.user == "bob"  # type: ignore[attr-defined]


def test_log_lines_below_the_level_asked_for_are_left_out(keys: harness.Keys) -> None:
    flow = FlowConfig(login_server=harness.LOGIN, service=SERVICE, domain=harness.DOMAIN, public_keys=[keys.public])
    good = keys.sign("alice", SERVICE)
    accepted = decide(flow, good)
    assert [level for level, _ in accepted.logs] == [LogLevel.DEBUG], accepted  # type: ignore[attr-defined]
    assert decide(flow, good, log_level=LogLevel.INFO).logs == []  # type: ignore[attr-defined]
    expired = keys.sign("alice", SERVICE, ttl=-10)
    refused = decide(flow, expired, log_level=LogLevel.INFO)
    assert refused.kind is Kind.UNAUTHORIZED and refused.status == 401  # type: ignore[attr-defined]
    assert any("check 'expired' failed" in m for _, m in refused.logs), refused  # type: ignore[attr-defined]
    assert decide(flow, expired, log_level=0).logs == []  # type: ignore[attr-defined]


def test_the_least_logged_level_follows_every_level_change() -> None:
    """The adapters keep the level they ask the core for in the logger's
    own cache, which logging empties at every level change."""
    import logging

    from sso.protection import _least_logged

    parent, logger = logging.getLogger("sso.test_least"), logging.getLogger("sso.test_least.child")
    try:
        logger.setLevel(logging.WARNING)
        assert _least_logged(logger) == _least_logged(logger) == LogLevel.WARNING
        logger.setLevel(logging.DEBUG)
        assert _least_logged(logger) == LogLevel.DEBUG
        logger.setLevel(logging.NOTSET)
        parent.setLevel(logging.INFO)
        assert _least_logged(logger) == LogLevel.INFO
        parent.setLevel(logging.ERROR)
        assert _least_logged(logger) == LogLevel.ERROR
        logger.setLevel(logging.CRITICAL)
        assert _least_logged(logger) == 0
    finally:
        parent.setLevel(logging.NOTSET)
        logger.setLevel(logging.NOTSET)


def test_any_number_of_cookie_headers_reaches_the_core(keys: harness.Keys) -> None:
    """None (NULL), one (a single char *) or several (an array): the
    ticket is found in whichever header holds it, and nowhere else."""
    flow = FlowConfig(
        login_server=harness.LOGIN,
        service=SERVICE,
        domain=harness.DOMAIN,
        public_keys=[keys.public],
        binding=False,
    )
    cookie = b"SSO_ticket=" + keys.sign("alice", SERVICE).encode()

    def kind(headers: list[bytes]) -> object:
        d = flow.decide(
            method=b"GET",
            path=b"/app/x",
            query=b"",
            unparsed_uri=b"/app/x",
            cookie_headers=headers,
            authorization=None,
            https=False,
        )
        return d.kind  # type: ignore[union-attr]

    assert kind([]) is Kind.REDIRECT
    assert kind([b"a=1"]) is Kind.REDIRECT
    for n in (1, 2, 3, 4, 6):
        for at in range(n):
            headers = [b"x%d=1" % i for i in range(n)]
            headers[at] = cookie
            assert kind(headers) is Kind.ACCEPT, (n, at)
