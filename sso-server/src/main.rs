//! `sso-server [--config PATH]`: run the login server.
//! `sso-server --check-config [--config PATH]`: validate and exit.
//! `sso-server user add|passwd|del --users-file F USER [--groups a,b]`:
//! edit a users file (the password is read from stdin, or prompted for).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use sso_server::auth::users_file::{edit_file, Edit};
use sso_server::config::{Config, DEFAULT_CONFIG_PATH};
use sso_server::server::{self, App};

const USAGE: &str = "usage:
  sso-server [--config PATH]                 run the login server
                                             (default config: /etc/sso/sso-server.toml)
  sso-server --check-config [--config PATH]  validate the configuration and keys
  sso-server user add    --users-file FILE USER [--groups a,b]
  sso-server user passwd --users-file FILE USER [--groups a,b]
  sso-server user del    --users-file FILE USER
      (the password is read from standard input, or prompted for on a terminal)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().map(String::as_str) == Some("user") {
        user_command(&args[1..])
    } else {
        run(&args)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sso-server: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let mut config_path = PathBuf::from(DEFAULT_CONFIG_PATH);
    let mut check_only = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--config" | "-c" => {
                config_path = it.next().ok_or("--config needs a path")?.into();
            }
            "--check-config" => check_only = true,
            "--help" | "-h" => {
                println!("{USAGE}");
                return Ok(());
            }
            "--version" => {
                println!("sso-server {}", env!("CARGO_PKG_VERSION"));
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let config = Config::load(&config_path).map_err(|e| e.to_string())?;
    let file = config_path.display().to_string();
    let backend = sso_server::backend(&config).map_err(|e| format!("{file}: {e}"))?;
    let tls = match &config.tls {
        Some((cert, key)) => {
            Some(server::tls_acceptor(cert, key).map_err(|e| format!("{file}: {e}"))?)
        }
        None => None,
    };
    let listen = config.listen;
    let any = config.allowed_services.is_none();
    // Plain http off loopback with no proxy in front: passwords would cross
    // the network in clear, and every client would share one address.
    let cleartext =
        tls.is_none() && !listen.ip().is_loopback() && config.trusted_proxies.is_empty();
    let app = App::new(config, backend).map_err(|e| format!("{file}: {e}"))?;
    if check_only {
        println!("sso-server: {file}: configuration ok");
        return Ok(());
    }
    if any {
        eprintln!(
            "sso-server: warning: allow_any_service = true: tickets are issued for ANY service"
        );
    }
    if cleartext {
        eprintln!(
            "sso-server: warning: {file}: `listen` = {listen} serves plain http off loopback \
             and no `trusted_proxies` are set: configure [tls], or listen on loopback behind \
             a TLS proxy and list it in `trusted_proxies`"
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("{file}: `listen`: cannot listen on {listen}: {e}"))?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        eprintln!(
            "sso-server: listening on {scheme}://{} (domain {:?}, backend {})",
            listener
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_default(),
            app.config.domain,
            app.backend.name()
        );
        server::serve(Arc::new(app), listener, tls).await;
        Ok(())
    })
}

fn user_command(args: &[String]) -> Result<(), String> {
    let usage = || format!("bad arguments\n{USAGE}");
    let action = args.first().ok_or_else(usage)?.as_str();
    let mut users_file: Option<PathBuf> = None;
    let mut groups: Option<Vec<String>> = None;
    let mut user: Option<String> = None;
    let mut it = args[1..].iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--users-file" => users_file = Some(it.next().ok_or_else(usage)?.into()),
            "--groups" => {
                groups = Some(
                    it.next()
                        .ok_or_else(usage)?
                        .split(',')
                        .map(str::trim)
                        .filter(|g| !g.is_empty())
                        .map(str::to_owned)
                        .collect(),
                )
            }
            s if s.starts_with('-') => return Err(usage()),
            s => {
                if user.replace(s.to_owned()).is_some() {
                    return Err(usage());
                }
            }
        }
    }
    let users_file = users_file.ok_or("--users-file FILE is required")?;
    let user = user.ok_or("a user name is required")?;
    if let Some(gs) = &groups {
        if !gs.iter().all(|g| sso_server::session::valid_name(g)) {
            return Err("invalid group name".into());
        }
    }
    let edit = match action {
        "add" => Edit::Add {
            password: read_password(&user)?,
            groups: groups.unwrap_or_default(),
        },
        "passwd" => Edit::Passwd {
            password: read_password(&user)?,
            groups,
        },
        "del" => Edit::Delete,
        _ => return Err(usage()),
    };
    edit_file(&users_file, &user, &edit)?;
    eprintln!(
        "sso-server: {}: {action} {user:?}: done",
        users_file.display()
    );
    Ok(())
}

/// One line from stdin; on a terminal, prompted for twice with echo off.
fn read_password(user: &str) -> Result<String, String> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("reading the password: {e}"))?;
        let p = line.trim_end_matches(['\n', '\r']).to_owned();
        if p.is_empty() {
            return Err("empty password".into());
        }
        return Ok(p);
    }
    let first = prompt(&format!("Password for {user}: "))?;
    let second = prompt("Again: ")?;
    if first != second {
        return Err("the passwords differ".into());
    }
    if first.is_empty() {
        return Err("empty password".into());
    }
    Ok(first)
}

fn prompt(text: &str) -> Result<String, String> {
    eprint!("{text}");
    let _ = std::io::stderr().flush();
    // SAFETY: termios calls on fd 0 with a zeroed struct filled by tcgetattr.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    let have_tty = unsafe { libc::tcgetattr(0, &mut saved) } == 0;
    if have_tty {
        let mut quiet = saved;
        quiet.c_lflag &= !libc::ECHO;
        quiet.c_lflag |= libc::ECHONL;
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &quiet) };
    }
    let mut line = String::new();
    let r = std::io::stdin().lock().read_line(&mut line);
    if have_tty {
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &saved) };
    }
    r.map_err(|e| format!("reading the password: {e}"))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}
