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

int sso_log_r_enabled(const request_rec *r, int level)
{
    return APLOG_R_IS_LEVEL(r, level);
}

void sso_log_r(const request_rec *r, int level, const char *msg)
{
    ap_log_rerror(APLOG_MARK, level, 0, r, "%s", msg);
}

void sso_log_s(const server_rec *s, int level, const char *msg)
{
    ap_log_error(APLOG_MARK, level, 0, s, "%s", msg);
}
