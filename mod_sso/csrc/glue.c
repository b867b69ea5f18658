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

int sso_log_enabled(const request_rec *r, int level)
{
    return APLOG_R_IS_LEVEL(r, level);
}

/* For request `r`, or for server `s` when `r` is NULL. */
void sso_log(const request_rec *r, const server_rec *s, int level, const char *msg, int len)
{
    if (r)
        ap_log_rerror(APLOG_MARK, level, 0, r, "%.*s", len, msg);
    else
        ap_log_error(APLOG_MARK, level, 0, s, "%.*s", len, msg);
}
