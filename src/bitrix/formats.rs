/*!
Other tools' files of a Bitrix24 pair: reading them for `import`, writing CRest's for
`show --format crest`. Pure functions over JSON; nothing here touches the network or the store.

Recognised on import:
- flat Bitrix24 fields: the documentation's PHP `auth.json` (the install callback's `auth` as
  received, numbers often as strings) and CRest's `settings.json` (the same, plus
  `C_REST_CLIENT_ID` / `C_REST_CLIENT_SECRET` when present);
- the PHP SDK's `LocalAppAuth` file: `auth_token{access_token, refresh_token, expires}`,
  `domain_url`, `application_token`, `oauth_server_url`;
- b24auth's own JSON (flat fields plus `client_id`, `client_secret` and a `b24auth` object).

Nothing in the file is trusted: the OAuth server it names is only a hint (used when it is one of
Bitrix24's), and `import` verifies the pair before saving it.
*/

use anyhow::{anyhow, bail, Result};
use serde_json::{Map, Value};
use url::Url;

use crate::profile::Profile;
use crate::secret::Secret;

/// Which kind of file a pair came from, for the message after an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The documentation's PHP `auth.json` (flat Bitrix24 fields).
    PhpAuthJson,
    /// CRest's `settings.json` (flat fields with CRest's client keys).
    Crest,
    /// The PHP SDK's nested `LocalAppAuth` file.
    PhpSdk,
    /// b24auth's own JSON.
    B24auth,
}

impl Format {
    pub fn describe(self) -> &'static str {
        match self {
            Format::PhpAuthJson => "Bitrix24's flat auth fields (the PHP examples' auth.json)",
            Format::Crest => "CRest's settings.json",
            Format::PhpSdk => "the PHP SDK's auth file",
            Format::B24auth => "b24auth's JSON",
        }
    }
}

/// A pair read from another tool's file, not yet verified.
#[derive(Debug)]
pub struct Imported {
    pub format: Format,
    /// Bitrix24's fields, flat, under Bitrix24's names.
    pub fields: Map<String, Value>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    /// The host of the OAuth server the file names (`server_endpoint` or `oauth_server_url`).
    pub server_hint: Option<String>,
    /// A b24auth profile saved unverified: the mark travels with it, so an import is no proof.
    pub unverified: bool,
}

/// Reads a pair from any of the recognised formats.
pub fn parse_pair(bytes: &[u8]) -> Result<Imported> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| anyhow!("not valid JSON ({e})"))?;
    let Value::Object(mut doc) = value else {
        bail!("not a JSON object");
    };
    let mut imported = if let Some(Value::Object(token)) = doc.remove("auth_token") {
        php_sdk(token, doc)?
    } else {
        flat(doc)
    };
    fill_endpoint(&mut imported.fields);
    imported.server_hint = ["server_endpoint", "oauth_server_url"]
        .iter()
        .filter_map(|k| imported.fields.get(*k).and_then(Value::as_str))
        .find_map(|s| Url::parse(s).ok()?.host_str().map(String::from));
    imported.fields.remove("oauth_server_url");
    for key in ["access_token", "refresh_token"] {
        if text(&imported.fields, key).is_none() {
            bail!("no `{key}` found (expected a Bitrix24 auth.json, CRest settings.json, PHP SDK auth file or b24auth profile)");
        }
    }
    // An expiry the file does not state is treated as passed: `import` refreshes first.
    if !imported.fields.contains_key("expires") {
        imported.fields.insert("expires".into(), 0.into());
    }
    Ok(imported)
}

/// Flat Bitrix24 fields: the PHP examples' `auth.json`, CRest's and b24auth's files.
fn flat(mut doc: Map<String, Value>) -> Imported {
    let crest_id = take_text(&mut doc, "C_REST_CLIENT_ID");
    let crest_secret = take_text(&mut doc, "C_REST_CLIENT_SECRET");
    let meta = doc.remove("b24auth");
    let ours = meta.is_some();
    let unverified = meta.is_some_and(|m| m.get("unverified") == Some(&Value::Bool(true)));
    let id = take_text(&mut doc, "client_id");
    let secret = take_text(&mut doc, "client_secret");
    let format = if ours || secret.is_some() {
        Format::B24auth
    } else if crest_id.is_some() || crest_secret.is_some() {
        Format::Crest
    } else {
        Format::PhpAuthJson
    };
    Imported {
        format,
        fields: doc,
        client_id: id.or(crest_id),
        client_secret: secret.or(crest_secret).map(Secret::new),
        server_hint: None,
        unverified,
    }
}

