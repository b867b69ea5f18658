//! A realm's settings, `realm.conf`: TOML read and written with serde.
//!
//! ```toml
//! name = "api"
//! domain = "example.org"
//! ttl = 3600
//! issuer = "/usr/bin/ssotool"
//! services = ["api.example.org/", "wiki.example.org/app/"]
//! ```
//!
//! Realms made before this format wrote `key = value` lines with bare
//! values and one `service = ...` line per service. Such a file is read
//! only by `ssotool realm sync`, which rewrites it as TOML (the migration
//! path, see docs/realms.md); every other reader refuses it with a message
//! that names that command.

use serde::{Deserialize, Serialize};
use sso_client::names::{check_command_path, check_domain, check_realm_name, shorten};
use sso_core::web::ServiceName;

/// Longest ticket lifetime a realm may be configured with (one week).
pub const MAX_TTL: u64 = 7 * 24 * 3600;

/// A realm's settings (`realm.conf`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealmSettings {
    pub name: String,
    pub domain: String,
    /// Ticket lifetime in seconds.
    pub ttl: u64,
    /// Absolute path of the `ssotool` the forced command runs.
    pub issuer: String,
    /// Allowed services; the first one is the default.
    pub services: Vec<String>,
}

/// Why `realm.conf` or a setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// A value failed its check; `setting` names it.
    #[error("{setting}: {message}")]
    Invalid {
        setting: &'static str,
        message: String,
    },
    /// Not TOML, or not the settings' shape; `location` is ` (line N)`
    /// when the parser told one.
    #[error("{message}{location}")]
    Toml { message: String, location: String },
    #[error(
        "this is the old `key = value` format of realm.conf; run `ssotool realm sync REALM` \
         as root once to rewrite it as TOML"
    )]
    OldFormat,
    /// A line of the old format.
    #[error("line {line}: {message}")]
    OldLine { line: usize, message: String },
}

fn invalid(setting: &'static str) -> impl FnOnce(String) -> SettingsError {
    move |message| SettingsError::Invalid { setting, message }
}

/// The header of every written `realm.conf`.
const HEADER: &str = "# SSO token realm settings, managed by `ssotool realm` (docs/realms.md).\n\
                      # The first service is the default one.\n";

impl RealmSettings {
    /// Checks every value; used both when writing and when reading. The
    /// message names the setting.
    pub fn validate(&self) -> Result<(), SettingsError> {
        check_realm_name(&self.name).map_err(invalid("name"))?;
        check_domain(&self.domain).map_err(invalid("domain"))?;
        if self.services.is_empty() {
            return Err(invalid("services")(
                "a realm needs at least one service".into(),
            ));
        }
        for s in &self.services {
            ServiceName::parse(s).map_err(|why| {
                invalid("services")(format!("invalid service name {:?}: {why}", shorten(s)))
            })?;
        }
        if self.ttl == 0 || self.ttl > MAX_TTL {
            return Err(invalid("ttl")(format!(
                "the ticket lifetime must be 1 to {MAX_TTL} seconds, not {}",
                self.ttl
            )));
        }
        check_command_path(&self.issuer).map_err(invalid("issuer"))?;
        Ok(())
    }

    /// The service issued when the client asks for none.
    pub fn default_service(&self) -> &str {
        &self.services[0]
    }

    /// The `realm.conf` text.
    pub fn to_toml(&self) -> String {
        // Serializing a struct of strings, an integer and a list of strings
        // cannot fail; an empty body would still be refused when read.
        format!("{HEADER}{}", toml::to_string(self).unwrap_or_default())
    }

    /// Parses and validates `realm.conf`. A file in the old `key = value`
    /// format gets an error that says how to migrate it.
    pub fn parse(text: &str) -> Result<RealmSettings, SettingsError> {
        match toml::from_str::<RealmSettings>(text) {
            Ok(settings) => {
                settings.validate()?;
                Ok(settings)
            }
            Err(_) if parse_legacy(text).is_ok() => Err(SettingsError::OldFormat),
            Err(e) => Err(SettingsError::Toml {
                message: e.message().to_owned(),
                location: toml_location(text, &e),
            }),
        }
    }

    /// [`RealmSettings::parse`], also reading the old format; `true` with
    /// settings read from the old format, which the caller rewrites.
    pub fn parse_or_migrate(text: &str) -> Result<(RealmSettings, bool), SettingsError> {
        match RealmSettings::parse(text) {
            Ok(settings) => Ok((settings, false)),
            Err(toml_error) => match parse_legacy(text) {
                Ok(settings) => Ok((settings, true)),
                Err(_) => Err(toml_error),
            },
        }
    }
}

/// The settings the unit tests of this crate start from.
#[cfg(test)]
pub(crate) fn example_settings() -> RealmSettings {
    RealmSettings {
        name: "api".into(),
        domain: "example.org".into(),
        services: vec!["api.example.org/".into(), "wiki.example.org/".into()],
        ttl: 600,
        issuer: "/usr/bin/ssotool".into(),
    }
}

