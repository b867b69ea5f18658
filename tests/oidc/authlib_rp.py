"""A relying party built on Authlib (Debian's python3-authlib), run by
tests/tests/server_oidc.rs against a real sso-server: the code flow with
PKCE and a nonce, the token exchange, the id_token validated against the
provider's JWKS, userinfo, and a refresh. The browser is scripted with
requests (the login form is filled in as a person would); the session
cookie is carried by hand because the server's cookies are `Secure` and
the test server speaks plain http on loopback.

    python3 authlib_rp.py ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI USER PASSWORD

Prints one JSON object: what the relying party saw.
"""

import html
import json
import re
import sys
from urllib.parse import urljoin

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt


def field(page, name):
    m = re.search(r'name="%s" value="([^"]*)"' % re.escape(name), page)
    if not m:
        raise SystemExit("no field %s in the page:\n%s" % (name, page))
    return html.unescape(m.group(1))


class Browser:
    """Follows redirects one by one, keeping cookies, until a URL that
    starts with `stop` (the relying party's redirect URI)."""

    def __init__(self):
        self.cookies = {}
        self.http = requests.Session()

    def send(self, method, url, data=None):
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        r = self.http.request(method, url, data=data, headers=headers, allow_redirects=False)
        for line in r.raw.headers.getlist("Set-Cookie"):
            name, _, value = line.split(";", 1)[0].partition("=")
            if value:
                self.cookies[name.strip()] = value.strip()
            else:
                self.cookies.pop(name.strip(), None)
        return r

    def follow(self, r, stop):
        while r.status_code in (302, 303):
            location = urljoin(r.url, r.headers["Location"])
            if location.startswith(stop):
                return location
            r = self.send("GET", location)
        raise SystemExit("expected a redirect to %s, got %d:\n%s" % (stop, r.status_code, r.text))


def main():
    issuer, client_id, secret, redirect_uri, user, password = sys.argv[1:7]
    meta = requests.get(issuer + "/.well-known/openid-configuration").json()
    jwks = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"]).json())
    client = OAuth2Session(
        client_id,
        secret,
        scope="openid profile email groups offline_access",
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    verifier = generate_token(48)
    nonce = generate_token(20)
    url, state = client.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    browser = Browser()
    form = browser.send("GET", url)
    if form.status_code != 200:
        raise SystemExit("no login form: %d %s" % (form.status_code, form.text))
    r = browser.send(
        "POST",
        urljoin(issuer + "/", "login"),
        data={
            "csrf": field(form.text, "csrf"),
            "o": field(form.text, "o"),
            "username": user,
            "password": password,
        },
    )
    callback = browser.follow(r, redirect_uri)
    token = client.fetch_token(
        meta["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    claims = jwt.decode(
        token["id_token"],
        jwks,
        claims_options={
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "value": client_id},
            "nonce": {"essential": True, "value": nonce},
        },
    )
    claims.validate()
    userinfo = client.get(meta["userinfo_endpoint"]).json()
    # A second authorization: the session answers without a form.
    url2, _ = client.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=generate_token(48), nonce=generate_token(20)
    )
    silent = browser.follow(browser.send("GET", url2), redirect_uri)
    old_refresh = token["refresh_token"]
    refreshed = client.refresh_token(meta["token_endpoint"], refresh_token=old_refresh)
    refreshed_claims = jwt.decode(refreshed["id_token"], jwks)
    refreshed_claims.validate()
    print(
        json.dumps(
            {
                "state_matches": ("state=" + state) in callback,
                "iss_in_callback": "iss=" in callback,
                "id_token": dict(claims),
                "id_token_alg": claims.header["alg"],
                "userinfo": userinfo,
                "silent_code": "code=" in silent,
                "refresh_rotated": refreshed.get("refresh_token") not in (None, old_refresh),
                "refreshed_sub": refreshed_claims["sub"],
                "old_refresh_token": old_refresh,
            }
        )
    )


main()
