//! SIGHUP (`systemctl reload`): the configuration and every key file are
//! read and checked again, completely, before the new configuration is
//! swapped in; a bad one is refused with a log line naming the file and the
//! key, and the old one keeps serving (sso-server's rule, see
//! sso-server/src/reload.rs). Requests in progress keep the configuration
//! they started with. The bindings and the verification cache are kept,
//! and so are the kept-alive connections of every upstream a route still
//! names (those of the others close).
//! The listening socket and the threads cannot change: a changed `listen`,
//! `binding_store` or `workers` is logged.

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::{Config, Listen};
use crate::gate::Gate;
use crate::log;

/// Waits for SIGHUP and reloads each time.
pub async fn reload_on_sighup(
    mut hangup: tokio::signal::unix::Signal,
    gate: Arc<Gate>,
    path: PathBuf,
    listening: Listen,
) {
    while hangup.recv().await.is_some() {
        reload(&gate, &path, &listening).await;
    }
}

/// One reload, read on a blocking thread.
pub async fn reload(gate: &Gate, path: &std::path::Path, listening: &Listen) {
    let file = path.display().to_string();
    let p = path.to_path_buf();
    let built = tokio::task::spawn_blocking(move || Config::load(&p).map_err(|e| e.to_string()))
        .await
        .unwrap_or_else(|_| Err(format!("{file}: reading the configuration panicked")));
    match built {
        Ok(config) => {
            if &config.listen != listening {
                log::event(
                    "reload-warning",
                    &[
                        ("config", &file),
                        ("key", "listen"),
                        (
                            "detail",
                            &format!(
                                "changed to {}: still listening on {listening} until a restart",
                                config.listen
                            ),
                        ),
                    ],
                );
            }
            if config.binding_store != gate.config.load().binding_store {
                log::event(
                    "reload-warning",
                    &[
                        ("config", &file),
                        ("key", "binding_store"),
                        (
                            "detail",
                            "changed: the store of the start is kept until a restart",
                        ),
                    ],
                );
            }
            if config.workers != gate.config.load().workers {
                log::event(
                    "reload-warning",
                    &[
                        ("config", &file),
                        ("key", "workers"),
                        (
                            "detail",
                            "changed: the threads of the start serve until a restart",
                        ),
                    ],
                );
            }
            let routes = config.routes.len().to_string();
            gate.pool
                .keep_only(config.routes.iter().filter_map(|r| r.upstream.as_ref()));
            gate.config.store(Arc::new(config));
            log::event("reload", &[("config", &file), ("routes", &routes)]);
        }
        Err(e) => log::event(
            "reload-refused",
            &[
                ("config", &file),
                ("error", &e),
                ("detail", "still serving the previous configuration"),
            ],
        ),
    }
}
