/* The httpd/APR API mod_sso uses, for bindgen (see build.rs allowlist). */
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
int sso_log(const request_rec *r, const server_rec *s, int level, const char *msg, int len);
