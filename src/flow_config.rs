//! `sso_flow_config`: a protected location's settings for the web flow
//! (`sso_core::flow`), with its verification cache and its ticket binding
//! store, built once from a plain `sso_flow_settings` description.
//!
//! The settings are a struct rather than a long argument list because most
//! of them are optional, and every field's zero value is the secure
//! default: a zero-initialised `sso_flow_settings` plus keys, service,
//! domain and login server gives browser mode, `Secure` cookies on https
//! and ticket binding on. Enumerated fields are plain `uint32_t` so that no
//! value C passes is undefined behaviour; unknown values are refused.

use std::ffi::c_char;

use sso_core::flow::{CookieSecure, MemoryBindingStore, Mode, Settings};
use sso_core::spec::{KeySource, KeySpec, VerifierSpec};
use sso_core::{VerifyCache, DEFAULT_CACHE_ENTRIES};

use crate::boundary::{
    array, free_handle, guard_result, hand_out, not_null, optional_str, required_str, string_array,
};
use crate::result::{spec_result, sso_result};
use crate::verifier::key_files;

/// Whether the flow's cookies get `Secure` (values of
/// `sso_flow_settings.cookie_secure`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sso_cookie_secure {
    /// `Secure` (and `__Host-` names) when the request came over https.
    SSO_COOKIE_SECURE_AUTO = 0,
    /// Always `Secure`.
    SSO_COOKIE_SECURE_ON = 1,
    /// Never `Secure`: only for plain-http test setups.
    SSO_COOKIE_SECURE_OFF = 2,
}

/// Who a location serves (values of `sso_flow_settings.mode`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sso_flow_mode {
    /// Browsers: without a valid ticket, GET and HEAD are redirected to the
    /// login server, other methods get 401.
    SSO_FLOW_MODE_BROWSER = 0,
    /// Programs: never a redirect, always 401 with the failed check.
    SSO_FLOW_MODE_API = 1,
}

/// Ticket binding (docs/protocol.md, "Ticket binding"; values of
/// `sso_flow_settings.binding`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sso_binding {
    /// A browser ticket is good only with the binding cookie set at
    /// `sso_login`, and at `sso_login` only once.
    SSO_BINDING_ON = 0,
    SSO_BINDING_OFF = 1,
}

/// A public key given as bytes: raw (32 bytes) or PEM.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sso_key_bytes {
    pub data: *const u8,
    pub len: usize,
}

/// The description of a protected location, read by `sso_flow_config_new`
/// and not kept: the strings may be freed afterwards. Zero values are the
/// defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sso_flow_settings {
    /// Public key files (raw 32-byte or PEM); any of them may have signed.
    pub public_key_files: *const *const c_char,
    pub public_key_file_count: usize,
    /// Public keys as bytes, in addition to the files.
    pub public_keys: *const sso_key_bytes,
    pub public_key_count: usize,
    /// `HOST[:PORT]/PATH/`, as the login server knows the service.
    pub service: *const c_char,
    pub domain: *const c_char,
    /// The login server's URL, `https://login.example.org/`.
    pub login_server: *const c_char,
    /// Groups asked for; a ticket must hold one of them. 0: none.
    pub groups: *const *const c_char,
    pub group_count: usize,
    /// An `sso_cookie_secure` value.
    pub cookie_secure: u32,
    /// Prefix of the cookie names where `__Host-` names are impossible
    /// (letters, digits, `_`, `-`, `.`); NULL: `SSO_`.
    pub cookie_prefix: *const c_char,
    /// An `sso_flow_mode` value.
    pub mode: u32,
    /// An `sso_binding` value.
    pub binding: u32,
    /// Seconds a ticket stays good after its expiry, at most 3600.
    pub clock_skew_secs: u64,
    /// Verified tickets kept by the cache; 0: 16384.
    pub cache_entries: usize,
    /// Ticket bindings remembered; 0: 16384. When full, the oldest go
    /// first, which costs their browsers a silent re-login.
    pub binding_entries: usize,
}

/// A protected location: settings, verification cache and binding store.
/// Thread-safe: one config may decide requests from many threads at once.
pub struct sso_flow_config {
    pub(crate) settings: Settings,
    pub(crate) cache: VerifyCache,
    pub(crate) bindings: MemoryBindingStore,
}

/// Builds a config from `settings` and writes it to `*config_out`.
/// Fails with `SSO_ERR_KEY_*` for a key that cannot be read or parsed,
/// `SSO_ERR_KEY_UNTRUSTED` for a key file someone besides root or the
/// process's user could write, `SSO_ERR_CONFIG` for no key, a malformed
/// service name, domain or group name, or a login server that is not an
/// http(s) URL with a host, and `SSO_ERR_INVALID_ARGUMENT` for an unknown
/// enumerated value, a bad cookie prefix or a clock skew over 3600.
///
/// # Safety
/// `settings` must point to a valid `sso_flow_settings` whose pointers are
/// valid as described there; `config_out` must be valid for a write.
#[no_mangle]
pub unsafe extern "C" fn sso_flow_config_new(
    settings: *const sso_flow_settings,
    config_out: *mut *mut sso_flow_config,
) -> sso_result {
    sso_flow_config_new_pinned(settings, std::ptr::null(), config_out)
}

