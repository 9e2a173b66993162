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
