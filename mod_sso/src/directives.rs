//! The directives: the command table and their handler. Every argument is
//! checked when httpd reads the configuration, by sso-core's rules
//! ([`sso_core::spec`], shared with pam_sso and libsso); an error names the
//! directive, so a bad value stops httpd at startup (or at `apache2ctl -t`)
//! instead of surfacing per request.

use std::path::PathBuf;
use std::sync::Arc;

use sso_core::file_trust;
use sso_core::flow::{CookieSecure, Mode};
use sso_core::spec;
use sso_core::KeySet;

use crate::config::{DirConf, LocationService, ServerConf};
use crate::Sso;
use httpd::{directive as d, Arg, Cmd, Command, Scope, END};

/// The command table (`cmds` of the module record).
pub const COMMANDS: [Command; 15] = [
    d::<Sso>(c"SSOLoginServer", Scope::Server, c"URL of the SSO login server, e.g. https://login.example.org/"),
    d::<Sso>(c"SSODomain", Scope::Server, c"SSO authentication domain shared with the login server"),
    d::<Sso>(c"SSOPublicKeyFile", Scope::ServerEach, c"public key files (raw 32 bytes or PEM), each optionally followed by services=REGEX; repeat for key rotation"),
    d::<Sso>(c"SSOClockSkew", Scope::Server, c"seconds a ticket is still accepted after its expiry (default 0)"),
    d::<Sso>(c"SSOCacheSize", Scope::Server, c"verified tickets cached per child process (default 16384, 0 disables)"),
    d::<Sso>(c"SSOBindingCache", Scope::Server, c"socache provider of the ticket bindings, PROVIDER[:ARGS] (default shmcb)"),
    d::<Sso>(c"SSOTrustedProxies", Scope::ServerEach, c"addresses or CIDR networks of TLS-terminating proxies whose X-Forwarded-Proto: https is believed (SSOCookieSecure Auto)"),
    d::<Sso>(c"SSOService", Scope::Dir, c"this location's service name, HOST[:PORT]/PATH/"),
    d::<Sso>(c"SSOGroups", Scope::DirEach, c"groups to ask the login server for; a ticket must hold one of them"),
    d::<Sso>(c"SSOCookiePrefix", Scope::Dir, c"prefix of the ticket and nonce cookie names (default SSO_)"),
    d::<Sso>(c"SSOCookieSecure", Scope::Dir, c"On, Off or Auto (Secure on https requests, the default)"),
    d::<Sso>(c"SSOMode", Scope::Dir, c"Browser (the default: redirect to the login server) or API (always 401, never a redirect)"),
    d::<Sso>(c"SSOExportTicket", Scope::DirFlag, c"On: put the verified ticket in the SSO_TICKET environment variable"),
    d::<Sso>(c"SSOTicketBinding", Scope::DirFlag, c"On (default): browser tickets count only with the binding cookie set at sso_login"),
    END,
];

