"""ai-sso's spelling: ``from sso.middleware import SSOMiddleware``.

The same class as :class:`sso.wsgi.SSOMiddleware`, so applications written
for ai-sso's WSGI middleware keep their import line.
"""

from .wsgi import SSOMiddleware

__all__ = ["SSOMiddleware"]
