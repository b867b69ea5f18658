// WebAuthn for the login server's pages (served as /webauthn.js; the pages
// have no inline script). A form with id "webauthn-register" enrols a new
// credential; one with id "webauthn-login" proves the second factor and
// then asks / again for the ticket request in its hidden fields. The
// server's JSON endpoints are in sso-server/src/endpoints/webauthn.rs.
"use strict";

(function () {
  function fromB64url(s) {
    const b = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
    const out = new Uint8Array(b.length);
    for (let i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
    return out.buffer;
  }

  function toB64url(buf) {
    const bytes = new Uint8Array(buf);
    let s = "";
    for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  async function post(path, fields) {
    const resp = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields).toString(),
      credentials: "same-origin",
    });
    const json = await resp.json();
    if (!resp.ok) throw new Error(json.error || "refused");
    return json;
  }

  function say(text) {
    const p = document.getElementById("webauthn-status");
    if (p) p.textContent = text;
  }

  // Posts the credential the browser made or used (its `response` fields
  // already encoded) to a ceremony's finish endpoint.
  function finish(path, csrf, id, cred, response) {
    const answer = {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      extensions: {},
      response: response,
    };
    return post(path, { csrf: csrf, id: id, credential: JSON.stringify(answer) });
  }

  async function register(form) {
    const csrf = form.elements.csrf.value;
    // The administrator's one-time code, when the page asks for one.
    const code = form.elements.code ? form.elements.code.value : "";
    const start = await post("/webauthn/register/start", { csrf: csrf, code: code });
    const pk = start.options.publicKey;
    pk.challenge = fromB64url(pk.challenge);
    pk.user.id = fromB64url(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = fromB64url(c.id); });
    const cred = await navigator.credentials.create({ publicKey: pk });
    await finish("/webauthn/register/finish", csrf, start.id, cred, {
      attestationObject: toB64url(cred.response.attestationObject),
      clientDataJSON: toB64url(cred.response.clientDataJSON),
    });
    say("Security key registered.");
  }

  async function login(form) {
    const csrf = form.elements.csrf.value;
    const start = await post("/webauthn/login/start", { csrf: csrf });
    const pk = start.options.publicKey;
    pk.challenge = fromB64url(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = fromB64url(c.id); });
    const cred = await navigator.credentials.get({ publicKey: pk });
    const r = cred.response;
    await finish("/webauthn/login/finish", csrf, start.id, cred, {
      authenticatorData: toB64url(r.authenticatorData),
      clientDataJSON: toB64url(r.clientDataJSON),
      signature: toB64url(r.signature),
      userHandle: r.userHandle ? toB64url(r.userHandle) : null,
    });
    if (form.elements.o) {
      // An OpenID Connect login resumes at the authorization endpoint,
      // without the prompt and max_age this login has just satisfied.
      const o = new URLSearchParams(form.elements.o.value);
      o.delete("prompt");
      o.delete("max_age");
      window.location.assign("/oidc/authorize?" + o.toString());
      return;
    }
    const q = new URLSearchParams();
    ["s", "d", "n", "g"].forEach(function (k) {
      const v = form.elements[k].value;
      if (v) q.set(k, v);
    });
    window.location.assign("/?" + q.toString());
  }

  function wire(id, action) {
    const form = document.getElementById(id);
    if (!form) return;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      say("Waiting for the security key...");
      action(form).catch(function (e) { say("Security key failed: " + e.message); });
    });
  }

  wire("webauthn-register", register);
  wire("webauthn-login", login);
})();
