//! The code's shape, checked: no import circle between the files of a crate (`crate::`, `super::` and child-module
//! paths all count) and no function longer than [`MAX_FUNCTION_LINES`] lines. Reads the sources as text
//! (rustfmt-formatted code: an item's closing brace sits at its opening line's indentation).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_FUNCTION_LINES: usize = 100;

/// Every crate's source root: the binary's `src/` and each `crates/<name>/src/`.
fn source_roots() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut roots = vec![root.join("src")];
    let mut crates: Vec<PathBuf> =
        std::fs::read_dir(root.join("crates")).unwrap().map(|e| e.unwrap().path().join("src")).collect();
    crates.sort();
    roots.extend(crates.into_iter().filter(|p| p.is_dir()));
    roots
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file under `root`: `lib.rs` -> [], `a/mod.rs` -> [a], `a/b.rs` -> [a, b].
fn module_of(root: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(root).unwrap().with_extension("");
    let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts
}

/// The code of a file without its inline `#[cfg(test)] mod tests { ... }` (whose `super::` is the file itself),
/// comments and re-exports (`pub use`: a facade that forwards names, not code that depends on them).
fn library_code(text: &str) -> String {
    let mut code = String::new();
    let mut lines = text.lines().peekable();
    let mut in_reexport = false;
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed == "#[cfg(test)]" && lines.peek().is_some_and(|next| next.trim_start().starts_with("mod tests {")) {
            break;
        }
        if ["pub use ", "pub(crate) use ", "pub(super) use "].iter().any(|p| trimmed.starts_with(p)) {
            in_reexport = true;
        }
        if in_reexport {
            in_reexport = !line.contains(';');
            continue;
        }
        code.push_str(line.split("//").next().unwrap_or(""));
        code.push('\n');
    }
    code
}

/// Every path a file's code names: `a::b::c` segments, with `{a, b::c}` groups expanded.
fn paths_in(code: &str) -> Vec<Vec<String>> {
    let bytes = code.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut paths = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_path = is_ident(bytes[i]) && (i == 0 || !(is_ident(bytes[i - 1]) || bytes[i - 1] == b':'));
        let is_path = starts_path
            && code[i..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .is_some_and(|end| code[i + end..].starts_with("::"));
        if !is_path {
            i += 1;
            continue;
        }
        let (mut found, end) = read_path(code, i);
        paths.append(&mut found);
        i = end.max(i + 1);
    }
    paths
}

/// The path starting at `start` (expanding one level of `{...}` groups, recursively), and where it ends.
fn read_path(code: &str, start: usize) -> (Vec<Vec<String>>, usize) {
    let bytes = code.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut segments = Vec::new();
    let mut i = start;
    loop {
        let begin = i;
        while i < bytes.len() && is_ident(bytes[i]) {
            i += 1;
        }
        segments.push(code[begin..i].to_string());
        if !code[i..].starts_with("::") {
            return (vec![segments], i);
        }
        i += 2;
        if code[i..].starts_with('{') {
            let mut depth = 0;
            let mut close = i;
            for (k, c) in code[i..].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            close = i + k;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let mut all = Vec::new();
            for item in split_top_level(&code[i + 1..close]) {
                let item = item.trim();
                if item.is_empty() || !item.as_bytes()[0].is_ascii_alphabetic() && item.as_bytes()[0] != b'_' {
                    continue;
                }
                let (inner, _) = read_path(item, 0);
                for tail in inner {
                    let mut full = segments.clone();
                    full.extend(tail);
                    all.push(full);
                }
            }
            return (all, close + 1);
        }
        if i >= bytes.len() || !is_ident(bytes[i]) {
            return (vec![segments], i);
        }
    }
}

fn split_top_level(text: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut begin) = (0, 0);
    for (k, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&text[begin..k]);
                begin = k + 1;
            }
            _ => {}
        }
    }
    items.push(&text[begin..]);
    items
}

/// The module a path names, as the longest prefix that is a module of the crate, from module `here`.
fn target_module(path: &[String], here: &[String], modules: &BTreeSet<Vec<String>>) -> Option<Vec<String>> {
    let (mut base, rest): (Vec<String>, &[String]) = match path.first().map(String::as_str) {
        Some("crate") => (vec![], &path[1..]),
        Some("super") => {
            let mut base = here.to_vec();
            let mut rest = path;
            while rest.first().is_some_and(|s| s == "super") {
                base.pop();
                rest = &rest[1..];
            }
            (base, rest)
        }
        Some("self") => (here.to_vec(), &path[1..]),
        Some(first) => {
            let mut child = here.to_vec();
            child.push(first.to_string());
            if !modules.contains(&child) || path.len() < 2 {
                return None;
            }
            (here.to_vec(), path)
        }
        None => return None,
    };
    let mut found = base.clone();
    for segment in rest {
        base.push(segment.clone());
        if modules.contains(&base) {
            found = base.clone();
        } else {
            break;
        }
    }
    Some(found)
}

/// Import circles among one crate's files, each as the files that form it.
fn circles(root: &Path) -> Vec<Vec<String>> {
    let mut files = Vec::new();
    rust_files(root, &mut files);
    let module_file: BTreeMap<Vec<String>, PathBuf> = files.iter().map(|f| (module_of(root, f), f.clone())).collect();
    let modules: BTreeSet<Vec<String>> = module_file.keys().cloned().collect();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (module, file) in &module_file {
        let code = library_code(&std::fs::read_to_string(file).unwrap());
        for path in paths_in(&code) {
            if let Some(target) = target_module(&path, module, &modules) {
                if &target != module {
                    edges.entry(module.clone()).or_default().insert(target);
                }
            }
        }
    }
    strongly_connected(&modules, &edges)
        .into_iter()
        .filter(|component| component.len() > 1)
        .map(|component| {
            component.iter().map(|m| module_file[m].strip_prefix(root).unwrap().display().to_string()).collect()
        })
        .collect()
}

