//! The `sso-server` command: run the login server, check its
//! configuration, make a session secret, or edit a users file. See
//! `docs/sso-server.md`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use arc_swap::ArcSwap;
use clap::{Args, Parser, Subcommand};
use sso_server::auth::users_file::{edit_file, Edit};
use sso_server::config::DEFAULT_CONFIG_PATH;
use sso_server::{listener, reload};

/// The SSO login server.
#[derive(Parser)]
#[command(name = "sso-server", version, about)]
struct Cli {
    #[command(flatten)]
    run: RunArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Args)]
struct RunArgs {
    /// The configuration file.
    #[arg(short, long, value_name = "PATH", default_value = DEFAULT_CONFIG_PATH, global = true)]
    config: PathBuf,
    /// Validate the configuration and the keys, then exit.
    #[arg(long, global = true)]
    check_config: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Run the login server (what `sso-server` does without a command).
    Run,
    /// Print a new random session secret for `[session] secrets`.
    GenSecret,
    /// Edit a users file (the password is read from standard input, or
    /// prompted for on a terminal).
    #[command(subcommand)]
    User(UserCommand),
    /// Security keys (WebAuthn): enrolment codes.
    #[command(subcommand)]
    Webauthn(WebauthnCommand),
    /// OpenID Connect: the signing key and client secrets.
    #[command(subcommand)]
    Oidc(OidcCommand),
}

#[derive(Subcommand)]
enum OidcCommand {
    /// Write a new RSA signing key (PKCS#8 PEM, 2048 bits, mode 0600) for
    /// `[oidc] signing_key_file`; an existing file is never replaced.
    GenKey(GenKeyArgs),
    /// Read a client secret from standard input (at least 16 characters)
    /// and print its argon2id hash for `[[oidc.client]] secret_hash`.
    HashSecret,
}

#[derive(Args)]
struct GenKeyArgs {
    /// The key file to write.
    #[arg(long, value_name = "FILE")]
    output: PathBuf,
}

#[derive(Subcommand)]
enum WebauthnCommand {
    /// Issue a one-time code with which USER may enrol a security key
    /// (replacing any earlier code of USER): the code goes to standard
    /// output, for the user only. The file is `[webauthn]
    /// enrolment_codes_file` of the configuration (--config).
    EnrolmentCode(EnrolmentCodeArgs),
}

#[derive(Args)]
struct EnrolmentCodeArgs {
    /// Hours the code stays valid.
    #[arg(long, value_name = "N", default_value_t = sso_server::enrolment_codes::DEFAULT_HOURS)]
    hours: u64,
    /// The user name.
    user: String,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user.
    Add(UserArgs),
    /// Change a user's password (and groups, with --groups).
    Passwd(UserArgs),
    /// Delete a user.
    Del(UserFile),
    /// Enrol or remove a user's TOTP second factor.
    #[command(subcommand)]
    Totp(TotpCommand),
}

#[derive(Subcommand)]
enum TotpCommand {
    /// Make a new TOTP secret for a user (replacing any earlier one): prints
    /// the otpauth:// URI on the first line, then a QR code of it.
    Enroll(TotpArgs),
    /// Remove a user's TOTP secret.
    Remove(TotpFileArgs),
}

#[derive(Args)]
struct TotpFileArgs {
    /// The TOTP file to edit (`[auth] totp_file`).
    #[arg(long, value_name = "FILE")]
    totp_file: PathBuf,
    /// The user name.
    user: String,
}

#[derive(Args)]
struct TotpArgs {
    #[command(flatten)]
    file: TotpFileArgs,
    /// The issuer shown by the authenticator app.
    #[arg(long, value_name = "NAME", default_value = "Single sign-on")]
    issuer: String,
}

#[derive(Args)]
struct UserFile {
    /// The users file to edit.
    #[arg(long, value_name = "FILE")]
    users_file: PathBuf,
    /// The user name.
    user: String,
}

#[derive(Args)]
struct UserArgs {
    #[command(flatten)]
    file: UserFile,
    /// The user's groups, comma-separated.
    #[arg(long, value_name = "a,b")]
    groups: Option<String>,
}

