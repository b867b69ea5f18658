//! `ssotool realm ...`: token realm administration (as root), the forced
//! command `realm issue` that sshd runs for every realm key, and ssotool as
//! the realm account's login shell. The logic is in the `sso-realm` crate;
//! this is the command line.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use sso_realm::admin::{RealmAdmin, DEFAULT_TTL};
use sso_realm::issue::issue;
use sso_realm::shell::{self, Invocation};
use sso_realm::syslog;
use sso_realm::users::parse_groups;

#[derive(Args)]
pub struct RealmArgs {
    /// Root directory of realm files (default `$SSO_REALM_ROOT`, else `/`;
    /// for `issue` always `/`): settings go to ROOT/etc/sso/realms/NAME,
    /// the account's home to ROOT/var/lib/sso-realm/NAME.
    #[arg(long, global = true, value_name = "DIR")]
    root: Option<PathBuf>,
    #[command(subcommand)]
    command: RealmCommand,
}

#[derive(Subcommand)]
enum RealmCommand {
    /// Create a realm: system account, home, key pair, settings (as root).
    Init(InitArgs),
    /// Register a user's ssh public key(s) (as root).
    Add(AddArgs),
    /// Remove every key of a user (as root).
    Remove(UserArgs),
    /// Show a realm's settings and users.
    List(NameArgs),
    /// Rewrite authorized_keys and fix owners and modes (as root).
    Sync(NameArgs),
    /// Delete a realm: account, home, keys, settings (as root).
    Delete(NameArgs),
    /// The forced command sshd runs for a realm key: print one ticket.
    Issue(UserArgs),
}

#[derive(Args)]
struct InitArgs {
    name: String,
    /// Domain of the tickets (default: this host's name).
    #[arg(long)]
    domain: Option<String>,
    /// Allowed service, repeatable; the first is the default
    /// (default: `HOSTNAME/`).
    #[arg(long = "service", value_name = "SERVICE")]
    services: Vec<String>,
    /// Ticket lifetime in seconds.
    #[arg(long, default_value_t = DEFAULT_TTL)]
    ttl: u64,
}

#[derive(Args)]
struct AddArgs {
    name: String,
    /// File holding one or more OpenSSH public keys (`ssh-ed25519 AAAA... comment`).
    pubkey_file: PathBuf,
    /// The ticket user for these keys.
    #[arg(long)]
    user: String,
    /// Comma-separated groups carried in the user's tickets.
    #[arg(long, default_value = "")]
    groups: String,
}

#[derive(Args)]
struct UserArgs {
    name: String,
    user: String,
}

#[derive(Args)]
struct NameArgs {
    name: String,
}

fn host_name() -> Result<String, String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map_err(|e| format!("cannot read the host name ({e}); pass --domain and --service"))?;
    Ok(name.trim().to_owned())
}

/// The absolute path of this ssotool, for the forced command.
fn issuer_path() -> Result<PathBuf, String> {
    std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(|e| format!("cannot find the path of ssotool itself: {e}"))
}

pub fn run(args: RealmArgs) -> Result<(), String> {
    let admin = match args.command {
        // The forced command's environment is partly the ssh client's
        // (AcceptEnv, PermitUserEnvironment), and the root decides whose
        // settings, users and key count: it comes from the authorized_keys
        // line, which always names it, or is `/`.
        RealmCommand::Issue(_) => RealmAdmin::new(args.root.unwrap_or_else(|| PathBuf::from("/"))),
        _ => RealmAdmin::from_flag_or_env(args.root),
    };
    match args.command {
        RealmCommand::Init(a) => {
            let domain = match a.domain {
                Some(d) => d,
                None => host_name()?,
            };
            let services = if a.services.is_empty() {
                vec![format!("{}/", host_name()?)]
            } else {
                a.services
            };
            let settings = admin
                .init(&a.name, &domain, &services, a.ttl, &issuer_path()?)
                .map_err(|e| e.to_string())?;
            eprintln!(
                "created realm {} (domain {}, services {}, tickets valid {} s)",
                settings.name,
                settings.domain,
                settings.services.join(" "),
                settings.ttl
            );
            eprintln!("services verify its tickets with this public key (add it as one more SSOPublicKeyFile):");
            println!("{}", admin.public_key_path(&settings.name).display());
            Ok(())
        }
        RealmCommand::Add(a) => {
            let groups = parse_groups(&a.groups).map_err(|e| e.to_string())?;
            let text = RealmAdmin::read_key_file(&a.pubkey_file).map_err(|e| e.to_string())?;
            let added = admin
                .add(&a.name, &text, &a.user, &groups)
                .map_err(|e| e.to_string())?;
            for u in added {
                println!(
                    "added {} {} for user {} to realm {}",
                    u.key.key_type,
                    u.key.fingerprint(),
                    u.user,
                    a.name
                );
            }
            Ok(())
        }
        RealmCommand::Remove(a) => {
            let n = admin.remove(&a.name, &a.user).map_err(|e| e.to_string())?;
            println!(
                "removed {n} key(s) of user {} from realm {}",
                a.user, a.name
            );
            Ok(())
        }
        RealmCommand::List(a) => {
            let (settings, users) = admin.list(&a.name).map_err(|e| e.to_string())?;
            println!("realm:    {}", settings.name);
            println!("domain:   {}", settings.domain);
            println!("services: {}", settings.services.join(" "));
            println!("ttl:      {}", settings.ttl);
            println!(
                "public key: {}",
                admin.public_key_path(&settings.name).display()
            );
            for u in users {
                let groups = if u.groups.is_empty() {
                    "-".to_owned()
                } else {
                    u.groups.join(",")
                };
                println!(
                    "user {} groups {} key {} {} {}",
                    u.user,
                    groups,
                    u.key.key_type,
                    u.key.fingerprint(),
                    u.key.comment
                );
            }
            Ok(())
        }
        RealmCommand::Sync(a) => {
            let settings = admin
                .sync(&a.name, Some(&issuer_path()?))
                .map_err(|e| e.to_string())?;
            println!("synced realm {}", settings.name);
            Ok(())
        }
        RealmCommand::Delete(a) => {
            admin.delete(&a.name).map_err(|e| e.to_string())?;
            println!("deleted realm {}", a.name);
            Ok(())
        }
        RealmCommand::Issue(a) => issue_command(&admin, &a.name, &a.user),
    }
}

