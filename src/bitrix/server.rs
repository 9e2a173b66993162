/*!
Which OAuth server gets the client secret, and the rule for where it may go.

Bitrix24 runs two OAuth servers and picks one by the portal's region: ru, by, kz, uz →
`oauth.bitrix24.tech`, every other → `oauth.bitrix.info` (the rest module's
`Internal/Service/OAuth/AuthorizationServerUrlResolver.php`); an on-premise administrator may set
another (`rest/oauth_server`, `BITRIX_OAUTH_URL`). Bitrix24 names the one it chose in every pair
(`server_endpoint`), and that name wins. b24auth cannot read the portal's region setting, so
where nothing names the server it reads the region from the portal host's top-level domain.
A host outside the known set is used only when the user named it (`--oauth-server`, its variable,
or stored from such a choice); a pair that names one says so, with the option to pass.

An OAuth server must be `https://` (plain `http://` only on a loopback address, the tests'
stand-in). Servers never choose where secrets go.
*/

use std::net::IpAddr;

use anyhow::Result;
use url::Url;

use crate::profile::Profile;
use crate::ui::hint;

/// The OAuth servers Bitrix24 runs (the first: the one for every region but the east's).
pub const KNOWN: [&str; 2] = ["oauth.bitrix.info", "oauth.bitrix24.tech"];

/// Top-level domains of the region `oauth.bitrix24.tech` serves (`рф` is `xn--p1ai`).
const EAST: [&str; 5] = ["ru", "by", "kz", "uz", "xn--p1ai"];

/// `https://HOST` for a known server's host (any case); `None` for any other host.
pub fn known_url(host: &str) -> Option<Url> {
    KNOWN
        .iter()
        .find(|k| k.eq_ignore_ascii_case(host))
        .map(|k| Url::parse(&format!("https://{k}")).expect("known hosts parse"))
}

/// `https://oauth.bitrix.info`: the server when there is no portal yet to read a region from.
pub fn default_url() -> Url {
    known_url(KNOWN[0]).expect("a known server")
}

/// Whether `host` is one of Bitrix24's OAuth servers (any case).
pub fn is_known(host: &str) -> bool {
    known_url(host).is_some()
}

/// The known server for `portal` (`host[:port]`) by its region, read from its top-level
/// domain: the server Bitrix24 picks for a portal of that region.
pub fn for_region(portal: &str) -> Url {
    let host = Url::parse(&format!("https://{portal}"))
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default();
    let tld = host.trim_end_matches('.').rsplit('.').next().unwrap_or("");
    let east = host.contains('.') && EAST.contains(&tld);
    known_url(KNOWN[usize::from(east)]).expect("a known server")
}

/// The server for a refresh (of a stored pair, or of a kept candidate that proves it): the
/// [`choose`] rule on the pair's `server_endpoint`, the server stored with it (an earlier
/// explicit choice, or the one that last refreshed it) and its portal. A refusal names
/// `refresh` as the command to run with `--oauth-server`.
pub fn for_refresh(explicit: Option<&Url>, profile: &Profile) -> Result<Url> {
    let named = profile.server_endpoint();
    let portal = profile.portal().unwrap_or_default();
    choose(
        explicit,
        named,
        profile.oauth_server(),
        &portal,
        &["refresh"],
    )
}

/// The server that exchanges an authorization code: the user's (flag or env); else the
/// redirect's `server_domain` when it is one of Bitrix24's; else `oauth.bitrix.info`. The
/// second value names a `server_domain` outside the known set, which is not used unasked.
pub fn for_code(explicit: Option<&Url>, server_domain: Option<&str>) -> (Url, Option<String>) {
    if let Some(u) = explicit {
        return (u.clone(), None);
    }
    let named = server_domain.map(str::trim).filter(|s| !s.is_empty());
    // A bare host, as Bitrix24 sends it; a URL's host too.
    let host = named.map(|s| {
        Url::parse(s)
            .ok()
            .and_then(|u| u.host_str().map(String::from))
            .unwrap_or_else(|| s.to_string())
    });
    match host.as_deref().and_then(known_url) {
        Some(known) => (known, None),
        None => (default_url(), host),
    }
}

