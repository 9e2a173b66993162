//! The house rules that a reader of `src/` relies on, checked on the source itself: every `use
//! crate::…` edge between top-level modules points one way (no cycle, so a layer's name tells what
//! it may use), few files sit directly in `src/`, and the stop-signal critical section is entered
//! only on the store's save paths; and no two files of one folder import each other in a circle.

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

/// Files outside `src/store/` that may name the critical section: where it is defined, and
/// `events pull`'s `clear=1` fetch, whose answer the portal has deleted: the spool's write is
/// that batch's only save.
const CRITICAL_ALLOWED: [&str; 2] = ["signals.rs", "events/pull.rs"];

#[test]
fn critical_sections_are_opened_only_on_the_stores_save_paths() {
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
        "signals::critical outside src/store/ (save through the store instead): {outside:?}"
    );
}

/// A file's module path under `src/` (`rest/rate/bucket.rs` → `rest::rate::bucket`,
/// `rest/mod.rs` → `rest`, `lib.rs` → the crate root, the empty path).
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    match last.as_str() {
        "mod.rs" | "lib.rs" | "main.rs" => {}
        name => parts.push(name.trim_end_matches(".rs").to_string()),
    }
    parts
}

/// The paths `code` names: `crate::a::b`, `super::a`, `self::a` and `child::a` for a module
/// `child` the file declares, each resolved to an absolute module path (a `use` group
/// `x::{a, b::c}` names `x::a` and `x::b::c`).
fn named_paths(code: &str, here: &[String], children: &BTreeSet<String>) -> Vec<Vec<String>> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts_word = i == 0 || !(ident(b[i - 1] as char) || b[i - 1] == b':');
        if !starts_word || !ident(b[i] as char) {
            i += 1;
            continue;
        }
        let word: String = b[i..]
            .iter()
            .map(|c| *c as char)
            .take_while(|c| ident(*c))
            .collect();
        let after = i + word.len().max(1);
        i = after;
        if !code[after..].starts_with("::") {
            continue;
        }
        let base: Vec<String> = match word.as_str() {
            "crate" => Vec::new(),
            "self" => here.to_vec(),
            "super" => here[..here.len().saturating_sub(1)].to_vec(),
            w if children.contains(w) => [here, &[w.to_string()]].concat(),
            _ => continue,
        };
        let mut rest = &code[after + 2..];
        let mut path = base;
        // `super::super::x`
        while let Some(r) = rest.strip_prefix("super::") {
            path.pop();
            rest = r;
        }
        for tail in path_tails(rest) {
            let mut full = path.clone();
            full.extend(tail);
            out.push(full);
        }
    }
    out
}

/// The segments after a path's prefix: `a::b::C` → one tail, `a::{b, c::D}` → two.
fn path_tails(rest: &str) -> Vec<Vec<String>> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut segments = Vec::new();
    let mut rest = rest.trim_start();
    loop {
        if let Some(group) = rest.strip_prefix('{') {
            let end = matching_brace(rest).saturating_sub(2).min(group.len());
            let (mut depth, mut start, mut tails) = (0, 0, Vec::new());
            let inner = &group[..end];
            for (at, c) in inner.char_indices().chain([(inner.len(), ',')]) {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        for tail in path_tails(&inner[start..at]) {
                            tails.push([segments.clone(), tail].concat());
                        }
                        start = at + 1;
                    }
                    _ => {}
                }
            }
            return tails;
        }
        let end = rest.find(|c: char| !ident(c)).unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        segments.push(rest[..end].to_string());
        match rest[end..].strip_prefix("::") {
            Some(r) => rest = r.trim_start(),
            None => break,
        }
    }
    vec![segments]
}

/// `code` without its re-exports (`pub use …;`, `pub(crate) use …;`): an index listing what
/// its folder offers depends on nothing in it.
fn without_reexports(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    loop {
        let at = ["pub use ", "pub(crate) use ", "pub(super) use "]
            .iter()
            .filter_map(|p| rest.find(p))
            .min();
        let Some(at) = at else { break };
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        rest = &rest[rest.find(';').map_or(rest.len(), |e| e + 1)..];
    }
    out.push_str(rest);
    out
}

/// The modules a file declares (`mod x;`, `pub(crate) mod x;`), not inline ones.
fn declared_children(code: &str) -> BTreeSet<String> {
    code.split(';')
        .filter_map(|stmt| {
            let words: Vec<&str> = stmt.split_whitespace().collect();
            let at = words.iter().position(|w| *w == "mod")?;
            (at + 2 == words.len()).then(|| words[at + 1].to_string())
        })
        .collect()
}

