/*!
What `setup` tells the user: where the portal's form is, exactly what to enter in it, where the
keys appear, and the commands to use next. Plain text, so the same words can be tested.
*/

use url::Url;

use super::answers::WayIn;

/// Where a local app is created, on current and older portals.
const LOCAL_APP: &str = "Developer resources → Other → Local application\n     \
     (older portals: Applications → Developer resources → Add → Local application)";

/// The form of a local app (or an incoming webhook), filled in for `way`.
pub(crate) fn instructions(portal: &Url, way: &WayIn, scopes: &[&str]) -> String {
    let portal = portal.origin().ascii_serialization();
    let scopes = match scopes.is_empty() {
        true => "(none ticked: add what your scripts need)".to_string(),
        false => scopes.join(", "),
    };
    match way {
        WayIn::Browser { redirect_uri } => format!(
            "In {portal}, signed in as an administrator:\n  \
             1. Open {LOCAL_APP}.\n  \
             2. Fill in the form:\n       \
                Your handler path:          {redirect_uri}\n       \
                Initial installation path:  (leave empty)\n       \
                Uses API only:              tick it (the app needs no page in the portal)\n       \
                Assign permissions:         {scopes}\n  \
             3. Click Save. The form then shows the Application ID (client_id, local.…) and the\n     \
                Application key (client_secret): enter them below.\n\
             The handler path is where the portal sends your browser back after you approve;\n\
             b24auth listens there ({redirect_uri}), so nothing needs to be public."
        ),
        WayIn::Install {
            public_url, path, ..
        } => {
            let public = public_url
                .as_ref()
                .map(|u| format!("{}{path}", u.as_str().trim_end_matches('/')))
                .unwrap_or_else(|| format!("(the address printed below){path}"));
            format!(
                "In {portal}, signed in as an administrator:\n  \
                 1. Open {LOCAL_APP}.\n  \
                 2. Fill in the form (do not save yet):\n       \
                    Your handler path:          {public}\n       \
                    Initial installation path:  {public}\n       \
                    Uses API only:              tick it\n       \
                    Assign permissions:         {scopes}\n  \
                 3. Once b24auth says it is listening, click Save: Bitrix24 calls the installation\n     \
                    path once (never again), and the form shows the Application ID (client_id) and\n     \
                    Application key (client_secret) — b24auth asks for them after the call."
            )
        }
        WayIn::Webhook { .. } => format!(
            "In {portal}, signed in as the user the scripts act as:\n  \
             1. Open Developer resources → Other → Incoming webhook\n     \
                (older portals: Applications → Webhooks → Add webhook → Incoming webhook).\n  \
             2. Tick the permissions: {scopes}. Click Save.\n  \
             3. Copy the webhook address it shows (https://PORTAL/rest/USER_ID/SECRET/): it is a\n     \
                password, so it is asked for hidden below and never shown again."
        ),
    }
}

/// The commands to use next, each with this run's options (`--config-dir`, `--store`,
/// `--profile`) so it works when pasted as is; the cron line quiet (`-q`).
pub(crate) fn next_commands(webhook: bool) -> String {
    let mut rows: Vec<(&[&str], &str)> = Vec::new();
    if !webhook {
        rows.push((&["token"], "a valid access token, refreshed when due"));
    }
    rows.extend([
        (
            &["call", "crm.deal.list", "--all"][..],
            "every deal, one JSON line each",
        ),
        (
            &["exec", "--", "./sync.sh"][..],
            "run a script with the B24_* variables",
        ),
        (&["show"][..], "what is stored, secrets masked"),
    ]);
    if !webhook {
        rows.push((
            &["-q", "refresh", "--if-older-than", "30d"],
            "in cron: keeps the 180-day refresh token alive",
        ));
    }
    let commands: Vec<String> = rows
        .iter()
        .map(|(words, _)| crate::ui::hint::cmd(words).trim_matches('`').to_string())
        .collect();
    let width = commands
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(0);
    let mut lines = vec!["Next:".to_string()];
    for (command, (_, what)) in commands.iter().zip(&rows) {
        lines.push(format!("  {command:<width$}  {what}"));
    }
    lines.join("\n")
}
