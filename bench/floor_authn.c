/* The floor of any authentication module behind `Require valid-user`:
 * for `AuthType Floor`, check_authn names a user and returns at once (no
 * cookie read, no check). What httpd itself spends on such a location
 * (hook dispatch, the location's merge, authz) beside /open/ is the least
 * any real module adds: bench/mod_sso.sh prints it beside mod_sso. */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_request.h"
#include "mod_auth.h"
#include "apr_strings.h"

static int floor_check_authn(request_rec *r)
{
    const char *type = ap_auth_type(r);
    if (type == NULL || strcasecmp(type, "Floor") != 0)
        return DECLINED;
    r->user = "floor";
    r->ap_auth_type = "Floor";
    return OK;
}

static void floor_register_hooks(apr_pool_t *p)
{
    ap_hook_check_authn(floor_check_authn, NULL, NULL, APR_HOOK_MIDDLE,
                        AP_AUTH_INTERNAL_PER_CONF);
}

AP_DECLARE_MODULE(floor_authn) = {
    STANDARD20_MODULE_STUFF, NULL, NULL, NULL, NULL, NULL, floor_register_hooks
};
