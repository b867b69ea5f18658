"""The example project's WSGI application: Django behind SSOMiddleware,
configured by ``settings.SSO`` (serve it with ``gunicorn
django_site.wsgi:application``)."""

import os

from sso.django import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_site.settings")

application = get_wsgi_application()
