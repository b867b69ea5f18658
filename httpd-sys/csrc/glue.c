/*
 * The little C that httpd's macros force. Logging goes through
 * ap_log_rerror_/ap_log_error_, which the macros ap_log_rerror/ap_log_error
 * call with the module's log index (APLOG_USE_MODULE) only when the level is
 * enabled for that module (LogLevel NAME:debug): here the index is an
 * argument, so the glue serves any module. None of these functions is
 * exported by a module's shared object: a Rust cdylib exports only its
 * own `#[no_mangle]` symbols.
 */
#include "wrapper.h"

/*
 * Whether the module of log index `module_index` logs `level` for request
 * `r` (for server `s` when `r` is NULL); when it does and `msg` is not NULL,
 * logs `len` bytes of `msg`. One function for both, so a caller can ask
 * before formatting a message.
 */
int httpd_log(const request_rec *r, const server_rec *s, int module_index, int level,
              const char *msg, int len)
{
    if (r ? !APLOG_R_MODULE_IS_LEVEL(r, module_index, level)
          : !APLOG_MODULE_IS_LEVEL(s, module_index, level))
        return 0;
    if (msg && r)
        ap_log_rerror_(__FILE__, __LINE__, module_index, level, 0, r, "%.*s", len, msg);
    else if (msg)
        ap_log_error_(__FILE__, __LINE__, module_index, level, 0, s, "%.*s", len, msg);
    return 1;
}

/* What httpd_socache_destroy needs when the configuration pool goes. */
struct httpd_socache {
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *instance;
    server_rec *s;
};

static apr_status_t httpd_socache_destroy(void *data)
{
    struct httpd_socache *c = data;
    if (c->provider->destroy && c->instance)
        c->provider->destroy(c->instance, c->s);
    return APR_SUCCESS;
}

/*
 * post_config: the shared object cache `cache_name` of socache provider
 * `name` (set up by `args`, which may be NULL) and the global mutex of
 * `mutex_type` that guards it, made in `pconf` in mod_ssl's order: look up
 * the provider, create the instance, create the mutex, init the instance;
 * the instance is destroyed when `pconf` is cleared. Returns NULL and the
 * three through the last arguments, or what failed (in `ptemp`).
 */
const char *httpd_socache_create(const char *name, const char *args, const char *mutex_type,
                                 const char *cache_name, server_rec *s, apr_pool_t *pconf,
                                 apr_pool_t *ptemp, const ap_socache_provider_t **provider,
                                 ap_socache_instance_t **instance, apr_global_mutex_t **mutex)
{
    struct ap_socache_hints hints = {16, 32, apr_time_from_sec(60)};
    const ap_socache_provider_t *p = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name,
                                                        AP_SOCACHE_PROVIDER_VERSION);
    const char *err;
    apr_status_t rv;
    struct httpd_socache *c;

    if (!p)
        return apr_psprintf(ptemp, "the socache provider '%s' is not loaded (LoadModule "
                            "socache_%s_module, or a2enmod socache_%s)", name, name, name);
    *instance = NULL;
    if (p->create && (err = p->create(instance, args, ptemp, pconf)) != NULL)
        return err;
    rv = ap_global_mutex_create(mutex, NULL, mutex_type, NULL, s, pconf, 0);
    if (rv != APR_SUCCESS)
        return apr_psprintf(ptemp, "the global mutex cannot be created (APR error %d)", rv);
    if (p->init && (rv = p->init(*instance, cache_name, &hints, s, pconf)) != APR_SUCCESS)
        return apr_psprintf(ptemp, "the cache cannot be initialised (APR error %d)", rv);
    c = apr_palloc(pconf, sizeof(*c));
    c->provider = p;
    c->instance = *instance;
    c->s = s;
    apr_pool_cleanup_register(pconf, c, httpd_socache_destroy, apr_pool_cleanup_null);
    *provider = p;
    return NULL;
}
