//! `ssotool fetch`: a curl-like HTTP client that authenticates with a
//! realm ticket (`Authorization: SSO <ticket>`), cached per realm and
//! service, refreshed once when the server answers 401 `expired`.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use sso_client::FetchRequest;

use crate::realm_client::RealmClientArgs;

/// Environment variable with the default realm (`REALM@HOST`) for `--ssh`.
const REALM_ENV: &str = "SSO_REALM";

#[derive(Args)]
pub struct FetchArgs {
    /// The realm to get tickets from: REALM@HOST (default `$SSO_REALM`).
    #[arg(long = "ssh", value_name = "REALM@HOST")]
    destination: Option<String>,
    /// The service to ask the realm for (default: the realm's default).
    #[arg(long)]
    service: Option<String>,
    /// HTTP method.
    #[arg(short = 'X', long = "request", default_value = "GET")]
    method: String,
    /// Extra header `Name: value`, repeatable.
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    headers: Vec<String>,
    /// Request body; `@FILE` reads it from FILE.
    #[arg(short = 'd', long = "data", value_name = "DATA")]
    data: Option<String>,
    /// Write the body to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print the status line and headers before the body.
    #[arg(short = 'i', long = "include")]
    include: bool,
    /// Exit with status 1 on an HTTP status of 400 or more (the body is still written).
    #[arg(short = 'f', long = "fail")]
    fail: bool,
    /// Trust the CA certificates in this PEM file instead of the built-in roots.
    #[arg(long, value_name = "FILE")]
    cacert: Option<PathBuf>,
    #[command(flatten)]
    realm: RealmClientArgs,
    /// Send the ticket even over plain http or to a host other than the
    /// ticket's service names (a warning is printed each time). Without it
    /// a ticket goes only to https://HOST of its service.
    #[arg(long)]
    allow_any_url: bool,
    url: String,
}

pub fn run(a: FetchArgs) -> Result<(), String> {
    let destination = match a.destination {
        Some(d) => d,
        None => std::env::var(REALM_ENV)
            .map_err(|_| format!("no realm: pass --ssh REALM@HOST or set {REALM_ENV}"))?,
    };
    let client = a
        .realm
        .client(&destination, a.service, a.cacert.as_deref())?
        .allow_any_url(a.allow_any_url);
    let mut headers = Vec::new();
    for h in &a.headers {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| format!("header {h:?} is not `Name: value`"))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let body = match a.data {
        Some(d) => Some(match d.strip_prefix('@') {
            Some(file) => std::fs::read(file).map_err(|e| format!("cannot read {file}: {e}"))?,
            None => d.into_bytes(),
        }),
        None => None,
    };
    let response = client
        .fetch(&FetchRequest {
            method: a.method,
            url: a.url,
            headers,
            body,
        })
        .map_err(|e| e.to_string())?;
    let mut out: Vec<u8> = Vec::new();
    if a.include {
        out.extend_from_slice(format!("HTTP {}\r\n", response.status).as_bytes());
        for (n, v) in &response.headers {
            out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(&response.body);
    match &a.output {
        Some(path) => std::fs::write(path, &out)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        None => std::io::stdout()
            .write_all(&out)
            .map_err(|e| format!("cannot write the body: {e}"))?,
    }
    if a.fail && response.status >= 400 {
        return Err(format!("the server answered {}", response.status));
    }
    Ok(())
}
