/*!
The pages a person sees in the browser: the end of `authorize` (authorized, failed, access not
granted, not this run's sign-in) and what the install listener answers a browser.

One small self-contained template: inline CSS only (no external asset, no script), dark mode
through `prefers-color-scheme`, a viewport for phones. Every page names the portal and the
profile it is about, and a failure page carries the exact command to run next.
*/

/// What a page is about.
pub struct Page<'a> {
    pub title: &'a str,
    pub ok: bool,
    /// `host[:port]` of the portal, when known.
    pub portal: Option<&'a str>,
    pub profile: &'a str,
    /// Paragraphs of plain text (escaped here).
    pub lines: &'a [String],
    /// The command to run next (or the address to paste), shown in a copyable block.
    pub next: Option<&'a str>,
    /// What to do with `next`.
    pub next_label: &'a str,
}

const RUN_NEXT: &str = "Run this in the terminal next:";

const STYLE: &str = "\
:root{color-scheme:light dark;--bg:#f6f7f9;--card:#fff;--fg:#1b1f24;--muted:#5b6470;\
--ok:#1a7f37;--bad:#c62828;--code:#eef1f4}\
@media (prefers-color-scheme:dark){:root{--bg:#111418;--card:#1b2027;--fg:#e6e9ee;\
--muted:#9aa4b1;--ok:#3fb950;--bad:#ff6b6b;--code:#262c35}}\
*{box-sizing:border-box}\
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,\
'Segoe UI',Roboto,sans-serif}\
main{max-width:36rem;margin:8vh auto;padding:1.5rem;background:var(--card);border-radius:12px;\
box-shadow:0 1px 3px rgba(0,0,0,.15)}\
@media (max-width:40rem){main{margin:0;border-radius:0;min-height:100vh}}\
h1{font-size:1.4rem;margin:0 0 .75rem;display:flex;gap:.5rem;align-items:center}\
.mark{font-size:1.6rem}.ok .mark{color:var(--ok)}.bad .mark{color:var(--bad)}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0 0 1rem;\
color:var(--muted)}dd{margin:0;color:var(--fg);overflow-wrap:anywhere}\
p{margin:.5rem 0;overflow-wrap:anywhere}\
pre{background:var(--code);padding:.75rem;border-radius:8px;white-space:pre;overflow-x:auto;\
font:14px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}\
footer{margin-top:1rem;font-size:.85rem;color:var(--muted)}";

/// The whole HTML document.
pub fn render(page: &Page<'_>) -> String {
    let (class, mark) = if page.ok {
        ("ok", "&#10003;")
    } else {
        ("bad", "&#10007;")
    };
    let mut facts = String::new();
    if let Some(portal) = page.portal.filter(|p| !p.is_empty()) {
        facts.push_str(&format!("<dt>Portal</dt><dd>{}</dd>", escape(portal)));
    }
    facts.push_str(&format!(
        "<dt>Profile</dt><dd>{}</dd>",
        escape(page.profile)
    ));
    let body: String = page
        .lines
        .iter()
        .map(|l| format!("<p>{}</p>", escape(l)))
        .collect();
    let next = page
        .next
        .map(|cmd| {
            format!(
                "<p>{}</p><pre>{}</pre>",
                escape(page.next_label),
                escape(&shell_lines(cmd.trim_matches('`')))
            )
        })
        .unwrap_or_default();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\">\
         <title>{t} · b24auth</title><link rel=\"icon\" href=\"data:,\"><style>{STYLE}</style>\
         </head><body><main class=\"{class}\"><h1><span class=\"mark\" aria-hidden=\"true\">{mark}</span>{t}</h1>\
         <dl>{facts}</dl>{body}{next}<footer>b24auth {version}</footer></main></body></html>",
        t = escape(page.title),
        version = env!("CARGO_PKG_VERSION"),
    )
}

/// The success page at the end of `authorize`.
pub fn authorized(portal: &str, profile: &str, user: &str) -> String {
    render(&Page {
        title: "Authorized",
        ok: true,
        portal: Some(portal),
        profile,
        lines: &[
            format!("b24auth saved the authorization for portal {portal} (user {user})."),
            "You can close this tab.".into(),
        ],
        next: None,
        next_label: RUN_NEXT,
    })
}

/// A failed exchange or save: what went wrong, that nothing was saved, and what to run.
pub fn failed(portal: &str, profile: &str, why: &str, next: &str) -> String {
    render(&Page {
        title: "Authorization failed",
        ok: false,
        portal: Some(portal),
        profile,
        lines: &[why.to_string(), "Nothing was saved.".into()],
        next: Some(next),
        next_label: RUN_NEXT,
    })
}

/// The portal answered with an OAuth error (`access_denied`, …) instead of a code.
pub fn denied(portal: &str, profile: &str, answer: &str, next: &str) -> String {
    render(&Page {
        title: "Access not granted",
        ok: false,
        portal: Some(portal),
        profile,
        lines: &[
            format!("The portal answered: {answer}"),
            "Nothing was saved. To try again, allow access when the portal asks.".into(),
        ],
        next: Some(next),
        next_label: RUN_NEXT,
    })
}

