/*
 * The little C that httpd's macros force: logging goes through
 * ap_log_rerror/ap_log_error, which are macros expanding APLOG_MARK (file,
 * line) and this module's log index (APLOG_USE_MODULE), and which skip the
 * call entirely when the level is not enabled for this module
 * (LogLevel sso:debug). The module record itself, `sso_module`, is defined in
 * Rust; these functions are hidden from the .so's dynamic symbol table.
 */
#include "wrapper.h"

APLOG_USE_MODULE(sso);

/*
 * Whether this module logs `level` for request `r` (for server `s` when `r`
 * is NULL); when it does and `msg` is not NULL, logs `len` bytes of `msg`.
 * One function for both, so a caller can ask before formatting a message.
 */
int sso_log(const request_rec *r, const server_rec *s, int level, const char *msg, int len)
{
    if (r ? !APLOG_R_IS_LEVEL(r, level) : !APLOG_IS_LEVEL(s, level))
        return 0;
    if (msg && r)
        ap_log_rerror(APLOG_MARK, level, 0, r, "%.*s", len, msg);
    else if (msg)
        ap_log_error(APLOG_MARK, level, 0, s, "%.*s", len, msg);
    return 1;
}