/// The PHP SDK's `LocalAppAuth`: the tokens nested, the portal as a URL.
fn php_sdk(token: Map<String, Value>, rest: Map<String, Value>) -> Result<Imported> {
    let mut fields = Map::new();
    for key in ["access_token", "refresh_token", "expires", "expires_in"] {
        if let Some(v) = token.get(key) {
            fields.insert(key.into(), v.clone());
        }
    }
    let portal =
        text(&rest, "domain_url").ok_or_else(|| anyhow!("the PHP SDK file has no `domain_url`"))?;
    let portal = Url::parse(portal)
        .or_else(|_| Url::parse(&format!("https://{portal}")))
        .map_err(|e| anyhow!("`domain_url` is not a URL ({e})"))?;
    let host =
        crate::profile::host_port(&portal).ok_or_else(|| anyhow!("`domain_url` has no host"))?;
    fields.insert("domain".into(), host.into());
    fields.insert(
        "client_endpoint".into(),
        format!("{}/rest/", portal.origin().ascii_serialization()).into(),
    );
    for key in ["application_token", "member_id", "oauth_server_url"] {
        if let Some(v) = text(&rest, key) {
            fields.insert(key.into(), v.into());
        }
    }
    Ok(Imported {
        format: Format::PhpSdk,
        fields,
        client_id: None,
        client_secret: None,
        server_hint: None,
        unverified: false,
    })
}

/// CRest files made from a placement carry `client_endpoint`; older ones only the portal in
/// `domain`. A `domain` that is an OAuth server (token responses put it there) says nothing.
fn fill_endpoint(fields: &mut Map<String, Value>) {
    if text(fields, "client_endpoint").is_some() {
        return;
    }
    let Some(domain) = text(fields, "domain") else {
        return;
    };
    if crate::bitrix::server::is_known(domain) || domain.contains('/') {
        return;
    }
    let endpoint = format!("https://{domain}/rest/");
    fields.insert("client_endpoint".into(), endpoint.into());
}

/// The CRest `settings.json` object for `profile`: what CRest's `setAppSettings` writes, with
/// the portal in `domain`, plus the client keys CRest otherwise reads from `settings.php`.
pub fn crest_settings(profile: &Profile) -> Map<String, Value> {
    let mut out = Map::new();
    for key in [
        "access_token",
        "expires",
        "expires_in",
        "application_token",
        "refresh_token",
        "scope",
        "server_endpoint",
        "client_endpoint",
        "member_id",
        "user_id",
        "status",
    ] {
        if let Some(v) = profile.value(key) {
            out.insert(key.into(), v);
        }
    }
    if let Some(portal) = profile.portal() {
        out.insert("domain".into(), portal.into());
    }
    if let Some(id) = profile.client_id() {
        out.insert("C_REST_CLIENT_ID".into(), id.into());
    }
    if let Some(s) = profile.client_secret() {
        out.insert("C_REST_CLIENT_SECRET".into(), s.expose().into());
    }
    out
}

