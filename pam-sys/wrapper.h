/* The Linux-PAM headers that pam-sys binds: the application side
 * (pam_start, pam_authenticate, ...), the module side (pam_get_user,
 * pam_get_item, ...) and the extensions (pam_get_authtok, pam_prompt,
 * pam_syslog), plus syslog.h for the priorities that pam_syslog takes. */
#include <security/pam_appl.h>
#include <security/pam_modules.h>
#include <security/pam_ext.h>
#include <syslog.h>