/// As `sso_flow_config_new`, with each of the settings' public key files
/// pinned to the services its entry of `public_key_file_services` matches
/// (see `sso_verifier_new_pinned`); a NULL entry, or a NULL array, leaves
/// a key unpinned.
///
/// # Safety
/// As for `sso_flow_config_new`; `public_key_file_services` must be NULL
/// or point to `settings->public_key_file_count` pointers, each NULL or a
/// C string.
#[no_mangle]
pub unsafe extern "C" fn sso_flow_config_new_pinned(
    settings: *const sso_flow_settings,
    public_key_file_services: *const *const c_char,
    config_out: *mut *mut sso_flow_config,
) -> sso_result {
    guard_result(|| {
        not_null(settings)?;
        not_null(config_out)?;
        let config = build(&*settings, public_key_file_services)?;
        hand_out(config_out, config)
    })
}

/// Frees a config. NULL is ignored.
///
/// # Safety
/// `config` must come from `sso_flow_config_new`, not be used afterwards,
/// and no decision call may be running on it.
#[no_mangle]
pub unsafe extern "C" fn sso_flow_config_free(config: *mut sso_flow_config) {
    free_handle(config)
}

/// # Safety
/// As for `sso_flow_config_new_pinned`.
unsafe fn build(
    s: &sso_flow_settings,
    services: *const *const c_char,
) -> Result<sso_flow_config, sso_result> {
    let mut keys = key_files(s.public_key_files, services, s.public_key_file_count)?;
    keys.extend(key_bytes(s)?);
    let spec = VerifierSpec {
        keys,
        service: Some(required_str(s.service)?.to_owned()),
        domain: Some(required_str(s.domain)?.to_owned()),
        clock_skew: s.clock_skew_secs,
        groups: string_array(s.groups, s.group_count)?,
        login_server: Some(required_str(s.login_server)?.to_owned()),
        cookie_prefix: optional_str(s.cookie_prefix)?.map(str::to_owned),
        cookie_secure: cookie_secure(s.cookie_secure)?,
        mode: match s.mode {
            0 => Mode::Browser,
            1 => Mode::Api,
            _ => return Err(sso_result::SSO_ERR_INVALID_ARGUMENT),
        },
        binding: match s.binding {
            0 => true,
            1 => false,
            _ => return Err(sso_result::SSO_ERR_INVALID_ARGUMENT),
        },
        ..VerifierSpec::default()
    };
    let settings: Settings = spec.settings().map_err(|e| spec_result(&e))?;
    let entries = |n: usize| if n == 0 { DEFAULT_CACHE_ENTRIES } else { n };
    Ok(sso_flow_config {
        settings,
        cache: VerifyCache::new(entries(s.cache_entries)),
        bindings: MemoryBindingStore::new(entries(s.binding_entries)),
    })
}

/// The keys given as bytes (never pinned: a pin names a file).
///
/// # Safety
/// As for `sso_flow_config_new`.
unsafe fn key_bytes(s: &sso_flow_settings) -> Result<Vec<KeySpec>, sso_result> {
    let mut keys = Vec::with_capacity(s.public_key_count);
    for key in array(s.public_keys, s.public_key_count)? {
        if key.data.is_null() {
            return Err(sso_result::SSO_ERR_NULL_ARGUMENT);
        }
        keys.push(KeySpec {
            source: KeySource::Bytes(std::slice::from_raw_parts(key.data, key.len).to_vec()),
            services: None,
        });
    }
    Ok(keys)
}

fn cookie_secure(value: u32) -> Result<CookieSecure, sso_result> {
    match value {
        0 => Ok(CookieSecure::Auto),
        1 => Ok(CookieSecure::On),
        2 => Ok(CookieSecure::Off),
        _ => Err(sso_result::SSO_ERR_INVALID_ARGUMENT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `sso_flow_config_new` with a real key, the given login server.
    fn config_with_login_server(login_server: &str) -> sso_result {
        let key = sso_core::SecretKey::from_seed(&[7; 32])
            .public_key()
            .to_raw();
        let bytes = [sso_key_bytes {
            data: key.as_ptr(),
            len: key.len(),
        }];
        let login_server = std::ffi::CString::new(login_server).unwrap();
        let settings = sso_flow_settings {
            public_key_files: std::ptr::null(),
            public_key_file_count: 0,
            public_keys: bytes.as_ptr(),
            public_key_count: 1,
            service: c"www.example.org/app/".as_ptr(),
            domain: c"example.org".as_ptr(),
            login_server: login_server.as_ptr(),
            groups: std::ptr::null(),
            group_count: 0,
            cookie_secure: 0,
            cookie_prefix: std::ptr::null(),
            mode: 0,
            binding: 0,
            clock_skew_secs: 0,
            cache_entries: 0,
            binding_entries: 0,
        };
        let mut config: *mut sso_flow_config = std::ptr::null_mut();
        // SAFETY: every pointer in `settings` is valid for the call.
        let result = unsafe { sso_flow_config_new(&settings, &mut config) };
        // SAFETY: a config written on success is ours to free.
        unsafe { sso_flow_config_free(config) };
        result
    }

    /// The rule itself is `sso_core::web::check_login_server_url` (tested
    /// there); this shows the C ABI applies it.
    #[test]
    fn login_server_must_be_an_http_url_with_a_host() {
        assert_eq!(
            config_with_login_server("https://login.example.org/"),
            sso_result::SSO_OK
        );
        for bad in ["login.example.org", "https:///x", "https://a/\r\nX: y"] {
            assert_eq!(
                config_with_login_server(bad),
                sso_result::SSO_ERR_CONFIG,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn unknown_enumerated_values_are_refused() {
        assert_eq!(cookie_secure(0), Ok(CookieSecure::Auto));
        assert_eq!(cookie_secure(2), Ok(CookieSecure::Off));
        assert_eq!(cookie_secure(3), Err(sso_result::SSO_ERR_INVALID_ARGUMENT));
    }
}
