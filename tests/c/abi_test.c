/*
 * Exercises the C ABI (include/sso.h) from C: sign with the signer, verify
 * good and bad tickets, read the fields, check NULL handling and messages.
 * Built with -Wall -Wextra -Werror by tests/tests/c_abi.rs, which passes:
 *   argv[1] secret key file   argv[2] matching public key file
 *   argv[3] another public key argv[4] a secret key file with mode 0644
 *   argv[5] a ticket minted by the Rust side (user "rustuser", v3, groups
 *           "ops", service "svc.example.org/", domain "example.org")
 * Prints one line per check and "N passed, M failed" at the end.
 */
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

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s SECRET PUBLIC OTHER_PUBLIC INSECURE_SECRET RUST_TICKET\n", argv[0]);
        return 2;
    }
    const char *secret = argv[1], *public_key = argv[2], *other_public = argv[3];
    const char *insecure = argv[4], *rust_ticket = argv[5];

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

    sso_verifier_free(v);
    sso_signer_free(signer);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