fn text<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    m.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn take_text(m: &mut Map<String, Value>, key: &str) -> Option<String> {
    match m.remove(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Imported {
        parse_pair(v.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn the_php_examples_auth_json() {
        let i = parse(
            json!({"access_token":"a","expires":"1728000000","expires_in":"3600",
            "scope":"crm","domain":"p.bitrix24.com","server_endpoint":"https://oauth.bitrix.info/rest/",
            "status":"L","client_endpoint":"https://p.bitrix24.com/rest/","member_id":"m",
            "user_id":"1","refresh_token":"r","application_token":"apt"}),
        );
        assert_eq!(i.format, Format::PhpAuthJson);
        assert_eq!(i.fields["expires"], "1728000000");
        assert_eq!(i.fields["application_token"], "apt");
        assert_eq!(i.server_hint.as_deref(), Some("oauth.bitrix.info"));
        assert!(i.client_id.is_none() && i.client_secret.is_none());
    }

    #[test]
    fn crests_settings_json() {
        let i = parse(
            json!({"access_token":"a","expires_in":"3600","application_token":"apt",
            "refresh_token":"r","domain":"p.bitrix24.com","member_id":"m",
            "C_REST_CLIENT_ID":"local.1","C_REST_CLIENT_SECRET":"s3"}),
        );
        assert_eq!(i.format, Format::Crest);
        assert_eq!(i.client_id.as_deref(), Some("local.1"));
        assert_eq!(i.client_secret.unwrap().expose(), "s3");
        assert!(!i.fields.contains_key("C_REST_CLIENT_SECRET"));
        assert_eq!(i.fields["client_endpoint"], "https://p.bitrix24.com/rest/");
        assert_eq!(i.fields["expires"], 0, "no stated expiry counts as expired");
    }

    #[test]
    fn the_php_sdks_nested_file() {
        let i = parse(
            json!({"auth_token":{"access_token":"a","refresh_token":"r","expires":1728000000},
            "domain_url":"https://p.bitrix24.com","application_token":"apt",
            "oauth_server_url":"https://oauth.bitrix24.tech"}),
        );
        assert_eq!(i.format, Format::PhpSdk);
        assert_eq!(i.fields["access_token"], "a");
        assert_eq!(i.fields["expires"], 1728000000);
        assert_eq!(i.fields["domain"], "p.bitrix24.com");
        assert_eq!(i.fields["client_endpoint"], "https://p.bitrix24.com/rest/");
        assert_eq!(i.server_hint.as_deref(), Some("oauth.bitrix24.tech"));
        assert!(!i.fields.contains_key("oauth_server_url"));
        let port = parse(
            json!({"auth_token":{"access_token":"a","refresh_token":"r"},
            "domain_url":"http://127.0.0.1:8080/"}),
        );
        assert_eq!(
            port.fields["client_endpoint"],
            "http://127.0.0.1:8080/rest/"
        );
    }

    #[test]
    fn b24auths_own_json() {
        let i = parse(json!({"access_token":"a","refresh_token":"r","expires":5,
            "client_endpoint":"https://p.bitrix24.com/rest/","client_id":"local.1",
            "client_secret":"s","b24auth":{"version":1,"oauth_server":"http://evil.example"}}));
        assert_eq!(i.format, Format::B24auth);
        assert!(
            !i.fields.contains_key("b24auth"),
            "b24auth's bookkeeping is not imported"
        );
        assert!(!i.fields.contains_key("client_secret"));
        assert_eq!(i.client_id.as_deref(), Some("local.1"));
        assert_eq!(i.server_hint, None, "a stored oauth_server is not a hint");
    }

    #[test]
    fn what_is_not_a_pair_is_refused() {
        for bad in [
            &b"[]"[..],
            b"nope",
            br#"{"access_token":"a"}"#,
            br#"{"auth_token":{}}"#,
        ] {
            assert!(parse_pair(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let oauth_domain = parse(json!({"access_token":"a","refresh_token":"r",
            "domain":"oauth.bitrix.info"}));
        assert!(!oauth_domain.fields.contains_key("client_endpoint"));
    }

    #[test]
    fn crest_export_reads_back_as_crest() {
        let mut p = Profile::parse(
            json!({"access_token":"a","refresh_token":"r","expires":9,"domain":"oauth.bitrix.info",
                "client_endpoint":"https://p.bitrix24.com/rest/","member_id":"m"})
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        p.set_client(Some("local.1"), Some(&Secret::new("s")));
        let out = crest_settings(&p);
        assert_eq!(out["domain"], "p.bitrix24.com");
        let back = parse(Value::Object(out));
        assert_eq!(back.format, Format::Crest);
        assert_eq!(back.client_id.as_deref(), Some("local.1"));
        assert_eq!(back.fields["expires"], 9);
    }
}
