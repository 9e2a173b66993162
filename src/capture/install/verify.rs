/*!
The trusted server's word on an installation callback: which fields of the POSTed `auth` object
are taken at all, and which portal the pair belongs to.

The POST is written by whoever reaches the listener, so nothing in it names the portal on its
own word. With verification, the identity comes from the trusted OAuth server's `app.info`
answer (`install.domain`, `install.member_id`), and the POST's `member_id`, `domain` and
`client_endpoint` host must equal it — the check the official Python SDK makes
(`validate_against_app_info`). An answer without those fields neither confirms nor
contradicts ([`assess`]); then a refresh at the trusted server names the portal
(`session::proof`). Without verification, the POST must at least agree with itself.
Either way `client_endpoint` must be `https://`, or `http://` on a loopback portal, or on an
on-premise one the user allowed with `--allow-http`.
*/

use anyhow::{anyhow, bail, Result};
use hyper::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value};
use url::Url;

use crate::capture::listener::media_type;
use crate::profile::host_port;

/// The fields Bitrix24 puts in the callback's `auth` object; nothing else is taken from the
/// body (`client_id`, `client_secret` and the `b24auth` object come from b24auth alone).
pub const AUTH_FIELDS: [&str; 12] = [
    "access_token",
    "expires",
    "expires_in",
    "scope",
    "domain",
    "server_endpoint",
    "status",
    "client_endpoint",
    "member_id",
    "user_id",
    "refresh_token",
    "application_token",
];

/// The portal a callback was proven to come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `host[:port]`, lowercase.
    pub domain: String,
    pub member_id: String,
    pub client_endpoint: Url,
    /// `client_endpoint` is plain `http://` on a non-loopback host (the user allowed it).
    pub insecure: bool,
}

/// Parses the body (see [`parse_callback`]) and keeps only
/// Bitrix24's `auth` fields.
pub fn parse_body(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Map<String, Value>, (StatusCode, &'static str)> {
    let auth = bitrix_fields(parse_callback(content_type, body)?);
    // Where the callback's values enter: a token that is not printable ASCII, an endpoint that
    // is not a URL or an identifier with a control character is never stored.
    match crate::profile::checks::fields(&auth) {
        Ok(()) => Ok(auth),
        Err(_) => Err((
            StatusCode::BAD_REQUEST,
            "Auth data holds a value b24auth does not store (a token that is not printable ASCII, an endpoint that is not a URL, or a control character)",
        )),
    }
}

/// Which of Bitrix24's two install forms a request was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// The server's POST to a "Uses API only" app (`auth[…]`, form or JSON).
    Server,
    /// The form POSTed into a frame of the user's browser for an app with a UI (`AUTH_ID`,
    /// `REFRESH_ID`, `member_id`, … with `DOMAIN`, `PROTOCOL`, `APP_SID` in the query).
    Frame,
}

