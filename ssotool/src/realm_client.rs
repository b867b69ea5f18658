//! What `ssotool fetch` and `ssotool token` share: the options of the ssh
//! token source and the ticket cache, and the client made of them.

use std::path::Path;

use clap::Args;
use sso_client::{FetchClient, SshTokenSource, TicketCache};

#[derive(Args)]
pub struct RealmClientArgs {
    /// Extra ssh argument, repeatable (e.g. `--ssh-option=-p --ssh-option=2222`);
    /// `$SSO_SSH` names the ssh program, `$SSO_SSH_OPTIONS` adds arguments.
    #[arg(long = "ssh-option", value_name = "ARG", allow_hyphen_values = true)]
    ssh_options: Vec<String>,
    /// Neither read nor write the ticket cache.
    #[arg(long)]
    no_cache: bool,
}

impl RealmClientArgs {
    /// The client of realm DESTINATION (REALM@HOST) for SERVICE (the realm's
    /// default when `None`), trusting CACERT's roots when given.
    pub fn client(
        self,
        destination: &str,
        service: Option<String>,
        cacert: Option<&Path>,
    ) -> Result<FetchClient, String> {
        let source = SshTokenSource::from_env(destination)
            .map_err(|e| e.to_string())?
            .with_options(self.ssh_options);
        let cache = if self.no_cache {
            None
        } else {
            Some(TicketCache::open_default()?)
        };
        FetchClient::new(source, service, cache, cacert).map_err(|e| e.to_string())
    }
}