/// The one rule for where the client secret (or a callback's token) goes: the user's server
/// (flag or env); else the server `named` (a pair's `server_endpoint`, a redirect's
/// `server_domain`: a URL or a bare host) when it is one of Bitrix24's; else the server
/// `stored` with the profile; else, when nothing names a server, the known server for
/// `portal`'s region. A name outside the known set, with nothing else to go by, is refused
/// (exit 2) naming that host and the command (`retry`, after `--oauth-server HOST`) to run.
pub fn choose(
    explicit: Option<&Url>,
    named: Option<&str>,
    stored: Option<&str>,
    portal: &str,
    retry: &[&str],
) -> Result<Url> {
    if let Some(u) = explicit {
        return Ok(u.clone());
    }
    // A bare host (a redirect's `server_domain`) reads as `https://HOST`; what reads as
    // neither names nothing.
    let named = named.filter(|s| !s.is_empty()).and_then(|s| {
        Url::parse(s)
            .ok()
            .filter(|u| u.host_str().is_some())
            .or_else(|| Url::parse(&format!("https://{s}")).ok())
    });
    if let Some(known) = named.as_ref().and_then(Url::host_str).and_then(known_url) {
        return Ok(known);
    }
    if let Some(stored) = stored.and_then(|s| Url::parse(s).ok()) {
        return Ok(stored);
    }
    match named {
        Some(endpoint) => Err(outside_known_set(&endpoint, retry)),
        None => Ok(for_region(portal)),
    }
}

/// Exit 2: the pair names an OAuth server b24auth does not send secrets to unasked; the exact
/// host, and the command that names it.
pub fn outside_known_set(endpoint: &Url, retry: &[&str]) -> anyhow::Error {
    let base = server_base(endpoint);
    let words = [&["--oauth-server", base.as_str()][..], retry].concat();
    crate::exit::usage(format!(
        "the pair's server_endpoint names the OAuth server {base}, which is not one of Bitrix24's ({}); b24auth sends the client secret to another server only when you name it: if the portal's administrator set that server (rest/oauth_server), run {} (or set B24AUTH_OAUTH_SERVER={}); the stored pair is unchanged",
        KNOWN.join(", "),
        hint::cmd(&words),
        hint::quote(&base)
    ))
}

/// The `--oauth-server` value for a server's REST base (`https://host/rest/` → `https://host`).
fn server_base(endpoint: &Url) -> String {
    let path = endpoint.path().trim_end_matches('/');
    let path = path.strip_suffix("/rest").unwrap_or(path);
    format!("{}{path}", endpoint.origin().ascii_serialization())
}

/// An OAuth server must be `https://`, or `http://` on a loopback address (a local stand-in).
pub fn check_oauth_server(url: &Url) -> Result<()> {
    if url.scheme() == "https" || (url.scheme() == "http" && is_loopback(url)) {
        return Ok(());
    }
    Err(anyhow::anyhow!(
        "the OAuth server {} is not https:// (plain http:// only on a loopback address): the client secret would cross the network in clear; use https://",
        url.origin().ascii_serialization()
    ))
}