/// Why a command failed; printed as `sso-server: ERROR`.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Load(#[from] reload::LoadError),
    #[error(transparent)]
    Config(#[from] sso_server::config::ConfigError),
    #[error(transparent)]
    Edit(#[from] sso_server::auth::users_file::EditError),
    #[error(transparent)]
    Totp(#[from] sso_server::totp::TotpError),
    #[error("`webauthn.enrolment_codes_file`: {0}")]
    EnrolmentCode(sso_server::enrolment_codes::IssueError),
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot handle SIGHUP: {0}")]
    Signal(std::io::Error),
    #[error("{file}: `listen`: cannot listen on {listen}: {error}")]
    Listen {
        file: String,
        listen: std::net::SocketAddr,
        error: std::io::Error,
    },
    #[error("invalid group name")]
    InvalidGroup,
    #[error("{0}: no [webauthn] table: security keys are not enabled")]
    NoWebauthn(String),
    #[error(
        "{0}: `webauthn.enrolment_codes_file` is not set: name the file the server keeps \
         enrolment codes in"
    )]
    NoEnrolmentCodesFile(String),
    #[error("{path}: {error}")]
    WriteKey { path: String, error: std::io::Error },
    #[error("{0}")]
    Oidc(String),
    #[error("reading the password: {0}")]
    ReadPassword(std::io::Error),
    #[error("empty password")]
    EmptyPassword,
    #[error("the passwords differ")]
    PasswordsDiffer,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None | Some(Command::Run) => run(&cli.run),
        Some(Command::GenSecret) => {
            println!("{}", sso_server::secret::generate());
            Ok(())
        }
        Some(Command::User(UserCommand::Totp(t))) => totp_command(t),
        Some(Command::User(u)) => user_command(u),
        Some(Command::Webauthn(WebauthnCommand::EnrolmentCode(a))) => {
            enrolment_code(&cli.run.config, &a)
        }
        Some(Command::Oidc(OidcCommand::GenKey(a))) => oidc_gen_key(&a.output),
        Some(Command::Oidc(OidcCommand::HashSecret)) => oidc_hash_secret(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sso-server: {e}");
            ExitCode::from(2)
        }
    }
}

/// Every password check (Argon2id, m = 19 MiB by default) allocates its
/// memory block and frees it at the end. glibc's malloc raises its mmap
/// threshold to the size of the first such block freed, so from then on the
/// blocks come from the heap arenas and stay resident: bench/soak_login.sh
/// saw 1.1 GB per replica after a minute of logins, and 60 logins on an
/// idle server left 790 MB. A fixed threshold keeps each block a mapping of
/// its own, unmapped when the check ends (the kernel zeroes it before any
/// reuse, so no password-derived block lingers in the heap either).
fn return_password_hash_memory_to_the_kernel() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a malloc tunable; it is called before the
    // runtime starts any thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

fn run(args: &RunArgs) -> Result<(), CliError> {
    return_password_hash_memory_to_the_kernel();
    let config_path = &args.config;
    let file = config_path.display().to_string();
    let live = reload::load(config_path, None)?;
    if args.check_config {
        println!("sso-server: {file}: configuration ok");
        return Ok(());
    }
    let config = &live.app.config;
    let listen = config.listen;
    // The same warnings as at every reload (see `warnings`).
    for w in sso_server::warnings::config_warnings(config, listen) {
        eprintln!("sso-server: warning: {file}: `{}`: {}", w.key, w.detail);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    runtime.block_on(async move {
        // Before anything listens: SIGHUP's default action ends the process.
        let hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .map_err(CliError::Signal)?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|error| CliError::Listen {
                file: file.clone(),
                listen,
                error,
            })?;
        let scheme = if live.tls.is_some() { "https" } else { "http" };
        let bound = listener.local_addr().unwrap_or(listen);
        eprintln!(
            "sso-server: listening on {scheme}://{bound} (domain {:?}, backend {})",
            live.app.config.domain,
            live.app.backend.name()
        );
        let shared: reload::Shared = Arc::new(ArcSwap::from_pointee(live));
        tokio::spawn(reload::reload_on_sighup(
            hangup,
            shared.clone(),
            config_path.clone(),
            listen,
        ));
        listener::serve(shared, listener).await;
        Ok(())
    })
}

fn user_command(command: UserCommand) -> Result<(), CliError> {
    let (action, file, groups) = match command {
        UserCommand::Add(a) => ("add", a.file, a.groups),
        UserCommand::Passwd(a) => ("passwd", a.file, a.groups),
        UserCommand::Del(f) => ("del", f, None),
        UserCommand::Totp(t) => return totp_command(t),
    };
    let groups: Option<Vec<String>> = groups.map(|g| {
        g.split(',')
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(str::to_owned)
            .collect()
    });
    if let Some(gs) = &groups {
        if !gs.iter().all(|g| sso_server::session::valid_name(g)) {
            return Err(CliError::InvalidGroup);
        }
    }
    let user = &file.user;
    let edit = match action {
        "add" => Edit::Add {
            password: read_password(user)?,
            groups: groups.unwrap_or_default(),
        },
        "passwd" => Edit::Passwd {
            password: read_password(user)?,
            groups,
        },
        _ => Edit::Delete,
    };
    edit_file(&file.users_file, user, &edit)?;
    eprintln!(
        "sso-server: {}: {action} {user:?}: done",
        file.users_file.display()
    );
    Ok(())
}