/// Tarjan's strongly connected components.
fn strongly_connected(
    nodes: &BTreeSet<Vec<String>>,
    edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
) -> Vec<Vec<Vec<String>>> {
    struct State<'a> {
        edges: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<Vec<String>, usize>,
        low: BTreeMap<Vec<String>, usize>,
        stack: Vec<Vec<String>>,
        on_stack: BTreeSet<Vec<String>>,
        components: Vec<Vec<Vec<String>>>,
    }
    fn visit(state: &mut State<'_>, node: &Vec<String>) {
        let n = state.index.len();
        state.index.insert(node.clone(), n);
        state.low.insert(node.clone(), n);
        state.stack.push(node.clone());
        state.on_stack.insert(node.clone());
        let next: Vec<Vec<String>> = state.edges.get(node).map(|s| s.iter().cloned().collect()).unwrap_or_default();
        for target in &next {
            if !state.index.contains_key(target) {
                visit(state, target);
                let low = state.low[node].min(state.low[target]);
                state.low.insert(node.clone(), low);
            } else if state.on_stack.contains(target) {
                let low = state.low[node].min(state.index[target]);
                state.low.insert(node.clone(), low);
            }
        }
        if state.low[node] == state.index[node] {
            let mut component = Vec::new();
            while let Some(top) = state.stack.pop() {
                state.on_stack.remove(&top);
                let done = &top == node;
                component.push(top);
                if done {
                    break;
                }
            }
            component.sort();
            state.components.push(component);
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        components: Vec::new(),
    };
    for node in nodes {
        if !state.index.contains_key(node) {
            visit(&mut state, node);
        }
    }
    state.components
}

/// Functions longer than the limit in one file: (first line, name, lines).
fn long_functions(text: &str) -> Vec<(usize, String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let Some(name) = function_name(trimmed) else { continue };
        if trimmed.ends_with(';') {
            continue; // a declaration without a body
        }
        let indent = line.len() - trimmed.len();
        // The signature may span lines; the body ends at the first `}` line at the signature's indentation.
        let closing = " ".repeat(indent) + "}";
        let Some(end) = lines[i + 1..].iter().position(|l| *l == closing || l.starts_with(&(closing.clone() + " ")))
        else {
            continue;
        };
        let length = end + 2;
        if length > MAX_FUNCTION_LINES {
            found.push((i + 1, name, length));
        }
    }
    found
}

fn function_name(line: &str) -> Option<String> {
    let mut rest = line;
    for prefix in ["pub(crate) ", "pub(super) ", "pub ", "const ", "async ", "unsafe ", "extern \"C\" "] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    let rest = rest.strip_prefix("fn ")?;
    Some(rest.split(|c: char| !(c.is_alphanumeric() || c == '_')).next()?.to_string())
}

#[test]
fn no_file_imports_a_file_that_imports_it_back() {
    let mut found = Vec::new();
    for root in source_roots() {
        for circle in circles(&root) {
            found.push(format!("{}: {}", root.display(), circle.join(" <-> ")));
        }
    }
    assert!(found.is_empty(), "import circles between files of a crate:\n{}", found.join("\n"));
}

#[test]
fn no_function_is_longer_than_the_limit() {
    let mut found = Vec::new();
    for root in source_roots() {
        let mut files = Vec::new();
        rust_files(&root, &mut files);
        for file in files {
            for (line, name, length) in long_functions(&std::fs::read_to_string(&file).unwrap()) {
                found.push(format!("{}:{line}: fn {name} is {length} lines", file.display()));
            }
        }
    }
    assert!(found.is_empty(), "functions over {MAX_FUNCTION_LINES} lines:\n{}", found.join("\n"));
}

#[test]
fn the_checks_find_what_they_look_for() {
    // A circle through `super::` and a child path, and a long function, in text the checks must flag.
    let modules: BTreeSet<Vec<String>> =
        [vec![], vec!["a".to_string()], vec!["a".to_string(), "b".to_string()]].into_iter().collect();
    let here = vec!["a".to_string(), "b".to_string()];
    let parent = paths_in("use super::{Thing, other::X};");
    assert_eq!(parent, [vec!["super", "Thing"], vec!["super", "other", "X"]]);
    assert_eq!(target_module(&parent[0], &here, &modules), Some(vec!["a".to_string()]));
    let child = paths_in("let x = b::helper(1);");
    assert_eq!(target_module(&child[0], &["a".to_string()], &modules), Some(here.clone()));
    let edges: BTreeMap<_, BTreeSet<_>> = [
        (here.clone(), [vec!["a".to_string()]].into_iter().collect()),
        (vec!["a".to_string()], [here.clone()].into_iter().collect()),
    ]
    .into_iter()
    .collect();
    let components = strongly_connected(&modules, &edges);
    assert!(components.iter().any(|c| c.len() == 2), "{components:?}");
    let long = format!("pub fn long() {{\n{}}}\nfn short() {{\n}}\n", "    x();\n".repeat(MAX_FUNCTION_LINES));
    assert_eq!(long_functions(&long), [(1, "long".to_string(), MAX_FUNCTION_LINES + 2)]);
}
