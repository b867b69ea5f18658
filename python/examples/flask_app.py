"""A Flask application behind single sign-on (docs/python.md, "Flask").

``sso.wsgi.SSOMiddleware`` wraps Flask's WSGI callable, so every request
is decided by the core before Flask routes it; Flask reads the user from
the WSGI environ into ``g.user`` and ``g.groups``. ``/admin/`` needs the
group ``admins``: ``group_required`` answers 403 to everyone else.

Settings come from the environment: ``SSO_LOGIN_SERVER``, ``SSO_SERVICE``
(``HOST[:PORT]/PATH/`` as the login server knows this application),
``SSO_DOMAIN``, ``SSO_PUBLIC_KEY`` (a key file) and ``SSO_COOKIE_SECURE``
(``auto``, the default; ``off`` for plain-http tests only). Serve it with
any WSGI server, e.g. ``gunicorn flask_app:app``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, abort, g, jsonify, request

from sso.wsgi import SSOMiddleware

View = TypeVar("View", bound=Callable[..., Any])

app = Flask(__name__)


@app.before_request
def load_user() -> None:
    """The user SSOMiddleware accepted, for every view and template."""
    g.user = request.environ["REMOTE_USER"]
    g.groups = frozenset(filter(None, request.environ["SSO_GROUPS"].split(",")))


def group_required(*groups: str) -> Callable[[View], View]:
    """The view answers 403 unless the user holds one of ``groups``."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if g.groups.isdisjoint(groups):
                abort(403)
            return view(*args, **kwargs)

        return cast(View, guarded)

    return decorate


@app.route("/")
def index() -> str:
    return f"hello {g.user}\n"


@app.route("/whoami")
def whoami() -> Any:
    return jsonify(user=g.user, groups=sorted(g.groups), service=request.environ["SSO_SERVICE"])


@app.route("/admin/")
@group_required("admins")
def admin() -> str:
    return f"admin page for {g.user}\n"


app.wsgi_app = SSOMiddleware(  # type: ignore
    app.wsgi_app,
    login_server=os.environ["SSO_LOGIN_SERVER"],
    service=os.environ["SSO_SERVICE"],
    domain=os.environ["SSO_DOMAIN"],
    public_keys=[os.environ["SSO_PUBLIC_KEY"]],
    cookie_secure=os.environ.get("SSO_COOKIE_SECURE", "auto"),
)
