/*!
Portal renames: a renamed Bitrix24 portal answers 302 with its new address, and the token may
follow only to a Bitrix24 cloud host over https or to the same address.
*/

use anyhow::{anyhow, Result};
use url::Url;

/// A renamed portal answers 302 with its new address: the new `client_endpoint` is
/// `SCHEME://HOST[:PORT]/rest/` of the `Location` (only its host counts, as both official SDKs
/// take it), when the redirect may carry the token there (see [`redirect_allowed`]).
pub fn rename_target(old: &Url, method: &str, location: Option<&str>) -> Result<String> {
    let new = location
        .and_then(|l| old.join(l).ok())
        .filter(|u| u.host_str().is_some())
        .ok_or_else(|| anyhow!("{method}: the portal redirected without a usable Location"))?;
    if !redirect_allowed(old, &new) {
        return Err(anyhow!(
            "{method}: the portal redirected to {}, which is not a Bitrix24 cloud portal over https nor the same address; not following",
            new.origin().ascii_serialization()
        ));
    }
    Ok(format!("{}/rest/", new.origin().ascii_serialization()))
}

/// The token follows a redirect only to an `https://` host (port 443) in Bitrix24's cloud zones, or to the
/// same scheme, host and port; never from https to http.
pub fn redirect_allowed(old: &Url, new: &Url) -> bool {
    let cloud = new.scheme() == "https"
        && new.port().is_none()
        && is_bitrix24_cloud(new.host_str().unwrap_or(""));
    let same = new.scheme() == old.scheme()
        && new.host_str() == old.host_str()
        && new.port_or_known_default() == old.port_or_known_default();
    cloud || same
}

/// Bitrix24's cloud zones: a renamed cloud portal stays under one of them.
const CLOUD_ZONES: [&str; 22] = [
    "com", "ru", "de", "eu", "es", "fr", "it", "pl", "uk", "by", "kz", "ua", "in", "jp", "cn",
    "tr", "id", "vn", "com.br", "co", "mx", "site",
];

fn is_bitrix24_cloud(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    CLOUD_ZONES.iter().any(|zone| {
        host.strip_suffix(&format!(".bitrix24.{zone}"))
            .is_some_and(|name| !name.is_empty() && !name.contains('.'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_keep_the_token_where_it_belongs() {
        let u = |s: &str| Url::parse(s).unwrap();
        let old = u("https://old.bitrix24.com/rest/");
        assert!(redirect_allowed(&old, &u("https://new.bitrix24.de/rest/")));
        assert!(redirect_allowed(
            &old,
            &u("https://old.bitrix24.com:443/x/")
        ));
        assert!(!redirect_allowed(&old, &u("http://new.bitrix24.com/rest/")));
        assert!(!redirect_allowed(&old, &u("http://old.bitrix24.com/rest/")));
        assert!(!redirect_allowed(
            &old,
            &u("https://old.bitrix24.com:8443/rest/")
        ));
        assert!(!redirect_allowed(&old, &u("https://evil.example/rest/")));
        let local = u("http://127.0.0.1:8080/rest/");
        assert!(redirect_allowed(
            &local,
            &u("http://127.0.0.1:8080/new/rest/")
        ));
        assert!(!redirect_allowed(&local, &u("http://127.0.0.1:8081/rest/")));
        assert!(!redirect_allowed(
            &local,
            &u("http://new.bitrix24.com/rest/")
        ));
    }

    #[test]
    fn a_rename_keeps_only_the_host() {
        let old = Url::parse("https://old.bitrix24.com/rest/").unwrap();
        let target = |l: &str| rename_target(&old, "crm.deal.list", Some(l));
        assert_eq!(
            target("https://new.bitrix24.com/rest/crm.deal.list").unwrap(),
            "https://new.bitrix24.com/rest/"
        );
        assert_eq!(
            target("https://new.bitrix24.com/some/where/else?x=1").unwrap(),
            "https://new.bitrix24.com/rest/"
        );
        assert_eq!(
            target("/moved/rest/crm.deal.list").unwrap(),
            "https://old.bitrix24.com/rest/"
        );
        assert!(target("https://evil.example/rest/").is_err());
    }

    #[test]
    fn cloud_hosts() {
        assert!(is_bitrix24_cloud("new-name.bitrix24.com"));
        assert!(is_bitrix24_cloud("b24-x.bitrix24.by"));
        assert!(is_bitrix24_cloud("x.bitrix24.com.br"));
        assert!(!is_bitrix24_cloud("bitrix24.com.evil.example"));
        assert!(!is_bitrix24_cloud("x.bitrix24.evil.example"));
        assert!(!is_bitrix24_cloud("a.b.bitrix24.com"));
        assert!(!is_bitrix24_cloud("evil.example"));
    }
}
