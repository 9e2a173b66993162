/*!
The one HTTP client (OAuth server and portal REST alike) and the trust it places in certificates.

HTTPS trusts what the machine trusts, as curl and OpenSSL do: the system's trust store (the
places OpenSSL looks, so a CA added with `update-ca-certificates` works) plus the certificates
named by `SSL_CERT_FILE` / `SSL_CERT_DIR` (a company CA for an on-premise portal). The roots
bundled into the binary are used only where the system has none (a minimal container).
`rustls-native-certs` reads the store (the rustls project's crate; reqwest's own
`rustls-tls-native-roots` uses it too, but lets `SSL_CERT_FILE` replace the system's roots rather
than add to them, and a root set of our own is also what PostgreSQL's `sslrootcert=system` needs).
*/

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;

/// The HTTP client for Bitrix24: per-request `timeout`, no redirects followed on our behalf
/// (a followed 302 would turn a POST into a GET and lose its body).
pub fn http_client(timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .use_preconfigured_tls(client_config(trust_roots()?.clone()))
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("b24auth/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("cannot set up the HTTP client")
}

/// A rustls client configuration (ring, TLS 1.2 and 1.3) that verifies against `roots`.
pub fn client_config(roots: RootCertStore) -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The machine's roots, read once per process: the system's store, plus `SSL_CERT_FILE` /
/// `SSL_CERT_DIR`; the bundled web roots when the system has none.
pub fn trust_roots() -> Result<&'static RootCertStore> {
    static ROOTS: OnceLock<Result<RootCertStore, String>> = OnceLock::new();
    ROOTS
        .get_or_init(load_roots)
        .as_ref()
        .map_err(|e| anyhow!("{e}"))
}

fn load_roots() -> Result<RootCertStore, String> {
    let named = named_sources();
    if named.is_empty() {
        return Ok(assemble(
            Vec::new(),
            rustls_native_certs::load_native_certs().certs,
        ));
    }
    // Each place the variables name must hold a certificate: a mistyped SSL_CERT_DIR is not
    // hidden by an SSL_CERT_FILE that loads (or the other way round).
    let mut extra = Vec::new();
    for (named, found) in named {
        if found.certs.is_empty() {
            let why = found
                .errors
                .first()
                .map(|e| e.to_string())
                .unwrap_or_else(|| "no PEM certificate in it".into());
            return Err(format!(
                "{named} holds no usable certificate ({why}): point it at the CA's PEM file (SSL_CERT_FILE) or a directory of them (SSL_CERT_DIR)"
            ));
        }
        extra.extend(found.certs);
    }
    // The variables add to the system's store, never replace it: trusting a private CA must
    // not cost the public ones.
    let system = openssl_probe::candidate_cert_dirs()
        .flat_map(|dir| rustls_native_certs::load_certs_from_paths(None, Some(dir)).certs)
        .collect();
    Ok(assemble(extra, system))
}

/// `SSL_CERT_FILE`, and each directory of `SSL_CERT_DIR` (a `:`-separated list, as OpenSSL
/// reads it), each with what it holds.
fn named_sources() -> Vec<(String, rustls_native_certs::CertificateResult)> {
    let mut out = Vec::new();
    if let Some(file) = std::env::var_os("SSL_CERT_FILE") {
        let file = std::path::PathBuf::from(file);
        out.push((
            format!("SSL_CERT_FILE={}", file.display()),
            rustls_native_certs::load_certs_from_paths(Some(&file), None),
        ));
    }
    if let Some(dirs) = std::env::var_os("SSL_CERT_DIR") {
        for dir in std::env::split_paths(&dirs).filter(|d| !d.as_os_str().is_empty()) {
            out.push((
                format!("SSL_CERT_DIR={}", dir.display()),
                rustls_native_certs::load_certs_from_paths(None, Some(&dir)),
            ));
        }
    }
    out
}

