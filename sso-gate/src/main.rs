//! The `sso-gate` command: serve, or check a configuration. See
//! docs/sso-gate.md.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use sso_gate::config::{BindingStoreKind, Config, DEFAULT_CONFIG_PATH};
use sso_gate::gate::Gate;
use sso_gate::{listener, log, reload};

/// Single sign-on in front of any web server.
#[derive(Parser)]
#[command(name = "sso-gate", version, about)]
struct Cli {
    /// The configuration file.
    #[arg(short, long, value_name = "FILE", default_value = DEFAULT_CONFIG_PATH, global = true)]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve (what `sso-gate` does without a command).
    Run,
    /// Check the configuration and every key file it names, then exit.
    Check,
}

/// Why the command failed; printed as `sso-gate: ERROR`.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Config(#[from] sso_gate::config::ConfigError),
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    #[error("{file}: `binding_store`: {error}")]
    Store {
        file: String,
        error: redis::RedisError,
    },
    #[error("cannot handle SIGHUP: {0}")]
    Signal(std::io::Error),
    #[error("{file}: `listen`: cannot listen on {listen}: {error}")]
    Listen {
        file: String,
        listen: String,
        error: std::io::Error,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Check) => Config::load(&cli.config)
            .map(|c| {
                println!(
                    "sso-gate: {}: configuration ok ({} routes)",
                    cli.config.display(),
                    c.routes.len()
                );
            })
            .map_err(CliError::from),
        None | Some(Command::Run) => run(&cli.config),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sso-gate: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(path: &std::path::Path) -> Result<(), CliError> {
    let config = Config::load(path)?;
    let file = path.display().to_string();
    let listen = config.listen.clone();
    let blocking_store = config.binding_store != BindingStoreKind::Memory;
    let runtime =
        sso_gate::runtime::build(config.workers, blocking_store).map_err(CliError::Runtime)?;
    runtime.block_on(async move {
        // Before anything listens: SIGHUP's default action ends the process.
        let hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .map_err(CliError::Signal)?;
        let listener =
            listener::Listener::bind(&listen)
                .await
                .map_err(|error| CliError::Listen {
                    file: file.clone(),
                    listen: listen.to_string(),
                    error,
                })?;
        let routes = config.routes.len().to_string();
        let gate = Arc::new(Gate::new(config).map_err(|error| CliError::Store {
            file: file.clone(),
            error,
        })?);
        log::event(
            "listening",
            &[("listen", &listen.to_string()), ("routes", &routes)],
        );
        tokio::spawn(reload::reload_on_sighup(
            hangup,
            gate.clone(),
            path.to_path_buf(),
            listen,
        ));
        listener::serve(gate, listener).await;
        Ok(())
    })
}
