"""The example project's pages: the admin, and a view for logged-in users
(``login_required``) showing what Django knows of the SSO user."""

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import path


@login_required
def whoami(request: HttpRequest) -> HttpResponse:
    user = request.user
    groups = sorted(g.name for g in user.groups.all())  # type: ignore[union-attr]
    lines = [
        f"user={user.get_username()}",
        f"groups={','.join(groups)}",
        f"staff={user.is_staff}",
        f"superuser={user.is_superuser}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("whoami/", whoami),
]
