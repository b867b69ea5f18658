"""The wheel ``scripts/package --wheel`` builds carries its own libsso:
installed with pip into a fresh venv (no system site packages, no index),
it verifies a ticket with no ``$SSO_LIBRARY``, an empty
``LD_LIBRARY_PATH`` and no libsso on the loader's path, loading the copy
inside the wheel; ``$SSO_LIBRARY`` still wins when set."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from pathlib import Path

import harness

PROBE = """
import ctypes.util, json, sys
import sso
ticket = sso.Verifier([sys.argv[1]], sys.argv[2], sys.argv[3]).verify(sys.argv[4])
maps = open("/proc/self/maps").read().split()
print(json.dumps({
    "user": ticket.user,
    "groups": list(ticket.groups),
    "loaded": sorted({p for p in maps if "libsso" in p}),
    "system": ctypes.util.find_library("sso"),
    "package": sso.__file__,
}))
"""


def test_the_wheel_runs_without_a_system_libsso(tmp_path: Path, keys: harness.Keys) -> None:
    dist = tmp_path / "dist"
    env = dict(os.environ, SSO_WHEEL_LIBRARY=str(harness.artifact("libsso.so")), SSO_DIST_DIR=str(dist))
    subprocess.run(["bash", str(harness.REPO / "scripts/package"), "--wheel"], env=env, check=True, capture_output=True)
    (wheel,) = dist.glob("sso-*.whl")
    assert wheel.name.endswith("-py3-none-linux_x86_64.whl"), wheel.name
    assert "sso/libsso.so.0" in zipfile.ZipFile(wheel).namelist()

    venv = tmp_path / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True, capture_output=True)
    pip = [str(venv / "bin/python"), "-m", "pip", "install", "-q", "--no-index", "--no-deps", str(wheel)]
    subprocess.run(pip, check=True, capture_output=True)

    service = "wheel.test.example/"
    ticket = keys.sign("alice", service, groups=["staff"])
    (tmp_path / "probe.py").write_text(PROBE)
    clean = {k: v for k, v in os.environ.items() if k not in ("SSO_LIBRARY", "PYTHONPATH")}
    clean["LD_LIBRARY_PATH"] = ""

    def probe(extra: dict[str, str]) -> dict[str, object]:
        argv = [str(venv / "bin/python"), "probe.py", str(keys.public), service, harness.DOMAIN, ticket]
        out = subprocess.run(argv, env=dict(clean, **extra), cwd=tmp_path, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return dict(json.loads(out.stdout))

    seen = probe({})
    site = str(venv / "lib")
    assert seen["user"] == "alice" and seen["groups"] == ["staff"], seen
    assert str(seen["package"]).startswith(site), seen  # the venv's copy, not python/src
    assert seen["system"] is None, f"this machine has a libsso on the loader's path: {seen['system']}"
    (loaded,) = seen["loaded"]  # type: ignore[misc]
    assert loaded.startswith(site) and loaded.endswith("/sso/libsso.so.0"), seen
    # $SSO_LIBRARY says otherwise: that library is loaded instead.
    build = harness.artifact("libsso.so").resolve()
    seen = probe({"SSO_LIBRARY": str(build)})
    assert seen["loaded"] == [str(build)] and seen["user"] == "alice", seen