/// Each folder under `src/` → its files' edges: file → the files of the same folder it names.
fn folder_graphs() -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = rust_files(&src);
    let by_module: BTreeMap<Vec<String>, PathBuf> = files
        .iter()
        .map(|f| (module_path(&src, f), f.clone()))
        .collect();
    let mut graphs: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in &files {
        let here = module_path(&src, file);
        let folder = file.parent().unwrap();
        let folder_name = folder
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let name = |f: &Path| f.file_name().unwrap().to_string_lossy().into_owned();
        let code = without_reexports(&without_tests(&code_only(
            &fs::read_to_string(file).unwrap(),
        )));
        let children = declared_children(&code);
        let edges = graphs
            .entry(folder_name)
            .or_default()
            .entry(name(file))
            .or_default();
        for path in named_paths(&code, &here, &children) {
            // The longest prefix that is a module with a file of its own.
            let target = (0..=path.len())
                .rev()
                .find_map(|n| by_module.get(&path[..n]));
            if let Some(target) = target {
                if target != file && target.parent() == Some(folder) {
                    edges.insert(name(target));
                }
            }
        }
    }
    graphs
}

#[test]
fn no_two_files_of_a_folder_import_each_other_in_a_circle() {
    let graphs = folder_graphs();
    let rest = graphs.get("rest").expect("the walk found src/rest");
    assert!(
        rest.get("caller.rs")
            .is_some_and(|e| e.contains("retry.rs") && e.contains("rename.rs")),
        "the walk sees edges between files: {rest:#?}"
    );
    let mut circles = Vec::new();
    for (folder, graph) in &graphs {
        for start in graph.keys() {
            if let Some(cycle) = cycle_from(graph, start, &mut vec![start.clone()]) {
                circles.push(format!("src/{folder}: {}", cycle.join(" → ")));
                break;
            }
        }
    }
    // A re-export in an index is no edge (see [`without_reexports`]).
    assert!(
        circles.is_empty(),
        "circles between files of one folder: {circles:#?}"
    );
}

#[test]
fn the_file_walk_resolves_paths_and_groups() {
    let here: Vec<String> = vec!["rest".into(), "caller".into()];
    let none = BTreeSet::new();
    let code = "use super::rate::{bucket::BudgetFile, Pace};\nuse crate::exit;\nfn f() { super::super::x::y() }";
    let paths = named_paths(code, &here, &none);
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert!(
        paths.contains(&s(&["rest", "rate", "bucket", "BudgetFile"])),
        "{paths:?}"
    );
    assert!(paths.contains(&s(&["rest", "rate", "Pace"])), "{paths:?}");
    assert!(paths.contains(&s(&["exit"])), "{paths:?}");
    assert!(paths.contains(&s(&["x", "y"])), "{paths:?}");
    let index: Vec<String> = vec!["rest".into()];
    let kids: BTreeSet<String> = ["caller".to_string()].into();
    assert_eq!(
        declared_children("mod caller;\npub(crate) mod export;\n"),
        ["caller".to_string(), "export".to_string()].into()
    );
    let paths = named_paths("fn f() { caller::Caller::new() }", &index, &kids);
    assert_eq!(paths, vec![s(&["rest", "caller", "Caller", "new"])]);
    assert_eq!(
        without_reexports("mod a;\npub(crate) use a::X;\npub use b::{c, d};\nuse e::F;"),
        "mod a;\n\n\nuse e::F;"
    );
}

/// The type names a file declares (`struct`, `enum`, `trait`, `type` at item level; a trait's
/// associated `type` is a member, not a name of the crate).
fn declared_types(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in code.lines() {
        let indent = line.len() - line.trim_start().len();
        let mut words = line.split_whitespace().peekable();
        while words
            .peek()
            .is_some_and(|w| w.starts_with("pub") || *w == "unsafe")
        {
            words.next();
        }
        let (Some(kind), Some(name)) = (words.next(), words.next()) else {
            continue;
        };
        let member = kind == "type" && indent > 0;
        if ["struct", "enum", "trait", "type"].contains(&kind) && !member {
            let name: String = name
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if name.starts_with(|c: char| c.is_ascii_uppercase()) {
                out.push(name);
            }
        }
    }
    out
}

#[test]
fn no_type_name_is_declared_twice() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in rust_files(&src) {
        let code = code_only(&fs::read_to_string(&file).unwrap());
        let shown = file.strip_prefix(&src).unwrap().display().to_string();
        for name in declared_types(&code) {
            seen.entry(name).or_default().push(shown.clone());
        }
    }
    assert!(
        seen.len() > 100,
        "the walk reads the crate: {} names",
        seen.len()
    );
    let twice: Vec<_> = seen.iter().filter(|(_, at)| at.len() > 1).collect();
    assert!(twice.is_empty(), "one meaning per type name: {twice:?}");
    let found =
        declared_types("pub(crate) struct A;\nenum B {}\nimpl X for Y {\n    type C = D;\n}\n");
    assert_eq!(found, ["A", "B"], "the reader sees declarations");
}
