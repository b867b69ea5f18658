//! Request parameters as the protocol reads them: each at most once
//! (RFC 6749 3.1, 3.2), an empty value as absent, none of a length no
//! legitimate request comes near.

/// No parameter of a legitimate request comes near this.
pub(crate) const MAX_PARAM_LEN: usize = 2048;

/// The one value of `name`: `Ok(None)` if absent or empty, `Err` if
/// repeated or too long.
pub(crate) fn single<'a>(
    params: &'a [(String, String)],
    name: &str,
) -> Result<Option<&'a str>, String> {
    let mut values = params
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str());
    let first = values.next();
    if values.next().is_some() {
        return Err(format!("{name} given more than once"));
    }
    match first {
        Some(v) if v.len() > MAX_PARAM_LEN => Err(format!("{name} too long")),
        Some("") | None => Ok(None),
        Some(v) => Ok(Some(v)),
    }
}

/// Parameters as a request holds them, from literals: for the tests.
#[cfg(test)]
pub(crate) fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_or_not_at_all() {
        let p = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(single(&p(&[("a", "1")]), "a"), Ok(Some("1")));
        assert_eq!(single(&p(&[("a", "")]), "a"), Ok(None));
        assert_eq!(single(&p(&[]), "a"), Ok(None));
        assert!(single(&p(&[("a", "1"), ("a", "1")]), "a").is_err());
        assert!(single(&p(&[("a", &"x".repeat(MAX_PARAM_LEN + 1))]), "a").is_err());
    }
}
