//! [`Request`]: a request httpd is serving, and its [`Table`]s; logging.

use std::borrow::Cow;
use std::ffi::{c_int, c_void, CStr};

use super::{c_text, ffi, guard, record_ref, slot, text, Pool, Server};

/// A request, for the duration of one hook.
pub struct Request<'r> {
    r: &'r mut ffi::request_rec,
    conn: Option<&'r ffi::conn_rec>,
    /// `AuthType` of the request's location (`ap_auth_type`).
    configured_auth_type: Option<&'r str>,
}

/// What a request answers besides its status.
pub enum Answer<'a> {
    /// This body, of this content type (the hook then returns `DONE`).
    Body(&'static CStr, &'a [u8]),
    /// The body httpd sends for this status (`ErrorDocument`).
    ErrorDocument(c_int, &'static CStr),
}

/// Log levels (`LogLevel NAME:LEVEL`), as httpd numbers them.
#[derive(Clone, Copy)]
pub enum Level {
    Error = ffi::APLOG_ERR as isize,
    Warning = ffi::APLOG_WARNING as isize,
    Info = ffi::APLOG_INFO as isize,
    Debug = ffi::APLOG_DEBUG as isize,
}

/// The request's text fields.
#[derive(Clone, Copy)]
pub enum Field {
    Method,
    Uri,
    /// The request line (`%r` of the access log).
    TheRequest,
    UnparsedUri,
    /// The query string.
    Args,
    /// The query string of the parsed URI.
    ParsedQuery,
    /// `r->user`.
    User,
    /// `r->ap_auth_type`: the type that authenticated the request.
    AuthType,
}

/// The request's tables.
#[derive(Clone, Copy)]
pub enum Tables {
    HeadersIn,
    HeadersOut,
    ErrHeadersOut,
    /// The environment of CGI scripts and of later modules.
    Env,
    Notes,
}

impl<'r> Request<'r> {
    /// Runs a hook's body on the request `r` behind the panic boundary: a
    /// panic (or no request) answers `fail`.
    pub(super) fn run<R: Copy>(
        r: *mut ffi::request_rec,
        fail: R,
        f: impl FnOnce(&mut Request<'_>) -> R,
    ) -> R {
        guard(fail, || {
            // SAFETY: httpd passes the request it is serving, alive for the
            // whole hook and used by no other thread meanwhile; its
            // connection record outlives it. `ap_auth_type` reads the live
            // request (it writes nothing) and answers a string of the
            // core's directory record, which outlives the request.
            let request = unsafe {
                r.as_mut().map(|r| {
                    let auth_type = ffi::ap_auth_type(r);
                    (r.connection.as_ref(), auth_type, r)
                })
            };
            match request {
                Some((conn, auth_type, r)) => f(&mut Request {
                    r,
                    conn,
                    configured_auth_type: text(auth_type),
                }),
                None => fail,
            }
        })
    }

    pub(super) fn as_ptr(&mut self) -> *mut ffi::request_rec {
        self.r
    }

    pub fn pool(&self) -> Pool<'r> {
        Pool::of(self.r.pool).expect("httpd gives every request a pool")
    }