/// The handler of every directive of [`COMMANDS`].
pub fn set(cmd: &mut Cmd<'_>, arg: Arg<'_>) -> Result<(), String> {
    let v = match arg {
        Arg::Flag(on) => {
            let export = cmd.name() == "SSOExportTicket";
            let dir = cmd.dir_config::<DirConf>()?;
            match export {
                true => dir.export_ticket = Some(on),
                _ => dir.binding = Some(on),
            }
            return Ok(());
        }
        Arg::Text(v) => v,
    };
    let on_off = |v: &str, values: &[&str]| {
        let i = values.iter().position(|w| w.eq_ignore_ascii_case(v));
        i.ok_or_else(|| format!("'{v}' is not one of {}", values.join(", ")))
    };
    let name = cmd.name().to_owned();
    match name.as_str() {
        "SSOLoginServer" => server(cmd)?.login_server = Some(spec::login_server(v).map_err(said)?),
        "SSODomain" => server(cmd)?.domain = Some(spec::domain(v).map_err(said)?),
        "SSOTrustedProxies" => {
            let proxy = sso_core::proxy::TrustedProxy::parse(v)?;
            server(cmd)?
                .trusted_proxies
                .get_or_insert_with(Vec::new)
                .push(proxy);
        }
        "SSOPublicKeyFile" => add_public_key(cmd, v)?,
        "SSOClockSkew" => server(cmd)?.clock_skew = Some(spec::clock_skew_text(v).map_err(said)?),
        "SSOCacheSize" => {
            cmd.global_only()?;
            let n: usize = v
                .parse()
                .map_err(|_| format!("'{v}' is not a number of entries"))?;
            if n > 10_000_000 {
                return Err("at most 10000000 entries".into());
            }
            server(cmd)?.cache_size = Some(n);
        }
        "SSOBindingCache" => {
            cmd.global_only()?;
            let name = v.split(':').next().unwrap_or("");
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(format!("'{v}' is not PROVIDER[:ARGUMENTS] (e.g. shmcb, or shmcb:/run/sso-binding(512000))"));
            }
            server(cmd)?.binding_cache = Some(v.to_owned());
        }
        "SSOService" => {
            let service = spec::service(v).map_err(|e| format!("'{v}': {e}"))?;
            cmd.dir_config::<DirConf>()?.service = Some(Arc::new(LocationService::new(service)));
        }
        "SSOGroups" => {
            let conf = cmd.dir_config::<DirConf>()?;
            let groups = Arc::make_mut(conf.groups.get_or_insert_with(Default::default));
            // Arguments are separated by spaces, commas or both (`a, b`).
            let list = v.trim_matches(',');
            if !list.is_empty() {
                spec::groups(list, groups).map_err(said)?;
            }
        }
        "SSOCookiePrefix" => {
            cmd.dir_config::<DirConf>()?.cookie_prefix =
                Some(Arc::from(spec::cookie_prefix(v).map_err(said)?))
        }
        "SSOCookieSecure" => {
            let mode = [CookieSecure::On, CookieSecure::Off, CookieSecure::Auto]
                [on_off(v, &["On", "Off", "Auto"])?];
            cmd.dir_config::<DirConf>()?.cookie_secure = Some(mode);
        }
        "SSOMode" => {
            let mode = [Mode::Browser, Mode::Api][on_off(v, &["Browser", "API"])?];
            cmd.dir_config::<DirConf>()?.mode = Some(mode);
        }
        _ => return Err("not a directive of mod_sso (internal error)".into()),
    }
    Ok(())
}

/// A rule's refusal as the directive's error text.
fn said(e: spec::SpecError) -> String {
    e.to_string()
}

fn server<'a>(cmd: &'a mut Cmd<'_>) -> Result<&'a mut ServerConf, String> {
    cmd.server_config::<ServerConf>()
}

/// `SSOPublicKeyFile PATH [services=REGEX] ...`, one argument at a time.
fn add_public_key(cmd: &mut Cmd<'_>, v: &str) -> Result<(), String> {
    // Relative paths are under ServerRoot, as for every httpd file directive.
    let path = PathBuf::from(cmd.server_root_relative().unwrap_or(v));
    let keys = Arc::make_mut(server(cmd)?.keys.get_or_insert_with(Default::default));
    if let Some(pattern) = v.strip_prefix("services=") {
        // Pins the key named just before to the matching services.
        let (_, pin) = keys
            .pinned
            .last_mut()
            .ok_or("services= follows the key file it pins")?;
        if pin.is_some() {
            return Err("one services= per key file".into());
        }
        *pin = Some(spec::key_services(pattern).map_err(said)?);
    } else {
        // Whoever can write a key file mints tickets: it and its
        // directories must be root's (or httpd's own user's at start), as
        // pam_sso and the login server require.
        let key = spec::load_key_file(&path, file_trust::effective_uid()).map_err(said)?;
        keys.pinned.push((key, None));
        keys.files.push(path);
    }
    keys.set = Some(KeySet::with_pins(&keys.pinned).map_err(|e| e.to_string())?);
    Ok(())
}
