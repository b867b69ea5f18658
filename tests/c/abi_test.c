/*
 * Exercises the C ABI (include/sso.h) from C: sign with the signer, verify
 * good and bad tickets, read the fields, check NULL handling and messages,
 * then drive the web flow (sso_flow_*) of a browser location and an API
 * location through redirect, sso_login, cookies, logout, 401 and 403.
 * Built with -Wall -Wextra -Werror by tests/tests/c_abi.rs, which passes:
 *   argv[1] secret key file   argv[2] matching public key file
 *   argv[3] another public key argv[4] a secret key file with mode 0644
 *   argv[5] a ticket minted by the Rust side (user "rustuser", v3, groups
 *           "ops", service "svc.example.org/", domain "example.org")
 *   argv[6] a copy of the public key that its group may write (mode 0664)
 * Prints one line per check and "N passed, M failed" at the end.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sso.h"

static int passed, failed;

#define CHECK(cond, what)                                                  \
    do {                                                                   \
        if (cond) {                                                        \
            passed++;                                                      \
        } else {                                                           \
            failed++;                                                      \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, what);          \
        }                                                                  \
    } while (0)

#define SERVICE "svc.example.org/"
#define DOMAIN "example.org"
#define NOW 1700000000ULL

static sso_result verify(const sso_verifier *v, const char *t, const char *nonce,
                         const char *const *groups, size_t ngroups, sso_ticket **out)
{
    return sso_verifier_verify(v, t, strlen(t), NOW, nonce, groups, ngroups, out);
}

/* Out-parameters start at a sentinel: a library that wrote anything on
 * failure, NULL included, is caught. Never dereferenced or freed. */
static char sentinel_storage;
#define SENTINEL_TICKET ((sso_ticket *)(void *)&sentinel_storage)
#define SENTINEL_VERIFIER ((sso_verifier *)(void *)&sentinel_storage)
#define SENTINEL_SIGNER ((sso_signer *)(void *)&sentinel_storage)
#define SENTINEL_CONFIG ((sso_flow_config *)(void *)&sentinel_storage)
#define SENTINEL_DECISION ((sso_flow_decision *)(void *)&sentinel_storage)

static void expect(const sso_verifier *v, const char *t, sso_result want, const char *what)
{
    sso_ticket *out = SENTINEL_TICKET;
    sso_result r = verify(v, t, NULL, NULL, 0, &out);
    char msg[128];
    sso_result_message((uint32_t)r, msg, sizeof msg, NULL);
    if (r != want)
        printf("  %s: got %d (%s), want %d\n", what, (int)r, msg, (int)want);
    CHECK(r == want, what);
    CHECK(r == SSO_OK || out == SENTINEL_TICKET, "out-parameter untouched on failure");
    if (out != SENTINEL_TICKET)
        sso_ticket_free(out);
}

/* ---- the web flow ---------------------------------------------------- */

#define FLOW_SERVICE "svc.example.org/app/"
#define LOGIN "https://login.example.org/"

/* Value of the nth header called `name` (0-based), or NULL. */
static const char *header(const sso_flow_decision *d, const char *name, int nth)
{
    for (size_t i = 0; i < sso_flow_decision_header_count(d); i++)
        if (strcmp(sso_flow_decision_header_name(d, i), name) == 0 && nth-- == 0)
            return sso_flow_decision_header_value(d, i);
    return NULL;
}

/* The NAME=VALUE part of a Set-Cookie value, into `out`. */
static void cookie_pair(const char *set_cookie, char *out, size_t len)
{
    size_t n = set_cookie ? strcspn(set_cookie, ";") : 0;
    if (n >= len)
        n = 0;
    memcpy(out, set_cookie ? set_cookie : "", n);
    out[n] = '\0';
}

/* Whether any log line of `d` contains `needle`. */
static bool logs_mention(const sso_flow_decision *d, const char *needle)
{
    for (size_t i = 0; i < sso_flow_decision_log_count(d); i++)
        if (strstr(sso_flow_decision_log_message(d, i), needle))
            return true;
    return false;
}

/* One request over https at NOW; `cookie` and `authorization` may be NULL. */
static sso_flow_decision *request(const sso_flow_config *c, const char *method, const char *path,
                                  const char *query, const char *cookie, const char *authorization)
{
    static char uri[8192];
    snprintf(uri, sizeof uri, "%s%s%s", path, *query ? "?" : "", query);
    const char *cookies[] = {cookie};
    sso_flow_decision *d = NULL;
    sso_result r = sso_flow_decide(c, method, path, query, uri, cookies, cookie ? 1 : 0,
                                   authorization, true, NOW, &d);
    CHECK(r == SSO_OK && d, "sso_flow_decide succeeds");
    return d;
}

