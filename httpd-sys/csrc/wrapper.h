/* The httpd/APR API of the crate httpd, for bindgen (see build.rs allowlist). */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_auth.h>
#include <ap_provider.h>
#include <ap_socache.h>
#include <util_mutex.h>
#include <apr_global_mutex.h>
#include <apr_time.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <apr_pools.h>

/* Implemented in glue.c: what httpd only offers as macros. */
int httpd_log(const request_rec *r, const server_rec *s, int module_index, int level,
              const char *msg, int len);
const char *httpd_socache_create(const char *name, const char *args, const char *mutex_type,
                                 const char *cache_name, server_rec *s, apr_pool_t *pconf,
                                 apr_pool_t *ptemp, const ap_socache_provider_t **provider,
                                 ap_socache_instance_t **instance, apr_global_mutex_t **mutex);
