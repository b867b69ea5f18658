//! The gate's log: one line per event on standard error, `key="value"`
//! pairs escaped as Rust strings (no line can be forged). Never a ticket:
//! the flow's lines name tickets by fingerprint only, and the gate logs
//! no request URI (an `sso_login` URI holds a ticket).

use sso_core::flow::{Level, LogLine};

/// Writes `sso-gate: t=NOW event=EVENT k="v"...`.
pub fn event(event: &str, fields: &[(&str, &str)]) {
    sso_core::event_log::write("sso-gate", event, fields);
}

/// The flow's lines at info level and above, and debug ones with
/// `log_level = "debug"` (they name every refused ticket's fingerprint and
/// check, which a busy gate need not write).
pub fn flow_lines(lines: &[LogLine], route: &str, debug: bool) {
    for l in lines {
        let level = match l.level {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Info => "info",
            Level::Debug if debug => "debug",
            Level::Debug => continue,
        };
        event(
            "flow",
            &[("level", level), ("route", route), ("detail", &l.message)],
        );
    }
}