    pub fn field(&self, field: Field) -> Option<&'r str> {
        let r = &*self.r;
        text(match field {
            Field::Method => r.method,
            Field::Uri => r.uri,
            Field::TheRequest => r.the_request,
            Field::UnparsedUri => r.unparsed_uri,
            Field::Args => r.args,
            Field::ParsedQuery => r.parsed_uri.query,
            Field::User => r.user,
            Field::AuthType => r.ap_auth_type,
        })
    }

    /// Sets `field` to a copy of `value` in the request's pool (the method
    /// stays as it is).
    pub fn set(&mut self, field: Field, value: &str) {
        let value = self.pool().c_str(value);
        let r = &mut *self.r;
        *match field {
            Field::Method => return,
            Field::Uri => &mut r.uri,
            Field::TheRequest => &mut r.the_request,
            Field::UnparsedUri => &mut r.unparsed_uri,
            Field::Args => &mut r.args,
            Field::ParsedQuery => &mut r.parsed_uri.query,
            Field::User => &mut r.user,
            Field::AuthType => &mut r.ap_auth_type,
        } = value;
    }

    /// True for a request that is not a subrequest.
    pub fn is_main(&self) -> bool {
        self.r.main.is_null()
    }

    /// True when `r->user` is set (whatever its bytes).
    pub fn has_user(&self) -> bool {
        !self.r.user.is_null()
    }

    /// `AuthType` of the request's location (`ap_auth_type`).
    pub fn configured_auth_type(&self) -> Option<&'r str> {
        self.configured_auth_type
    }

    /// The scheme httpd serves the request on (`ap_run_http_scheme`):
    /// asked only by the hooks that need it (it runs a hook of its own).
    pub fn scheme(&self) -> Option<&'r str> {
        let r: *const ffi::request_rec = &*self.r;
        // SAFETY: a live request; the hook only reads it and answers a
        // static string or one of the request's pool (it outlives `'r`).
        text(unsafe { ffi::ap_run_http_scheme(r) })
    }

    /// When httpd received the request, in seconds since the Unix epoch
    /// (`r->request_time`): what the request's checks count as now.
    pub fn time(&self) -> u64 {
        u64::try_from(self.r.request_time / 1_000_000).unwrap_or(0)
    }

    /// The TCP peer's address (not mod_remoteip's client address).
    pub fn peer_ip(&self) -> Option<&'r str> {
        text(self.conn?.client_ip)
    }

    pub fn table(&self, which: Tables) -> Table<'r> {
        let r = &*self.r;
        let t = match which {
            Tables::HeadersIn => r.headers_in,
            Tables::HeadersOut => r.headers_out,
            Tables::ErrHeadersOut => r.err_headers_out,
            Tables::Env => r.subprocess_env,
            Tables::Notes => r.notes,
        };
        let pool = self.pool();
        Table { t, pool }
    }

    pub fn status(&self) -> c_int {
        self.r.status
    }

    pub fn set_status(&mut self, status: c_int) {
        self.r.status = status;
        self.r.status_line = std::ptr::null();
    }

    pub fn server(&self) -> Option<Server<'r>> {
        Server::of(self.r.server)
    }

    /// This module's merged per-directory record.
    pub fn dir_config<T: 'static>(&self) -> Option<&'r T> {
        record_ref(slot(self.r.per_dir_config)?.get())
    }

    /// Keeps `value` with the request (in its pool) for later hooks.
    pub fn set_data<T: Send + Sync + 'static>(&mut self, value: T) {
        let record = self.pool().tagged(value);
        if let Some(slot) = slot(self.r.request_config) {
            slot.set(record);
        }
    }

    /// What [`Request::set_data`] kept for this request or for the one it
    /// derives from (subrequests, internal redirects).
    pub fn data<T: 'static>(&self) -> Option<&'r T> {
        let mut r: *const ffi::request_rec = &*self.r;
        for _ in 0..32 {
            // SAFETY: the requests a live request derives from (`main`,
            // `prev`) outlive it.
            let req = unsafe { r.as_ref() }?;
            if let Some(data) = slot(req.request_config).and_then(|s| record_ref(s.get())) {
                return Some(data);
            }
            r = if req.main.is_null() {
                req.prev
            } else {
                req.main
            };
        }
        None
    }

    /// Sets what the request answers (see [`Answer`]).
    pub fn answer(&mut self, answer: Answer<'_>) {
        let r: *mut ffi::request_rec = self.r;
        // SAFETY: a live request; httpd copies the strings and the body's
        // bytes (`ap_rwrite` writes `len` of them), and keeps the static
        // content type's pointer.
        unsafe {
            match answer {
                Answer::Body(content_type, body) => {
                    let Ok(len) = c_int::try_from(body.len()) else {
                        return;
                    };
                    ffi::ap_set_content_type(r, content_type.as_ptr());
                    ffi::ap_set_content_length(r, ffi::apr_off_t::from(len));
                    ffi::ap_rwrite(body.as_ptr().cast::<c_void>(), len, r);
                }
                Answer::ErrorDocument(status, body) => {
                    ffi::ap_custom_response(r, status, body.as_ptr())
                }
            }
        }
    }

    /// Logs what `msg` makes, made only when this module logs `level` for
    /// the request.
    pub fn log_with(&self, level: Level, msg: impl FnOnce() -> String) {
        if log(Some(&*self.r), self.r.server, level, None) {
            self.log(level, &msg());
        }
    }

    /// Logs `msg` for the request under this module's name.
    pub fn log(&self, level: Level, msg: &str) {
        log(Some(&*self.r), self.r.server, level, Some(msg));
    }
}