/// ` (line N)` for a TOML error with a position.
fn toml_location(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => {
            let line = text
                .get(..span.start)
                .map_or(0, |t| t.matches('\n').count())
                + 1;
            format!(" (line {line})")
        }
        None => String::new(),
    }
}

/// The old format: `name`, `domain`, `ttl`, `issuer` once each and
/// `service` per service, as `key = value` lines with bare values, `#`
/// comments. Kept for [`RealmSettings::parse_or_migrate`] only.
fn parse_legacy(text: &str) -> Result<RealmSettings, SettingsError> {
    let mut settings = RealmSettings {
        name: String::new(),
        domain: String::new(),
        ttl: 0,
        issuer: String::new(),
        services: Vec::new(),
    };
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .map(|(k, v)| (k.trim(), v.trim().to_owned()))
            .ok_or_else(|| SettingsError::OldLine {
                line: n + 1,
                message: "expected `key = value`".into(),
            })?;
        match key {
            "name" => settings.name = value,
            "domain" => settings.domain = value,
            "issuer" => settings.issuer = value,
            "service" => settings.services.push(value),
            "ttl" => {
                settings.ttl = value.parse().map_err(|_| SettingsError::OldLine {
                    line: n + 1,
                    message: "ttl is not a number".into(),
                })?
            }
            other => {
                return Err(SettingsError::OldLine {
                    line: n + 1,
                    message: format!("unknown setting {other:?}"),
                })
            }
        }
    }
    settings.validate()?;
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEGACY: &str = "# SSO token realm settings, managed by `ssotool realm`.\n\
                          name = api\ndomain = example.org\nttl = 600\n\
                          issuer = /usr/bin/ssotool\nservice = api.example.org/\n\
                          service = wiki.example.org/\n";

    #[test]
    fn settings_round_trip_as_toml() {
        let s = example_settings();
        let text = s.to_toml();
        assert!(text.contains("services = ["), "{text}");
        assert!(text.contains("name = \"api\""), "{text}");
        assert_eq!(RealmSettings::parse(&text).unwrap(), s);
        assert_eq!(s.default_service(), "api.example.org/");
    }

    #[test]
    fn settings_are_validated_naming_the_setting() {
        let base = example_settings();
        for (change, named) in [
            (
                Box::new(|s: &mut RealmSettings| s.services.clear()) as Box<dyn Fn(&mut _)>,
                "services:",
            ),
            (Box::new(|s: &mut RealmSettings| s.ttl = 0), "ttl:"),
            (
                Box::new(|s: &mut RealmSettings| s.ttl = MAX_TTL + 1),
                "ttl:",
            ),
            (
                Box::new(|s: &mut RealmSettings| s.domain = "ex|ample".into()),
                "domain:",
            ),
            (
                Box::new(|s: &mut RealmSettings| s.issuer = "ssotool".into()),
                "issuer:",
            ),
            (
                Box::new(|s: &mut RealmSettings| s.services.push("https://x/".into())),
                "services:",
            ),
            (
                Box::new(|s: &mut RealmSettings| s.name = "Api".into()),
                "name:",
            ),
        ] {
            let mut s = base.clone();
            change(&mut s);
            let err = RealmSettings::parse(&s.to_toml()).unwrap_err().to_string();
            assert!(err.starts_with(named), "{named} {err}");
        }
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_refused() {
        let text = example_settings().to_toml();
        let err = RealmSettings::parse(&format!("{text}shell = \"/bin/sh\"\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("shell"), "{err}");
        let err = RealmSettings::parse(&text.replace("ttl = 600", "ttl = \"600\""))
            .unwrap_err()
            .to_string();
        assert!(err.contains("line"), "{err}");
        assert!(RealmSettings::parse("").is_err());
    }

    #[test]
    fn the_old_format_is_refused_with_the_way_out_and_migrated_by_sync() {
        let err = RealmSettings::parse(LEGACY).unwrap_err().to_string();
        assert!(err.contains("ssotool realm sync"), "{err}");
        let (migrated, was_legacy) = RealmSettings::parse_or_migrate(LEGACY).unwrap();
        assert!(was_legacy);
        assert_eq!(migrated, example_settings());
        let (read, was_legacy) =
            RealmSettings::parse_or_migrate(&example_settings().to_toml()).unwrap();
        assert!(!was_legacy);
        assert_eq!(read, example_settings());
        // The old format is validated as strictly as the new one.
        for bad in [
            LEGACY.replace("ttl = 600", "ttl = 0"),
            format!("{LEGACY}shell = /bin/sh\n"),
            LEGACY.replace("service = api.example.org/", "service = a b/"),
        ] {
            assert!(RealmSettings::parse_or_migrate(&bad).is_err(), "{bad}");
        }
    }
}
