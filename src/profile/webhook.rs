/*!
Incoming webhooks (`local-integrations/local-webhooks.md`): `https://PORTAL/rest/USER_ID/SECRET/`,
where the address itself is the credential — no token, nothing to refresh. A method is called at
the address plus its name. Bitrix24 requires HTTPS; plain http is taken only for a loopback
portal (a test stand-in), as `authorize --domain` does.
*/

use std::fmt;

use url::Url;

use crate::secret::Secret;

/// A checked webhook address. Its `Debug` and `Display` mask the secret part.
#[derive(Clone)]
pub(crate) struct Webhook {
    url: Url,
    user_id: String,
}

impl Webhook {
    /// Parses `https://PORTAL/rest/USER_ID/SECRET/` (the trailing slash optional); `Err` says
    /// what is wrong in words that never repeat the secret.
    pub fn parse(text: &str) -> Result<Webhook, String> {
        let text = text.trim();
        let url = Url::parse(text).map_err(|_| {
            "not an address like https://PORTAL/rest/USER_ID/SECRET/ (copy it from the webhook's form)".to_string()
        })?;
        let loopback = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        };
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => return Err("a webhook address starts with https:// (Bitrix24 answers \"Https required\" otherwise)".into()),
        }
        if !url.username().is_empty()
            || url.password().is_some()
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err("a webhook address has no user name, query or fragment: copy it as the form shows it".into());
        }
        // An on-premise portal may live under a path of its own: `…/rest/USER_ID/SECRET/`.
        let parts: Vec<&str> = url.path().trim_matches('/').split('/').collect();
        let prefix = parts.len().saturating_sub(3);
        let [rest, user_id, secret] = parts[prefix..] else {
            return Err("a webhook address is https://PORTAL/rest/USER_ID/SECRET/ — the path must be /rest/, a user id and the secret, nothing more".into());
        };
        let token_like = |s: &str| {
            !s.is_empty()
                && s.len() <= 128
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        };
        if rest != "rest"
            || !user_id.bytes().all(|b| b.is_ascii_digit())
            || user_id.is_empty()
            || !token_like(secret)
        {
            return Err("a webhook address is https://PORTAL/rest/USER_ID/SECRET/ (a numeric user id, then the secret)".into());
        }
        let mut url = url.clone();
        let before: String = parts[..prefix].iter().map(|p| format!("/{p}")).collect();
        url.set_path(&format!("{before}/rest/{user_id}/{secret}/"));
        Ok(Webhook {
            user_id: user_id.to_string(),
            url,
        })
    }

    /// The address with its trailing slash: a method is called at `base + METHOD`.
    pub fn base(&self) -> Secret {
        Secret::new(self.url.as_str())
    }

    /// `host[:port]`: the portal, as profiles and the shared budget name it.
    pub fn portal(&self) -> String {
        match self.url.port() {
            Some(p) => format!("{}:{p}", self.url.host_str().unwrap_or_default()),
            None => self.url.host_str().unwrap_or_default().to_string(),
        }
    }

    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// The secret part, for redacting it from any text a server sends back.
    pub fn secret_part(&self) -> String {
        self.url
            .path()
            .trim_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string()
    }

    /// `https://portal/rest/1/ab…yz/`: enough to tell two webhooks apart, not to use one.
    pub fn masked(&self) -> String {
        let secret = self.secret_part();
        let shown = match secret.chars().count() {
            n if n >= 12 => format!("{}…{}", &secret[..2], &secret[secret.len() - 2..]),
            _ => "…".into(),
        };
        let path = self.url.path().trim_end_matches('/');
        let before = &path[..path.len() - secret.len()];
        format!(
            "{}{before}{shown}/",
            self.url.origin().ascii_serialization()
        )
    }
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Webhook({})", self.masked())
    }
}

impl fmt::Display for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_and_masked() {
        let w = Webhook::parse("https://p.bitrix24.com/rest/1/abcdef0123456789").unwrap();
        assert_eq!(
            w.base().expose(),
            "https://p.bitrix24.com/rest/1/abcdef0123456789/"
        );
        assert_eq!(w.portal(), "p.bitrix24.com");
        assert_eq!(w.masked(), "https://p.bitrix24.com/rest/1/ab…89/");
        assert!(!format!("{w:?}").contains("cdef01"));
        assert!(Webhook::parse("http://127.0.0.1:8080/rest/7/abcdef0123456789/").is_ok());
        for bad in [
            "http://p.bitrix24.com/rest/1/abcdef0123456789/",
            "https://p.bitrix24.com/rest/x/abcdef0123456789/",
            "https://p.bitrix24.com/rest/1/",
            "https://p.bitrix24.com/rest/1/abc/crm.deal.list",
            "https://p.bitrix24.com/api/1/abcdef0123456789/",
            "https://u:p@p.bitrix24.com/rest/1/abcdef0123456789/",
            "p.bitrix24.com/rest/1/abcdef0123456789/",
        ] {
            let e = Webhook::parse(bad).unwrap_err();
            assert!(!e.contains("abcdef0123456789"), "{e}");
        }
    }
}
