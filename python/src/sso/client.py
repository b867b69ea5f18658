"""``LoginClient``: a program logging in at the login server as a browser
does, for programmatic access (ai-sso shipped "an example Python client").

It drives sso-server's real endpoints (docs/sso-server.md, "Endpoints"):
``GET /?s=...`` for the form and its CSRF token, ``POST /login`` with the
token and the credentials, then ``GET /?s=SERVICE&n=...&g=...`` which,
with the session cookie, answers a redirect to the service's ``sso_login``
carrying the ticket. Refusals become exceptions: wrong credentials
(:class:`BadCredentials`), throttling (:class:`Throttled` with
``retry_after``), anything else (:class:`LoginError` with the status).

The session and CSRF cookies are ``Secure``; the client keeps them itself
(per login server) so that a test login server on plain http works too.
The password is sent once and never kept.
"""

from __future__ import annotations

from html.parser import HTMLParser
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from .errors import BadCredentials, LoginError, Throttled

__all__ = ["LoginClient"]


class _FormFields(HTMLParser):
    """The ``name``/``value`` of every ``<input>`` of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "input":
            a = dict(attrs)
            if a.get("name"):
                self.fields[a["name"] or ""] = a.get("value") or ""


def _form_fields(html: str) -> dict[str, str]:
    parser = _FormFields()
    parser.feed(html)
    return parser.fields


class LoginClient:
    """A login session at ``login_server`` (``https://login.example.org/``).

    ``service``: the service the login form is asked for (the login
    server's form always belongs to one), default for :meth:`login`.
    ``verify``: passed to ``requests`` (a CA bundle path, or ``False`` for
    a throwaway test certificate); ``timeout``: seconds per request.
    """

    def __init__(
        self, login_server: str, service: str | None = None, *, verify: bool | str = True, timeout: float = 30.0
    ) -> None:
        if urlsplit(login_server).scheme not in ("http", "https"):
            raise ValueError("login_server is an http(s) URL")
        self.login_server = login_server if login_server.endswith("/") else login_server + "/"
        self.service = service
        self.timeout = timeout
        self._http = requests.Session()
        self._http.verify = verify
        self._cookies: dict[str, str] = {}
        self.user: str | None = None

    def _send(
        self, method: str, path: str, params: dict[str, str] | None = None, data: dict[str, str] | None = None
    ) -> requests.Response:
        headers = {}
        if self._cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self._cookies.items())
        url = urljoin(self.login_server, path)
        try:
            resp = self._http.request(
                method, url, params=params, data=data, headers=headers, allow_redirects=False, timeout=self.timeout
            )
        except requests.RequestException as e:
            raise LoginError(f"login server {self.login_server} unreachable: {type(e).__name__}") from None
        for line in resp.raw.headers.getlist("Set-Cookie") if resp.raw is not None else []:
            jar: SimpleCookie[str] = SimpleCookie()
            jar.load(line)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self._cookies.pop(name, None)
                else:
                    self._cookies[name] = morsel.value
        return resp

    @staticmethod
    def _query(service: str, nonce: str | None = None, groups: list[str] | None = None) -> dict[str, str]:
        q = {"s": service, "d": f"https://{service}"}
        if nonce:
            q["n"] = nonce
        if groups:
            q["g"] = ",".join(groups)
        return q

    def login(self, username: str, password: str, service: str | None = None) -> None:
        """Logs in (form, CSRF token, credentials); the session cookie is
        kept for :meth:`ticket`. Raises :class:`BadCredentials`,
        :class:`Throttled` or :class:`LoginError`."""
        service = service or self.service
        if not service:
            raise ValueError("login needs a service (LoginClient(..., service=) or login(..., service=))")
        form = self._send("GET", "", params=self._query(service))
        if form.status_code == 302:
            self.user = username  # a live session already
            return
        if form.status_code != 200:
            raise LoginError(
                f"the login server refused the login form for {service} ({form.status_code})", form.status_code
            )
        fields = _form_fields(form.text)
        if "csrf" not in fields:
            raise LoginError("the login server's page has no login form", form.status_code)
        data = {k: fields.get(k, "") for k in ("csrf", "s", "d", "n", "g")}
        data.update(username=username, password=password)
        resp = self._send("POST", "login", data=data)
        if resp.status_code == 302:
            self.user = username
            return
        if resp.status_code == 401:
            raise BadCredentials("wrong user name or password", 401)
        if resp.status_code == 429:
            after = resp.headers.get("Retry-After", "")
            raise Throttled(
                "the login server is throttling logins; retry later", 429, int(after) if after.isdigit() else None
            )
        raise LoginError(f"the login server refused the login ({resp.status_code})", resp.status_code)

    def ticket(self, service: str, groups: list[str] | None = None, nonce: str | None = None) -> str:
        """A ticket for ``service`` from the session (no password asked),
        with the user's groups among ``groups`` and the given ``nonce``."""
        if isinstance(groups, str):
            raise TypeError("groups is a list of group names")
        resp = self._send("GET", "", params=self._query(service, nonce, groups))
        if resp.status_code == 302:
            location = resp.headers.get("Location", "")
            tickets = parse_qs(urlsplit(location).query).get("t")
            if tickets:
                return tickets[0]
            raise LoginError("the login server's redirect carries no ticket", 302)
        if resp.status_code == 200:
            raise LoginError("not logged in (no session, or it expired): call login() first", 200)
        if resp.status_code == 403:
            raise LoginError(
                f"the login server refuses a ticket for {service} (service not allowed, or none of the groups)", 403
            )
        raise LoginError(f"the login server refused a ticket for {service} ({resp.status_code})", resp.status_code)

    def logout(self) -> None:
        """Ends the session at the login server (its confirmation form's
        CSRF token, then ``POST /logout``) and forgets the cookies."""
        page = self._send("GET", "logout")
        csrf = _form_fields(page.text).get("csrf")
        if csrf:
            self._send("POST", "logout", data={"csrf": csrf})
        self._cookies.clear()
        self.user = None
