//! The pages a person sees, in a real headless Chromium: their text through the real flow, and
//! screenshots (phone size, light and dark) kept under `target/tmp/pages/` for a person to look at.

use std::path::Path;
use std::process::Command;

use super::messages::{state_of, Flow};
use crate::support::cli::Env;
use crate::support::http;

/// Headless Chromium (`support::deps`), without scrollbars in its screenshots.
fn headless(dir: &Path) -> Command {
    let mut c = crate::support::deps::headless_chromium(dir);
    c.arg("--hide-scrollbars");
    c
}

/// A command the page shows on shell lines (` \` + newline), read as one line.
fn one_line(text: &str) -> String {
    text.replace(" \\\n  ", " ")
}

/// The page's text as Chromium's DOM holds it after parsing.
fn dom_text(dir: &Path, url: &str) -> String {
    let out = headless(dir).arg("--dump-dom").arg(url).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Screenshots `html` at phone size, light and dark; returns the text Chromium parsed.
fn screenshots(dir: &Path, name: &str, html: &str) -> String {
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pages");
    std::fs::create_dir_all(&shots).unwrap();
    let file = dir.join(format!("{name}.html"));
    std::fs::write(&file, html).unwrap();
    let url = format!("file://{}", file.display());
    // The text as rendered from the saved copy: the page needs nothing from its server.
    let text = dom_text(dir, &url);
    assert!(text.contains("b24auth"));
    for (scheme, dark) in [("light", false), ("dark", true)] {
        let png = shots.join(format!("{name}-{scheme}.png"));
        let _ = std::fs::remove_file(&png);
        let mut c = headless(dir);
        if dark {
            c.arg("--force-dark-mode");
        }
        let out = c
            .arg("--window-size=390,844")
            .arg(format!("--screenshot={}", png.display()))
            .arg(&url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let size = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
        assert!(size > 5_000, "{} is {size} bytes", png.display());
    }
    text
}

#[test]
fn every_page_names_portal_profile_and_next_step_in_a_real_browser() {
    if !crate::support::deps::require(
        crate::support::deps::Dep::Chromium,
        "pages::every_page_names_portal_profile_and_next_step_in_a_real_browser",
    ) {
        return;
    }
    let f = Flow::new();
    let dir = f.env.tmp.path().to_path_buf();
    let portal = f.s.host();
    let (p, url) = f.start(&mut f.cmd(&["--profile", "shop"]));

    // Wrong state: the real browser renders the page; the run keeps waiting.
    let stray = format!("http://{}/callback?code=x&state=old", f.listen);
    let text = one_line(&dom_text(&dir, &stray));
    assert!(
        text.contains("Not the sign-in b24auth is waiting for"),
        "{text}"
    );
    assert!(text.contains(&portal) && text.contains("shop"));
    assert!(text.contains(&format!(
        "b24auth --profile shop authorize --domain {}",
        f.s.base
    )));
    let wrong_state = http::get(&stray).body;

    // No code: our state, nothing else.
    let state = state_of(&url);
    let no_code = http::get(&format!("http://{}/callback?state={state}", f.listen)).body;
    assert!(no_code.contains("No authorization code"));

    // Success, through the portal's redirect.
    let ok = http::follow(&url);
    assert_eq!(ok.status, 200);
    assert!(ok.body.contains("Authorized") && ok.body.contains("You can close this tab"));
    assert!(ok.body.contains(&portal) && ok.body.contains("shop"));
    p.finish().assert_ok();

    // Access not granted, in the real browser through the whole flow.
    let f2 = Flow::new();
    f2.s.refuse_consent("access_denied", "The user denied access");
    let (p2, url2) = f2.start(&mut f2.cmd(&[]));
    let denied = http::follow(&url2).body;
    let denied_text = one_line(&screenshots(&dir, "denied", &denied));
    assert!(denied_text.contains("Access not granted"), "{denied_text}");
    assert!(denied_text.contains("access_denied: The user denied access"));
    assert!(denied_text.contains(&format!("b24auth authorize --domain {}", f2.s.base)));
    p2.finish().assert_final_error(3);

    // Failure: a code for another portal.
    let f3 = Flow::new();
    let (p3, url3) = f3.start(&mut f3.cmd(&[]));
    let code = f3.s.issue_code();
    let failed = http::get(&format!(
        "http://{}/callback?code={code}&state={}&domain=other.bitrix24.com",
        f3.listen,
        state_of(&url3)
    ))
    .body;
    assert!(failed.contains("Authorization failed") && failed.contains("Nothing was saved"));
    assert!(one_line(&failed).contains(&format!("b24auth authorize --domain {}", f3.s.base)));
    p3.finish().assert_final_error(2);

    // The install listener's address opened in a browser.
    let env = Env::new();
    let mut p4 = env.spawn(&mut env.cmd(&[
        "install-listen",
        "--listen",
        "127.0.0.1:0",
        "--path",
        "/install/x",
        "--timeout",
        "3s",
    ]));
    let addr = p4.wait_listening();
    let install = http::get(&format!("http://{addr}/install/x")).body;
    p4.finish().assert_final_error(4);

    for (name, html) in [
        ("authorized", &ok.body),
        ("wrong-state", &wrong_state),
        ("no-code", &no_code),
        ("failed", &failed),
        ("install", &install),
    ] {
        screenshots(&dir, name, html);
    }
}
