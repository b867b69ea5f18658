//! The server's life cycle: pre_config (the binding mutex type), post_config (configuration checks, every location's
//! settings, the binding store), child_init (the verification cache, the
//! binding mutex).

use crate::config::{missing_server_setting, ServerConf};
use crate::httpd::{Level, Pool, Server, SharedCache};

pub fn pre_config(pconf: Pool<'_>) {
    crate::binding::register_mutex(pconf);
}

fn has_sso_settings(conf: &ServerConf) -> bool {
    conf.login_server.is_some() || conf.domain.is_some() || conf.keys.is_some()
}

/// Checks at startup that every server that has SSO settings has them all,
/// so a missing SSODomain or SSOPublicKeyFile shows in the error log at once
/// (requests still refuse with 500 if one is used anyway); builds every
/// location's settings; creates the binding store when any server uses SSO.
/// A store that cannot be created stops httpd with the directive's name.
pub fn post_config(pconf: Pool<'_>, ptemp: Pool<'_>, main: Server<'_>) -> Result<(), String> {
    let servers: Vec<(usize, &ServerConf)> = main
        .iter()
        .filter_map(|s| Some((s.id(), s.config::<ServerConf>()?)))
        .collect();
    crate::config::build_all(
        &servers,
        &crate::httpd::sections::<crate::config::DirConf>(pconf),
    );
    let mut any_sso = false;
    for server in main.iter() {
        let Some(conf) = server
            .config::<ServerConf>()
            .filter(|c| has_sso_settings(c))
        else {
            continue;
        };
        any_sso = true;
        if let Some(missing) = missing_server_setting(conf) {
            server.log(Level::Warning, &format!("mod_sso: {missing} is not set: AuthType SSO locations of this server will answer 500"));
        }
        server.log(
            Level::Debug,
            &format!(
                "mod_sso: {} public key(s) from {:?}",
                conf.keys.as_ref().map_or(0, |k| k.pinned.len()),
                conf.keys.as_ref().map_or(&[][..], |k| &k.files)
            ),
        );
    }
    if !any_sso {
        return Ok(());
    }
    let spec = main
        .config::<ServerConf>()
        .and_then(|c| c.binding_cache.clone())
        .unwrap_or_else(|| crate::binding::DEFAULT_PROVIDER.to_owned());
    crate::binding::create(&spec, main, pconf, ptemp)
}

pub fn child_init(pchild: Pool<'_>, main: Server<'_>) {
    crate::cache::child_init(pchild, main);
    SharedCache::child_init(pchild);
}
