//! The reference pages keep up with the code: every mod_sso directive, every
//! pam_sso option and every key of the login server's example configuration
//! is documented, every relative link in the docs resolves, and nothing
//! points outside the repository (a reader of the repository has only it).

use std::fs;
use std::path::{Path, PathBuf};

use tests::util::workspace_root;

fn read(rel: &str) -> String {
    let path = workspace_root().join(rel);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Every `*.rs` file below `dir` (relative to the repository root).
fn rust_files(dir: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                if !path.ends_with("target") {
                    walk(&path, out);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&workspace_root().join(dir), &mut out);
    out
}

/// The quoted words that follow `marker` in `text`, e.g. the directive
/// names after `cstr!("`.
fn quoted_after(text: &str, marker: &str) -> Vec<String> {
    text.match_indices(marker)
        .filter_map(|(at, _)| {
            let rest = &text[at + marker.len()..];
            rest.find('"').map(|end| rest[..end].to_owned())
        })
        .collect()
}

/// The names a scan of the source found, sorted and each once; fewer than
/// `at_least` means the scan broke, not that everything is documented.
fn scanned(mut names: Vec<String>, at_least: usize, what: &str) -> Vec<String> {
    names.sort();
    names.dedup();
    assert!(
        names.len() >= at_least,
        "found too few {what} to trust the scan: {names:?}"
    );
    names
}

#[test]
fn every_mod_sso_directive_is_documented() {
    let doc = read("docs/mod_sso.md");
    let directives = scanned(
        rust_files("mod_sso/src")
            .iter()
            .flat_map(|f| quoted_after(&fs::read_to_string(f).unwrap(), "c\""))
            .filter(|w| w.starts_with("SSO") && w.chars().all(|c| c.is_ascii_alphanumeric()))
            .collect(),
        8,
        "directives",
    );
    let missing: Vec<_> = directives
        .iter()
        .filter(|d| !doc.contains(&format!("`{d}")) && !doc.contains(&format!("## {d}")))
        .collect();
    assert!(missing.is_empty(), "not in docs/mod_sso.md: {missing:?}");
}

#[test]
fn every_pam_sso_option_is_documented() {
    let whole = read("pam_sso/src/options.rs");
    // The parser only, not its unit tests (which name refused options).
    let source = whole.split("#[cfg(test)]").next().unwrap_or("");
    let page = read("docs/pam_sso.8");
    let options = scanned(
        quoted_after(source, "(\"")
            .into_iter()
            .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            .collect(),
        6,
        "options",
    );
    // troff escapes '-' and may set names in bold: look for the bare word.
    let missing: Vec<_> = options
        .iter()
        .filter(|o| !page.contains(o.as_str()))
        .collect();
    assert!(missing.is_empty(), "not in docs/pam_sso.8: {missing:?}");
}

#[test]
fn every_example_server_key_is_documented() {
    let example = read("sso-server/examples/sso-server.toml");
    let doc = read("docs/sso-server.md");
    let mut keys = Vec::new();
    for line in example.lines() {
        let line = line.trim_start().trim_start_matches('#').trim_start();
        if let Some(table) = line.strip_prefix('[') {
            let name = table
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("");
            keys.extend(name.split('.').map(str::to_owned));
        } else if let Some((key, _)) = line.split_once('=') {
            let key = key.trim();
            if !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                keys.push(key.to_owned());
            }
        }
    }
    keys.sort();
    keys.dedup();
    assert!(
        keys.len() >= 8,
        "found too few keys to trust the scan: {keys:?}"
    );
    let documented = code_words(&doc);
    let missing: Vec<_> = keys.iter().filter(|k| !documented.contains(*k)).collect();
    assert!(missing.is_empty(), "not in docs/sso-server.md: {missing:?}");
}

/// The identifiers inside the page's `code spans` (`[tls] cert_file`,
/// `key_file` give `tls`, `cert_file`, `key_file`).
fn code_words(doc: &str) -> std::collections::HashSet<String> {
    doc.split('`')
        .skip(1)
        .step_by(2)
        .flat_map(|span| span.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The pages a reader opens: the README and everything in docs/.
fn pages() -> Vec<(String, String)> {
    let mut pages = vec![("README.md".to_owned(), read("README.md"))];
    let docs = workspace_root().join("docs");
    for entry in fs::read_dir(&docs).expect("docs/").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".md") || name.ends_with(".8") || name.ends_with(".1") {
            pages.push((format!("docs/{name}"), read(&format!("docs/{name}"))));
        }
    }
    pages
}

