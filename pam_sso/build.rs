fn main() {
    // libpam itself is linked by pam-sys (the module calls pam_get_user,
    // pam_get_authtok, pam_get_item, pam_set_item, pam_prompt and
    // pam_syslog through the safe layer in pam/).
    //
    // libpam dlopens the module in every pam_start and dlcloses it in
    // pam_end. Unloading Rust code from a process is fragile (thread-local
    // destructors, std's lazily initialised state) and reloading it costs
    // far more than the authentication itself, so the module stays mapped
    // once loaded (DF_1_NODELETE): dlclose only drops the reference.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");
}
