//! The module arguments of a `pam_sso.so` line, parsed by a pure function so
//! that every rule is unit-tested without libpam. The rules of the values
//! (service, domain, groups, clock skew, key pins, and the key files' trust
//! check when they are read) are sso-core's, shared with every consumer
//! ([`sso_core::spec`]); only the `name=value` syntax is this module's.

use std::path::PathBuf;

use sso_core::spec::{self, KeySpec, SpecError, VerifierSpec};

pub use crate::services::PamServices;
pub use sso_core::MAX_CLOCK_SKEW;

/// Where the password (the ticket) comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordSource {
    /// Always ask through the conversation, then store the answer as
    /// `PAM_AUTHTOK` so that a later module with `try_first_pass` reuses it.
    Prompt,
    /// `try_first_pass`: use `PAM_AUTHTOK` from an earlier module when set,
    /// otherwise ask.
    TryFirstPass,
    /// `use_first_pass`: use `PAM_AUTHTOK` from an earlier module; never ask.
    UseFirstPass,
}

/// A valid configuration: at least one key, a service and a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub keys: Vec<PathBuf>,
    /// Per key, the `services=` that follows its `key=` (`None`: any).
    pub key_services: Vec<Option<String>>,
    pub service: String,
    pub domain: String,
    /// Accept only tickets holding at least one of these; empty: any ticket.
    pub groups: Vec<String>,
    pub clock_skew: u64,
    pub debug: bool,
    pub password: PasswordSource,
    /// Accepted for compatibility with the original module; never contacted
    /// (verification is offline), only mentioned in debug logs.
    pub login_server: Option<String>,
    /// The PAM services the module decides for (`pam_services=`).
    pub pam_services: PamServices,
}

/// Why the arguments do not make a usable configuration. Display names the
/// argument and never echoes more than the argument itself (arguments come
/// from the administrator's PAM file, not from users).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionError {
    /// An argument that is not valid UTF-8 (its index on the line).
    NotUtf8(usize),
    /// An argument this module does not know.
    Unknown(String),
    /// A known argument with a bad value: (argument name, what is wrong).
    Malformed(&'static str, &'static str),
    /// A value sso-core's rules refuse (argument name, the rule's words).
    Refused(&'static str, String),
    /// A single-valued argument given twice.
    Duplicate(&'static str),
    /// A required argument is missing.
    Missing(&'static str),
    /// `use_first_pass` and `try_first_pass` together.
    Conflict(&'static str, &'static str),
}

impl std::fmt::Display for OptionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OptionError::NotUtf8(i) => write!(f, "argument #{} is not valid UTF-8", i + 1),
            OptionError::Unknown(arg) => {
                write!(f, "unknown argument \"{}\"", crate::log::sanitize(arg))
            }
            OptionError::Malformed(name, why) => write!(f, "malformed {name}=: {why}"),
            OptionError::Refused(name, why) => write!(f, "malformed {name}=: {why}"),
            OptionError::Duplicate(name) => write!(f, "{name}= given more than once"),
            OptionError::Missing(name) => write!(f, "missing required argument {name}="),
            OptionError::Conflict(a, b) => write!(f, "{a} and {b} exclude each other"),
        }
    }
}

impl std::error::Error for OptionError {}

impl Options {
    /// The verifier's configuration, for sso-core to check and build: key
    /// files trusted only when root or `trusted_uid` alone could write them.
    pub fn verifier_spec(&self, trusted_uid: u32) -> VerifierSpec {
        VerifierSpec {
            keys: self
                .keys
                .iter()
                .enumerate()
                .map(|(i, path)| KeySpec {
                    services: self.key_services.get(i).cloned().flatten(),
                    ..KeySpec::file(path)
                })
                .collect(),
            service: Some(self.service.clone()),
            domain: Some(self.domain.clone()),
            clock_skew: self.clock_skew,
            groups: self.groups.clone(),
            trusted_uid,
            ..VerifierSpec::default()
        }
    }
}

/// Sets a single-valued option, refusing a second occurrence.
fn set_once<T>(slot: &mut Option<T>, name: &'static str, value: T) -> Result<(), OptionError> {
    if slot.is_some() {
        return Err(OptionError::Duplicate(name));
    }
    *slot = Some(value);
    Ok(())
}

/// A value checked by one of sso-core's rules, refused under `name`.
fn by_rule<T>(name: &'static str, checked: Result<T, SpecError>) -> Result<T, OptionError> {
    checked.map_err(|e| OptionError::Refused(name, e.to_string()))
}

