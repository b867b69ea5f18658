//! ssotool: keys, tickets and (later) ssh token realms from the command line.
//!
//! Exit status: 0 only on success; 1 when the operation failed (a ticket is
//! invalid, a key cannot be read, ...); 2 for usage errors.

mod fetch;
mod realm;
mod realm_client;
mod token;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use sso_core::keys::{write_public_key, write_secret_key};
use sso_core::{
    decode_unverified, unix_now, Check, KeyFormat, KeySet, PublicKey, SecretKey, Signer, Ticket,
    Verifier, Version,
};

#[derive(Parser)]
#[command(
    name = "ssotool",
    version,
    about = "Keys and tickets of the ai-sso compatible SSO system"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate an Ed25519 key pair (raw ai-sso files, or PEM with --pem).
    GenKeys(GenKeysArgs),
    /// Sign a ticket and print it.
    Sign(SignArgs),
    /// Verify a ticket: print its fields and `valid`, or the failed check.
    Verify(VerifyArgs),
    /// Decode a ticket WITHOUT verifying it (for debugging only).
    Inspect(InspectArgs),
    /// Token realms over ssh: init, add, remove, list, sync, delete (as root).
    Realm(realm::RealmArgs),
    /// Print a ticket from a token realm: NAME@HOST [SERVICE].
    Token(token::TokenArgs),
    /// HTTP request with a realm ticket (curl-like), refreshed once if expired.
    Fetch(fetch::FetchArgs),
}

#[derive(Args)]
struct GenKeysArgs {
    /// Where to write the public key.
    #[arg(long, value_name = "FILE")]
    output: PathBuf,
    /// Where to write the secret key (created with mode 0600).
    #[arg(long, value_name = "FILE")]
    secret_key: PathBuf,
    /// Write PEM (PKCS#8 / SubjectPublicKeyInfo) instead of raw bytes.
    #[arg(long)]
    pem: bool,
    /// Replace existing files.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
struct SignArgs {
    /// Secret key file (raw or PEM; must not be accessible to group/others).
    #[arg(long, value_name = "FILE")]
    secret_key: PathBuf,
    #[arg(long)]
    user: String,
    /// Service name, e.g. www.example.org/app/ (must end with `/`).
    #[arg(long)]
    service: String,
    #[arg(long)]
    domain: String,
    /// Comma-separated group names.
    #[arg(long, value_delimiter = ',')]
    groups: Vec<String>,
    /// Lifetime in seconds from now.
    #[arg(long, default_value_t = 3600)]
    ttl: u64,
    /// Nonce (version 4 only).
    #[arg(long)]
    nonce: Option<String>,
    /// Ticket format version.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(3..=4))]
    version: u32,
}

#[derive(Args)]
struct VerifyArgs {
    /// Public key file (raw or PEM); repeat for key rotation.
    #[arg(long = "public-key", value_name = "FILE", required = true)]
    public_keys: Vec<PathBuf>,
    #[arg(long)]
    service: String,
    #[arg(long)]
    domain: String,
    /// The nonce the ticket must carry.
    #[arg(long)]
    nonce: Option<String>,
    /// Require at least one of these comma-separated groups.
    #[arg(long, value_delimiter = ',')]
    groups: Vec<String>,
    /// Check as of this Unix time instead of now.
    #[arg(long, value_name = "UNIXTIME")]
    now: Option<u64>,
    /// Seconds of clock-skew allowance after expiry.
    #[arg(long, default_value_t = 0)]
    clock_skew: u64,
    /// The ticket (wire form). It may start with `-` (base64url's alphabet
    /// has it), so it is never taken for an option.
    #[arg(allow_hyphen_values = true)]
    ticket: String,
}

#[derive(Args)]
struct InspectArgs {
    /// The ticket (wire form). It may start with `-` (base64url's alphabet
    /// has it), so it is never taken for an option.
    #[arg(allow_hyphen_values = true)]
    ticket: String,
}

/// ai-sso's tool spelled the key generation `ssotool --gen-keys`; accept it.
fn normalize_args(mut args: Vec<String>) -> Vec<String> {
    if args.get(1).map(String::as_str) == Some("--gen-keys") {
        args[1] = "gen-keys".into();
    }
    args
}

fn main() -> ExitCode {
    // As the login shell of a realm account, sshd starts ssotool as `-c
    // COMMAND` or `-ssotool`: never parsed as a command line.
    let args_os: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(how) = realm::shell_invocation(&args_os) {
        return finish(realm::login_shell(how));
    }
    let cli = Cli::parse_from(normalize_args(std::env::args().collect()));
    finish(match cli.command {
        Command::GenKeys(a) => gen_keys(a),
        Command::Sign(a) => sign(a),
        Command::Verify(a) => verify(a),
        Command::Inspect(a) => inspect(a),
        Command::Realm(a) => realm::run(a),
        Command::Token(a) => token::run(a),
        Command::Fetch(a) => fetch::run(a),
    })
}

/// The exit status of a run; an error is one line on stderr.
fn finish(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // Not eprintln!, which panics when stderr is gone (the forced
            // command's ssh client hung up): the exit status still tells.
            let _ = writeln!(std::io::stderr(), "ssotool: {message}");
            ExitCode::FAILURE
        }
    }
}

