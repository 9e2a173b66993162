/*!
`b24auth import --webhook`: an incoming webhook's address (`https://PORTAL/rest/USER_ID/SECRET/`)
as the profile — read from a hidden prompt or stdin, never argv; checked with one `profile` call
(`rest/webhook.rs`); saved on the store's save path for a credential brought in.
*/

use anyhow::Result;
use serde_json::Value;

use crate::exit;
use crate::profile::webhook::Webhook;
use crate::profile::{now, Profile};
use crate::secret::Secret;
use crate::session::Session;
use crate::store::{self, AdoptedPair};
use crate::ui::input;

/// The webhook's address: a hidden prompt on a terminal, else the first line of stdin.
pub(crate) fn read(ui: &crate::ui::Ui) -> Result<Secret> {
    if crate::ui::can_ask() {
        return ui.prompt("webhook address (hidden)", true, "stdin");
    }
    let bytes = input::read_stdin(input::TOKEN_LIMIT, "stdin")?;
    let text = String::from_utf8(bytes).map_err(|_| exit::usage("stdin is not UTF-8 text"))?;
    Ok(Secret::new(text.lines().next().unwrap_or("").trim()))
}

/// `import --webhook`: an incoming webhook's address, checked with one `profile` call, saved as
/// the profile on the store's save path for a credential brought in.
pub(crate) async fn save(s: &Session, url: Secret, force: bool) -> Result<()> {
    let hook =
        Webhook::parse(url.expose()).map_err(|why| exit::usage(format!("not saved: {why}")))?;
    let mode = s.save_mode(force).await?;
    let me = crate::rest::webhook::check(&hook, s.cfg.http_timeout).await?;
    let profile = Profile::from_webhook(&hook, now());
    store::save_adopted(&s.store, &s.cfg.profile, mode, || async {
        Ok(AdoptedPair {
            profile,
            rotated: false,
        })
    })
    .await?;
    let name = |k: &str| {
        me.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string()
    };
    s.cfg.ui.info(crate::ui::sanitize::strip_controls(&format!(
        "saved incoming webhook {hook} as profile `{}` (acts as {} {}, user {}) to {}",
        s.cfg.profile,
        name("NAME"),
        name("LAST_NAME"),
        hook.user_id(),
        s.location()
    )));
    Ok(())
}