/// `127.0.0.0/8`, `::1` or `localhost`: a portal on this machine (the tests' stand-in).
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Source;
    use serde_json::json;

    #[test]
    fn a_code_goes_to_the_named_known_server_else_to_the_default_one() {
        let tech = Url::parse("https://oauth.bitrix24.tech").unwrap();
        let info = default_url();
        assert_eq!(
            for_code(None, Some("oauth.bitrix24.tech")),
            (tech.clone(), None)
        );
        assert_eq!(for_code(None, Some("OAUTH.BITRIX24.TECH")).0, tech);
        assert_eq!(for_code(None, None), (info.clone(), None));
        assert_eq!(for_code(None, Some("")), (info.clone(), None));
        assert_eq!(
            for_code(None, Some("oauth.corp.example")),
            (info.clone(), Some("oauth.corp.example".into())),
            "an unknown server is never sent the secret unasked"
        );
        let mine = Url::parse("https://oauth.corp.example").unwrap();
        assert_eq!(for_code(Some(&mine), Some("oauth.bitrix24.tech")).0, mine);
    }

    fn profile(fields: serde_json::Value, stored: Option<&str>) -> Profile {
        let mut m = json!({"access_token":"a","refresh_token":"r"});
        m.as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        let mut p = Profile::from_bitrix(m.as_object().unwrap().clone(), Source::Install, 0);
        if let Some(s) = stored {
            p.set_oauth_server(s);
        }
        p
    }

    #[test]
    fn oauth_servers_are_https_or_loopback() {
        let ok = |s: &str| check_oauth_server(&Url::parse(s).unwrap()).is_ok();
        assert!(ok("https://oauth.bitrix.info"));
        assert!(ok("http://127.0.0.1:8080"));
        assert!(ok("http://[::1]:8080"));
        assert!(ok("http://localhost:1"));
        assert!(!ok("http://oauth.example.com"));
        assert!(!ok("http://10.0.0.1"));
        assert!(!ok("ftp://oauth.bitrix.info"));
    }

    #[test]
    fn the_region_picks_the_known_server() {
        let server = |p: &str| for_region(p).host_str().unwrap().to_string();
        for east in [
            "b24-ar17wx.bitrix24.by",
            "x.bitrix24.ru",
            "crm.example.kz:8443",
            "corp.uz",
            "CRM.EXAMPLE.RU.",
            "xn--80ak6aa92e.xn--p1ai",
        ] {
            assert_eq!(server(east), "oauth.bitrix24.tech", "{east}");
        }
        for west in [
            "x.bitrix24.com",
            "x.bitrix24.de",
            "rubble.com",
            "ru",
            "127.0.0.1:9",
            "",
        ] {
            assert_eq!(server(west), "oauth.bitrix.info", "{west:?}");
        }
    }

    #[test]
    fn refresh_server_choice() {
        let tech = json!({"server_endpoint": "https://oauth.bitrix24.tech/rest/"});
        let p = profile(tech, Some("http://127.0.0.1:9"));
        let chosen = |p: &Profile| for_refresh(None, p).unwrap().to_string();
        assert_eq!(
            chosen(&p),
            "https://oauth.bitrix24.tech/",
            "Bitrix24's name wins"
        );
        let upper = profile(
            json!({"server_endpoint": "https://OAUTH.BITRIX.INFO/rest/"}),
            None,
        );
        assert_eq!(chosen(&upper), "https://oauth.bitrix.info/");
        let foreign = json!({"server_endpoint": "https://oauth.corp.example/rest/"});
        let stored = profile(foreign.clone(), Some("http://127.0.0.1:9"));
        assert_eq!(
            chosen(&stored),
            "http://127.0.0.1:9/",
            "an earlier choice is kept"
        );
        let flag = Url::parse("http://127.0.0.1:1").unwrap();
        assert_eq!(for_refresh(Some(&flag), &stored).unwrap(), flag);
        let by = profile(
            json!({"client_endpoint": "https://b24-x.bitrix24.by/rest/"}),
            None,
        );
        assert_eq!(chosen(&by), "https://oauth.bitrix24.tech/", "by region");
        assert_eq!(
            chosen(&profile(json!({}), None)),
            "https://oauth.bitrix.info/"
        );
    }

    #[test]
    fn a_new_pairs_server_follows_the_same_rule() {
        let pick = |named: &str, portal: &str| choose(None, Some(named), None, portal, &["x"]);
        assert_eq!(
            pick("oauth.bitrix24.tech", "p.bitrix24.com")
                .unwrap()
                .as_str(),
            "https://oauth.bitrix24.tech/",
            "a redirect's server_domain (a bare host)"
        );
        assert_eq!(
            choose(None, None, None, "p.bitrix24.kz", &[])
                .unwrap()
                .as_str(),
            "https://oauth.bitrix24.tech/",
            "nothing named: the portal's region"
        );
        let e = pick("attacker.example", "p.bitrix24.com").unwrap_err();
        assert!(
            e.to_string()
                .contains("`b24auth --oauth-server https://attacker.example x`"),
            "{e}"
        );
    }

    #[test]
    fn a_foreign_server_endpoint_is_named_with_the_option_to_pass() {
        let p = profile(
            json!({"server_endpoint": "https://oauth.corp.example:8443/b24/rest/",
                   "client_endpoint": "https://crm.corp.ru/rest/"}),
            None,
        );
        let e = for_refresh(None, &p).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("names the OAuth server https://oauth.corp.example:8443/b24,"),
            "{msg}"
        );
        assert!(
            msg.contains("`b24auth --oauth-server https://oauth.corp.example:8443/b24 refresh`"),
            "{msg}"
        );
        assert!(matches!(
            e.downcast_ref::<crate::exit::Error>(),
            Some(crate::exit::Error::Usage(_))
        ));
    }
}
