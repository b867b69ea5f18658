//! Getting a ticket from a token realm: `ssh -T REALM@HOST [SERVICE]`, run
//! from an argument vector (never a shell), its stdout checked to be one
//! ticket.
//!
//! Which `ssh` runs and with which extra options can be set for tests and
//! unusual setups:
//! - `SSO_SSH`: the ssh program (default `ssh` from `PATH`);
//! - `SSO_SSH_OPTIONS`: extra arguments put before the destination, split
//!   on whitespace (e.g. `-p 2222 -i /path/key -o UserKnownHostsFile=/path`);
//! - or [`SshTokenSource::with_options`] / `ssotool --ssh-option ARG`.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use sso_core::{decode_unverified, MAX_TICKET_LEN};

use crate::names::{check_destination, check_service_argument, shorten};

/// Environment variable naming the ssh program.
pub const SSH_PROGRAM_ENV: &str = "SSO_SSH";
/// Environment variable with extra ssh arguments (whitespace-separated).
pub const SSH_OPTIONS_ENV: &str = "SSO_SSH_OPTIONS";

/// Why no ticket came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SshError {
    Invalid(String),
    /// ssh could not be started.
    Spawn(String),
    /// ssh or the realm refused: exit status and the first stderr line.
    Refused {
        status: Option<i32>,
        message: String,
    },
    /// The realm answered something that is not a ticket.
    NotATicket(String),
}

impl fmt::Display for SshError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SshError::Invalid(m) | SshError::Spawn(m) | SshError::NotATicket(m) => {
                write!(f, "{m}")
            }
            SshError::Refused { status, message } => {
                let status = status.map_or("a signal".to_string(), |c| format!("status {c}"));
                write!(f, "ssh ended with {status}: {message}")
            }
        }
    }
}

impl std::error::Error for SshError {}

/// Where tickets come from: one realm on one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTokenSource {
    destination: String,
    program: PathBuf,
    options: Vec<String>,
}

impl SshTokenSource {
    /// A source for `REALM@HOST`, using `ssh` from `PATH` with no options.
    pub fn new(destination: &str) -> Result<SshTokenSource, SshError> {
        check_destination(destination).map_err(SshError::Invalid)?;
        Ok(SshTokenSource {
            destination: destination.to_owned(),
            program: PathBuf::from("ssh"),
            options: Vec::new(),
        })
    }

    /// Like [`SshTokenSource::new`], honouring `SSO_SSH` and `SSO_SSH_OPTIONS`.
    pub fn from_env(destination: &str) -> Result<SshTokenSource, SshError> {
        let mut source = SshTokenSource::new(destination)?;
        if let Some(p) = std::env::var_os(SSH_PROGRAM_ENV).filter(|p| !p.is_empty()) {
            source.program = PathBuf::from(p);
        }
        if let Ok(opts) = std::env::var(SSH_OPTIONS_ENV) {
            source.options = opts.split_whitespace().map(str::to_owned).collect();
        }
        Ok(source)
    }

    pub fn with_program(mut self, program: impl Into<PathBuf>) -> SshTokenSource {
        self.program = program.into();
        self
    }

