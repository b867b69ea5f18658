//! Directives: the command table and [`Cmd`], what a handler sees.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr::{null, null_mut};

use super::{ffi, guard, record_mut, slot, text, Module, Pool};

/// Where a directive may appear, and what it takes.
#[derive(Clone, Copy)]
pub enum Scope {
    /// Server context, one argument.
    Server,
    /// Server context, each argument in turn.
    ServerEach,
    /// Server and directory contexts (`AuthConfig` overrides), one argument.
    Dir,
    /// The same, each argument in turn.
    DirEach,
    /// The same, On or Off.
    DirFlag,
}

/// A directive's argument.
pub enum Arg<'a> {
    Text(&'a str),
    Flag(bool),
}

/// A directive `name` of module `M`, handled by `M::directive`.
pub const fn directive<M: Module>(
    name: &'static CStr,
    scope: Scope,
    help: &'static CStr,
) -> ffi::command_rec {
    const SERVER: u32 = ffi::RSRC_CONF;
    const DIR: u32 = ffi::RSRC_CONF | ffi::ACCESS_CONF | ffi::OR_AUTHCFG;
    let (how, context) = match scope {
        Scope::Server => (ffi::cmd_how::TAKE1, SERVER),
        Scope::ServerEach => (ffi::cmd_how::ITERATE, SERVER),
        Scope::Dir => (ffi::cmd_how::TAKE1, DIR),
        Scope::DirEach => (ffi::cmd_how::ITERATE, DIR),
        Scope::DirFlag => (ffi::cmd_how::FLAG, DIR),
    };
    let func = match scope {
        Scope::DirFlag => ffi::cmd_func {
            flag: Some(flag::<M>),
        },
        _ => ffi::cmd_func {
            take1: Some(take1::<M>),
        },
    };
    ffi::command_rec {
        name: name.as_ptr(),
        func,
        // The handler's name, for its errors (`cmd->info`).
        cmd_data: name.as_ptr().cast_mut().cast(),
        req_override: context as c_int,
        args_how: how,
        errmsg: help.as_ptr(),
    }
}

/// The end of a command table.
pub const END: ffi::command_rec = ffi::command_rec {
    name: null(),
    func: ffi::cmd_func { take1: None },
    cmd_data: null_mut(),
    req_override: 0,
    args_how: 0,
    errmsg: null(),
};

extern "C" fn take1<M: Module>(
    cmd: *mut ffi::cmd_parms,
    dir: *mut c_void,
    arg: *const c_char,
) -> *const c_char {
    run::<M>(cmd, dir, arg, None)
}

extern "C" fn flag<M: Module>(
    cmd: *mut ffi::cmd_parms,
    dir: *mut c_void,
    on: c_int,
) -> *const c_char {
    run::<M>(cmd, dir, null(), Some(on != 0))
}

/// Runs `M::directive` on `arg` (or `flag`): its error (or a panic)
/// becomes the directive's error, which stops httpd with the directive's
/// name in it.
fn run<M: Module>(
    cmd: *mut ffi::cmd_parms,
    dir: *mut c_void,
    arg: *const c_char,
    flag: Option<bool>,
) -> *const c_char {
    guard(c"internal error while reading a directive".as_ptr(), || {
        // SAFETY: httpd passes the live record of the directive it reads,
        // and its argument (a C string or NULL); both functions read them
        // and answer NULL or a string in the record's pool.
        let parms = unsafe {
            cmd.as_mut().map(|parms| {
                let global = ffi::ap_check_cmd_context(parms, ffi::GLOBAL_ONLY);
                let path = match arg.is_null() {
                    true => null(),
                    false => ffi::ap_server_root_relative(parms.pool, arg),
                };
                (&*parms, text(global), text(path))
            })
        };
        let Some((parms, not_global, path)) = parms else {
            return c"no directive record (internal error)".as_ptr();
        };
        let mut cmd = Cmd {
            parms,
            dir,
            not_global,
            path,
        };
        let name = text(parms.info as *const c_char).unwrap_or(super::module_name());
        let internal = Err(format!("internal error of {}", super::module_name()));
        let result = guard(internal, || match (flag, text(arg)) {
            (Some(on), _) => M::directive(&mut cmd, Arg::Flag(on)),
            (None, Some(a)) => M::directive(&mut cmd, Arg::Text(a)),
            (None, None) => Err("the argument is not valid UTF-8".to_owned()),
        });
        match result {
            Ok(()) => null(),
            // httpd's own messages (context checks) name the directive.
            Err(e) if e.starts_with(name) => cmd.pool().c_str(&e.replace('\0', " ")),
            Err(e) => cmd.pool().c_str(&format!("{name}: {e}").replace('\0', " ")),
        }
    })
}

/// A directive being read.
pub struct Cmd<'a> {
    parms: &'a ffi::cmd_parms,
    dir: *mut c_void,
    /// httpd's refusal of the directive outside the main server's context.
    not_global: Option<&'a str>,
    /// The argument as a path under ServerRoot unless absolute.
    path: Option<&'a str>,
}

impl Cmd<'_> {
    /// The directive's name.
    pub fn name(&self) -> &str {
        text(self.parms.info as *const c_char).unwrap_or("")
    }

    /// The configuration pool.
    pub fn pool(&self) -> Pool<'_> {
        Pool::of(self.parms.pool).expect("httpd reads directives with a pool")
    }

    /// The record of the server being configured.
    pub fn server_config<T: 'static>(&mut self) -> Result<&mut T, String> {
        let server = super::Server::of(self.parms.server).ok_or("no server (internal error)")?;
        slot(server.vector())
            .and_then(|s| record_mut(s.get()))
            .ok_or_else(|| "no server configuration (internal error)".to_owned())
    }

    /// The record of the section being configured.
    pub fn dir_config<T: 'static>(&mut self) -> Result<&mut T, String> {
        record_mut(self.dir).ok_or_else(|| "no directory configuration (internal error)".to_owned())
    }

    /// The argument as a path under ServerRoot unless absolute, as for
    /// every httpd file (`ap_server_root_relative`).
    pub fn server_root_relative(&self) -> Option<&str> {
        self.path
    }

    /// Refuses the directive inside `<VirtualHost>` and directory sections.
    pub fn global_only(&self) -> Result<(), String> {
        self.not_global.map_or(Ok(()), |e| Err(e.to_owned()))
    }
}