/// ssotool started as the login shell of a realm account (see
/// `sso_realm::shell`): the forced command runs, anything else is refused
/// (a one-line reason on stderr and in syslog, exit status 1).
pub fn login_shell(how: Invocation) -> Result<(), String> {
    let client = ssh_client_address();
    let refused = |what: &str| {
        syslog::warning(&format!(
            "login shell of uid {} from {client}: refused {what}",
            sso_client::fsutil::effective_uid()
        ));
        Err(shell::REFUSAL.to_owned())
    };
    let command = match how {
        Invocation::ShellCommand(command) => command,
        Invocation::InteractiveLogin => return refused("an interactive login"),
        Invocation::Command => return refused("a start without a command"),
    };
    let own_path = issuer_path()?;
    let own_path = own_path.to_str().unwrap_or_default();
    match shell::parse_command(&command, own_path) {
        Some(request) => issue_command(
            &RealmAdmin::new(request.root),
            &request.realm,
            &request.user,
        ),
        // The command itself is not logged: it may hold anything.
        None => refused("a command that is not its forced command"),
    }
}

/// Whether the arguments start ssotool as a shell rather than as a command.
pub fn shell_invocation(args: &[OsString]) -> Option<Invocation> {
    match shell::invocation(args) {
        Invocation::Command => None,
        how => Some(how),
    }
}

/// The ssh client's address for the log (`local` outside ssh).
fn ssh_client_address() -> String {
    std::env::var("SSH_CLIENT")
        .ok()
        .and_then(|c| c.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "local".into())
}

/// The command the client asked for, `None` if it sent none. One that is
/// not UTF-8 is refused: read lossily or as absent, it would become a
/// request for another or the default service.
fn original_command(realm: &str) -> Result<Option<String>, String> {
    match std::env::var_os("SSH_ORIGINAL_COMMAND") {
        None => Ok(None),
        Some(command) => command.into_string().map(Some).map_err(|_| {
            format!(
                "refused: realm {realm} only answers `ssh -T {realm}@HOST [SERVICE]`; the \
                 requested command is not UTF-8"
            )
        }),
    }
}

/// Writes the ticket to stdout. An error (the client went away: EPIPE) is
/// returned, where `println!` would panic.
fn print_ticket(ticket: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{ticket}")?;
    out.flush()
}

/// The forced command: a ticket on stdout, or a one-line reason on stderr
/// (printed by main) and in syslog, and a non-zero exit.
fn issue_command(admin: &RealmAdmin, realm: &str, user: &str) -> Result<(), String> {
    let client = ssh_client_address();
    let result = original_command(realm).and_then(|original| {
        let issued = issue(
            admin,
            realm,
            user,
            original.as_deref(),
            sso_core::unix_now(),
        )
        .map_err(|e| e.to_string())?;
        // Logged as a refusal, not as issued: the client did not get it.
        print_ticket(&issued.ticket).map_err(|e| {
            format!(
                "cannot write ticket {} for service {} to the client: {e}",
                issued.fingerprint, issued.service
            )
        })?;
        Ok(issued)
    });
    match result {
        Ok(issued) => {
            syslog::info(&format!(
                "realm {realm}: issued ticket {} for user {} service {} expiring {} to {client}",
                issued.fingerprint, issued.user, issued.service, issued.expires
            ));
            Ok(())
        }
        Err(reason) => {
            syslog::warning(&format!(
                "realm {realm}: user {user} from {client}: {reason}"
            ));
            Err(reason)
        }
    }
}
