"""The settings of the test applications (wsgi_app.py, asgi_app.py): the
JSON file named by ``$SSO_TEST_APP_CONFIG`` (written by harness.WsgiServer)
holds ``middleware`` (SSOMiddleware's keyword arguments; ``needgroup`` adds
a second location under ``/app/needgroup/`` asking for those groups, as the
Apache site does) and ``log`` (the file the middleware logs to)."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

#: What the applications print, as mod_sso's tests' env.cgi does.
KEYS = ("REMOTE_USER", "AUTH_TYPE", "SSO_USER", "SSO_GROUPS", "SSO_SERVICE")


def load_config() -> tuple[dict[str, Any], Any]:
    """The middleware's settings and the groups of /app/needgroup/ (or
    None), the ``sso`` logger sent to the log file."""
    with open(os.environ["SSO_TEST_APP_CONFIG"]) as f:
        config = json.load(f)
    handler = logging.FileHandler(config["log"])
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("sso")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    settings = dict(config["middleware"])
    needgroup = settings.pop("needgroup", None)
    return settings, needgroup


def protected(middleware: Any, app: Any) -> tuple[Any, Any]:
    """APP behind MIDDLEWARE (the WSGI or the ASGI SSOMiddleware) as the
    settings say, and behind a second one asking for the groups of
    /app/needgroup/ (None when the settings name none)."""
    settings, needgroup = load_config()
    plain = middleware(app, **settings)
    if not needgroup:
        return plain, None
    return plain, middleware(app, **dict(settings, groups=needgroup))