/// Whether this module logs `level` for a request (for a server when there
/// is none); logs `msg` too, if given and the level is enabled.
pub(super) fn log(
    r: Option<&ffi::request_rec>,
    s: *const ffi::server_rec,
    level: Level,
    msg: Option<&str>,
) -> bool {
    let msg: Option<Cow<'_, str>> = msg.map(|m| match m.contains('\0') {
        true => m.replace('\0', " ").into(),
        false => m.into(),
    });
    let (ptr, len) = msg.as_deref().map_or((std::ptr::null(), 0), |m| {
        (
            m.as_ptr().cast(),
            c_int::try_from(m.len()).unwrap_or(c_int::MAX),
        )
    });
    let r = r.map_or(std::ptr::null(), |r| r as *const ffi::request_rec);
    let module = super::module_index() as c_int;
    // SAFETY: a live request or server; httpd prints `len` bytes of `ptr`
    // (NULL: it only answers whether the level is enabled).
    unsafe { ffi::httpd_log(r, s, module, level as c_int, ptr, len) != 0 }
}

/// An APR table of a request (headers, environment, notes).
pub struct Table<'r> {
    t: *mut ffi::apr_table_t,
    pool: Pool<'r>,
}

impl<'r> Table<'r> {
    fn entries(&self) -> &[ffi::apr_table_entry_t] {
        // SAFETY: a live table of the request (crate invariant), whose
        // array holds `nelts` entries; the slice is gone before the table
        // can change (its methods take `&self` and none returns it).
        unsafe {
            match ffi::apr_table_elts(self.t).as_ref() {
                Some(a) if !a.elts.is_null() && a.nelts > 0 => {
                    std::slice::from_raw_parts(a.elts.cast(), a.nelts as usize)
                }
                _ => &[],
            }
        }
    }

    /// The entries named `key` (case-insensitive), compared as bytes: a
    /// key is not validated as UTF-8 only to be compared.
    fn named<'t>(&'t self, key: &'t str) -> impl Iterator<Item = &'t ffi::apr_table_entry_t> {
        self.entries().iter().filter(move |e| {
            c_text(e.key).is_some_and(|k| k.to_bytes().eq_ignore_ascii_case(key.as_bytes()))
        })
    }

    /// The first value of `key` (case-insensitive).
    pub fn get(&self, key: &str) -> Option<&'r str> {
        text(self.named(key).next()?.val)
    }

    /// Every value of `key`, in order. Read lossily: one cookie of another
    /// application that is not UTF-8 must not hide the whole `Cookie`
    /// header (and with it the module's own ASCII cookies).
    pub fn get_all<'t>(&'t self, key: &'t str) -> impl Iterator<Item = Cow<'r, str>> + 't {
        self.named(key)
            .filter_map(|e| c_text(e.val))
            // The strict check first: it reads ASCII a word at a time, the
            // lossy one a byte at a time.
            .map(|v| {
                v.to_str()
                    .map_or_else(|_| v.to_string_lossy(), Cow::Borrowed)
            })
    }

    /// Sets `key` to `value`, replacing earlier values.
    pub fn set(&self, key: &str, value: &str) {
        self.put(key, value, false);
    }

    /// Sets the static name `key` (not copied: httpd keeps the pointer) to
    /// the `parts` joined by `separator`, made once in the request's pool.
    pub fn set_joined<S: AsRef<str>>(&self, key: &'static CStr, parts: &[S], separator: &str) {
        let v = self.pool.c_str_joined(parts, separator);
        if v.is_null() {
            return;
        }
        // SAFETY: a live table of the request; the key is static, the
        // value in the request's pool, which outlives the table.
        unsafe { ffi::apr_table_setn(self.t, key.as_ptr(), v) }
    }

    /// Adds another `key` (for headers that repeat, such as Set-Cookie).
    pub fn add(&self, key: &str, value: &str) {
        self.put(key, value, true);
    }

    fn put(&self, key: &str, value: &str, add: bool) {
        let (k, v) = (self.pool.c_str(key), self.pool.c_str(value));
        // SAFETY: a live table of the request; both strings are in the
        // request's pool, which outlives the table.
        unsafe {
            if add {
                ffi::apr_table_addn(self.t, k, v);
            } else {
                ffi::apr_table_setn(self.t, k, v);
            }
        }
    }
}
