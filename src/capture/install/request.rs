/*!
An installation request as it arrives, read into Bitrix24's `auth` fields and nothing else:
either install form — the server's POST to a "Uses API only" app (`auth[…]`, PHP bracket form or
JSON, [`parse_callback`]) or the form POSTed into a frame of an app with a UI ([`Form::Frame`]) —
with [`crate::profile::checks::fields`] applied where the values enter. What the request is
worth is [`super::verify`]'s question.
*/

use hyper::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::verify::{normalize_domain, text};
use crate::capture::listener::media_type;

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
