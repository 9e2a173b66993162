/*!
The rule for where the client secret may go: an OAuth server must be `https://` (plain `http://`
only on a loopback address, the tests' stand-in). Servers never choose where secrets go.
*/

use std::net::IpAddr;

use anyhow::Result;
use url::Url;

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
}