/// `sso-server user totp`: the URI (a secret: it goes to standard output
/// only) and its QR code.
fn totp_command(command: TotpCommand) -> Result<(), CliError> {
    use sso_server::totp;
    match command {
        TotpCommand::Enroll(a) => {
            let uri = totp::enroll(&a.file.totp_file, &a.file.user, &a.issuer)?;
            let qr = totp::qr_for_terminal(&uri)?;
            println!("{uri}\n{qr}");
            eprintln!(
                "sso-server: {}: totp enroll {:?}: done (any earlier secret is replaced)",
                a.file.totp_file.display(),
                a.file.user
            );
        }
        TotpCommand::Remove(f) => {
            totp::remove(&f.totp_file, &f.user)?;
            eprintln!(
                "sso-server: {}: totp remove {:?}: done",
                f.totp_file.display(),
                f.user
            );
        }
    }
    Ok(())
}

/// `sso-server webauthn enrolment-code`: the code on standard output
/// (nowhere else), what was done on standard error.
fn enrolment_code(config: &std::path::Path, args: &EnrolmentCodeArgs) -> Result<(), CliError> {
    let config = sso_server::config::Config::load(config)?;
    let file = config.path.display().to_string();
    let path = config
        .webauthn
        .as_ref()
        .ok_or_else(|| CliError::NoWebauthn(file.clone()))?
        .enrolment_codes_file
        .clone()
        .ok_or_else(|| CliError::NoEnrolmentCodesFile(file.clone()))?;
    let now = sso_core::unix_now();
    let (code, expires) = sso_server::enrolment_codes::issue(&path, &args.user, args.hours, now)
        .map_err(CliError::EnrolmentCode)?;
    println!("{code}");
    eprintln!(
        "sso-server: {}: enrolment code for {:?}: valid once, for {} hours (until Unix time \
         {expires}); any earlier code of the user is replaced",
        path.display(),
        args.user,
        args.hours
    );
    Ok(())
}

/// One line from stdin; on a terminal, prompted for twice with echo off.
fn read_password(user: &str) -> Result<String, CliError> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(CliError::ReadPassword)?;
        let p = line.trim_end_matches(['\n', '\r']).to_owned();
        if p.is_empty() {
            return Err(CliError::EmptyPassword);
        }
        return Ok(p);
    }
    let first = prompt(&format!("Password for {user}: "))?;
    let second = prompt("Again: ")?;
    if first != second {
        return Err(CliError::PasswordsDiffer);
    }
    if first.is_empty() {
        return Err(CliError::EmptyPassword);
    }
    Ok(first)
}

fn prompt(text: &str) -> Result<String, CliError> {
    eprint!("{text}");
    let _ = std::io::stderr().flush();
    // SAFETY: termios calls on fd 0 with a zeroed struct filled by tcgetattr.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    let have_tty = unsafe { libc::tcgetattr(0, &mut saved) } == 0;
    if have_tty {
        let mut quiet = saved;
        quiet.c_lflag &= !libc::ECHO;
        quiet.c_lflag |= libc::ECHONL;
        // SAFETY: fd 0 and a termios struct tcgetattr filled, echo off.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &quiet) };
    }
    let mut line = String::new();
    let r = std::io::stdin().lock().read_line(&mut line);
    if have_tty {
        // SAFETY: fd 0 and the struct tcgetattr filled: the echo restored.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &saved) };
    }
    r.map_err(CliError::ReadPassword)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

/// `sso-server oidc gen-key --output FILE`: created with mode 0600, and
/// only if nothing is there (a signing key replaced by mistake would log
/// every relying party out of its tokens).
fn oidc_gen_key(path: &std::path::Path) -> Result<(), CliError> {
    use std::os::unix::fs::OpenOptionsExt;
    let pem = sso_oidc::keys::generate_rsa_pem().map_err(CliError::Oidc)?;
    let failed = |error| CliError::WriteKey {
        path: path.display().to_string(),
        error,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(failed)?;
    file.write_all(pem.as_bytes()).map_err(failed)?;
    file.sync_all().map_err(failed)?;
    eprintln!(
        "sso-server: {}: new RSA signing key written",
        path.display()
    );
    Ok(())
}

/// `sso-server oidc hash-secret`: the secret on standard input, its hash
/// on standard output.
fn oidc_hash_secret() -> Result<(), CliError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(CliError::ReadPassword)?;
    let secret = line.trim_end_matches(['\n', '\r']);
    println!(
        "{}",
        sso_oidc::token::hash_secret(secret).map_err(CliError::Oidc)?
    );
    Ok(())
}
