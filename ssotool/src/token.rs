//! `ssotool token NAME@HOST [SERVICE]`: print a realm ticket for other
//! tools (from the cache while it lasts, else fresh over ssh).

use crate::realm_client::RealmClientArgs;
use clap::Args;

#[derive(Args)]
pub struct TokenArgs {
    /// The realm: REALM@HOST.
    destination: String,
    /// The service to ask for (default: the realm's default service).
    service: Option<String>,
    #[command(flatten)]
    realm: RealmClientArgs,
    /// Always get a fresh ticket (still stored in the cache).
    #[arg(long)]
    fresh: bool,
}

pub fn run(a: TokenArgs) -> Result<(), String> {
    let client = a.realm.client(&a.destination, a.service, None)?;
    let ticket = if a.fresh {
        client.fresh_ticket()
    } else {
        client.ticket().map(|(t, _)| t)
    }
    .map_err(|e| e.to_string())?;
    println!("{ticket}");
    Ok(())
}
