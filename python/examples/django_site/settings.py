"""Settings of the example Django project behind single sign-on
(docs/python.md, "Django"). What is particular to SSO: ``MIDDLEWARE``
(``SSORemoteUserMiddleware`` after ``AuthenticationMiddleware``),
``AUTHENTICATION_BACKENDS`` and ``SSO``. The SSO settings and the database
file come from the environment, as in python/examples/flask_app.py."""

import os

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example only: set DJANGO_SECRET_KEY")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "sso.django.auth.SSORemoteUserMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
AUTHENTICATION_BACKENDS = ["sso.django.auth.SSOBackend"]

# The keyword arguments of sso.wsgi.SSOMiddleware, plus what the backend
# maps: SSO group -> Django group(s), and the SSO groups that make a user
# staff (the admin) and superuser.
SSO = {
    "login_server": os.environ["SSO_LOGIN_SERVER"],
    "service": os.environ["SSO_SERVICE"],
    "domain": os.environ["SSO_DOMAIN"],
    "public_keys": [os.environ["SSO_PUBLIC_KEY"]],
    "cookie_secure": os.environ.get("SSO_COOKIE_SECURE", "auto"),
    # A ticket carries the user's groups among those asked for (g=): the
    # groups that may use the site at all, e.g. "staff,admins".
    "groups": [g for g in os.environ.get("SSO_REQUIRE_GROUPS", "").split(",") if g] or None,
    "group_map": {"staff": "Staff members", "admins": ["Staff members", "Administrators"]},
    "staff_groups": ["admins"],
    "superuser_groups": ["admins"],
}

ROOT_URLCONF = "django_site.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["DJANGO_DB"]}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
STATIC_URL = "/static/"
USE_TZ = True
