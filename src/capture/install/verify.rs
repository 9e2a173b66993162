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
use serde_json::{Map, Value};
use url::Url;

use crate::profile::host_port;

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
pub(crate) fn normalize_domain(d: &str) -> String {
    let d = d
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    d.trim_end_matches('/').to_ascii_lowercase()
}

/// A non-empty string field.
pub(crate) fn text<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
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
            crate::capture::install::request::callback_tests::fuzz_cases()))]

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
        use crate::capture::install::request::bitrix_fields;
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
