"""Django behind single sign-on, the way Django authenticates users a web
server has authenticated (Django's ``RemoteUserMiddleware`` and
``RemoteUserBackend``; docs/python.md, "Django").

- :func:`get_wsgi_application` / :func:`get_asgi_application` (here, for
  the project's ``wsgi.py``/``asgi.py``): Django's application behind
  :mod:`sso.wsgi` / :mod:`sso.asgi`'s ``SSOMiddleware``, configured by
  ``settings.SSO`` (the middleware's keyword arguments), so the core
  decides every request before Django sees it, as mod_sso would in front
  of mod_wsgi;
- :mod:`sso.django.auth` (for ``MIDDLEWARE`` and
  ``AUTHENTICATION_BACKENDS``, imported once Django's apps are loaded):
  ``SSORemoteUserMiddleware`` logs the SSO user into Django's session,
  ``SSOBackend`` creates the user at the first login and maps the
  ticket's groups to Django groups, ``is_staff`` and ``is_superuser`` as
  ``settings.SSO`` says (``group_map``, ``staff_groups``,
  ``superuser_groups``), again whenever the browser brings a new ticket.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings  # type: ignore[import]

from .. import asgi, wsgi

#: Keys of ``settings.SSO`` for Django only; the others go to SSOMiddleware.
DJANGO_KEYS = ("group_map", "staff_groups", "superuser_groups")


def middleware_settings() -> dict[str, Any]:
    """``settings.SSO`` without the keys only Django reads."""
    return {k: v for k, v in dict(settings.SSO).items() if k not in DJANGO_KEYS}


def get_wsgi_application() -> wsgi.SSOMiddleware:
    """Django's WSGI application behind the WSGI SSOMiddleware."""
    from django.core.wsgi import get_wsgi_application as django_application  # type: ignore[import]

    return wsgi.SSOMiddleware(django_application(), **middleware_settings())


def get_asgi_application() -> asgi.SSOMiddleware:
    """Django's ASGI application behind the ASGI SSOMiddleware."""
    from django.core.asgi import get_asgi_application as django_application  # type: ignore[import]

    return asgi.SSOMiddleware(django_application(), **middleware_settings())
