"""docs/python.md's Python snippets are Python: each ```python block
compiles (the examples they come from run in test_flask.py,
test_django.py and test_asgi.py)."""

from __future__ import annotations

import re

import pytest
import requests

import harness

DOC = (harness.REPO / "docs/python.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", DOC, re.S)


def test_the_page_has_its_snippets() -> None:
    assert len(BLOCKS) >= 8, len(BLOCKS)
    for needle in ("sso.asgi", "sso.django.auth.SSOBackend", "g.user", "get_wsgi_application"):
        assert any(needle in b for b in BLOCKS), needle


@pytest.mark.parametrize("block", BLOCKS, ids=[b.splitlines()[0][:40] for b in BLOCKS])
def test_a_snippet_compiles(block: str) -> None:
    compile(block, "docs/python.md", "exec")


def test_the_asgi_snippet_serves_under_uvicorn(tmp_path: harness.Path, keys: harness.Keys) -> None:
    """The page's ASGI application as it stands, its key file, service
    and domain swapped for the test's, under uvicorn."""
    (block,) = [b for b in BLOCKS if "from sso.asgi import SSOMiddleware" in b]
    source = block.replace('"/etc/sso/public.key"', repr(str(keys.public)))
    source = source.replace('"wiki.example.org/"', 'os.environ["SSO_SERVICE"]')
    source = source.replace('domain="example.org"', f"domain={harness.DOMAIN!r}")
    (tmp_path / "doc_asgi.py").write_text("import os\n" + source)
    server = harness.ExampleServer(
        "doc_asgi:app", {"PYTHONPATH": str(tmp_path), "SSO_SERVICE": "@HOSTPORT@/"}, server="uvicorn"
    )
    try:
        ticket = keys.sign("alice", server.service, groups=["staff"])
        r = requests.get(server.url("/"), headers={"Authorization": f"SSO {ticket}"})
        assert r.status_code == 200 and r.text == "hello alice (staff)\n", r.text
        r = requests.get(server.url("/"), allow_redirects=False)
        assert r.status_code == 302 and r.headers["Location"].startswith("https://login.example.org/?s=")
    finally:
        server.close()
