//! The callbacks a portal POSTs to an app's handler, as the record (PROTOCOL.md §6, §7) shows
//! them: form-encoded, PHP bracket keys, sent once and never again. One builder for every case
//! file and bench: an install (ONAPPINSTALL), an online event, an uninstall (ONAPPUNINSTALL).

use serde_json::Value;

use super::stand_in::MEMBER_ID;

/// An online event's POST body as the portal sends it: form-encoded, PHP brackets, the tokens
/// of the user who caused it, and the install's `application_token`.
pub fn event_form(
    event: &str,
    deal_id: u64,
    member_id: &str,
    application_token: &str,
    host: &str,
) -> String {
    let auth = [
        (
            "access_token",
            "e0e2f6660000071b00000cd600000001000000ab1c7b5c2b1a9d8e3a6d2c3e4f",
        ),
        ("expires", "1728416897"),
        ("expires_in", "3600"),
        ("scope", "crm"),
        ("domain", host),
        ("server_endpoint", "https://oauth.bitrix.info/rest/"),
        ("status", "L"),
        ("client_endpoint", &format!("http://{host}/portal/rest/")),
        ("member_id", member_id),
        ("user_id", "1"),
        ("application_token", application_token),
    ];
    let data = [("FIELDS][ID", deal_id.to_string())];
    portal_form(event, "7", &data, &auth).finish()
}

/// ONAPPUNINSTALL as the record shows it: no tokens, `data[CLEAN]`, the `application_token`.
pub fn uninstall_form(member_id: &str, application_token: &str, host: &str) -> String {
    let auth = [
        ("domain", host),
        ("server_endpoint", "https://oauth.bitrix.info/rest/"),
        ("client_endpoint", &format!("http://{host}/portal/rest/")),
        ("member_id", member_id),
        ("application_token", application_token),
    ];
    let data = [("LANGUAGE_ID", "en".into()), ("CLEAN", "1".into())];
    portal_form("ONAPPUNINSTALL", "0", &data, &auth).finish()
}

/// An event's form as the portal writes it: `event`, `event_handler_id`, `data[…]`, `ts`,
/// `auth[…]`, in that order.
fn portal_form(
    event: &str,
    handler_id: &str,
    data: &[(&str, String)],
    auth: &[(&str, &str)],
) -> url::form_urlencoded::Serializer<'static, String> {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("event", event)
        .append_pair("event_handler_id", handler_id);
    for (k, v) in data {
        form.append_pair(&format!("data[{k}]"), v);
    }
    form.append_pair("ts", "1728413297");
    for (k, v) in auth {
        form.append_pair(&format!("auth[{k}]"), v);
    }
    form
}

/// An application token the portal gave an install (any 32 hex digits).
pub const INSTALL_APP_TOKEN: &str = "51856fefc120afa4b628cc82d3935cce";

/// The install callback (ONAPPINSTALL) exactly as Bitrix24 POSTs it for a "Uses API only" app:
/// every field of the protocol, brackets percent-encoded; `pair`'s tokens, expiry, member and
/// endpoints (the stand-in's `host` where the pair names none).
pub fn install_form(pair: &Value, host: &str, app_token: &str) -> String {
    install_form_with(pair, host, app_token, &[], &[])
}

/// [`install_form`] with `overrides` of `auth[…]` fields (an empty value drops the field) and
/// `extra` raw form pairs after them.
pub fn install_form_with(
    pair: &Value,
    host: &str,
    app_token: &str,
    overrides: &[(&str, &str)],
    extra: &[(&str, &str)],
) -> String {
    let text = |k: &str| pair[k].as_str().map(String::from);
    let mut auth: Vec<(String, String)> = [
        ("access_token", text("access_token").unwrap_or_default()),
        ("expires", pair["expires"].to_string()),
        ("expires_in", "3600".into()),
        ("scope", "crm,user".into()),
        ("domain", host.into()),
        (
            "server_endpoint",
            text("server_endpoint").unwrap_or(format!("http://{host}/rest/")),
        ),
        ("status", "L".into()),
        (
            "client_endpoint",
            text("client_endpoint").unwrap_or(format!("http://{host}/portal/rest/")),
        ),
        ("member_id", text("member_id").unwrap_or(MEMBER_ID.into())),
        ("user_id", "1".into()),
        ("refresh_token", text("refresh_token").unwrap_or_default()),
        ("application_token", app_token.into()),
    ]
    .into_iter()
    // A pair made up by a test may lack `expires`: the field is left out, not "null".
    .filter(|(_, v)| v != "null")
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in overrides {
        auth.retain(|(key, _)| key != k);
        if !v.is_empty() {
            auth.push((k.to_string(), v.to_string()));
        }
    }
    let auth: Vec<(&str, &str)> = auth.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let data = [
        ("VERSION", "1".into()),
        ("ACTIVE", "Y".into()),
        ("INSTALLED", "Y".into()),
        ("LANGUAGE_ID", "en".into()),
    ];
    let mut form = portal_form("ONAPPINSTALL", "0", &data, &auth);
    form.extend_pairs(extra);
    let body = form.finish();
    assert!(
        body.contains("auth%5Baccess_token%5D="),
        "brackets are percent-encoded"
    );
    body
}

/// The path `install-listen` listens at where a test posts the install callback itself.
pub const INSTALL_PATH: &str = "/install/00112233445566778899aabbccddeeff";

/// The install callback as Bitrix24 posts it (numbers as strings), naming `portal` (the
/// stand-in's base, or another address) as its REST.
pub fn install_callback(pair: &Value, portal: &str) -> String {
    let rest = format!("{portal}/portal/rest/");
    let host = portal.trim_start_matches("http://");
    install_form_with(
        pair,
        host,
        INSTALL_APP_TOKEN,
        &[("client_endpoint", &rest)],
        &[],
    )
}

/// POSTs a callback `body` to the listener at `addr` on [`INSTALL_PATH`].
pub fn post_install(addr: &str, body: &str) -> super::http::Response {
    super::http::post(
        addr,
        INSTALL_PATH,
        "application/x-www-form-urlencoded",
        body.as_bytes(),
    )
}