    /// Appends extra ssh arguments (each one argument, no splitting).
    pub fn with_options<I, S>(mut self, options: I) -> SshTokenSource
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.options.extend(options.into_iter().map(Into::into));
        self
    }

    pub fn destination(&self) -> &str {
        &self.destination
    }

    /// The ssh arguments: `-T -o BatchMode=yes OPTIONS... -- DEST [SERVICE]`.
    /// `--` ends the options, and the destination was validated not to
    /// start with `-`, so neither can be read as an option.
    pub fn ssh_args(&self, service: Option<&str>) -> Result<Vec<OsString>, SshError> {
        let mut args: Vec<OsString> = vec!["-T".into(), "-o".into(), "BatchMode=yes".into()];
        args.extend(self.options.iter().map(OsString::from));
        args.push("--".into());
        args.push(self.destination.clone().into());
        if let Some(service) = service {
            check_service_argument(service).map_err(SshError::Invalid)?;
            args.push(service.into());
        }
        Ok(args)
    }

    /// Runs ssh and returns the ticket it printed (checked to decode, to be
    /// within the size limit and, if one was asked for, to be for `service`;
    /// the signature is for the server to check).
    pub fn fetch_ticket(&self, service: Option<&str>) -> Result<String, SshError> {
        let args = self.ssh_args(service)?;
        let out = Command::new(&self.program)
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| SshError::Spawn(format!("cannot run {}: {e}", self.program.display())))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let message = stderr
                .lines()
                .map(str::trim)
                .rfind(|l| !l.is_empty())
                .unwrap_or("(no message)");
            return Err(SshError::Refused {
                status: out.status.code(),
                message: shorten(message),
            });
        }
        let text = String::from_utf8(out.stdout)
            .map_err(|_| SshError::NotATicket("the realm's answer is not text".into()))?;
        parse_ticket_output(&text, service)
    }
}

/// Checks the forced command's output: exactly one non-empty line holding a
/// decodable ticket.
pub fn parse_ticket_output(text: &str, service: Option<&str>) -> Result<String, SshError> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let (Some(ticket), None) = (lines.next(), lines.next()) else {
        return Err(SshError::NotATicket(
            "the realm did not answer exactly one line".into(),
        ));
    };
    if ticket.len() > MAX_TICKET_LEN {
        return Err(SshError::NotATicket(
            "the realm's answer is too long".into(),
        ));
    }
    let decoded = decode_unverified(ticket)
        .map_err(|e| SshError::NotATicket(format!("the realm's answer is not a ticket: {e}")))?;
    if let Some(service) = service {
        if decoded.service != service {
            return Err(SshError::NotATicket(format!(
                "the realm issued a ticket for {} instead of {service}",
                shorten(&decoded.service)
            )));
        }
    }
    Ok(ticket.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sso_core::{SecretKey, Signer, Ticket};

    #[test]
    fn builds_argument_vectors() {
        let s = SshTokenSource::new("api@host.example.org")
            .unwrap()
            .with_options(["-p", "2222"]);
        let args = s.ssh_args(Some("api.example.org/")).unwrap();
        let args: Vec<_> = args.iter().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(
            args,
            [
                "-T",
                "-o",
                "BatchMode=yes",
                "-p",
                "2222",
                "--",
                "api@host.example.org",
                "api.example.org/"
            ]
        );
        assert!(s.ssh_args(Some("ls -la")).is_err());
        assert!(SshTokenSource::new("-oProxyCommand=x").is_err());
        assert!(SshTokenSource::new("api@-oProxyCommand=x").is_err());
    }

    #[test]
    fn accepts_only_one_ticket_line() {
        let signer = Signer::new(SecretKey::generate());
        let t = signer
            .sign(&Ticket::new("alice", "api.example.org/", "example.org", 99))
            .unwrap();
        assert_eq!(parse_ticket_output(&format!("{t}\n"), None).unwrap(), t);
        assert_eq!(
            parse_ticket_output(&format!("{t}\n"), Some("api.example.org/")).unwrap(),
            t
        );
        assert!(parse_ticket_output(&format!("{t}\n"), Some("other/")).is_err());
        assert!(parse_ticket_output(&format!("{t}\n{t}\n"), None).is_err());
        assert!(parse_ticket_output("", None).is_err());
        assert!(parse_ticket_output("Welcome to the shell\n", None).is_err());
    }

    #[test]
    fn reports_a_missing_program() {
        let s = SshTokenSource::new("api@localhost")
            .unwrap()
            .with_program("/nonexistent/ssh");
        assert!(matches!(s.fetch_ticket(None), Err(SshError::Spawn(_))));
    }
}
