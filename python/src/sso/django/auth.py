"""``SSORemoteUserMiddleware`` and ``SSOBackend``: the SSO user in
Django's session and user model (see :mod:`sso.django`). Django imports
this module from ``MIDDLEWARE`` and ``AUTHENTICATION_BACKENDS``, once its
apps are loaded."""

# mypy: disallow-subclassing-any=False

from __future__ import annotations

from typing import Any

from django.conf import settings  # type: ignore[import]
from django.contrib import auth  # type: ignore[import]
from django.contrib.auth.backends import RemoteUserBackend  # type: ignore[import]
from django.contrib.auth.middleware import RemoteUserMiddleware  # type: ignore[import]

from ..protection import identity

#: Where the session keeps the fingerprint of the ticket last seen.
SESSION_FINGERPRINT = "_sso_fingerprint"


def _groups(request: Any) -> list[str]:
    return [g for g in str(request.META.get("SSO_GROUPS", "")).split(",") if g]


class SSOBackend(RemoteUserBackend):
    """``RemoteUserBackend`` for the SSO user: created at the first login
    (``create_unknown_user``), its groups and flags kept as the ticket
    says (:meth:`update_user`)."""

    create_unknown_user = True

    def authenticate(self, request: Any, remote_user: str) -> Any:
        user = super().authenticate(request, remote_user)
        if user is not None and request is not None:
            self.update_user(user, _groups(request))
        return user

    def update_user(self, user: Any, groups: list[str]) -> None:
        """Maps the ticket's ``groups``: each one ``group_map`` names gives
        the Django groups it maps to (Django groups that no SSO group maps
        to are left alone); ``staff_groups`` and ``superuser_groups`` set
        ``is_staff`` and ``is_superuser`` when they are configured."""
        config = dict(settings.SSO)
        group_map: dict[str, str | list[str]] = config.get("group_map") or {}
        if group_map:
            from django.contrib.auth.models import Group  # type: ignore[import]

            managed = {name for names in group_map.values() for name in _names(names)}
            wanted = {name for g in groups for name in _names(group_map.get(g, []))}
            current = {group.name for group in user.groups.filter(name__in=managed)}
            for name in wanted - current:
                user.groups.add(Group.objects.get_or_create(name=name)[0])
            if current - wanted:
                user.groups.remove(*Group.objects.filter(name__in=current - wanted))
        changed = []
        for flag, key in (("is_staff", "staff_groups"), ("is_superuser", "superuser_groups")):
            if key in config:
                value = not set(config[key]).isdisjoint(groups)
                if getattr(user, flag) != value:
                    setattr(user, flag, value)
                    changed.append(flag)
        if changed:
            user.save(update_fields=changed)


def _names(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


class SSORemoteUserMiddleware(RemoteUserMiddleware):
    """Django's ``RemoteUserMiddleware`` for the SSO user (place it after
    ``AuthenticationMiddleware``). A request without an SSO user logs the
    session's SSO user out; a new ticket (another fingerprint) updates the
    user's groups through :meth:`SSOBackend.update_user`."""

    header = "REMOTE_USER"

    def process_request(self, request: Any) -> None:
        _identity_from_scope(request)
        super().process_request(request)
        fingerprint = request.META.get("sso.fingerprint")
        if not fingerprint or not request.user.is_authenticated:
            return
        if request.session.get(SESSION_FINGERPRINT) == fingerprint:
            return
        backend = auth.load_backend(request.session.get(auth.BACKEND_SESSION_KEY, ""))
        if isinstance(backend, SSOBackend):
            backend.update_user(request.user, _groups(request))
        request.session[SESSION_FINGERPRINT] = fingerprint


def _identity_from_scope(request: Any) -> None:
    """Under ASGI the SSO identity is in the scope (sso.asgi), not in the
    environ Django copies into ``META``: copy it there."""
    scope = getattr(request, "scope", None)
    if not isinstance(scope, dict) or "sso.ticket" not in scope:
        return
    request.META.update(identity(scope["sso.ticket"]))
    request.META["sso.fingerprint"] = scope.get("sso.fingerprint")
