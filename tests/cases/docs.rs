//! Documentation people open: the man pages in `man/` are exactly what the binary writes.

use crate::support::cli::{Env, BIN};

#[test]
fn committed_man_pages_match_the_binary() {
    let env = Env::new();
    let dir = env.tmp.path().join("man");
    let run = env.run(&["man", "--dir", dir.to_str().unwrap()]);
    run.assert_ok();
    let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let names = |d: &std::path::Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .map(|r| {
                r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    assert_eq!(
        names(&dir),
        names(&committed),
        "man/ lists other pages than `b24auth man --dir`: run scripts/gen-man"
    );
    for name in names(&dir) {
        assert!(
            std::fs::read(dir.join(&name)).unwrap()
                == std::fs::read(committed.join(&name)).unwrap(),
            "man/{name} differs from `b24auth man --dir`: run scripts/gen-man"
        );
    }
    let stdout = std::process::Command::new(BIN).arg("man").output().unwrap();
    assert_eq!(
        stdout.stdout,
        std::fs::read(committed.join("b24auth.1")).unwrap()
    );
    let main = String::from_utf8(stdout.stdout).unwrap();
    for section in [
        ".SH \"EXIT STATUS\"",
        ".SH ENVIRONMENT",
        ".SH FILES",
        ".SH EXAMPLES",
    ] {
        assert!(main.contains(section), "{section}");
    }
    assert!(names(&dir).contains(&"b24auth-authorize.1".to_string()));
}

/// `-v` / `B24AUTH_LOG=debug` over a whole authorize + refresh + call run: a line per HTTP
/// exchange and per retry, and not one of the secrets the stand-in issued.
#[test]
fn the_debug_log_shows_every_exchange_and_no_secret() {
    use super::messages::Flow;
    use crate::support::http;
    let f = Flow::new();
    let (p, url) = f.start(&mut f.cmd(&["-v"]));
    http::follow(&url);
    let authorize = p.finish();
    authorize.assert_ok();
    let mut refresh = f.env.app_cmd(&f.s, &["refresh"]);
    refresh.env("B24AUTH_LOG", "debug");
    let refresh = Env::run_cmd(&mut refresh);
    refresh.assert_ok();
    f.s.expire_access_tokens();
    let call = Env::run_cmd(&mut f.env.app_cmd(&f.s, &["--verbose", "call", "user.current"]));
    call.assert_ok();
    let token = format!("POST {}/oauth/token/ -> 200, ", f.s.base);
    assert!(authorize.stderr.contains(&token), "{}", authorize.stderr);
    assert!(refresh.stderr.contains(&token), "{}", refresh.stderr);
    let rest = format!("POST {}/portal/rest/user.current -> 401, ", f.s.base);
    assert!(call.stderr.contains(&rest), "{}", call.stderr);
    assert!(call
        .stderr
        .contains("user.current: expired_token; refreshing, then retrying once"));
    assert!(call.stderr.contains(&token));
    assert!(call.stderr.contains(" ms\n") && call.stderr.contains(" bytes, "));
    let all = [&authorize.stderr, &refresh.stderr, &call.stderr];
    let secrets = f.s.issued_secrets();
    assert!(
        secrets.len() >= 7,
        "a code, three pairs and the client secret"
    );
    for secret in &secrets {
        for log in all {
            assert!(
                !log.contains(secret.as_str()),
                "a secret in the log:\n{log}"
            );
        }
    }
    // Without the switch, no log at all.
    let quiet = Env::run_cmd(&mut f.env.app_cmd(&f.s, &["call", "user.current"]));
    assert!(!quiet.stderr.contains("POST "), "{}", quiet.stderr);
}

/// A test whose tool (PostgreSQL, pgbouncer, Chromium) is missing says so in one line and
/// passes on a developer's machine, and fails in CI.
#[test]
fn a_missing_test_tool_skips_loudly_and_fails_in_ci() {
    use crate::support::deps::{decide, Dep};
    assert_eq!(decide(Dep::Postgres, true, true, "t"), Ok(None));
    assert_eq!(
        decide(Dep::Chromium, false, false, "t"),
        Ok(Some(
            "SKIPPED t: Chromium not found (install with scripts/install-test-deps)".into()
        ))
    );
    let e = decide(Dep::Pgbouncer, false, true, "pgbouncer::x").unwrap_err();
    assert!(
        e.starts_with(
            "SKIPPED pgbouncer::x: pgbouncer not found (install with scripts/install-test-deps)"
        ),
        "{e}"
    );
}

/// No skip hides behind `eprintln!`, which the harness captures: skips go through
/// `support::deps`, whose line reaches the terminal.
#[test]
fn no_test_skips_silently() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace(char::is_whitespace, "");
        assert!(
            !text.contains("eprintln!(\"SKIPPED"),
            "{} skips with eprintln!: use crate::support::deps",
            path.display()
        );
    }
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

/// The README is a guide, not a specification: short, with the two set-up lines CI runs.
#[test]
fn the_readme_is_short_and_keeps_the_set_up_commands() {
    let readme = read("README.md");
    assert!(readme.lines().count() <= 250, "README.md is over 250 lines");
    for line in [
        "cargo install --locked --path . && b24auth --help",
        "scripts/install-test-deps && cargo test --locked",
    ] {
        assert!(
            readme.lines().any(|l| l == line),
            "the README lost `{line}`"
        );
    }
    assert!(read(".ci/run").contains("\ncargo test --locked\n"));
    assert!(
        readme.find("cargo install --locked").unwrap() < readme.find("cargo deb").unwrap(),
        "cargo comes first: the .deb needs Rust to build"
    );
    // The opening example never puts a token into another program's arguments.
    assert!(!readme.contains("auth=$(b24auth token)"));
}

/// Every relative link in the README and docs/ names a file that exists.
#[test]
fn readme_and_docs_links_point_at_files() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages = vec![("README.md".to_string(), root.to_path_buf())];
    for e in std::fs::read_dir(root.join("docs")).unwrap() {
        let p = e.unwrap().path();
        pages.push((
            format!("docs/{}", p.file_name().unwrap().to_string_lossy()),
            root.join("docs"),
        ));
    }
    for (page, base) in pages {
        let text = read(&page);
        for (at, _) in text.match_indices("](") {
            let rest = &text[at + 2..];
            let target = &rest[..rest.find(')').unwrap()];
            let file = target.split('#').next().unwrap();
            if file.is_empty() || target.starts_with("http") {
                continue;
            }
            assert!(
                base.join(file).exists(),
                "{page} links to {target}, which is missing"
            );
        }
    }
}

