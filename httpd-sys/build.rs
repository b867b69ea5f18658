//! Generates the httpd/APR bindings with bindgen and compiles the C glue.
//! Include paths come from `apxs -q` (fallback: `apr-1-config --includes`),
//! never hard-coded, so any httpd 2.4 development install works.

use std::path::PathBuf;
use std::process::Command;

fn query(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!s.is_empty()).then_some(s)
}

fn main() {
    let apxs = std::env::var("APXS").unwrap_or_else(|_| "apxs".to_owned());
    println!("cargo:rerun-if-env-changed=APXS");
    println!("cargo:rerun-if-changed=csrc/wrapper.h");
    println!("cargo:rerun-if-changed=csrc/glue.c");

    let httpd_inc = query(&apxs, &["-q", "INCLUDEDIR"])
        .expect("`apxs -q INCLUDEDIR` failed: install apache2-dev (or set APXS)");
    let mut includes = vec![PathBuf::from(httpd_inc)];
    match query(&apxs, &["-q", "APR_INCLUDEDIR"]) {
        Some(d) => includes.push(PathBuf::from(d)),
        None => {
            let flags = query("apr-1-config", &["--includes"])
                .expect("neither `apxs -q APR_INCLUDEDIR` nor `apr-1-config --includes` worked");
            includes.extend(
                flags
                    .split_whitespace()
                    .filter_map(|f| f.strip_prefix("-I"))
                    .map(PathBuf::from),
            );
        }
    }
    if let Some(d) = query(&apxs, &["-q", "APU_INCLUDEDIR"]) {
        includes.push(PathBuf::from(d));
    }
    // httpd's own build flags (e.g. -D_GNU_SOURCE -D_REENTRANT) change struct layouts
    // on some platforms: use the same ones.
    let defines: Vec<String> = query(&apxs, &["-q", "EXTRA_CPPFLAGS"])
        .unwrap_or_default()
        .split_whitespace()
        .filter(|f| f.starts_with("-D"))
        .map(str::to_owned)
        .collect();

    let mut build = cc::Build::new();
    build.file("csrc/glue.c").warnings(true);
    for i in &includes {
        build.include(i);
    }
    for d in &defines {
        let d = &d[2..];
        match d.split_once('=') {
            Some((k, v)) => build.define(k, Some(v)),
            None => build.define(d, None),
        };
    }
    build.compile("httpd_glue");

    let mut bindings = bindgen::Builder::default()
        .header("csrc/wrapper.h")
        .clang_args(includes.iter().map(|i| format!("-I{}", i.display())))
        .clang_args(defines.iter().cloned())
        .allowlist_type("module_struct")
        .allowlist_type("request_rec")
        .allowlist_type("server_rec")
        .allowlist_type("cmd_parms")
        .allowlist_type("command_rec")
        .allowlist_type("cmd_how")
        .allowlist_type("authz_provider")
        .allowlist_type("authz_status")
        .allowlist_type("apr_table_entry_t")
        .allowlist_function("ap_hook_.*")
        .allowlist_function("ap_register_auth_provider")
        .allowlist_function("ap_lookup_provider")
        .allowlist_function("ap_auth_type")
        .allowlist_function("ap_check_cmd_context")
        .allowlist_function("ap_server_root_relative")
        .allowlist_function("ap_rwrite")
        .allowlist_function("ap_set_content_type")
        .allowlist_function("ap_set_content_length")
        .allowlist_function("ap_custom_response")
        .allowlist_function("ap_run_http_scheme")
        .allowlist_function("apr_pstrmemdup")
        .allowlist_function("apr_pstrdup")
        .allowlist_function("apr_palloc")
        .allowlist_function("apr_pool_cleanup_register")
        .allowlist_function("apr_pool_cleanup_null")
        .allowlist_function("apr_table_get")
        .allowlist_function("apr_table_set")
        .allowlist_function("apr_table_setn")
        .allowlist_function("apr_table_add")
        .allowlist_function("apr_table_addn")
        .allowlist_function("apr_table_elts")
        .allowlist_function("apr_table_unset")
        .allowlist_function("httpd_.*")
        .allowlist_type("ap_socache_provider_t")
        .allowlist_type("ap_socache_hints")
        .allowlist_function("ap_mutex_register")
        .allowlist_function("ap_global_mutex_create")
        .allowlist_function("apr_global_mutex_child_init")
        .allowlist_function("apr_global_mutex_lockfile")
        .allowlist_function("apr_global_mutex_lock")
        .allowlist_function("apr_global_mutex_unlock")
        .allowlist_function("apr_time_now")
        .allowlist_var("AP_SOCACHE_.*")
        .allowlist_var("APR_SUCCESS")
        .allowlist_var("APR_NOTFOUND")
        .allowlist_var("APR_LOCK_DEFAULT")
        .allowlist_var("APLOG_.*")
        .allowlist_var("HTTP_.*")
        .allowlist_var("OK")
        .allowlist_var("DECLINED")
        .allowlist_var("DONE")
        .allowlist_var("M_GET")
        .allowlist_var("RSRC_CONF")
        .allowlist_var("ACCESS_CONF")
        .allowlist_var("OR_AUTHCFG")
        .allowlist_var("GLOBAL_ONLY")
        .allowlist_var("NOT_IN_DIR_LOC_FILE")
        .allowlist_var("MODULE_MAGIC_NUMBER_MAJOR")
        .allowlist_var("MODULE_MAGIC_NUMBER_MINOR")
        .allowlist_var("MODULE_MAGIC_COOKIE")
        .allowlist_var("APR_HOOK_.*")
        .allowlist_var("AUTHZ_PROVIDER_GROUP")
        .allowlist_var("AUTHZ_PROVIDER_VERSION")
        .allowlist_var("AP_AUTH_INTERNAL_PER_CONF")
        .default_enum_style(bindgen::EnumVariation::ModuleConsts)
        .derive_default(true)
        .layout_tests(false)
        .generate_comments(false);
    // Re-run when any included header changes.
    bindings = bindings.parse_callbacks(Box::new(bindgen::CargoCallbacks::new()));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    bindings
        .generate()
        .expect("bindgen over the httpd headers failed")
        .write_to_file(out.join("httpd.rs"))
        .expect("write bindings");
}
