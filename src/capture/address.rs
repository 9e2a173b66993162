/*!
Addresses the user types or must be told: `--listen` values (`127.0.0.1:8787`, `localhost:8787`,
`[::1]:8787`, `0.0.0.0:8787`), the name under which an all-interfaces listener is likely reached,
and the `--domain` checks that catch a pasted URL with userinfo or a path.
*/

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};

use url::Url;

/// Parses a `--listen` value: `IP:PORT`, `[IPv6]:PORT` or `localhost:PORT` (127.0.0.1).
pub fn listen_addr(s: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let bad =
        || format!("`{s}` is not an address like 127.0.0.1:8787, localhost:8787 or [::1]:8787");
    let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    }
    Err(bad())
}

/// For a listener on all interfaces (`0.0.0.0`, `[::]`): the address others most likely reach
/// this host under — its primary address (the one a default route would use), else its
/// host name. `None` for any other listener, which names itself.
pub fn reachable_host(addr: SocketAddr) -> Option<String> {
    if !addr.ip().is_unspecified() {
        return None;
    }
    primary_ip(addr.is_ipv6())
        .map(|ip| SocketAddr::new(ip, addr.port()).to_string())
        .or_else(|| host_name().map(|h| format!("{h}:{}", addr.port())))
}

/// The source address the kernel picks for a route to a documentation address. A UDP
/// `connect` sends nothing; it only asks the routing table.
fn primary_ip(v6: bool) -> Option<IpAddr> {
    let (bind, target): (SocketAddr, SocketAddr) = if v6 {
        (
            (Ipv6Addr::UNSPECIFIED, 0).into(),
            ("2001:db8::1".parse::<Ipv6Addr>().ok()?, 9).into(),
        )
    } else {
        (
            (Ipv4Addr::UNSPECIFIED, 0).into(),
            (Ipv4Addr::new(192, 0, 2, 1), 9).into(),
        )
    };
    let socket = UdpSocket::bind(bind).ok()?;
    socket.connect(target).ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_unspecified() && !ip.is_loopback()).then_some(ip)
}

fn host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// Why `--domain` cannot be a portal address, if it cannot: user info (`user@`), a path
/// other than `/`, a query, or a bare word without a dot (other than `localhost`).
pub fn domain_problem(url: &Url) -> Option<&'static str> {
    if !url.username().is_empty() || url.password().is_some() {
        return Some("holds a user name or password");
    }
    if url.path() != "/" && !url.path().is_empty() {
        return Some("holds a path");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Some("holds a query");
    }
    match url.host() {
        Some(url::Host::Domain(d)) if !d.contains('.') && !d.eq_ignore_ascii_case("localhost") => {
            Some("is a bare word, not a host name with a dot")
        }
        None => Some("has no host"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_values() {
        assert_eq!(
            listen_addr("localhost:9000").unwrap().to_string(),
            "127.0.0.1:9000"
        );
        assert_eq!(listen_addr("[::1]:9000").unwrap().to_string(), "[::1]:9000");
        assert_eq!(listen_addr("0.0.0.0:80").unwrap().to_string(), "0.0.0.0:80");
        assert!(listen_addr("localhost").is_err());
        assert!(listen_addr("example.com:80").is_err());
        assert!(listen_addr("localhost:99999").is_err());
    }

    #[test]
    fn an_all_interfaces_listener_is_named_otherwise() {
        let any: SocketAddr = "0.0.0.0:8787".parse().unwrap();
        if let Some(named) = reachable_host(any) {
            assert!(!named.starts_with("0.0.0.0"), "{named}");
            assert!(named.ends_with(":8787"), "{named}");
        }
        assert_eq!(reachable_host("127.0.0.1:1".parse().unwrap()), None);
    }

    #[test]
    fn domain_problems() {
        let p = |s: &str| domain_problem(&Url::parse(s).unwrap());
        assert_eq!(p("https://portal.bitrix24.com"), None);
        assert_eq!(p("https://portal.bitrix24.com/"), None);
        assert_eq!(p("http://localhost:8080"), None);
        assert_eq!(p("http://127.0.0.1:8080/"), None);
        assert!(p("https://user:pw@portal.bitrix24.com").is_some());
        assert!(p("https://portal.bitrix24.com/crm/deal/").is_some());
        assert!(p("https://portal.bitrix24.com/?x=1").is_some());
        assert!(p("https://portal").is_some());
    }
}
