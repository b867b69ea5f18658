//! `realm.conf` (TOML, and the old key = value format that `realm sync`
//! migrates) of arbitrary text: never panics, and what is accepted is
//! valid and written back as TOML that reads as the same settings.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sso_realm::RealmSettings;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok((settings, _legacy)) = RealmSettings::parse_or_migrate(text) {
        assert!(settings.validate().is_ok());
        assert_eq!(RealmSettings::parse(&settings.to_toml()).unwrap(), settings);
    }
});
