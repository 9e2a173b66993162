/*!
The human view of a stored profile (`show`): one aligned row per fact, secrets masked unless
revealed, every stored value through the one sanitizer.
*/

use serde_json::Value;

use super::sanitize::strip_controls;
use crate::profile::{now, Profile};
use crate::secret::Secret;
use crate::ui;

/// The masked (or, with `reveal`, clear) summary of `p`, stored at `location`.
pub(crate) fn profile(p: &Profile, reveal: bool, location: &str) -> String {
    if let Ok(hook) = p.webhook() {
        return webhook(&hook, reveal, location);
    }
    let t = now();
    let secret = |key: &str| match p.secret(key) {
        Some(s) if reveal => s.expose().to_string(),
        Some(s) => s.masked(),
        None => "-".into(),
    };
    let text = |key: &str| match p.value(key) {
        Some(Value::String(s)) => s,
        Some(Value::Null) | None => "-".into(),
        Some(v) => v.to_string(),
    };
    let expiry = match p.expires() {
        Some(e) => format!("{} ({})", ui::utc(e), ui::relative(e.saturating_sub(t))),
        None => "unknown".into(),
    };
    let issued = match p.refresh_token_issued_at() {
        Some(i) => format!("{} ({})", ui::utc(i), ui::relative(i.saturating_sub(t))),
        None => "unknown".into(),
    };
    let state = match (p.is_unverified(), p.is_not_checked()) {
        (true, _) => format!(
            "UNVERIFIED (a candidate saved by an older b24auth): the OAuth server has not confirmed this portal; no command uses the pair before {} proves it",
            crate::ui::hint::cmd(&["refresh"])
        ),
        (false, true) => "not checked (--no-verify)".to_string(),
        (false, false) => "verified".to_string(),
    };
    let rows = [
        ("state", state),
        ("portal", p.portal().unwrap_or_else(|| "-".into())),
        ("member_id", text("member_id")),
        ("user_id", text("user_id")),
        ("scope", text("scope")),
        ("status", text("status")),
        (
            "client_endpoint",
            match p.is_unverified() {
                true => format!(
                    "{} (the callback's claim, unproven)",
                    text("client_endpoint")
                ),
                false => text("client_endpoint"),
            },
        ),
        ("access_token", secret("access_token")),
        ("  expires", expiry),
        ("refresh_token", secret("refresh_token")),
        ("  issued", issued),
        ("application_token", secret("application_token")),
        ("client_id", text("client_id")),
        ("client_secret", mask_presence(p.client_secret(), reveal)),
        ("oauth_server", p.oauth_server().unwrap_or("-").to_string()),
        ("stored in", location.to_string()),
    ];
    rows.iter()
        .map(|(k, v)| format!("{k:<18} {}\n", strip_controls(v)))
        .collect()
}

/// The client secret is never shown masked-but-partial: it does not rotate, so even a few
/// characters help an attacker more than a token's would.
fn mask_presence(s: Option<Secret>, reveal: bool) -> String {
    match s {
        Some(s) if reveal => s.expose().to_string(),
        Some(_) => "(stored)".into(),
        None => "-".into(),
    }
}

/// A webhook profile: its address with the secret part masked (unless `reveal`).
fn webhook(hook: &crate::profile::webhook::Webhook, reveal: bool, location: &str) -> String {
    let address = match reveal {
        true => hook.base().expose().to_string(),
        false => hook.masked(),
    };
    let rows = [
        (
            "state",
            "incoming webhook (no token to refresh)".to_string(),
        ),
        ("portal", hook.portal()),
        ("user_id", hook.user_id().to_string()),
        ("webhook_url", address),
        ("stored in", location.to_string()),
    ];
    rows.iter()
        .map(|(k, v)| format!("{k:<18} {}\n", strip_controls(v)))
        .collect()
}