/// A request that is no install callback: the status to answer and why.
pub type Rejected = (StatusCode, &'static str);

/// Parses either install form into Bitrix24's `auth` fields (see [`parse_body`]).
pub fn parse_request(
    content_type: Option<&str>,
    query: Option<&str>,
    body: &[u8],
) -> Result<(Map<String, Value>, Form), Rejected> {
    let Some(auth) = parse_frame(content_type, query, body)? else {
        return parse_body(content_type, body).map(|auth| (auth, Form::Server));
    };
    let auth = bitrix_fields(auth);
    match crate::profile::checks::fields(&auth) {
        Ok(()) => Ok((auth, Form::Frame)),
        Err(_) => Err((
            StatusCode::BAD_REQUEST,
            "Auth data holds a value b24auth does not store",
        )),
    }
}

/// The frame form as the `rest` module's `app.layout` template submits it: `None` when the
/// body is not that form (no `AUTH_ID`). The portal is `DOMAIN` (query first, as sent), its
/// REST at `<PROTOCOL>://<DOMAIN>/rest/` (`PROTOCOL=1` https, `0` http).
fn parse_frame(
    content_type: Option<&str>,
    query: Option<&str>,
    body: &[u8],
) -> Result<Option<Map<String, Value>>, (StatusCode, &'static str)> {
    const REQUIRED: &str = "Auth data is required";
    if media_type(content_type) != "application/x-www-form-urlencoded" {
        return Ok(None);
    }
    let first = |bytes: &[u8]| {
        let mut m = std::collections::HashMap::new();
        for (k, v) in url::form_urlencoded::parse(bytes) {
            m.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
        m
    };
    let fields = first(body);
    if !fields.contains_key("AUTH_ID") {
        return Ok(None);
    }
    let query = first(query.unwrap_or("").as_bytes());
    let get = |k: &str| {
        query
            .get(k)
            .or_else(|| fields.get(k))
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    };
    let (Some(access), Some(refresh), Some(member), Some(domain)) = (
        get("AUTH_ID"),
        get("REFRESH_ID"),
        get("member_id"),
        get("DOMAIN"),
    ) else {
        return Err((StatusCode::BAD_REQUEST, REQUIRED));
    };
    let domain = normalize_domain(domain);
    let scheme = match get("PROTOCOL") {
        Some("0") => "http",
        _ => "https",
    };
    let mut auth = Map::new();
    for (k, v) in [
        ("access_token", Some(access)),
        ("refresh_token", Some(refresh)),
        ("expires_in", get("AUTH_EXPIRES")),
        ("member_id", Some(member)),
        ("status", get("status")),
        ("domain", Some(domain.as_str())),
    ] {
        if let Some(v) = v {
            auth.insert(k.into(), v.into());
        }
    }
    auth.insert(
        "client_endpoint".into(),
        format!("{scheme}://{domain}/rest/").into(),
    );
    Ok(Some(auth))
}

/// Drops every key that is not one of Bitrix24's `auth` fields.
pub fn bitrix_fields(auth: Map<String, Value>) -> Map<String, Value> {
    auth.into_iter()
        .filter(|(k, _)| AUTH_FIELDS.contains(&k.as_str()))
        .collect()
}

/// The identity `app.info` (the OAuth server's answer, its `result` object) proves, checked
/// against the POSTed `auth`. A missing identity field in the answer fails; it never passes
/// (`import` needs the proof; `install-listen` reads [`assess`] to find another one).
pub fn verify(
    app_info: &Map<String, Value>,
    auth: &Map<String, Value>,
    client_id: Option<&str>,
    allow_http: bool,
) -> Result<Identity> {
    assess(app_info, auth, client_id, allow_http)?.ok_or_else(|| {
        anyhow!("app.info names no `install.domain` and `install.member_id` (no `install` block, or not those fields)")
    })
}

/// What `app.info` says about the POSTed `auth`: `Ok(Some)` it confirms the portal, `Err` it
/// contradicts the callback (another portal, member or app), `Ok(None)` it neither confirms
/// nor contradicts (no `install` block, or not the fields expected: only the SDKs' models say
/// they are there, and no captured answer shows them).
pub fn assess(
    app_info: &Map<String, Value>,
    auth: &Map<String, Value>,
    client_id: Option<&str>,
    allow_http: bool,
) -> Result<Option<Identity>> {
    if let (Some(ours), Some(theirs)) = (client_id, text(app_info, "client_id")) {
        if ours != theirs {
            bail!("the token belongs to another app ({theirs})");
        }
    }
    let install = app_info.get("install").and_then(Value::as_object);
    let named = install.and_then(|i| Some((text(i, "domain")?, text(i, "member_id")?)));
    let Some((domain, member_id)) = named else {
        return Ok(None);
    };
    let domain = normalize_domain(domain);
    if text(auth, "member_id") != Some(member_id) {
        bail!("the callback's member_id is not the one app.info names");
    }
    if let Some(posted) = text(auth, "domain") {
        if normalize_domain(posted) != domain {
            bail!("the callback's domain is not {domain}, the portal app.info names");
        }
    }
    let (client_endpoint, insecure) = endpoint(auth, &domain, allow_http)?;
    Ok(Some(Identity {
        domain,
        member_id: member_id.to_string(),
        client_endpoint,
        insecure,
    }))
}

/// `--no-verify`: nothing is proven, but the POST must agree with itself: its
/// `client_endpoint` host is its `domain`, under the same scheme rule.
pub fn unverified(auth: &Map<String, Value>, allow_http: bool) -> Result<Identity> {
    let domain = text(auth, "domain")
        .map(normalize_domain)
        .ok_or_else(|| anyhow!("the callback names no domain"))?;
    let member_id = text(auth, "member_id")
        .ok_or_else(|| anyhow!("the callback names no member_id"))?
        .to_string();
    let (client_endpoint, insecure) = endpoint(auth, &domain, allow_http)?;
    Ok(Identity {
        domain,
        member_id,
        client_endpoint,
        insecure,
    })
}

/// The POSTed `client_endpoint`: its host must be `domain`, its scheme https (or allowed http).
fn endpoint(auth: &Map<String, Value>, domain: &str, allow_http: bool) -> Result<(Url, bool)> {
    let raw = text(auth, "client_endpoint").ok_or_else(|| anyhow!("no client_endpoint"))?;
    let url = Url::parse(raw).map_err(|_| anyhow!("client_endpoint is not a URL"))?;
    if host_port(&url).map(|h| h.to_ascii_lowercase()).as_deref() != Some(domain) {
        bail!("client_endpoint's host is not {domain}");
    }
    match url.scheme() {
        "https" => Ok((url, false)),
        "http" if crate::bitrix::server::is_loopback(&url) => Ok((url, false)),
        "http" if allow_http => Ok((url, true)),
        "http" => {
            bail!("{PLAIN_HTTP} (allow an on-premise portal with --allow-http)")
        }
        other => bail!("client_endpoint has the scheme {other}:"),
    }
}

/// `Portal.Example.com/` or `https://portal.example.com` → `portal.example.com`.
fn normalize_domain(d: &str) -> String {
    let d = d
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    d.trim_end_matches('/').to_ascii_lowercase()
}

fn text<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    m.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// How far the trusted OAuth server vouched for a callback.
pub(crate) enum Proof {
    /// `app.info` named the portal.
    Confirmed(Identity),
    /// `--no-verify`: the POST agrees with itself, nothing more was checked.
    NotChecked(Identity),
    /// No verdict yet (why): the POST's own, self-consistent claim, kept as a candidate.
    Unproven(Identity, String),
}

impl Proof {
    pub(crate) fn identity(&self) -> &Identity {
        match self {
            Proof::Confirmed(id) | Proof::NotChecked(id) | Proof::Unproven(id, _) => id,
        }
    }
}

/// How callbacks are checked: set once before listening.
pub(crate) struct Checks {
    /// False under `--no-verify`.
    pub verify: bool,
    pub allow_http: bool,
    pub client_id: Option<String>,
    /// Built once before listening: a callback must not wait for TLS set-up.
    pub http: crate::bitrix::oauth::Client,
}

impl Checks {
    /// The portal the callback belongs to, as far as the trusted OAuth server's `app.info`
    /// says (see [`assess`]); with `--no-verify` only checked for consistency. `Err` is the
    /// server's contradiction. No answer, a "not now" answer or an expired access token (a
    /// late callback, whose refresh token may be good) is no verdict: the pair is kept.
    pub(crate) async fn identify(&self, server: &Url, auth: &Map<String, Value>) -> Result<Proof> {
        match self.identify_as(server, auth, self.allow_http).await {
            // A plain-http portal without --allow-http: the user's own callback is never sent
            // again, so it is kept (never used until proven), not refused.
            Err(e) if !self.allow_http && plain_http(&e) => {
                let claim = unverified(auth, true)?;
                Ok(Proof::Unproven(
                    claim,
                    "its client_endpoint is plain http://: `b24auth install-listen --allow-http` accepts such a portal; `b24auth refresh` with the client credentials proves this candidate and accepts its plain http".into(),
                ))
            }
            other => other,
        }
    }

    async fn identify_as(
        &self,
        server: &Url,
        auth: &Map<String, Value>,
        allow_http: bool,
    ) -> Result<Proof> {
        if !self.verify {
            return Ok(Proof::NotChecked(unverified(auth, allow_http)?));
        }
        let token = crate::secret::Secret::new(text(auth, "access_token").unwrap_or_default());
        let rest = server.join("rest/")?;
        let info = match self.http.app_info(&rest, &token).await {
            Ok(info) => info,
            Err(e) if crate::bitrix::errors::no_verdict(&e) || late(&e) => {
                let claim = unverified(auth, allow_http)?;
                return Ok(Proof::Unproven(
                    claim,
                    format!("app.info gave no verdict ({e:#})"),
                ));
            }
            Err(e) => return Err(e),
        };
        let client_id = self.client_id.as_deref();
        Ok(match assess(&info, auth, client_id, allow_http)? {
            // An answer names the portal of whichever app the token belongs to: it proves this
            // app's install only when it names this app's client_id.
            Some(identity) if client_id.is_some() && text(&info, "client_id") == client_id => {
                Proof::Confirmed(identity)
            }
            Some(identity) => Proof::Unproven(
                identity,
                "app.info named the portal but not this app's client_id (none given, or none in the answer)".into(),
            ),
            None => Proof::Unproven(
                unverified(auth, allow_http)?,
                "app.info neither confirmed nor contradicted it".into(),
            ),
        })
    }
}

/// The refusal of a plain `http://` endpoint (allowed by `--allow-http`).
fn plain_http(e: &anyhow::Error) -> bool {
    e.to_string().starts_with(PLAIN_HTTP)
}

const PLAIN_HTTP: &str = "client_endpoint is plain http://";

/// `expired_token`: the callback came after its access token's hour.
fn late(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<crate::bitrix::errors::ServerError>()
            .is_some_and(|s| s.code == crate::bitrix::errors::ErrorCode::ExpiredToken)
    })
}