fn gen_keys(a: GenKeysArgs) -> Result<(), String> {
    let format = if a.pem {
        KeyFormat::Pem
    } else {
        KeyFormat::Raw
    };
    if !a.force {
        for p in [&a.output, &a.secret_key] {
            if p.exists() {
                return Err(format!(
                    "{} exists; refusing to overwrite it (use --force to replace it)",
                    p.display()
                ));
            }
        }
    }
    let key = SecretKey::generate();
    write_secret_key(&a.secret_key, &key, format, a.force).map_err(|e| e.to_string())?;
    write_public_key(&a.output, &key.public_key(), format, a.force).map_err(|e| e.to_string())?;
    println!(
        "wrote secret key {} (mode 0600) and public key {} (fingerprint {})",
        a.secret_key.display(),
        a.output.display(),
        key.public_key().fingerprint()
    );
    Ok(())
}

fn sign(a: SignArgs) -> Result<(), String> {
    let signer = Signer::from_file(&a.secret_key).map_err(|e| e.to_string())?;
    let version = Version::from_number(a.version).ok_or("--version must be 3 or 4")?;
    if version == Version::V3 && a.nonce.is_some() {
        return Err("--nonce needs --version 4".into());
    }
    let expires = unix_now().checked_add(a.ttl).ok_or("--ttl is too large")?;
    let ticket = Ticket {
        version,
        user: a.user,
        service: a.service,
        domain: a.domain,
        expires,
        nonce: a.nonce,
        groups: a.groups.into_iter().filter(|g| !g.is_empty()).collect(),
    };
    let encoded = signer.sign(&ticket).map_err(|e| {
        format!("cannot sign: {e}; fields must be non-empty and hold no `|`, group names no `,`")
    })?;
    println!("{encoded}");
    Ok(())
}

fn print_fields(t: &Ticket) {
    println!("version: {}", t.version.number());
    println!("user:    {}", t.user);
    println!("service: {}", t.service);
    println!("domain:  {}", t.domain);
    println!("expires: {}", t.expires);
    if let Some(n) = &t.nonce {
        println!("nonce:   {n}");
    }
    println!("groups:  {}", t.groups.join(","));
}

fn verify(a: VerifyArgs) -> Result<(), String> {
    let keys = a
        .public_keys
        .iter()
        .map(PublicKey::from_file)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let key_set = KeySet::new(&keys).map_err(|e| e.to_string())?;
    let verifier = Verifier::new(key_set, &a.service, &a.domain)
        .map_err(|e| e.to_string())?
        .with_clock_skew(a.clock_skew);
    let groups: Vec<String> = a.groups.into_iter().filter(|g| !g.is_empty()).collect();
    let check = Check {
        now: a.now.unwrap_or_else(unix_now),
        nonce: a.nonce.as_deref(),
        groups: &groups,
    };
    let ticket = verifier
        .verify(a.ticket.trim(), &check)
        .map_err(|e| format!("invalid: {e}"))?;
    print_fields(&ticket);
    println!("valid");
    Ok(())
}

fn inspect(a: InspectArgs) -> Result<(), String> {
    eprintln!("WARNING: NOT VERIFIED. The signature and claims of this ticket were NOT checked;");
    eprintln!("WARNING: anyone can write a ticket with these fields. Use `ssotool verify`.");
    let ticket = decode_unverified(a.ticket.trim()).map_err(|e| format!("undecodable: {e}"))?;
    println!("UNVERIFIED ticket");
    print_fields(&ticket);
    let now = unix_now();
    if ticket.expires < now {
        println!("(expired {} seconds ago)", now - ticket.expires);
    }
    Ok(())
}