/// Every `b24auth …` line in the README's shell blocks names a real subcommand and only options
/// that subcommand takes.
#[test]
fn readme_commands_are_real() {
    let readme = read("README.md");
    let mut checked = 0;
    for block in readme.split("```sh\n").skip(1) {
        let block = &block[..block.find("```").unwrap()];
        for line in block.lines() {
            for part in line.split(['|', ';', '&', '{', '(', '"']) {
                let part = part.split('#').next().unwrap().trim();
                let Some(args) = part.strip_prefix("b24auth ") else {
                    continue;
                };
                let words: Vec<&str> = args.split_whitespace().collect();
                let mut sub: Vec<&str> = words.iter().take(1).copied().collect();
                // A command with subcommands of its own (`events bind`) takes the next word too.
                let first = std::process::Command::new(BIN)
                    .args(&sub)
                    .arg("--help")
                    .output();
                let nested = String::from_utf8_lossy(&first.unwrap().stdout).contains("Commands:");
                if let (true, Some(w)) = (nested && !sub.is_empty(), words.get(1)) {
                    sub.push(w);
                }
                let mut help = std::process::Command::new(BIN);
                help.args(&sub).arg("--help");
                let out = help.output().unwrap();
                assert!(out.status.success(), "README: `{part}`: no such subcommand");
                let text = String::from_utf8_lossy(&out.stdout);
                for flag in words.iter().filter(|w| w.starts_with("--")) {
                    let flag = flag.split('=').next().unwrap();
                    assert!(
                        text.contains(flag),
                        "README: `{part}`: {flag} is not an option of it"
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "only {checked} commands found");
}

/// The README's opening curl line works as written, the token travelling on stdin.
#[test]
fn the_readmes_curl_line_works() {
    let s = crate::support::stand_in::StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    let readme = read("README.md");
    let line = readme
        .lines()
        .find(|l| l.contains("printf 'auth='"))
        .expect("the opening curl line");
    let bin_dir = std::path::Path::new(BIN).parent().unwrap();
    let out = std::process::Command::new("sh")
        .args(["-c", line])
        .env(
            "PATH",
            format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap()),
        )
        .env("B24AUTH_CONFIG_DIR", &env.dir)
        .env("B24AUTH_OAUTH_SERVER", &s.base)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\"NAME\":\"Stand\""), "{line}: {stdout}");
}

/// Every source file (`capture/install/flow.rs`, `slots.rs`) and every item path
/// (`bitrix::server::choose`, `cli/fast_token.rs::parse`, `Session::open`) that
/// docs/ARCHITECTURE.md names in backquotes exists in `src/`, so the map cannot go stale
/// silently: a file by its path's end, an item as a word of the file its module path names
/// or of a file below it (or of any source file when no part of it names a file).
#[test]
fn the_architecture_page_names_only_files_and_items_that_exist() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
                files.push((rel, std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    let words = |text: &str, word: &str| {
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .any(|w| w == word)
    };
    // `rest/rate/bucket.rs` → `rest::rate::bucket`; `rest/mod.rs` → `rest`.
    let module = |rel: &str| {
        rel.trim_end_matches(".rs")
            .trim_end_matches("/mod")
            .replace('/', "::")
    };
    let page = read("docs/ARCHITECTURE.md");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let (mut paths, mut items, mut stale) = (0, 0, Vec::new());
    for (n, span) in page.split('`').enumerate() {
        let span = span.trim_end_matches("()");
        if n % 2 == 0 || span.is_empty() {
            continue;
        }
        let (file, item) = match span.split_once(".rs") {
            Some((f, rest)) if rest.is_empty() || rest.starts_with("::") => {
                (Some(format!("{f}.rs")), rest.trim_start_matches("::"))
            }
            _ => (None, span),
        };
        let is_path = |s: &str| {
            s.contains("::")
                && s.split("::").all(|w| {
                    !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                })
        };
        let mut texts: Vec<&String> = Vec::new();
        let outside; // a file named from the repository's root (`tests/cases/layout.rs`)
        let mut rest: Vec<&str> = item.split("::").filter(|w| !w.is_empty()).collect();
        if let Some(file) = &file {
            texts = files
                .iter()
                .filter(|(rel, _)| rel == file || rel.ends_with(&format!("/{file}")))
                .map(|(_, t)| t)
                .collect();
            if texts.is_empty() && root.join(file).is_file() {
                outside = std::fs::read_to_string(root.join(file)).unwrap();
                texts.push(&outside);
            }
            if texts.is_empty() {
                stale.push(format!("`{span}`: no src/…/{file}"));
                continue;
            }
            paths += 1;
        } else if is_path(span) {
            // The longest leading part that is a module with a file of its own.
            let segs: Vec<&str> = span.split("::").collect();
            for k in (1..segs.len()).rev() {
                let want = segs[..k].join("::");
                // The module's own file and those below it (an index re-exports them).
                let found: Vec<&String> = files
                    .iter()
                    .filter(|(rel, _)| {
                        let m = format!("::{}::", module(rel));
                        m.contains(&format!("::{want}::"))
                    })
                    .map(|(_, t)| t)
                    .collect();
                if !found.is_empty() {
                    texts = found;
                    rest = segs[k..].to_vec();
                    break;
                }
            }
            if texts.is_empty() {
                texts = files.iter().map(|(_, t)| t).collect();
            }
            items += 1;
        } else {
            continue;
        }
        for word in rest {
            if !texts.iter().any(|t| words(t, word)) {
                stale.push(format!("`{span}`: no `{word}` where it points"));
            }
        }
    }
    assert!(
        paths >= 20 && items >= 20,
        "the walk read the page: {paths} files, {items} items"
    );
    assert!(
        stale.is_empty(),
        "docs/ARCHITECTURE.md names what src/ does not have: {stale:#?}"
    );
}

/// The README names the rescue directory as `store/rescue.rs` writes it.
#[test]
fn the_readme_names_the_rescue_directory_as_written() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/reliability.md"))
            .unwrap();
    assert!(
        !readme.contains("b24auth-rescue-"),
        "the code writes `rescue-…`"
    );
    assert!(
        readme.contains("$TMPDIR/rescue-<time>-<random>/"),
        "the file store's rescue"
    );
}
