"""The example project's ASGI application: Django behind the ASGI
SSOMiddleware (serve it with ``uvicorn django_site.asgi:application``)."""

import os

from sso.django import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_site.settings")

application = get_asgi_application()
