//! `ssotool token NAME@HOST [SERVICE]`: print a realm ticket for other
//! tools (from the cache while it lasts, else fresh over ssh).

use clap::Args;
use sso_client::{FetchClient, SshTokenSource, TicketCache};

#[derive(Args)]
pub struct TokenArgs {
    /// The realm: REALM@HOST.
    destination: String,
    /// The service to ask for (default: the realm's default service).
    service: Option<String>,
    /// Extra ssh argument, repeatable (e.g. `--ssh-option=-p --ssh-option=2222`);
    /// `$SSO_SSH` names the ssh program, `$SSO_SSH_OPTIONS` adds arguments.
    #[arg(long = "ssh-option", value_name = "ARG", allow_hyphen_values = true)]
    ssh_options: Vec<String>,
    /// Neither read nor write the ticket cache.
    #[arg(long)]
    no_cache: bool,
    /// Always get a fresh ticket (still stored in the cache).
    #[arg(long)]
    fresh: bool,
}

pub fn run(a: TokenArgs) -> Result<(), String> {
    let source = SshTokenSource::from_env(&a.destination)
        .map_err(|e| e.to_string())?
        .with_options(a.ssh_options);
    let cache = if a.no_cache {
        None
    } else {
        Some(TicketCache::open_default()?)
    };
    let client = FetchClient::new(source, a.service, cache, None).map_err(|e| e.to_string())?;
    let ticket = if a.fresh {
        client.fresh_ticket()
    } else {
        client.ticket().map(|(t, _)| t)
    }
    .map_err(|e| e.to_string())?;
    println!("{ticket}");
    Ok(())
}