#[test]
fn relative_links_in_the_docs_resolve() {
    let root = workspace_root();
    let mut broken = Vec::new();
    for (page, text) in pages() {
        let base = root.join(&page).parent().unwrap().to_path_buf();
        for (at, _) in text.match_indices("](") {
            let rest = &text[at + 2..];
            let Some(end) = rest.find(')') else { continue };
            let target = rest[..end].split('#').next().unwrap_or("");
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            if !base.join(target).exists() {
                broken.push(format!("{page}: {target}"));
            }
        }
    }
    assert!(broken.is_empty(), "links to missing files: {broken:?}");
}

#[test]
fn nothing_points_outside_the_repository() {
    // The design folder and the seed systems sit beside the repository on a
    // developer's machine only.
    let outside = ["shared/design", "shared/seeds", "../seeds", "../shared"];
    let mut found = Vec::new();
    let mut texts = pages();
    // Every crate of the repository (a folder with a Cargo.toml), so that a
    // new one is read without being listed here, and libsso's own src/.
    let mut dirs: Vec<String> = fs::read_dir(workspace_root())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.push("src".into());
    assert!(dirs.len() > 10, "crates found: {dirs:?}");
    for dir in &dirs {
        for file in rust_files(dir) {
            let rel = file
                .strip_prefix(workspace_root())
                .unwrap()
                .display()
                .to_string();
            texts.push((rel, fs::read_to_string(&file).unwrap()));
        }
    }
    for (name, text) in texts {
        if name.ends_with("tests/tests/docs.rs") {
            continue;
        }
        for needle in outside {
            if text.contains(needle) {
                found.push(format!("{name}: {needle}"));
            }
        }
    }
    assert!(
        found.is_empty(),
        "references outside the repository: {found:?}"
    );
}

/// The keys of a TOML configuration: the fields of the structs `structs`
/// of the Rust file `path` it is read into (a `rename` wins over the
/// field's name).
fn struct_keys(path: &str, structs: &[&str]) -> Vec<String> {
    let source = read(path);
    let mut keys = Vec::new();
    for name in structs {
        let start = source
            .find(name)
            .unwrap_or_else(|| panic!("{name} not in {path}"));
        let body = &source[start..];
        let body = &body[..body.find("\n}").expect("the struct's end")];
        let mut rename = None;
        for line in body.lines().skip(1).map(str::trim) {
            if let Some(r) = line.split("rename = \"").nth(1) {
                rename = r.split('"').next().map(str::to_owned);
            } else if let Some((field, _)) = line.split_once(": ") {
                if !line.starts_with("//") && !line.starts_with('#') {
                    keys.push(
                        rename
                            .take()
                            .unwrap_or_else(|| field.trim_start_matches("pub ").to_owned()),
                    );
                }
            }
        }
    }
    keys
}

/// Every key is in `doc`; at least `least` keys were found, or the scan
/// is not trusted.
fn assert_documented(keys: &[String], least: usize, doc: &str) {
    assert!(
        keys.len() >= least,
        "found too few keys to trust the scan: {keys:?}"
    );
    let documented = code_words(&read(doc));
    let missing: Vec<_> = keys.iter().filter(|k| !documented.contains(*k)).collect();
    assert!(missing.is_empty(), "not in {doc}: {missing:?}");
}

#[test]
fn every_sso_gate_key_is_documented() {
    let keys = struct_keys(
        "sso-gate/src/config.rs",
        &[
            "struct FileConfig",
            "struct FileRoute",
            "struct PinnedKey",
            "struct FileTls",
        ],
    );
    assert!(keys.iter().any(|k| k == "route"), "{keys:?}");
    assert_documented(&keys, 15, "docs/sso-gate.md");
}

#[test]
fn every_oidc_key_is_documented() {
    let keys = struct_keys(
        "sso-oidc/src/config.rs",
        &["pub struct RawOidc {", "pub struct RawClient {"],
    );
    assert_documented(&keys, 18, "docs/oidc.md");
}
