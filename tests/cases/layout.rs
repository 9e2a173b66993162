/*!
The house rules that a reader of `src/` relies on, checked on the source itself: every
`use crate::…` edge between top-level modules points one way (no cycle, so a layer's name tells
what it may use), few files sit directly in `src/`, and the stop-signal critical section is
entered only on the store's roads.
*/

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The source without comments (line, block and doc comments) and string literals, so only
/// code is read.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let (mut out, mut i) = (String::with_capacity(src.len()), 0);
    while i < b.len() {
        if b[i..].starts_with(b"//") {
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
                    i += 1;
                }
            }
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// `code` without the items under `#[cfg(test)]` (a `mod tests { … }` or a `use …;`).
fn without_tests(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        rest = &rest[at + "#[cfg(test)]".len()..];
        let brace = rest.find('{');
        let semi = rest.find(';');
        let end = match (brace, semi) {
            (Some(b), Some(s)) if s < b => s + 1,
            (Some(b), _) => b + matching_brace(&rest[b..]),
            (None, Some(s)) => s + 1,
            (None, None) => rest.len(),
        };
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The length of `s` up to and including the brace that closes its first `{`.
fn matching_brace(s: &str) -> usize {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    s.len()
}

/// The top-level module a file under `src/` belongs to (`store/file.rs` → `store`).
fn top_module(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// Top-level module → the top-level modules its non-test code names through `crate::`.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(&src) {
        let from = top_module(&src, &file);
        let code = without_tests(&code_only(&fs::read_to_string(&file).unwrap()));
        let edges = graph.entry(from.clone()).or_default();
        for (at, _) in code.match_indices("crate::") {
            let name: String = code[at + 7..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && name != from {
                edges.insert(name);
            }
        }
    }
    graph
}

/// A cycle through `start`, if there is one.
fn cycle_from(
    graph: &BTreeMap<String, BTreeSet<String>>,
    start: &str,
    path: &mut Vec<String>,
) -> Option<Vec<String>> {
    let node = path.last().unwrap().clone();
    for next in graph.get(&node).into_iter().flatten() {
        if next == start {
            let mut cycle = path.clone();
            cycle.push(next.clone());
            return Some(cycle);
        }
        if !path.contains(next) {
            path.push(next.clone());
            if let Some(c) = cycle_from(graph, start, path) {
                return Some(c);
            }
            path.pop();
        }
    }
    None
}

#[test]
fn top_level_modules_depend_one_way() {
    let graph = module_graph();
    assert!(graph.len() >= 8, "the walk found the modules: {graph:?}");
    // The map, for a reader (`cargo test --test integration layout -- --nocapture`).
    for (module, edges) in &graph {
        let names: Vec<&str> = edges.iter().map(String::as_str).collect();
        println!("{module} → {}", names.join(", "));
    }
    for start in graph.keys() {
        if let Some(cycle) = cycle_from(&graph, start, &mut vec![start.clone()]) {
            panic!(
                "a cycle between top-level modules: {} (edges: {graph:#?})",
                cycle.join(" → ")
            );
        }
    }
}

#[test]
fn the_walk_sees_a_cycle_when_there_is_one() {
    let edges = |pairs: &[(&str, &str)]| {
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in pairs {
            g.entry(a.to_string()).or_default().insert(b.to_string());
        }
        g
    };
    let g = edges(&[("cli", "rest"), ("rest", "session"), ("session", "cli")]);
    assert!(cycle_from(&g, "cli", &mut vec!["cli".into()]).is_some());
    let g = edges(&[("cli", "rest"), ("rest", "session")]);
    assert!(cycle_from(&g, "cli", &mut vec!["cli".into()]).is_none());
    let code = "use crate::a; // crate::b\n/* crate::c */ \"crate::d\"\n#[cfg(test)]\nmod tests { use crate::e; }\n#[cfg(test)]\nuse crate::f;\nfn x() { crate::g::h() }";
    let kept = without_tests(&code_only(code));
    assert!(kept.contains("crate::a") && kept.contains("crate::g"));
    for gone in ["crate::b", "crate::c", "crate::d", "crate::e", "crate::f"] {
        assert!(!kept.contains(gone), "{gone} in {kept}");
    }
}

#[test]
fn few_files_sit_directly_in_src() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let flat: Vec<String> = fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(flat.len() <= 8, "files directly in src/: {flat:?}");
}

/// Files outside `src/store/` that may name the critical section: only where it is defined.
const CRITICAL_ALLOWED: [&str; 1] = ["signals.rs"];

#[test]
fn critical_sections_are_opened_only_on_the_stores_roads() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut outside = Vec::new();
    let mut inside = 0;
    for file in rust_files(&src) {
        let rel = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let code = without_tests(&code_only(&fs::read_to_string(&file).unwrap()));
        let calls = code.matches("signals::critical").count();
        if rel.starts_with("store/") {
            inside += calls;
        } else if calls > 0 && !CRITICAL_ALLOWED.contains(&rel.as_str()) {
            outside.push(rel);
        }
    }
    assert!(
        inside >= 1,
        "the walk found the store's own critical sections"
    );
    assert!(
        outside.is_empty(),
        "signals::critical outside src/store/ (save on a store road instead): {outside:?}"
    );
}
