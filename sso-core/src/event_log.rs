//! The daemons' event log (sso-server's, sso-gate's): one line per event on
//! standard error, `PROGRAM: t=NOW event=EVENT key="value"...`, every value
//! quoted and escaped as a Rust string so that a hostile value (a user
//! name, a header) cannot forge a line. Callers never pass a password,
//! ticket or secret.

use std::fmt::Write;

/// Writes the line of `event` with `fields`, as `program`.
pub fn write(program: &str, event: &str, fields: &[(&str, &str)]) {
    let mut line = format!("{program}: t={} event={event}", crate::unix_now());
    for (k, v) in fields {
        let _ = write!(line, " {k}={v:?}");
    }
    line.push('\n');
    // Not eprintln!: that panics when stderr is gone (a closed log pipe),
    // and a lost log line must not take a request down with it.
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
}