/// The user's extra CAs and the system's roots; the bundled web roots only when the system
/// has none (a minimal container).
fn assemble(
    extra: Vec<CertificateDer<'static>>,
    system: Vec<CertificateDer<'static>>,
) -> RootCertStore {
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(extra);
    let (from_system, _) = roots.add_parsable_certificates(system);
    if from_system == 0 {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    roots
}

/// `SSL_CERT_FILE=…` / `SSL_CERT_DIR=…` as set (empty when neither is).
fn env_paths() -> Vec<String> {
    ["SSL_CERT_FILE", "SSL_CERT_DIR"]
        .iter()
        .filter_map(|k| {
            std::env::var_os(k).map(|v| format!("{k}={}", std::path::Path::new(&v).display()))
        })
        .collect()
}

/// When `e` is a certificate the client did not trust: what to say about it (the host, and what
/// to do).
pub fn untrusted_certificate(e: &(dyn std::error::Error + 'static), host: &str) -> Option<String> {
    certificate_error(e).map(|error| certificate_hint(host, error))
}

/// What rustls found wrong with the peer's certificate, in a reader's words.
pub fn why(e: &rustls::CertificateError) -> String {
    use rustls::CertificateError as E;
    match e {
        E::UnknownIssuer => "signed by no CA trusted here (UnknownIssuer)".into(),
        E::NotValidForNameContext {
            expected,
            presented,
        } => {
            let names: Vec<&str> = presented.iter().map(|p| unquoted(p)).collect();
            let expected = match expected {
                rustls::pki_types::ServerName::DnsName(d) => d.as_ref().to_string(),
                rustls::pki_types::ServerName::IpAddress(ip) => {
                    std::net::IpAddr::from(*ip).to_string()
                }
                other => format!("{other:?}"),
            };
            format!(
                "issued for {}, not for {expected} (NotValidForName)",
                names.join(", ")
            )
        }
        E::Expired | E::ExpiredContext { .. } => "expired (Expired)".into(),
        E::NotValidYet | E::NotValidYetContext { .. } => "not valid yet (NotValidYet)".into(),
        other => format!("{other:?}"),
    }
}

/// `DnsName("db.example")` (how rustls lists a certificate's names) as `db.example`.
fn unquoted(name: &str) -> &str {
    name.split_once("(\"")
        .and_then(|(_, rest)| rest.strip_suffix("\")"))
        .unwrap_or(name)
}

/// Why rustls refused the peer's certificate, when that is what `e` (or a cause) says.
pub fn certificate_error<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::CertificateError> {
    let mut cause = Some(e);
    while let Some(err) = cause {
        // io::Error hides its inner error from `source()` (and may wrap another io::Error).
        let mut inner = Some(err);
        while let Some(i) = inner {
            if let Some(rustls::Error::InvalidCertificate(e)) = i.downcast_ref::<rustls::Error>() {
                return Some(e);
            }
            inner = i
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .map(|i| i as &(dyn std::error::Error + 'static));
        }
        cause = err.source();
    }
    None
}

/// The one wording of a refused certificate, for HTTPS and PostgreSQL alike. Only a
/// certificate no trusted CA signed is a matter of trusting a CA (`SSL_CERT_FILE`); a wrong
/// name, an expired or not-yet-valid certificate is said as it is, with its own next step.
pub fn certificate_hint(host: &str, error: &rustls::CertificateError) -> String {
    use rustls::CertificateError as E;
    let why = why(error);
    match error {
        E::NotValidForName | E::NotValidForNameContext { .. } => format!(
            "the certificate of {host} is {why}: connect by a name the certificate holds, or have its administrator issue one for this name"
        ),
        E::Expired | E::ExpiredContext { .. } | E::NotValidYet | E::NotValidYetContext { .. } => {
            format!(
                "the certificate of {host} is {why}: its administrator must renew it, or this machine's clock is wrong (check `date`)"
            )
        }
        _ => {
            let set = env_paths();
            let tried = match set.is_empty() {
                true => String::new(),
                false => format!(" ({} is set: it does not hold that CA)", set.join(", ")),
            };
            format!(
                "the certificate of {host} is not trusted: {why}{tried}; if a company CA signed it, trust that CA with SSL_CERT_FILE=/path/to/ca.pem (its PEM file) or install it in the system's store (update-ca-certificates)"
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::pem::PemObject;

    /// A self-signed CA made with `openssl req -x509` for this test.
    const CA: &str = "-----BEGIN CERTIFICATE-----\nMIIBkjCCATmgAwIBAgIURTEpF4N/bPOQCGhM9GKprVTcLiQwCgYIKoZIzj0EAwIw\nHzEdMBsGA1UEAwwUYjI0YXV0aCB1bml0LXRlc3QgQ0EwHhcNMjYxMjAxMjIwODI0\nWhcNMzYxMTI4MjIwODI0WjAfMR0wGwYDVQQDDBRiMjRhdXRoIHVuaXQtdGVzdCBD\nQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABA+vTFWn/PfY3td6RREOYyJJqjh4\nQzDSEj5FYh7/XdTmJaPuJP6Mh95cc2i7Ua72oD1eshYxWBppTrF/Yequo8GjUzBR\nMB0GA1UdDgQWBBR6JDFpTUvHJfRx9medBA8ZuN/4QDAfBgNVHSMEGDAWgBR6JDFp\nTUvHJfRx9medBA8ZuN/4QDAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0cA\nMEQCIEYbQ3cYVvydXzANVZcyxeNc7Gwot1C1tmKQdYlIqMetAiARpGRGWEDmWdZW\nxjZsor+YN7kN4h3n+X5DnKiSTFlxxA==\n-----END CERTIFICATE-----\n";

    #[test]
    fn bundled_roots_only_where_the_system_has_none() {
        let bundled = webpki_roots::TLS_SERVER_ROOTS.len();
        let ca = || CertificateDer::from_pem_slice(CA.as_bytes()).unwrap();
        // A minimal container: nothing from the system, so the bundled roots.
        assert_eq!(assemble(Vec::new(), Vec::new()).len(), bundled);
        // SSL_CERT_FILE's CA on such a system: the CA and the bundled roots.
        assert_eq!(assemble(vec![ca()], Vec::new()).len(), bundled + 1);
        // A system with a store: only its roots (and the extra CA), never the bundled ones.
        assert_eq!(assemble(vec![ca()], vec![ca()]).len(), 2);
    }

    /// SSL_CERT_FILE is advised only where a CA is what is missing.
    #[test]
    fn the_hint_says_what_is_wrong_with_the_certificate() {
        use rustls::CertificateError as E;
        let untrusted = certificate_hint("portal.example", &E::UnknownIssuer);
        assert!(untrusted.contains("SSL_CERT_FILE"), "{untrusted}");
        let name = E::NotValidForNameContext {
            expected: rustls::pki_types::ServerName::try_from("db.example").unwrap(),
            presented: vec!["DnsName(\"other.example\")".into()],
        };
        for (error, says) in [
            (name, "issued for other.example, not for db.example"),
            (E::Expired, "renew"),
            (E::NotValidYet, "clock"),
        ] {
            let hint = certificate_hint("portal.example", &error);
            assert!(
                hint.contains(says)
                    && !hint.contains("SSL_CERT_FILE")
                    && !hint.contains("not trusted"),
                "{hint}"
            );
        }
    }
}
