//! No import cycles between the modules of any crate of the workspace.
//!
//! Each crate's `src/` files are read, the paths they name that start with
//! `crate::`, `super::` or `self::` (in `use` items and in code) are
//! resolved to the module file they point into, and the graph of "file A
//! names something of file B" is searched for cycles. A module and its own
//! submodules may name each other (a parent declares its children, a child
//! uses its parent's types): those edges are not counted. Single-file
//! binaries under `src/bin/` cannot hold a cycle and are skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path inside its crate: `["auth", "ldap"]` for `crate::auth::ldap`.
type ModPath = Vec<String>;

/// Where one module names another, for the message: file and line.
type Edges = BTreeMap<ModPath, BTreeMap<ModPath, (PathBuf, usize)>>;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Semi,
    Other,
}

/// Rust source as tokens, with the line each starts on; comments, string
/// and character literals are dropped (their text is no path).
fn tokens(src: &str) -> Vec<(Token, usize)> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            line += 1;
            i += 1;
        } else if c.is_ascii_whitespace() {
            i += 1;
        } else if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if b[i] == b'\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if let Some(end) = raw_string_end(b, i) {
            line += b[i..end].iter().filter(|&&c| c == b'\n').count();
            i = end;
        } else if c == b'"' || (c == b'b' && b.get(i + 1) == Some(&b'"')) {
            i += if c == b'b' { 2 } else { 1 };
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                if i < b.len() && b[i] == b'\n' {
                    line += 1;
                }
                i += 1;
            }
            i += 1;
        } else if c == b'\'' {
            // A character literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if b.get(i + 1) == Some(&b'\\') {
                i += 2;
                while i < b.len() && b[i] != b'\'' {
                    i += 1;
                }
                i += 1;
            } else if let Some(len) = src[i + 1..].chars().next().map(char::len_utf8) {
                if b.get(i + 1 + len) == Some(&b'\'') {
                    i += 2 + len;
                } else {
                    i += 1;
                }
            } else {
                i += 1;
            }
            out.push((Token::Other, line));
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push((Token::Ident(src[start..i].to_owned()), line));
        } else if b[i..].starts_with(b"::") {
            out.push((Token::PathSep, line));
            i += 2;
        } else {
            out.push((
                match c {
                    b'{' => Token::Open,
                    b'}' => Token::Close,
                    b',' => Token::Comma,
                    b';' => Token::Semi,
                    _ => Token::Other,
                },
                line,
            ));
            i += src[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    out
}

/// The end of a raw string literal (`r"…"`, `r#"…"#`, `br#"…"#`) starting
/// at `i`, if one does.
fn raw_string_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    if b.get(j) == Some(&b'b') {
        j += 1;
    }
    if b.get(j) != Some(&b'r') || (i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
    {
        return None;
    }
    j += 1;
    let hashes = b[j..].iter().take_while(|&&c| c == b'#').count();
    j += hashes;
    if b.get(j) != Some(&b'"') {
        return None;
    }
    j += 1;
    let close: Vec<u8> = std::iter::once(b'"')
        .chain(std::iter::repeat_n(b'#', hashes))
        .collect();
    while j < b.len() {
        if b[j..].starts_with(&close) {
            return Some(j + close.len());
        }
        j += 1;
    }
    Some(b.len())
}

/// The paths of a use tree starting at `toks[i]` (just after a `::` that
/// is followed by `{`), each as segments after `prefix`; returns where the
/// group ends.
fn use_group(
    toks: &[(Token, usize)],
    mut i: usize,
    prefix: &[String],
    out: &mut Vec<ModPath>,
) -> usize {
    // toks[i] is `{`.
    i += 1;
    let mut current = prefix.to_vec();
    while i < toks.len() {
        match &toks[i].0 {
            Token::Close => {
                if current.len() > prefix.len() {
                    out.push(current.clone());
                }
                return i + 1;
            }
            Token::Comma => {
                if current.len() > prefix.len() {
                    out.push(current.clone());
                }
                current = prefix.to_vec();
                i += 1;
            }
            Token::Open => {
                i = use_group(toks, i, &current, out);
                current = prefix.to_vec();
            }
            Token::Ident(s) if s == "as" => {
                // `x as y`: the rename is no path segment.
                i += 2;
            }
            Token::Ident(s) if s == "self" => i += 1,
            Token::Ident(s) => {
                current.push(s.clone());
                i += 1;
            }
            Token::PathSep => i += 1,
            _ => i += 1,
        }
    }
    i
}

/// The module path of a source file under `src/`.
fn module_of(src: &Path, file: &Path) -> ModPath {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if !matches!(stem, "mod" | "lib" | "main") || !parts.is_empty() && stem != "mod" {
        parts.push(stem.to_owned());
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The edges between the modules of the crate whose sources are in `src`.
fn module_graph(src: &Path) -> Edges {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.retain(|f| !f.starts_with(src.join("bin")));
    let crate_dir = src.parent().unwrap_or(src);
    let modules: BTreeSet<ModPath> = files.iter().map(|f| module_of(src, f)).collect();
    let mut edges = Edges::new();
    for file in &files {
        let from = module_of(src, file);
        edges.entry(from.clone()).or_default();
        let text = std::fs::read_to_string(file).unwrap();
        for (path, line) in named_paths(&tokens(&text), &from) {
            let Some(to) = (1..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| modules.contains(p))
            else {
                continue;
            };
            if to.starts_with(&from) || from.starts_with(&to) {
                continue;
            }
            edges
                .entry(from.clone())
                .or_default()
                .entry(to)
                .or_insert_with(|| {
                    (
                        file.strip_prefix(crate_dir).unwrap_or(file).to_owned(),
                        line,
                    )
                });
        }
    }
    edges
}

/// Every `crate::`, `super::` and `self::` path in a file of module
/// `module`, resolved to a path from the crate root, with its line.
/// Inline modules (`mod tests { … }`) are followed, so their `super::`
/// means the file's module.
fn named_paths(toks: &[(Token, usize)], module: &ModPath) -> Vec<(ModPath, usize)> {
    let mut out = Vec::new();
    // The inline modules open here, with the brace depth each closes at.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0;
    let mut i = 0;
    while i < toks.len() {
        let (tok, line) = &toks[i];
        let after_sep = i > 0 && toks[i - 1].0 == Token::PathSep;
        match tok {
            Token::Open => depth += 1,
            Token::Close => {
                depth -= 1;
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
            }
            Token::Ident(k) if k == "mod" => {
                if let (Some((Token::Ident(name), _)), Some((Token::Open, _))) =
                    (toks.get(i + 1), toks.get(i + 2))
                {
                    inline.push((name.clone(), depth));
                }
            }
            Token::Ident(k)
                if !after_sep
                    && matches!(k.as_str(), "crate" | "super" | "self")
                    && toks.get(i + 1).map(|t| &t.0) == Some(&Token::PathSep) =>
            {
                let mut here: ModPath = module.clone();
                here.extend(inline.iter().map(|(n, _)| n.clone()));
                let mut base = match k.as_str() {
                    "crate" => Vec::new(),
                    "super" => {
                        here.pop();
                        here
                    }
                    _ => here,
                };
                let mut j = i + 1;
                while toks.get(j).map(|t| &t.0) == Some(&Token::PathSep) {
                    match toks.get(j + 1).map(|t| &t.0) {
                        Some(Token::Ident(s)) if s == "super" => {
                            base.pop();
                        }
                        Some(Token::Ident(s)) => base.push(s.clone()),
                        Some(Token::Open) => {
                            let mut group = Vec::new();
                            j = use_group(toks, j + 1, &base, &mut group);
                            out.extend(group.into_iter().map(|p| (p, *line)));
                            base.clear();
                            break;
                        }
                        _ => break,
                    }
                    j += 2;
                }
                if !base.is_empty() {
                    out.push((base, *line));
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// A cycle: a closed walk, and every module of its strongly connected
/// component (other cycles may run through them).
struct Cycle {
    walk: Vec<ModPath>,
    component: BTreeSet<ModPath>,
}

/// The cycles of the graph: one per strongly connected component of more
/// than one module, each a closed walk through it.
fn cycles(edges: &Edges) -> Vec<Cycle> {
    // Tarjan's algorithm, recursive: module graphs are small.
    struct State<'a> {
        edges: &'a Edges,
        index: BTreeMap<&'a ModPath, usize>,
        low: BTreeMap<&'a ModPath, usize>,
        stack: Vec<&'a ModPath>,
        on_stack: BTreeSet<&'a ModPath>,
        components: Vec<Vec<&'a ModPath>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a ModPath) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.edges.get(v).into_iter().flat_map(|m| m.keys()) {
            if !s.index.contains_key(w) {
                visit(s, w);
                let l = s.low[w].min(s.low[v]);
                s.low.insert(v, l);
            } else if s.on_stack.contains(w) {
                let l = s.index[w].min(s.low[v]);
                s.low.insert(v, l);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w);
                if w == v {
                    break;
                }
            }
            s.components.push(component);
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        components: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    let mut found = Vec::new();
    for c in s.components.into_iter().filter(|c| c.len() > 1) {
        let members: BTreeSet<&ModPath> = c.iter().copied().collect();
        // A shortest path back to the first member, breadth first.
        let start = *members.iter().next().unwrap();
        let mut previous: BTreeMap<&ModPath, &ModPath> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        'search: while let Some(v) = queue.pop_front() {
            for w in edges[v].keys().filter(|w| members.contains(w)) {
                if w == start {
                    let mut walk = vec![start.clone(), v.clone()];
                    let mut at = v;
                    while at != start {
                        at = previous[at];
                        walk.push(at.clone());
                    }
                    walk.reverse();
                    found.push(Cycle {
                        walk,
                        component: members.iter().map(|m| (*m).clone()).collect(),
                    });
                    break 'search;
                }
                if !previous.contains_key(w) {
                    previous.insert(w, v);
                    queue.push_back(w);
                }
            }
        }
    }
    found
}

fn name(m: &ModPath) -> String {
    if m.is_empty() {
        "crate".into()
    } else {
        m.join("::")
    }
}

/// The crates of the workspace: its members, and the root package.
fn workspace_crates(root: &Path) -> Vec<PathBuf> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let members = manifest
        .split("members = [")
        .nth(1)
        .and_then(|m| m.split(']').next())
        .expect("Cargo.toml: [workspace] members");
    let mut crates = vec![root.to_path_buf()];
    crates.extend(
        members
            .lines()
            .map(|l| l.trim().trim_end_matches(',').trim_matches('"'))
            .filter(|m| !m.is_empty() && !m.starts_with('#'))
            .map(|m| root.join(m)),
    );
    crates
}

fn describe(crate_name: &Path, edges: &Edges, cycle: &Cycle) -> String {
    let mut s = format!("{}: {}", crate_name.display(), name(&cycle.walk[0]));
    for pair in cycle.walk.windows(2) {
        let (file, line) = &edges[&pair[0]][&pair[1]];
        s.push_str(&format!(
            " -> {} ({}:{line})",
            name(&pair[1]),
            file.display()
        ));
    }
    if cycle.component.len() + 1 > cycle.walk.len() {
        let all: Vec<String> = cycle.component.iter().map(name).collect();
        s.push_str(&format!(" (all in one cycle: {})", all.join(", ")));
    }
    s
}

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut found = Vec::new();
    let crates = workspace_crates(root);
    assert!(crates.len() > 5, "members not found in Cargo.toml");
    for dir in crates {
        let src = dir.join("src");
        let edges = module_graph(&src);
        let name = match dir.strip_prefix(root) {
            Ok(p) if p.as_os_str().is_empty() => Path::new("."),
            Ok(p) => p,
            Err(_) => &dir,
        };
        for c in cycles(&edges) {
            found.push(describe(name, &edges, &c));
        }
    }
    assert!(
        found.is_empty(),
        "import cycles between modules:\n{}",
        found.join("\n")
    );
}

/// The checker itself finds a cycle, through grouped `use` items, `super::`
/// from an inline module and a path in code; a child naming its parent, a
/// comment and a string literal make no edge.
#[test]
fn the_check_finds_a_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let src = &dir.path().join("src");
    std::fs::create_dir_all(src.join("a")).unwrap();
    let write = |file: &str, text: &str| std::fs::write(src.join(file), text).unwrap();
    write("lib.rs", "mod a; mod b; mod c;");
    write("a/mod.rs", "mod inner; pub struct Parent;");
    write(
        "a/inner.rs",
        "use super::Parent; // crate::c::X\nuse crate::{x, b::{self, Thing as T}};",
    );
    write(
        "b.rs",
        "fn f() { let _ = \"crate::a::X\"; let _ = r#\"crate::a\"#; super::c::g(); }",
    );
    write(
        "c.rs",
        "#[cfg(test)]\nmod tests {\n    use super::super::a::inner::Y;\n}",
    );
    let edges = module_graph(src);
    let found: Vec<Vec<String>> = cycles(&edges)
        .iter()
        .map(|c| c.walk.iter().map(name).collect())
        .collect();
    assert_eq!(found, [["a::inner", "b", "c", "a::inner"]], "{edges:?}");
    let message = describe(Path::new("x"), &edges, &cycles(&edges)[0]);
    assert!(message.contains("-> a::inner (src/c.rs:3)"), "{message}");
}