#[derive(Deserialize)]
struct CallbackBody {
    event: Option<String>,
    auth: Option<Map<String, Value>>,
}

/// Reads the callback body (PHP bracket form or JSON) into its `auth` object, or says which
/// status to answer and why.
pub fn parse_callback(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Map<String, Value>, (StatusCode, &'static str)> {
    const REQUIRED: &str = "Auth data is required";
    let callback: CallbackBody = match media_type(content_type).as_str() {
        // Depth 2 is all `auth[key]` needs; deeper keys stay flat strings, so a body of
        // thousands of nested brackets costs no recursion.
        "application/x-www-form-urlencoded" => serde_qs::Config::new(2, false)
            .deserialize_bytes(body)
            .map_err(|_| (StatusCode::BAD_REQUEST, REQUIRED))?,
        "application/json" => {
            serde_json::from_slice(body).map_err(|_| (StatusCode::BAD_REQUEST, REQUIRED))?
        }
        _ => {
            return Err((
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Send application/x-www-form-urlencoded or application/json",
            ))
        }
    };
    if callback
        .event
        .as_deref()
        .is_some_and(|e| !e.eq_ignore_ascii_case("ONAPPINSTALL"))
    {
        return Err((
            StatusCode::BAD_REQUEST,
            "Only the ONAPPINSTALL event is accepted",
        ));
    }
    let auth = callback.auth.ok_or((StatusCode::BAD_REQUEST, REQUIRED))?;
    let has = |k: &str| text(&auth, k).is_some();
    let complete = has("access_token")
        && has("refresh_token")
        && has("member_id")
        && (has("client_endpoint") || has("domain"));
    if !complete {
        return Err((StatusCode::BAD_REQUEST, REQUIRED));
    }
    Ok(auth)
}

#[cfg(test)]
pub(crate) mod callback_tests {
    use super::*;

    const FORM: &str = "application/x-www-form-urlencoded";

    fn body() -> String {
        "event=ONAPPINSTALL&data%5BVERSION%5D=1&auth%5Baccess_token%5D=at1&auth%5Bexpires_in%5D=3600\
         &auth%5Brefresh_token%5D=rt1&auth%5Bdomain%5D=p.bitrix24.com&auth%5Bmember_id%5D=m1\
         &auth%5Bclient_endpoint%5D=https%3A%2F%2Fp.bitrix24.com%2Frest%2F&auth%5Bapplication_token%5D=apt"
            .into()
    }

    #[test]
    fn parses_the_php_bracket_form() {
        let auth = parse_callback(Some(FORM), body().as_bytes()).unwrap();
        assert_eq!(auth["access_token"], "at1");
        assert_eq!(auth["application_token"], "apt");
        assert_eq!(auth["client_endpoint"], "https://p.bitrix24.com/rest/");
        let plain = body().replace("%5B", "[").replace("%5D", "]");
        assert_eq!(parse_callback(Some(FORM), plain.as_bytes()).unwrap(), auth);
    }

    #[test]
    fn refuses_what_is_not_an_install() {
        let status = |ct: &str, b: &[u8]| parse_callback(Some(ct), b).unwrap_err().0;
        assert_eq!(status(FORM, b""), StatusCode::BAD_REQUEST);
        assert_eq!(status(FORM, b"event=ONAPPINSTALL"), StatusCode::BAD_REQUEST);
        let uninstall = body().replace("ONAPPINSTALL", "ONAPPUNINSTALL");
        assert_eq!(status(FORM, uninstall.as_bytes()), StatusCode::BAD_REQUEST);
        let no_rt = body().replace("auth%5Brefresh_token%5D=rt1", "");
        assert_eq!(status(FORM, no_rt.as_bytes()), StatusCode::BAD_REQUEST);
        assert_eq!(
            status("text/plain", body().as_bytes()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        assert_eq!(
            status(FORM, b"auth%5Baccess_token%5D=\xff\xfe"),
            StatusCode::BAD_REQUEST
        );
        let deep = format!("auth{}=1", "%5Ba%5D".repeat(10_000));
        assert_eq!(status(FORM, deep.as_bytes()), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn reads_the_frame_form_of_an_app_with_a_ui() {
        let frame = "AUTH_ID=at1&AUTH_EXPIRES=3600&REFRESH_ID=rt1&member_id=m1&status=L&PLACEMENT=DEFAULT&PLACEMENT_OPTIONS=%7B%7D";
        let query = "DOMAIN=P.bitrix24.com&PROTOCOL=1&LANG=en&APP_SID=abc";
        let (auth, form) = parse_request(Some(FORM), Some(query), frame.as_bytes()).unwrap();
        assert_eq!(form, Form::Frame);
        assert_eq!(auth["access_token"], "at1");
        assert_eq!(auth["refresh_token"], "rt1");
        assert_eq!(auth["domain"], "p.bitrix24.com");
        assert_eq!(auth["client_endpoint"], "https://p.bitrix24.com/rest/");
        assert!(auth.get("PLACEMENT").is_none());
        let plain = query.replace("PROTOCOL=1", "PROTOCOL=0");
        let (auth, _) = parse_request(Some(FORM), Some(&plain), frame.as_bytes()).unwrap();
        assert_eq!(auth["client_endpoint"], "http://p.bitrix24.com/rest/");
        let no_domain = parse_request(Some(FORM), None, frame.as_bytes()).unwrap_err();
        assert_eq!(no_domain.0, StatusCode::BAD_REQUEST);
        let (_, form) = parse_request(Some(FORM), Some(query), body().as_bytes()).unwrap();
        assert_eq!(form, Form::Server);
    }

    #[test]
    fn accepts_json() {
        let json = br#"{"event":"ONAPPINSTALL","auth":{"access_token":"a","refresh_token":"r",
            "member_id":"m","domain":"p.bitrix24.com","expires_in":3600}}"#;
        let auth = parse_callback(Some("application/json; charset=utf-8"), json).unwrap();
        assert_eq!(auth["expires_in"], 3600);
    }

    /// The committed corpus of hostile and odd bodies: `STATUS-name.form|json`.
    #[test]
    fn corpus() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let ct = if name.ends_with(".json") {
                "application/json"
            } else {
                FORM
            };
            let body = std::fs::read(&path).unwrap();
            let got = match parse_callback(Some(ct), &body) {
                Ok(_) => 200,
                Err((status, _)) => status.as_u16(),
            };
            assert_eq!(got.to_string(), name[..3], "{name}");
            seen += 1;
        }
        assert!(seen >= 10);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(fuzz_cases()))]

        #[test]
        fn any_bytes_never_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..4096),
                                 json in proptest::bool::ANY) {
            let ct = if json { "application/json" } else { FORM };
            let _ = parse_callback(Some(ct), &body);
        }

        #[test]
        fn every_auth_field_arrives_as_sent(
            fields in proptest::collection::btree_map("[a-z_]{1,12}", "\\PC{0,40}", 0..8),
            token in "[0-9a-f]{32,70}",
        ) {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("event", "ONAPPINSTALL");
            let mut expected = fields.clone();
            for (k, v) in [("access_token", &token), ("refresh_token", &token), ("member_id", &token)] {
                expected.insert(k.to_string(), v.clone());
            }
            expected.insert("domain".into(), "p.bitrix24.com".into());
            for (k, v) in &expected {
                form.append_pair(&format!("auth[{k}]"), v);
            }
            let auth = parse_callback(Some(FORM), form.finish().as_bytes()).unwrap();
            for (k, v) in &expected {
                proptest::prop_assert_eq!(auth[k.as_str()].as_str(), Some(v.as_str()));
            }
        }
    }

    /// Cases per property: 2,000 by default; `.ci/run` raises it with `B24AUTH_FUZZ_CASES`.
    pub fn fuzz_cases() -> u32 {
        std::env::var("B24AUTH_FUZZ_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn info() -> Map<String, Value> {
        map(
            json!({"client_id": "local.1", "install": {"domain": "p.bitrix24.com",
            "member_id": "m1", "client_endpoint": "https://p.bitrix24.com/rest/"}}),
        )
    }

    fn auth() -> Map<String, Value> {
        map(
            json!({"access_token": "a", "refresh_token": "r", "member_id": "m1",
            "domain": "p.bitrix24.com", "client_endpoint": "https://p.bitrix24.com/rest/"}),
        )
    }

    fn with(key: &str, value: &str) -> Map<String, Value> {
        let mut a = auth();
        a.insert(key.into(), value.into());
        a
    }

    #[test]
    fn the_identity_comes_from_app_info() {
        let id = verify(&info(), &auth(), Some("local.1"), false).unwrap();
        assert_eq!(id.domain, "p.bitrix24.com");
        assert_eq!(id.member_id, "m1");
        assert!(!id.insecure);
    }

    #[test]
    fn a_post_that_names_another_portal_fails() {
        for (k, v) in [
            ("member_id", "m2"),
            ("domain", "victim.bitrix24.com"),
            ("client_endpoint", "http://127.0.0.1:9/rest/"),
            ("client_endpoint", "https://victim.bitrix24.com/rest/"),
            (
                "client_endpoint",
                "https://p.bitrix24.com.evil.example/rest/",
            ),
            ("client_endpoint", "ftp://p.bitrix24.com/rest/"),
            ("client_endpoint", "not a url"),
        ] {
            assert!(
                verify(&info(), &with(k, v), None, false).is_err(),
                "{k}={v}"
            );
        }
        let mut no_endpoint = auth();
        no_endpoint.remove("client_endpoint");
        assert!(verify(&info(), &no_endpoint, None, false).is_err());
    }

    #[test]
    fn a_missing_identity_in_app_info_fails() {
        for drop in ["domain", "member_id"] {
            let mut i = info();
            i["install"].as_object_mut().unwrap().remove(drop);
            assert!(verify(&i, &auth(), None, false).is_err(), "{drop}");
        }
        let mut i = info();
        i.remove("install");
        assert!(verify(&i, &auth(), None, false).is_err());
        assert!(verify(&map(json!({"member_id": "m1"})), &auth(), None, false).is_err());
    }

    #[test]
    fn app_info_without_the_block_neither_confirms_nor_contradicts() {
        let mut i = info();
        i.remove("install");
        assert_eq!(assess(&i, &auth(), Some("local.1"), false).unwrap(), None);
        i.insert("install".into(), json!({"installed": true, "member_id": 7}));
        assert_eq!(assess(&i, &auth(), None, false).unwrap(), None);
        assert!(
            assess(&i, &auth(), Some("local.2"), false).is_err(),
            "another app"
        );
        let mut wrong = info();
        wrong["install"]["member_id"] = "m2".into();
        assert!(
            assess(&wrong, &auth(), None, false).is_err(),
            "another member"
        );
        assert!(assess(&info(), &auth(), None, false).unwrap().is_some());
    }

    #[test]
    fn another_app_fails() {
        assert!(verify(&info(), &auth(), Some("local.2"), false).is_err());
    }

    #[test]
    fn plain_http_only_for_loopback_or_when_allowed() {
        let mut i = info();
        i["install"]["domain"] = "portal.example.com".into();
        let a = with("client_endpoint", "http://portal.example.com/rest/");
        let mut a = a;
        a.insert("domain".into(), "portal.example.com".into());
        assert!(verify(&i, &a, None, false).is_err());
        assert!(verify(&i, &a, None, true).unwrap().insecure);
        i["install"]["domain"] = "127.0.0.1:8080".into();
        a.insert("domain".into(), "127.0.0.1:8080".into());
        a.insert(
            "client_endpoint".into(),
            "http://127.0.0.1:8080/rest/".into(),
        );
        assert!(!verify(&i, &a, None, false).unwrap().insecure);
    }

    #[test]
    fn no_verify_still_needs_a_consistent_post() {
        assert!(unverified(&auth(), false).is_ok());
        let a = with("client_endpoint", "https://evil.example/rest/");
        assert!(unverified(&a, false).is_err());
        let mut a = auth();
        a.remove("domain");
        assert!(unverified(&a, false).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(
            callback_tests::fuzz_cases()))]

        /// Whatever the POST and the answer hold, verification never panics, and what it
        /// accepts is exactly the portal app.info named.
        #[test]
        fn verify_never_panics_and_accepts_only_the_named_portal(
            member in "(m1|m2|)",
            domain in "(p\\.bitrix24\\.com|P\\.Bitrix24\\.com/|127\\.0\\.0\\.1:8080|evil\\.example|)",
            endpoint in "((https?|ftp)://(p\\.bitrix24\\.com|evil\\.example|127\\.0\\.0\\.1)(:[0-9]{1,5})?/rest/)|\\PC{0,30}",
            info_domain in "(p\\.bitrix24\\.com|127\\.0\\.0\\.1:8080|\\PC{0,12})",
            allow_http in proptest::bool::ANY,
        ) {
            let mut i = info();
            i["install"]["domain"] = info_domain.clone().into();
            let a = map(json!({"member_id": member, "domain": domain, "client_endpoint": endpoint}));
            if let Ok(id) = verify(&i, &a, None, allow_http) {
                proptest::prop_assert_eq!(id.domain, normalize_domain(&info_domain));
                proptest::prop_assert_eq!(id.member_id, "m1");
                let host = host_port(&id.client_endpoint).unwrap().to_ascii_lowercase();
                proptest::prop_assert_eq!(host, normalize_domain(&info_domain));
            }
            let _ = unverified(&a, allow_http);
        }
    }

    #[test]
    fn only_bitrix24_fields_are_taken() {
        let mut a = auth();
        a.insert("client_id".into(), "local.evil".into());
        a.insert("client_secret".into(), "evil".into());
        a.insert(
            "b24auth".into(),
            json!({"oauth_server": "http://127.0.0.1:1"}),
        );
        let kept = bitrix_fields(a);
        assert_eq!(kept, auth());
    }
}
