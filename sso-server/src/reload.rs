//! The state the listener serves, and its replacement on SIGHUP
//! (`systemctl reload`).
//!
//! Everything the configuration names is read again: the configuration, the
//! secret and public keys, the users file (or the PAM/LDAP settings and
//! LDAP CA file), the `[ui] templates` and the TLS certificate, each
//! through the path or descriptor its trust check resolved. The new state is built and checked completely
//! before it is swapped in, so a bad configuration, an unreadable key or a
//! file that fails the StrictModes-style trust check of a start is refused
//! with a log line naming the key and the file, and the old state keeps
//! serving. Requests in progress keep the state they started with (an
//! `Arc`), so nothing in flight is dropped. The listening socket cannot
//! move: a changed `listen` is logged and applies at the next restart.
//! The warnings of a start are logged again for the new configuration
//! (`event=reload-warning`), and so is what the reload resets
//! (`event=reload-reset`, e.g. the in-memory throttle counters when
//! `[throttle]` changed).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio_rustls::TlsAcceptor;

use crate::app::StartupError;
use crate::app::{log_event, App};
use crate::config::{Config, ConfigError};
use crate::tls::TlsError;
use crate::warnings;

/// What one generation of the configuration serves with.
pub struct Live {
    pub app: Arc<App>,
    /// `None`: plain http.
    pub tls: Option<TlsAcceptor>,
}

/// The current generation, swapped whole on reload; each request takes
/// the generation that is current when it starts.
pub type Shared = Arc<ArcSwap<Live>>;

/// Why a configuration was not loaded; every message names the file (the
/// configuration's own errors name it already) and the key.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{file}: {error}")]
    Startup { file: String, error: StartupError },
    /// The trust check of a TLS file (`key` names it).
    #[error("{file}: {key}: {error}")]
    Untrusted {
        file: String,
        key: &'static str,
        error: sso_core::file_trust::Untrusted,
    },
    #[error("{file}: {error}")]
    Tls { file: String, error: Box<TlsError> },
    #[error("{0}: reading the configuration panicked")]
    Panicked(String),
}

/// Reads and checks the configuration at `path` and everything it names.
/// With `previous`, the state that must outlive a reload (the throttle
/// counters, the bound on password checks) is carried over from it.
/// Errors name the file and the key.
pub fn load(path: &Path, previous: Option<&Live>) -> Result<Live, LoadError> {
    let config = Config::load(path)?;
    let file = path.display().to_string();
    let startup = |error| LoadError::Startup {
        file: file.clone(),
        error,
    };
    let backend = crate::backend(&config).map_err(startup)?;
    let tls_files = config.tls.clone();
    // First: it checks that the key and TLS files are trusted before any
    // of them is read.
    let mut app = App::new(config, backend).map_err(startup)?;
    let tls = match &tls_files {
        Some((cert, key)) => {
            // Read by the resolved paths their trust check returned, so a
            // link swapped after the check is not followed.
            let uid = sso_core::file_trust::effective_uid();
            let checked = |key: &'static str, p: &Path| {
                sso_core::file_trust::check_file(p, uid).map_err(|error| LoadError::Untrusted {
                    file: file.clone(),
                    key,
                    error,
                })
            };
            let (cert, key) = (
                checked("tls.cert_file", cert)?,
                checked("tls.key_file", key)?,
            );
            Some(
                crate::tls::tls_acceptor(&cert, &key).map_err(|error| LoadError::Tls {
                    file: file.clone(),
                    error: Box::new(error),
                })?,
            )
        }
        None => None,
    };
    if let Some(old) = previous {
        app.carry_over(&old.app);
    }
    Ok(Live {
        app: Arc::new(app),
        tls,
    })
}

/// Waits for SIGHUP and reloads from `path` each time, for as long as the
/// server runs. `listening` is the address the socket is bound to.
pub async fn reload_on_sighup(
    mut hangup: tokio::signal::unix::Signal,
    shared: Shared,
    path: PathBuf,
    listening: SocketAddr,
) {
    while hangup.recv().await.is_some() {
        reload(&shared, &path, listening).await;
    }
}

/// One reload: the new state is built on a blocking thread (it reads
/// files and hashes a dummy password), then swapped in, or refused.
pub async fn reload(shared: &Shared, path: &Path, listening: SocketAddr) {
    let file = path.display().to_string();
    let previous = shared.load_full();
    let current = previous.clone();
    let p = path.to_path_buf();
    let built = tokio::task::spawn_blocking(move || load(&p, Some(&current)))
        .await
        .unwrap_or_else(|_| Err(LoadError::Panicked(file.clone())));
    match built {
        Ok(live) => {
            let listen = live.app.config.listen;
            if listen != listening {
                log_event(
                    "reload-warning",
                    &[
                        ("config", &file),
                        ("key", "listen"),
                        (
                            "detail",
                            &format!(
                                "changed to {listen}: a reload cannot move the listening \
                                 socket; still listening on {listening} until a restart"
                            ),
                        ),
                    ],
                );
            }
            // The warnings of a start, for what this reload now serves.
            for w in warnings::config_warnings(&live.app.config, listening) {
                log_event(
                    "reload-warning",
                    &[("config", &file), ("key", w.key), ("detail", &w.detail)],
                );
            }
            for w in warnings::reload_resets(&previous.app.config, &live.app.config) {
                log_event(
                    "reload-reset",
                    &[("config", &file), ("key", w.key), ("detail", &w.detail)],
                );
            }
            let backend = live.app.backend.name();
            live.app.metrics.reload("ok");
            shared.store(Arc::new(live));
            log_event("reload", &[("config", &file), ("backend", backend)]);
        }
        Err(e) => {
            shared.load().app.metrics.reload("refused");
            log_event(
                "reload-refused",
                &[
                    ("config", &file),
                    ("error", &e.to_string()),
                    ("detail", "still serving the previous configuration"),
                ],
            )
        }
    }
}
