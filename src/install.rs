/*!
The trust decision for an installation callback, as pure functions: which fields of the POSTed
`auth` object are taken at all, and which portal the pair belongs to.

The POST is written by whoever reaches the listener, so nothing in it names the portal on its
own word. With verification, the identity comes from the trusted OAuth server's `app.info`
answer (`install.domain`, `install.member_id`), and the POST's `member_id`, `domain` and
`client_endpoint` host must equal it — the check the official Python SDK makes
(`validate_against_app_info`). Without verification, the POST must at least agree with itself.
Either way `client_endpoint` must be `https://`, or `http://` on a loopback portal, or on an
on-premise one the user allowed with `--allow-http`.
*/

use std::net::IpAddr;

use anyhow::{anyhow, bail, Result};
use hyper::StatusCode;
use serde_json::{Map, Value};
use url::Url;

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

/// Parses the body (see [`crate::commands::install_listen::parse_callback`]) and keeps only
/// Bitrix24's `auth` fields.
pub fn parse_body(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Map<String, Value>, (StatusCode, &'static str)> {
    let auth = crate::commands::install_listen::parse_callback(content_type, body)?;
    Ok(bitrix_fields(auth))
}

/// Drops every key that is not one of Bitrix24's `auth` fields.
pub fn bitrix_fields(auth: Map<String, Value>) -> Map<String, Value> {
    auth.into_iter()
        .filter(|(k, _)| AUTH_FIELDS.contains(&k.as_str()))
        .collect()
}

/// The identity `app.info` (the OAuth server's answer, its `result` object) proves, checked
/// against the POSTed `auth`. A missing identity field in the answer fails; it never passes.
pub fn verify(
    app_info: &Map<String, Value>,
    auth: &Map<String, Value>,
    client_id: Option<&str>,
    allow_http: bool,
) -> Result<Identity> {
    let install = app_info
        .get("install")
        .and_then(Value::as_object)
        .ok_or_else(|| anyhow!("app.info has no `install` block"))?;
    let proven =
        |key: &str| text(install, key).ok_or_else(|| anyhow!("app.info names no `install.{key}`"));
    let domain = normalize_domain(proven("domain")?);
    let member_id = proven("member_id")?;
    if text(auth, "member_id") != Some(member_id) {
        bail!("the callback's member_id is not the one app.info names");
    }
    if let Some(posted) = text(auth, "domain") {
        if normalize_domain(posted) != domain {
            bail!("the callback's domain is not {domain}, the portal app.info names");
        }
    }
    if let (Some(ours), Some(theirs)) = (client_id, text(app_info, "client_id")) {
        if ours != theirs {
            bail!("the token belongs to another app ({theirs})");
        }
    }
    let (client_endpoint, insecure) = endpoint(auth, &domain, allow_http)?;
    Ok(Identity {
        domain,
        member_id: member_id.to_string(),
        client_endpoint,
        insecure,
    })
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
        "http" if is_loopback(&url) => Ok((url, false)),
        "http" if allow_http => Ok((url, true)),
        "http" => {
            bail!("client_endpoint is plain http:// (allow an on-premise portal with --allow-http)")
        }
        other => bail!("client_endpoint has the scheme {other}:"),
    }
}

/// `127.0.0.0/8`, `::1` or `localhost`: a portal on this machine (the tests' stand-in).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
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
            crate::commands::install_listen::tests::fuzz_cases()))]

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