/// Parses the module arguments (`argv` of `pam_sm_authenticate`).
pub fn parse<A: AsRef<[u8]>>(args: &[A]) -> Result<Options, OptionError> {
    let mut keys = Vec::new();
    let mut key_services: Vec<Option<String>> = Vec::new();
    let mut service = None;
    let mut domain = None;
    let mut groups = None;
    let mut clock_skew = None;
    let mut login_server = None;
    let mut conf = None;
    let mut pam_services = None;
    let mut debug = false;
    let mut use_first_pass = false;
    let mut try_first_pass = false;

    for (index, raw) in args.iter().enumerate() {
        let arg = std::str::from_utf8(raw.as_ref()).map_err(|_| OptionError::NotUtf8(index))?;
        let (name, value) = match arg.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (arg, None),
        };
        match (name, value) {
            ("key", Some(v)) => {
                if v.is_empty() {
                    return Err(OptionError::Malformed("key", "empty path"));
                }
                if !v.starts_with('/') {
                    // The host's working directory is not ours to rely on.
                    return Err(OptionError::Malformed("key", "path must be absolute"));
                }
                keys.push(PathBuf::from(v));
                key_services.push(None);
            }
            ("services", Some(v)) => {
                // Pins the key named just before to the matching services.
                let Some(pin) = key_services.last_mut() else {
                    return Err(OptionError::Malformed(
                        "services",
                        "services= follows the key= it pins",
                    ));
                };
                if pin.is_some() {
                    return Err(OptionError::Malformed("services", "one services= per key="));
                }
                by_rule("services", spec::key_services(v))?;
                *pin = Some(v.to_owned());
            }
            ("service", Some(v)) => {
                let v = by_rule("service", spec::service(v))?;
                set_once(&mut service, "service", v.as_str().to_owned())?;
            }
            ("conf", Some(v)) => {
                // Read by the caller (crate::conf) before this parse, which
                // sees its arguments after the line's: a `conf=` there is
                // a duplicate.
                if !v.starts_with('/') {
                    return Err(OptionError::Malformed("conf", "path must be absolute"));
                }
                set_once(&mut conf, "conf", ())?;
            }
            ("domain", Some(v)) => {
                set_once(&mut domain, "domain", by_rule("domain", spec::domain(v))?)?
            }
            ("groups", Some(v)) => {
                let mut list = Vec::new();
                by_rule("groups", spec::groups(v, &mut list))?;
                set_once(&mut groups, "groups", list)?;
            }
            ("clock_skew", Some(v)) => {
                let secs = by_rule("clock_skew", spec::clock_skew_text(v))?;
                set_once(&mut clock_skew, "clock_skew", secs)?;
            }
            ("login_server", Some(v)) => {
                if v.is_empty() {
                    return Err(OptionError::Malformed("login_server", "empty value"));
                }
                set_once(&mut login_server, "login_server", v.to_owned())?;
            }
            ("pam_services", Some(v)) => {
                let list = crate::services::parse(v)
                    .map_err(|why| OptionError::Malformed("pam_services", why))?;
                set_once(&mut pam_services, "pam_services", list)?;
            }
            ("debug", None) => debug = true,
            ("use_first_pass", None) => use_first_pass = true,
            ("try_first_pass", None) => try_first_pass = true,
            ("debug" | "use_first_pass" | "try_first_pass", Some(_)) => {
                return Err(OptionError::Malformed(
                    match name {
                        "debug" => "debug",
                        "use_first_pass" => "use_first_pass",
                        _ => "try_first_pass",
                    },
                    "a flag takes no value",
                ))
            }
            (
                "key" | "services" | "service" | "domain" | "groups" | "clock_skew"
                | "login_server" | "conf" | "pam_services",
                None,
            ) => {
                return Err(OptionError::Malformed(
                    match name {
                        "key" => "key",
                        "services" => "services",
                        "conf" => "conf",
                        "service" => "service",
                        "domain" => "domain",
                        "groups" => "groups",
                        "clock_skew" => "clock_skew",
                        "pam_services" => "pam_services",
                        _ => "login_server",
                    },
                    "needs a value (name=value)",
                ))
            }
            _ => return Err(OptionError::Unknown(arg.to_owned())),
        }
    }

    if use_first_pass && try_first_pass {
        return Err(OptionError::Conflict("use_first_pass", "try_first_pass"));
    }
    if keys.is_empty() {
        return Err(OptionError::Missing("key"));
    }
    Ok(Options {
        keys,
        key_services,
        service: service.ok_or(OptionError::Missing("service"))?,
        domain: domain.ok_or(OptionError::Missing("domain"))?,
        groups: groups.unwrap_or_default(),
        clock_skew: clock_skew.unwrap_or(0),
        debug,
        password: if use_first_pass {
            PasswordSource::UseFirstPass
        } else if try_first_pass {
            PasswordSource::TryFirstPass
        } else {
            PasswordSource::Prompt
        },
        login_server,
        pam_services: pam_services.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: [&str; 3] = [
        "key=/etc/sso/public.key",
        "domain=example.org",
        "service=imap.example.org/",
    ];

    fn with(extra: &[&str]) -> Result<Options, OptionError> {
        let mut args: Vec<&str> = BASE.to_vec();
        args.extend_from_slice(extra);
        parse(&args)
    }

    #[test]
    fn minimal_configuration() {
        let o = with(&[]).unwrap();
        assert_eq!(o.keys, vec![PathBuf::from("/etc/sso/public.key")]);
        assert_eq!(o.domain, "example.org");
        assert_eq!(o.service, "imap.example.org/");
        assert!(o.groups.is_empty());
        assert_eq!(o.clock_skew, 0);
        assert!(!o.debug);
        assert_eq!(o.password, PasswordSource::Prompt);
        assert_eq!(o.login_server, None);
        assert_eq!(o.pam_services, PamServices::Default);
    }

    #[test]
    fn every_option() {
        let o = with(&[
            "key=/etc/sso/old.key",
            "groups=mail,staff",
            "clock_skew=30",
            "debug",
            "try_first_pass",
            "login_server=https://login.example.org/",
            "pam_services=sshd,sudo",
        ])
        .unwrap();
        assert_eq!(o.keys.len(), 2);
        assert_eq!(o.groups, vec!["mail".to_string(), "staff".to_string()]);
        assert_eq!(o.clock_skew, 30);
        assert!(o.debug);
        assert_eq!(o.password, PasswordSource::TryFirstPass);
        assert_eq!(
            o.login_server.as_deref(),
            Some("https://login.example.org/")
        );
        assert_eq!(
            o.pam_services,
            PamServices::Only(vec!["sshd".into(), "sudo".into()])
        );
        assert_eq!(
            with(&["pam_services=*"]).unwrap().pam_services,
            PamServices::Every
        );
        assert_eq!(
            with(&["use_first_pass"]).unwrap().password,
            PasswordSource::UseFirstPass
        );
    }

    #[test]
    fn conf_is_an_absolute_path_given_once() {
        assert!(with(&["conf=/etc/security/pam_sso.conf"]).is_ok());
        assert_eq!(
            with(&["conf=pam_sso.conf"]),
            Err(OptionError::Malformed("conf", "path must be absolute"))
        );
        assert_eq!(
            with(&["conf=/a", "conf=/b"]),
            Err(OptionError::Duplicate("conf"))
        );
        assert_eq!(
            with(&["conf"]),
            Err(OptionError::Malformed("conf", "needs a value (name=value)"))
        );
    }

    #[test]
    fn pam_services_is_a_list_given_once() {
        for bad in ["pam_services=", "pam_services=a,,b", "pam_services=*,sshd"] {
            assert!(
                matches!(with(&[bad]), Err(OptionError::Malformed("pam_services", _))),
                "{bad}"
            );
        }
        assert_eq!(
            with(&["pam_services"]),
            Err(OptionError::Malformed(
                "pam_services",
                "needs a value (name=value)"
            ))
        );
        assert_eq!(
            with(&["pam_services=sshd", "pam_services=sudo"]),
            Err(OptionError::Duplicate("pam_services"))
        );
        assert_eq!(
            with(&["pam_service=sudo"]),
            Err(OptionError::Unknown("pam_service=sudo".into()))
        );
        assert!(with(&["pam_services=a/b"])
            .unwrap_err()
            .to_string()
            .starts_with("malformed pam_services=:"));
    }

    #[test]
    fn required_arguments() {
        assert_eq!(
            parse(&["domain=d", "service=s/"]),
            Err(OptionError::Missing("key"))
        );
        assert_eq!(
            parse(&["key=/k", "service=s/"]),
            Err(OptionError::Missing("domain"))
        );
        assert_eq!(
            parse(&["key=/k", "domain=d"]),
            Err(OptionError::Missing("service"))
        );
        assert_eq!(parse::<&str>(&[]), Err(OptionError::Missing("key")));
    }

    #[test]
    fn unknown_and_misspelled_arguments() {
        assert_eq!(
            with(&["nullok"]),
            Err(OptionError::Unknown("nullok".into()))
        );
        assert_eq!(
            with(&["Key=/x"]),
            Err(OptionError::Unknown("Key=/x".into()))
        );
        assert_eq!(
            with(&["keys=/x"]),
            Err(OptionError::Unknown("keys=/x".into()))
        );
        assert_eq!(with(&[""]), Err(OptionError::Unknown(String::new())));
    }

    #[test]
    fn malformed_values() {
        // Each option as written and the option its error names.
        let malformed = [
            ("key=", "key"),
            ("key=relative.key", "key"),
            ("key", "key"),
            ("debug=1", "debug"),
            ("try_first_pass=yes", "try_first_pass"),
            ("login_server=", "login_server"),
        ];
        for (bad, name) in malformed {
            assert!(
                matches!(with(&[bad]), Err(OptionError::Malformed(n, _)) if n == name),
                "{bad}"
            );
        }
        for bad in [
            "groups=",
            "groups=,",
            "groups=a,,b",
            "groups=a|b",
            "groups=a\tb",
        ] {
            assert!(
                matches!(with(&[bad]), Err(OptionError::Refused("groups", _))),
                "{bad}"
            );
        }
        for bad in [
            "clock_skew=",
            "clock_skew=-1",
            "clock_skew=1s",
            "clock_skew=3601",
            "clock_skew=99999999999999999999999",
        ] {
            assert!(
                matches!(with(&[bad]), Err(OptionError::Refused("clock_skew", _))),
                "{bad}"
            );
        }
        for bad in [
            "imap.example.org",
            "https://imap.example.org/",
            "/x/",
            "h/a b/",
        ] {
            assert!(
                matches!(
                    parse(&["key=/k", "domain=d", &format!("service={bad}")]),
                    Err(OptionError::Refused("service", _))
                ),
                "{bad}"
            );
        }
        for bad in ["a|b", "", "a\"b"] {
            assert!(
                matches!(
                    parse(&["key=/k", &format!("domain={bad}"), "service=s/"]),
                    Err(OptionError::Refused("domain", _))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn duplicates_and_conflicts() {
        assert_eq!(
            with(&["domain=other.org"]),
            Err(OptionError::Duplicate("domain"))
        );
        assert_eq!(
            with(&["service=x/"]),
            Err(OptionError::Duplicate("service"))
        );
        assert_eq!(
            with(&["groups=a", "groups=b"]),
            Err(OptionError::Duplicate("groups"))
        );
        assert_eq!(
            with(&["clock_skew=1", "clock_skew=2"]),
            Err(OptionError::Duplicate("clock_skew"))
        );
        assert_eq!(
            with(&["use_first_pass", "try_first_pass"]),
            Err(OptionError::Conflict("use_first_pass", "try_first_pass"))
        );
        // Repeating a flag or a key is harmless.
        assert!(with(&["debug", "debug", "key=/etc/sso/public.key"]).is_ok());
    }

    #[test]
    fn services_pins_the_key_before_it() {
        let o = with(&["key=/etc/sso/realm.pub", "services=imap\\.example\\.org/"]).unwrap();
        assert_eq!(o.keys.len(), 2);
        assert_eq!(
            o.key_services,
            [None, Some("imap\\.example\\.org/".to_owned())]
        );
        let spec = o.verifier_spec(0);
        assert_eq!(spec.keys[0].services, None);
        assert_eq!(
            spec.keys[1].services.as_deref(),
            Some("imap\\.example\\.org/")
        );
        assert_eq!(
            parse(&["services=x/", "key=/k", "domain=d", "service=s/"]),
            Err(OptionError::Malformed(
                "services",
                "services= follows the key= it pins"
            ))
        );
        assert_eq!(
            with(&["services=a/", "services=b/"]),
            Err(OptionError::Malformed("services", "one services= per key="))
        );
        let e = with(&["services=("]).unwrap_err();
        assert!(matches!(e, OptionError::Refused("services", _)));
        assert!(
            e.to_string()
                .starts_with("malformed services=: service pattern '('"),
            "{e}"
        );
    }

    #[test]
    fn non_utf8_argument() {
        let args: [&[u8]; 4] = [b"key=/k", b"domain=d", b"service=s/", b"groups=\xff"];
        assert_eq!(parse(&args), Err(OptionError::NotUtf8(3)));
    }

    #[test]
    fn errors_name_the_argument() {
        assert_eq!(
            with(&["nullok"]).unwrap_err().to_string(),
            "unknown argument \"nullok\""
        );
        assert!(with(&["clock_skew=x"])
            .unwrap_err()
            .to_string()
            .starts_with("malformed clock_skew=:"));
    }
}