/* A v4 ticket for FLOW_SERVICE; `nonce` NULL for a program's ticket. */
static void flow_ticket(const sso_signer *signer, const char *nonce, const char *group,
                        char *out, size_t len)
{
    const char *groups[] = {group};
    size_t n = 0;
    CHECK(sso_signer_sign(signer, 4, "alice", FLOW_SERVICE, DOMAIN, NOW + 600, nonce, groups, 1,
                          out, len, &n) == SSO_OK, "sign a flow ticket");
}

/* `ticket` with its '=' padding percent-encoded, for a query string. */
static void query_encode(const char *ticket, char *out, size_t len)
{
    size_t o = 0;
    for (const char *p = ticket; *p && o + 4 < len; p++) {
        if (*p == '=') {
            memcpy(out + o, "%3D", 3);
            o += 3;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

static void flow_config_checks(sso_flow_settings s)
{
    sso_flow_config *c = SENTINEL_CONFIG;
    CHECK(sso_flow_config_new(NULL, &c) == SSO_ERR_NULL_ARGUMENT, "NULL settings");
    CHECK(sso_flow_config_new(&s, NULL) == SSO_ERR_NULL_ARGUMENT, "NULL config out");
    sso_flow_settings bad = s;
    bad.mode = 7;
    CHECK(sso_flow_config_new(&bad, &c) == SSO_ERR_INVALID_ARGUMENT, "unknown mode refused");
    bad = s;
    bad.binding = 2;
    CHECK(sso_flow_config_new(&bad, &c) == SSO_ERR_INVALID_ARGUMENT, "unknown binding refused");
    bad = s;
    bad.service = "https://svc.example.org/app/";
    CHECK(sso_flow_config_new(&bad, &c) == SSO_ERR_CONFIG, "service with a scheme refused");
    bad = s;
    bad.login_server = "login.example.org";
    CHECK(sso_flow_config_new(&bad, &c) == SSO_ERR_CONFIG, "login server without a scheme refused");
    bad = s;
    bad.cookie_prefix = "a b";
    CHECK(sso_flow_config_new(&bad, &c) == SSO_ERR_INVALID_ARGUMENT, "bad cookie prefix refused");
    bad = s;
    bad.clock_skew_secs = 3601;
    CHECK(sso_flow_config_new(&bad, &c) == SSO_ERR_INVALID_ARGUMENT, "clock skew over an hour");
    bad = s;
    bad.public_key_file_count = 0;
    CHECK(sso_flow_config_new(&bad, &c) == SSO_ERR_CONFIG, "no keys refused");
    const char *elsewhere[] = {"other\\.example\\.org/"};
    CHECK(sso_flow_config_new_pinned(&s, elsewhere, &c) == SSO_ERR_CONFIG,
          "the only key pinned to another service");
    bad = s;
    const char *bad_groups[] = {"a|b"};
    bad.groups = bad_groups;
    bad.group_count = 1;
    CHECK(sso_flow_config_new(&bad, &c) == SSO_ERR_CONFIG, "a group name with '|' refused");
    CHECK(c == SENTINEL_CONFIG, "no config written on failure");
    const char *here[] = {"svc\\.example\\.org/app/"};
    c = NULL;
    CHECK(sso_flow_config_new_pinned(&s, here, &c) == SSO_OK && c, "the key pinned to this service");
    sso_flow_config_free(c);
    sso_flow_config_free(NULL);
}

static void browser_flow(const sso_flow_config *c, const sso_signer *signer)
{
    /* No cookie: to the login server, with a nonce in a __Host- cookie. */
    sso_flow_decision *d = request(c, "GET", "/app/page", "x=1", NULL, NULL);
    CHECK(sso_flow_decision_kind(d) == SSO_FLOW_REDIRECT && sso_flow_decision_status(d) == 302,
          "no cookie: redirect");
    const char *location = header(d, "Location", 0), *set_nonce = header(d, "Set-Cookie", 0);
    CHECK(location && strncmp(location, LOGIN "?s=", strlen(LOGIN) + 3) == 0, "to the login server");
    CHECK(set_nonce && strncmp(set_nonce, "__Host-", 7) == 0 && strstr(set_nonce, "; Secure"),
          "nonce cookie is a Secure __Host- cookie on https");
    CHECK(header(d, "Cache-Control", 0) && strcmp(header(d, "Cache-Control", 0), "no-store") == 0,
          "redirect is no-store");
    /* The cookie keeps a secret; the URL asks for its commitment (n=). */
    char nonce_pair[256], wrong_nonce[256], copied_nonce[256], nonce[64] = "";
    cookie_pair(set_nonce, nonce_pair, sizeof nonce_pair);
    const char *secret = strchr(nonce_pair, '=') ? strchr(nonce_pair, '=') + 1 : "";
    const char *n = location ? strstr(location, "&n=") : NULL;
    if (n) {
        n += 3;
        size_t len = strcspn(n, "&");
        if (len < sizeof nonce) {
            memcpy(nonce, n, len);
            nonce[len] = '\0';
        }
    }
    CHECK(strlen(secret) == 32 && strlen(nonce) == 32 && strcmp(secret, nonce) != 0 &&
              location && !strstr(location, secret),
          "the nonce cookie's secret never goes to the login server, its commitment does");
    snprintf(wrong_nonce, sizeof wrong_nonce, "%.*s0123456789abcdef0123456789abcdef",
             (int)(secret - nonce_pair), nonce_pair);
    snprintf(copied_nonce, sizeof copied_nonce, "%.*s%s", (int)(secret - nonce_pair), nonce_pair,
             nonce);
    sso_flow_decision_free(d);

    /* The login server sends the browser back with a ticket for the nonce. */
    char ticket[4096], encoded[4200], query[4400];
    flow_ticket(signer, nonce, "staff", ticket, sizeof ticket);
    query_encode(ticket, encoded, sizeof encoded);
    snprintf(query, sizeof query, "t=%s&d=https%%3A%%2F%%2Fsvc.example.org%%2Fapp%%2Fpage%%3Fx%%3D1",
             encoded);
    /* Refusals redirect to a page without the ticket, and burn it: a
     * ticket whose sso_login was refused is dead even with the right secret. */
    char burnt[4096], burnt_encoded[4200], burnt_query[4400];
    flow_ticket(signer, nonce, "other", burnt, sizeof burnt);
    query_encode(burnt, burnt_encoded, sizeof burnt_encoded);
    snprintf(burnt_query, sizeof burnt_query, "t=%s", burnt_encoded);
    d = request(c, "GET", "/app/sso_login", burnt_query, wrong_nonce, NULL);
    location = header(d, "Location", 0);
    CHECK(sso_flow_decision_kind(d) == SSO_FLOW_LOGIN_REFUSED && sso_flow_decision_status(d) == 302,
          "sso_login with another nonce: refused");
    CHECK(location && strcmp(location, "/app/sso_login?error=nonce%20mismatch") == 0,
          "to the refusal page, which holds no ticket");
    CHECK(logs_mention(d, "nonce mismatch"), "the log names the failed check");
    sso_flow_decision_free(d);
    d = request(c, "GET", "/app/sso_login", burnt_query, copied_nonce, NULL);
    CHECK(sso_flow_decision_kind(d) == SSO_FLOW_LOGIN_REFUSED && logs_mention(d, "nonce mismatch"),
          "sso_login with the ticket's own (readable) nonce as the cookie: refused");
    sso_flow_decision_free(d);
    d = request(c, "GET", "/app/sso_login", burnt_query, nonce_pair, NULL);
    CHECK(sso_flow_decision_kind(d) == SSO_FLOW_LOGIN_REFUSED && logs_mention(d, "replayed login"),
          "a burnt ticket is refused even with the right secret");
    sso_flow_decision_free(d);
    d = request(c, "GET", "/app/sso_login", "error=nonce%20mismatch", NULL, NULL);
    CHECK(sso_flow_decision_kind(d) == SSO_FLOW_FORBIDDEN && sso_flow_decision_status(d) == 403,
          "the refusal page: 403");
    sso_flow_decision_free(d);
    d = request(c, "GET", "/app/sso_login", "d=x", nonce_pair, NULL);
    CHECK(sso_flow_decision_kind(d) == SSO_FLOW_BAD_REQUEST && sso_flow_decision_status(d) == 400,
          "sso_login without t: 400");
    sso_flow_decision_free(d);

    d = request(c, "GET", "/app/sso_login", query, nonce_pair, NULL);
    CHECK(sso_flow_decision_kind(d) == SSO_FLOW_LOGIN_DONE && sso_flow_decision_status(d) == 302,
          "sso_login with the right nonce");
    location = header(d, "Location", 0);
    CHECK(location && strcmp(location, "https://svc.example.org/app/page?x=1") == 0,
          "back to the target");
    char ticket_pair[4400], binding_pair[256], clear_nonce[256];
    cookie_pair(header(d, "Set-Cookie", 0), ticket_pair, sizeof ticket_pair);
    cookie_pair(header(d, "Set-Cookie", 1), binding_pair, sizeof binding_pair);
    CHECK(strstr(ticket_pair, ticket) != NULL, "ticket cookie set");
    CHECK(strchr(binding_pair, '=') && strcmp(strchr(binding_pair, '=') + 1, secret) == 0,
          "binding cookie set to the nonce secret");
    cookie_pair(header(d, "Set-Cookie", 2), clear_nonce, sizeof clear_nonce);
    CHECK(strcmp(clear_nonce, nonce_pair) != 0 && header(d, "Set-Cookie", 2) &&
              strstr(header(d, "Set-Cookie", 2), "Max-Age=0"), "nonce cookie cleared");
    const char *mask = sso_flow_decision_ticket_param_mask(d);
    CHECK(mask && strncmp(mask, "ticket-", 7) == 0, "the t parameter's mask for the logs");
    CHECK(!logs_mention(d, ticket), "no log line holds the ticket");
    sso_flow_decision_free(d);
    d = request(c, "GET", "/app/sso_login", query, nonce_pair, NULL);
    CHECK(sso_flow_decision_kind(d) == SSO_FLOW_LOGIN_REFUSED && logs_mention(d, "replayed login"),
          "a second sso_login with one ticket: refused");
    sso_flow_decision_free(d);

    /* The cookies: accepted, with the user and groups. */
    char cookies[4800];
    snprintf(cookies, sizeof cookies, "%s; %s", ticket_pair, binding_pair);
    d = request(c, "GET", "/app/page", "", cookies, NULL);
    CHECK(sso_flow_decision_kind(d) == SSO_FLOW_ACCEPT && sso_flow_decision_status(d) == 0,
          "valid cookie: accepted");
    const sso_ticket *t = sso_flow_decision_ticket(d);
    CHECK(t && strcmp(sso_ticket_user(t), "alice") == 0, "accepted user");
    CHECK(t && strcmp(sso_ticket_groups(t), "staff") == 0, "accepted groups");
    CHECK(sso_flow_decision_header_count(d) == 0 && sso_flow_decision_fingerprint(d),
          "accept sets no header and names the fingerprint");
    CHECK(!logs_mention(d, ticket), "no log line holds the ticket");
    sso_flow_decision_free(d);
    d = request(c, "GET", "/app/page", "", ticket_pair, NULL);
    CHECK(sso_flow_decision_kind(d) == SSO_FLOW_REDIRECT && sso_flow_decision_ticket(d) == NULL,
          "a browser ticket without its binding cookie is not accepted");
    sso_flow_decision_free(d);
    d = request(c, "POST", "/app/form", "", NULL, NULL);
    CHECK(sso_flow_decision_kind(d) == SSO_FLOW_UNAUTHORIZED, "POST without a ticket: 401");
    sso_flow_decision_free(d);

    /* Logout clears the cookies and revokes the binding. */
    d = request(c, "GET", "/app/sso_logout", "", cookies, NULL);
    CHECK(sso_flow_decision_kind(d) == SSO_FLOW_LOGOUT && sso_flow_decision_status(d) == 200 &&
              strcmp(sso_flow_decision_body(d), "OK") == 0, "sso_logout");
    CHECK(header(d, "Set-Cookie", 2) && strstr(header(d, "Set-Cookie", 2), "Max-Age=0"),
          "logout clears three cookies");
    sso_flow_decision_free(d);
    d = request(c, "GET", "/app/page", "", cookies, NULL);
    CHECK(sso_flow_decision_kind(d) == SSO_FLOW_REDIRECT, "the cookies are dead after logout");
    sso_flow_decision_free(d);
}

static void api_flow(const sso_flow_config *c, const sso_signer *signer)
{
    sso_flow_decision *d = request(c, "GET", "/app/data", "", NULL, "SSO !!!garbage!!!");
    CHECK(sso_flow_decision_kind(d) == SSO_FLOW_UNAUTHORIZED && sso_flow_decision_status(d) == 401,
          "bad Authorization: 401");
    const char *www = header(d, "WWW-Authenticate", 0);
    CHECK(www && strcmp(www, "SSO realm=\"" FLOW_SERVICE "\", error=\"bad encoding\"") == 0,
          "WWW-Authenticate names the failed check");
    sso_flow_decision_free(d);
    d = request(c, "GET", "/app/data", "", NULL, NULL);
    CHECK(sso_flow_decision_kind(d) == SSO_FLOW_UNAUTHORIZED, "API mode never redirects");
    sso_flow_decision_free(d);

    char ticket[4096], authorization[4200];
    flow_ticket(signer, NULL, "staff", ticket, sizeof ticket);
    snprintf(authorization, sizeof authorization, "SSO %s", ticket);
    d = request(c, "GET", "/app/data", "", NULL, authorization);
    CHECK(sso_flow_decision_kind(d) == SSO_FLOW_FORBIDDEN && sso_flow_decision_status(d) == 403,
          "missing group: 403");
    CHECK(logs_mention(d, "missing group") && !logs_mention(d, ticket), "403 logged, ticket not");
    sso_flow_decision_free(d);
    flow_ticket(signer, NULL, "admins", ticket, sizeof ticket);
    snprintf(authorization, sizeof authorization, "SSO %s", ticket);
    d = request(c, "GET", "/app/data", "", NULL, authorization);
    CHECK(sso_flow_decision_kind(d) == SSO_FLOW_ACCEPT, "program ticket with the group: accepted");
    CHECK(sso_ticket_version(sso_flow_decision_ticket(d)) == 4, "its ticket is readable");
    sso_flow_decision_free(d);

    /* Bad calls fail closed and leave the out-parameter alone. */
    d = SENTINEL_DECISION;
    const char *cookies[] = {"a=b"};
    CHECK(sso_flow_decide(c, "GET", "/app/\xff", "", "/app/\xff", cookies, 1, NULL, true, NOW, &d) ==
              SSO_ERR_INVALID_ARGUMENT, "non-UTF-8 path refused");
    CHECK(sso_flow_decide(NULL, "GET", "/", "", "/", NULL, 0, NULL, true, NOW, &d) ==
              SSO_ERR_NULL_ARGUMENT, "NULL config");
    CHECK(sso_flow_decide(c, "GET", "/", "", "/", NULL, 1, NULL, true, NOW, &d) ==
              SSO_ERR_NULL_ARGUMENT, "NULL cookie array with a count");
    CHECK(d == SENTINEL_DECISION, "no decision written on failure");
    CHECK(sso_flow_decision_kind(NULL) == SSO_FLOW_FORBIDDEN && sso_flow_decision_status(NULL) == 500,
          "a NULL decision reads as a refusal");
    sso_flow_decision_free(NULL);
}

static void flow_checks(const sso_signer *signer, const char *public_key_file)
{
    const char *key_files[] = {public_key_file};
    sso_flow_settings s;
    memset(&s, 0, sizeof s); /* zero is every default: browser, Secure on https, binding on */
    s.public_key_files = key_files;
    s.public_key_file_count = 1;
    s.service = FLOW_SERVICE;
    s.domain = DOMAIN;
    s.login_server = LOGIN;
    flow_config_checks(s);
    sso_flow_config *browser = NULL;
    CHECK(sso_flow_config_new(&s, &browser) == SSO_OK && browser, "browser config from a key file");
    browser_flow(browser, signer);
    sso_flow_config_free(browser);

    /* The API location takes its key as bytes and asks for a group. */
    static unsigned char key[4096];
    FILE *f = fopen(public_key_file, "rb");
    size_t key_len = f ? fread(key, 1, sizeof key, f) : 0;
    if (f)
        fclose(f);
    sso_key_bytes key_bytes = {key, key_len};
    const char *admins[] = {"admins"};
    s.public_key_file_count = 0;
    s.public_keys = &key_bytes;
    s.public_key_count = 1;
    s.mode = SSO_FLOW_MODE_API;
    s.groups = admins;
    s.group_count = 1;
    sso_flow_config *api = NULL;
    CHECK(sso_flow_config_new(&s, &api) == SSO_OK && api, "API config from key bytes");
    api_flow(api, signer);
    sso_flow_config_free(api);
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: %s SECRET PUBLIC OTHER_PUBLIC INSECURE_SECRET RUST_TICKET "
                        "UNTRUSTED_PUBLIC\n", argv[0]);
        return 2;
    }
    const char *secret = argv[1], *public_key = argv[2], *other_public = argv[3];
    const char *insecure = argv[4], *rust_ticket = argv[5], *untrusted_public = argv[6];

    printf("%s\n", sso_version());

    sso_signer *signer = SENTINEL_SIGNER;
    CHECK(sso_signer_new(insecure, &signer) == SSO_ERR_KEY_INSECURE, "0644 secret key refused");
    CHECK(signer == SENTINEL_SIGNER, "no signer written on failure");
    signer = NULL;
    CHECK(sso_signer_new("/nonexistent/secret.key", &signer) == SSO_ERR_KEY_NOT_FOUND, "missing key");
    CHECK(sso_signer_new(NULL, &signer) == SSO_ERR_NULL_ARGUMENT, "NULL path");
    CHECK(sso_signer_new(secret, NULL) == SSO_ERR_NULL_ARGUMENT, "NULL out");
    CHECK(sso_signer_new(secret, &signer) == SSO_OK && signer != NULL, "signer from key file");

    const char *groups[] = {"admins", "staff"};
    char good[4096], expired[4096], wrong_service[4096], wrong_domain[4096], v3[4096];
    size_t n = 0;
    CHECK(sso_signer_sign(signer, 4, "alice", SERVICE, DOMAIN, NOW + 60, "n0nce", groups, 2,
                          good, sizeof good, &n) == SSO_OK && n == strlen(good),
          "sign v4");
    CHECK(sso_signer_sign(signer, 4, "alice", SERVICE, DOMAIN, NOW - 1, NULL, NULL, 0,
                          expired, sizeof expired, &n) == SSO_OK, "sign expired");
    CHECK(sso_signer_sign(signer, 4, "alice", "other.example.org/", DOMAIN, NOW + 60, NULL, NULL, 0,
                          wrong_service, sizeof wrong_service, &n) == SSO_OK, "sign wrong service");
    CHECK(sso_signer_sign(signer, 4, "alice", SERVICE, "example.com", NOW + 60, NULL, NULL, 0,
                          wrong_domain, sizeof wrong_domain, &n) == SSO_OK, "sign wrong domain");
    CHECK(sso_signer_sign(signer, 3, "bob", SERVICE, DOMAIN, NOW + 60, NULL, NULL, 0,
                          v3, sizeof v3, &n) == SSO_OK, "sign v3");

    char small[16];
    size_t untouched = 12345;
    CHECK(sso_signer_sign(signer, 4, "alice", SERVICE, DOMAIN, NOW, NULL, NULL, 0, small,
                          sizeof small, &untouched) == SSO_ERR_BUFFER_TOO_SMALL && untouched == 12345,
          "buffer too small, nothing written");
    char tmp[4096];
    CHECK(sso_signer_sign(signer, 4, "al|ice", SERVICE, DOMAIN, NOW, NULL, NULL, 0, tmp, sizeof tmp,
                          &n) == SSO_ERR_INVALID_FIELD, "| refused by issuer");
    const char *bad_group[] = {"a,b"};
    CHECK(sso_signer_sign(signer, 4, "alice", SERVICE, DOMAIN, NOW, NULL, bad_group, 1, tmp,
                          sizeof tmp, &n) == SSO_ERR_INVALID_FIELD, ", in group refused");
    CHECK(sso_signer_sign(signer, 3, "alice", SERVICE, DOMAIN, NOW, "n", NULL, 0, tmp, sizeof tmp,
                          &n) == SSO_ERR_INVALID_FIELD, "nonce on v3 refused");
    CHECK(sso_signer_sign(signer, 5, "alice", SERVICE, DOMAIN, NOW, NULL, NULL, 0, tmp, sizeof tmp,
                          &n) == SSO_ERR_INVALID_ARGUMENT, "version 5 refused");

    /* Two keys: an unrelated one first, then the signer's (rotation). */
    const char *keys[] = {other_public, public_key};
    sso_verifier *v = SENTINEL_VERIFIER;
    CHECK(sso_verifier_new(keys, 2, NULL, DOMAIN, 0, 0, &v) == SSO_ERR_NULL_ARGUMENT, "NULL service");
    CHECK(sso_verifier_new(keys, 2, SERVICE, DOMAIN, 3601, 0, &v) == SSO_ERR_INVALID_ARGUMENT,
          "clock skew over an hour refused");
    CHECK(sso_verifier_new(keys, 0, SERVICE, DOMAIN, 0, 0, &v) == SSO_ERR_CONFIG, "no keys");
    const char *missing[] = {"/nonexistent.key"};
    CHECK(sso_verifier_new(missing, 1, SERVICE, DOMAIN, 0, 0, &v) == SSO_ERR_KEY_NOT_FOUND,
          "missing public key");
    const char *wrong_kind[] = {secret};
    CHECK(sso_verifier_new(wrong_kind, 1, SERVICE, DOMAIN, 0, 0, &v) == SSO_ERR_KEY_MALFORMED,
          "secret key as public key");
    const char *untrusted[] = {untrusted_public};
    CHECK(sso_verifier_new(untrusted, 1, SERVICE, DOMAIN, 0, 0, &v) == SSO_ERR_KEY_UNTRUSTED,
          "group-writable public key refused");
    const char *bad_pin[] = {NULL, "("};
    CHECK(sso_verifier_new_pinned(keys, bad_pin, 2, SERVICE, DOMAIN, 0, 0, &v) == SSO_ERR_CONFIG,
          "a pin that does not compile is refused");
    const char *all_elsewhere[] = {"x/", "other\\.example\\.org/"};
    CHECK(sso_verifier_new_pinned(keys, all_elsewhere, 2, SERVICE, DOMAIN, 0, 0, &v) ==
              SSO_ERR_CONFIG,
          "every key pinned to other services");
    CHECK(v == SENTINEL_VERIFIER, "no verifier written on failure");
    v = NULL;
    CHECK(sso_verifier_new(keys, 2, SERVICE, DOMAIN, 0, 1024, &v) == SSO_OK && v, "verifier");

    for (int round = 0; round < 2; round++) { /* the second round hits the cache */
        sso_ticket *t = NULL;
        CHECK(verify(v, good, "n0nce", groups + 1, 1, &t) == SSO_OK && t, "good v4 verifies");
        CHECK(t && strcmp(sso_ticket_user(t), "alice") == 0, "user");
        CHECK(t && strcmp(sso_ticket_service(t), SERVICE) == 0, "service");
        CHECK(t && strcmp(sso_ticket_domain(t), DOMAIN) == 0, "domain");
        CHECK(t && strcmp(sso_ticket_nonce(t), "n0nce") == 0, "nonce");
        CHECK(t && strcmp(sso_ticket_groups(t), "admins,staff") == 0, "groups joined");
        CHECK(t && sso_ticket_group_count(t) == 2, "group count");
        CHECK(t && strcmp(sso_ticket_group(t, 1), "staff") == 0, "group 1");
        CHECK(t && sso_ticket_group(t, 2) == NULL, "group out of range");
        CHECK(t && sso_ticket_expires(t) == NOW + 60, "expires");
        CHECK(t && sso_ticket_version(t) == 4, "version");
        sso_ticket_free(t);
    }

    sso_ticket *t = NULL;
    CHECK(verify(v, v3, NULL, NULL, 0, &t) == SSO_OK && t, "v3 verifies");
    CHECK(t && sso_ticket_nonce(t) == NULL && sso_ticket_version(t) == 3, "v3 has no nonce");
    sso_ticket_free(t);
    CHECK(verify(v, good, NULL, NULL, 0, NULL) == SSO_OK, "verify without ticket_out");

    expect(v, expired, SSO_ERR_EXPIRED, "expired");
    expect(v, wrong_service, SSO_ERR_WRONG_SERVICE, "wrong service");
    expect(v, wrong_domain, SSO_ERR_WRONG_DOMAIN, "wrong domain");
    CHECK(verify(v, good, "other", NULL, 0, NULL) == SSO_ERR_NONCE_MISMATCH, "nonce mismatch");
    CHECK(verify(v, v3, "n0nce", NULL, 0, NULL) == SSO_ERR_NONCE_MISMATCH, "v3 has no nonce to match");
    const char *nobody[] = {"nobody"};
    CHECK(verify(v, good, NULL, nobody, 1, NULL) == SSO_ERR_MISSING_GROUP, "missing group");

    /* Forged: flip one bit of the signature part (first characters). */
    char forged[4096];
    strcpy(forged, good);
    forged[5] = forged[5] == 'A' ? 'B' : 'A';
    expect(v, forged, SSO_ERR_BAD_SIGNATURE, "forged signature");
    /* Truncated to a whole number of base64 quads: decodes, then fails. */
    char truncated[4096];
    size_t keep = (strlen(good) / 4 - 2) * 4;
    memcpy(truncated, good, keep);
    truncated[keep] = '\0';
    sso_result r = verify(v, truncated, NULL, NULL, 0, NULL);
    CHECK(r != SSO_OK, "truncated refused");
    expect(v, "!!!not base64!!!", SSO_ERR_BAD_ENCODING, "garbage");
    expect(v, "QUJD", SSO_ERR_TOO_SHORT, "too short");
    static char huge[5000];
    memset(huge, 'A', sizeof huge - 1);
    expect(v, huge, SSO_ERR_TOO_LONG, "too long");
    huge[100] = (char)0xff; /* not UTF-8 either: the size bound still answers */
    expect(v, huge, SSO_ERR_TOO_LONG, "too long and not UTF-8");
    expect(v, "", SSO_ERR_TOO_SHORT, "empty");

    /* Decoding without verifying: the claims of an expired ticket and of
       one for another service come out; what does not decode keeps its
       check, and the out-parameter is untouched then. */
    sso_ticket *claims = SENTINEL_TICKET;
    CHECK(sso_ticket_decode_unverified(expired, strlen(expired), &claims) == SSO_OK &&
              sso_ticket_expires(claims) == NOW - 1,
          "decode_unverified reads an expired ticket's expiry");
    sso_ticket_free(claims);
    claims = SENTINEL_TICKET;
    CHECK(sso_ticket_decode_unverified(wrong_service, strlen(wrong_service), &claims) == SSO_OK &&
              strcmp(sso_ticket_service(claims), "other.example.org/") == 0,
          "decode_unverified reads another service's ticket");
    sso_ticket_free(claims);
    claims = SENTINEL_TICKET;
    CHECK(sso_ticket_decode_unverified("!!!not base64!!!", 16, &claims) == SSO_ERR_BAD_ENCODING &&
              claims == SENTINEL_TICKET,
          "decode_unverified: garbage keeps its check, nothing written");
    CHECK(sso_ticket_decode_unverified(huge, strlen(huge), &claims) == SSO_ERR_TOO_LONG, "decode_unverified: too long");
    CHECK(sso_ticket_decode_unverified(NULL, 0, &claims) == SSO_ERR_NULL_ARGUMENT, "decode_unverified: NULL");

    CHECK(sso_verifier_verify(v, NULL, 0, NOW, NULL, NULL, 0, NULL) == SSO_ERR_NULL_ARGUMENT, "NULL ticket");
    CHECK(sso_verifier_verify(NULL, good, strlen(good), NOW, NULL, NULL, 0, NULL) == SSO_ERR_NULL_ARGUMENT,
          "NULL verifier");
    CHECK(sso_verifier_verify(v, good, strlen(good), NOW, NULL, NULL, 3, NULL) == SSO_ERR_NULL_ARGUMENT,
          "NULL group array with a count");
    /* Not NUL-terminated: only ticket_len bytes are read. */
    char unterminated[4096];
    memcpy(unterminated, good, strlen(good));
    unterminated[strlen(good)] = 'X';
    CHECK(sso_verifier_verify(v, unterminated, strlen(good), NOW, NULL, NULL, 0, NULL) == SSO_OK,
          "length-delimited input");

    /* A ticket minted by the Rust side verifies here too. */
    const char *ops[] = {"ops"};
    CHECK(sso_verifier_verify(v, rust_ticket, strlen(rust_ticket), 0, NULL, ops, 1, &t) == SSO_OK,
          "Rust-minted ticket");
    CHECK(t && strcmp(sso_ticket_user(t), "rustuser") == 0, "Rust-minted user");
    sso_ticket_free(t);

    /* Accessors and frees tolerate NULL. */
    CHECK(sso_ticket_user(NULL) == NULL && sso_ticket_expires(NULL) == 0, "NULL ticket accessors");
    sso_ticket_free(NULL);
    sso_verifier_free(NULL);
    sso_signer_free(NULL);

    /* Messages: named checks, unknown codes, truncation. */
    char msg[64];
    size_t mlen = 0;
    sso_result_message(SSO_ERR_EXPIRED, msg, sizeof msg, &mlen);
    CHECK(strcmp(msg, "expired") == 0 && mlen == 7, "message for expired");
    sso_result_message(SSO_ERR_BAD_SIGNATURE, msg, sizeof msg, &mlen);
    CHECK(strcmp(msg, "bad signature") == 0, "message for bad signature");
    sso_result_message(9999, msg, sizeof msg, &mlen);
    CHECK(strcmp(msg, "unknown result code") == 0, "unknown code");
    sso_result_message(SSO_ERR_BAD_SIGNATURE, msg, 4, &mlen);
    CHECK(strcmp(msg, "bad") == 0 && mlen == 3, "message truncated to buffer");

    /* Pins: the signer's key pinned to another service verifies nothing
     * here; pinned to this one, it does. */
    const char *signer_elsewhere[] = {NULL, "other\\.example\\.org/"};
    sso_verifier *pinned = NULL;
    CHECK(sso_verifier_new_pinned(keys, signer_elsewhere, 2, SERVICE, DOMAIN, 0, 0, &pinned) ==
              SSO_OK && pinned,
          "verifier with a key pinned elsewhere");
    expect(pinned, v3, SSO_ERR_BAD_SIGNATURE, "a key pinned to other services does not verify");
    sso_verifier_free(pinned);
    const char *signer_here[] = {NULL, "svc\\.example\\.org/"};
    pinned = NULL;
    CHECK(sso_verifier_new_pinned(keys, signer_here, 2, SERVICE, DOMAIN, 0, 0, &pinned) == SSO_OK &&
              pinned,
          "verifier with a key pinned here");
    expect(pinned, v3, SSO_OK, "a key pinned to this service verifies");
    sso_verifier_free(pinned);
    sso_result_message(SSO_ERR_KEY_UNTRUSTED, msg, sizeof msg, &mlen);
    CHECK(strstr(msg, "writable") != NULL, "message for an untrusted key file");

    flow_checks(signer, public_key);

    sso_verifier_free(v);
    sso_signer_free(signer);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