/// A redirect that does not carry this run's `state` (an old tab, another run).
pub fn wrong_state(portal: &str, profile: &str, next: &str) -> String {
    render(&Page {
        title: "Not the sign-in b24auth is waiting for",
        ok: false,
        portal: Some(portal),
        profile,
        lines: &[
            "This address does not carry the state of the b24auth run waiting here \
                  (an old tab, or another run). The run in the terminal is still waiting; \
                  if it is gone, start again."
                .into(),
        ],
        next: Some(next),
        next_label: RUN_NEXT,
    })
}

/// Our run, but the portal sent the browser back with neither a code nor an error.
pub fn no_code(portal: &str, profile: &str, next: &str) -> String {
    render(&Page {
        title: "No authorization code",
        ok: false,
        portal: Some(portal),
        profile,
        lines: &["The portal sent the browser back without a code. \
                  The run in the terminal is still waiting; sign in again from the address it printed."
            .into()],
        next: Some(next),
        next_label: RUN_NEXT,
    })
}

/// A browser opening the install listener's address: what it is for.
pub fn install_listener(profile: &str, paste: &str) -> String {
    render(&Page {
        title: "b24auth is waiting for Bitrix24",
        ok: true,
        portal: None,
        profile,
        lines: &[
            "This address receives the installation callback that Bitrix24's server sends \
             (a POST) when the local application is installed. Opening it in a browser does nothing."
                .into(),
        ],
        next: Some(paste),
        next_label: "Paste this into the application's \"Initial installation path\" field, then install the application:",
    })
}

/// The browser's start page for `authorize`: it forwards at once to the portal's authorize
/// `url` (which carries the `state`), so the browser's command line, which every local user can
/// read with `ps`, names only this page's private file. A fixed inline script (it holds no data:
/// it follows the page's one link) forwards while the page is still parsing, which headless
/// browsers follow as surely as people's; the meta refresh and the link serve a browser without
/// JavaScript.
pub fn forward(url: &str) -> String {
    let url = escape(url);
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <meta http-equiv=\"refresh\" content=\"0;url={url}\">\
         <title>Opening the portal · b24auth</title></head><body>\
         <p>Opening <a href=\"{url}\">the portal's sign-in page</a>…</p>\
         <script>location.replace(document.links[0].href)</script></body></html>"
    )
}

/// A long command as shell lines (` \` continuations before each option after the
/// subcommand), so it fits a phone and still pastes as one command.
fn shell_lines(cmd: &str) -> String {
    if cmd.len() <= 40 || !cmd.starts_with("b24auth ") {
        return cmd.to_string();
    }
    let mut out = String::new();
    for (i, part) in cmd.split(" --").enumerate() {
        let is_global = !out.contains(" authorize") && !out.contains(" install-listen");
        match i {
            0 => out.push_str(part),
            _ if is_global => out.push_str(&format!(" --{part}")),
            _ => out.push_str(&format!(" \\\n  --{part}")),
        }
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_self_contained_and_name_portal_and_profile() {
        let pages = [
            authorized("p.bitrix24.com", "prod", "1"),
            failed("p.bitrix24.com", "prod", "boom", "b24auth authorize"),
            denied(
                "p.bitrix24.com",
                "prod",
                "access_denied",
                "b24auth authorize",
            ),
            wrong_state("p.bitrix24.com", "prod", "b24auth authorize"),
            no_code("p.bitrix24.com", "prod", "b24auth authorize"),
        ];
        for page in &pages {
            assert!(page.contains("p.bitrix24.com") && page.contains("prod"));
            assert!(page.contains("prefers-color-scheme:dark"));
            assert!(page.contains("name=\"viewport\""));
            for external in ["http://", "https://", "<script", "src="] {
                assert!(!page.contains(external), "{external} in {page}");
            }
        }
        assert!(pages[1].contains("<pre>b24auth authorize</pre>"));
        assert_eq!(
            shell_lines("b24auth --profile shop authorize --domain http://127.0.0.1:1 --force"),
            "b24auth --profile shop authorize \\\n  --domain http://127.0.0.1:1 \\\n  --force"
        );
    }

    #[test]
    fn the_start_page_forwards_to_the_escaped_address() {
        let page = forward("https://p.example/oauth/authorize/?client_id=a&state=s\"><x");
        assert!(page.contains(
            "content=\"0;url=https://p.example/oauth/authorize/?client_id=a&amp;state=s&quot;&gt;&lt;x\""
        ));
        assert!(!page.contains("<x"));
        let scripts: Vec<&str> = page.split("<script>").skip(1).collect();
        assert_eq!(
            scripts,
            ["location.replace(document.links[0].href)</script></body></html>"],
            "one fixed script, no data in it"
        );
    }

    #[test]
    fn foreign_text_is_escaped() {
        let page = denied("p", "d", "<img src=x onerror=alert(1)>", "b24auth x");
        assert!(!page.contains("<img"));
        assert!(page.contains("&lt;img"));
    }
}
