/* A PAM module for tests only: its auth step replaces PAM_USER with the
 * name given as "to=NAME" and succeeds, as an alias-mapping or
 * case-folding module of a real stack would. The modules after it then
 * authenticate NAME, not the name the application passed to pam_start.
 * Built by tests/src/pam.rs with the system compiler. */
#include <string.h>
#include <security/pam_modules.h>

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    (void)flags;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "to=", 3) == 0) {
            return pam_set_item(pamh, PAM_USER, argv[i] + 3);
        }
    }
    return PAM_SERVICE_ERR;
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    (void)pamh;
    (void)flags;
    (void)argc;
    (void)argv;
    return PAM_SUCCESS;
}
