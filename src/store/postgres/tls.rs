/*!
TLS to PostgreSQL with libpq's meanings of `sslmode` (so a URL means what it means to `psql`):
`disable` never encrypts; `allow`, `prefer` and `require` encrypt without checking the server's
certificate (libpq's `prefer` is how Debian's PostgreSQL with its snake-oil certificate is
reached); `verify-ca` checks the chain against `sslrootcert`; `verify-full` also checks that the
certificate names the host. A client certificate (`sslcert`/`sslkey`) is sent when there is one;
its key must not be readable by others, as libpq demands. The rustls adapter for tokio-postgres
(`tokio-postgres-rustls`, which also gives SCRAM channel binding) carries the connection.
*/

use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::libpq::{mode_name, RootCert, Ssl, SslMode};
use crate::bitrix::http::{certificate_error, provider, trust_roots};

/// The connector for every host of the URL.
pub(super) fn connector(ssl: &Ssl) -> Result<MakeRustlsConnect> {
    let verifier: Arc<dyn ServerCertVerifier> = match ssl.mode {
        SslMode::VerifyCa => Arc::new(ChainOnly {
            roots: Arc::new(roots(ssl)?),
            provider: provider(),
        }),
        SslMode::VerifyFull => webpki(ssl)?,
        _ => Arc::new(NoCertCheck(provider())),
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let config = match &ssl.client {
        Some((cert, key)) if ssl.mode != SslMode::Disable => {
            let (chain, key) = client_certificate(cert, key)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| anyhow!("sslcert {} does not fit sslkey: {e}", cert.display()))?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(MakeRustlsConnect::new(config))
}

/// What to do when the connection failed on the server's certificate.
pub(super) fn explain(e: &tokio_postgres::Error, ssl: &Ssl) -> Option<String> {
    let error = certificate_error(e)?;
    let why = crate::bitrix::http::why(error);
    let mode = mode_name(ssl.mode);
    Some(match &ssl.root {
        RootCert::System => crate::bitrix::http::certificate_hint("the PostgreSQL server", error),
        _ if why.contains("NotValidForName") => format!(
            "the server's certificate is {why} (sslmode={mode}): connect by a name the certificate holds, or use sslmode=verify-ca to check only the CA"
        ),
        _ if why.contains("Expired") => format!(
            "the server's certificate has {why} (sslmode={mode}): its administrator must renew it (or this machine's clock is wrong)"
        ),
        RootCert::File(f) => format!(
            "the server's certificate does not verify against sslrootcert={}: {why} (sslmode={mode}); set sslrootcert to the CA that signed it (your provider's CA file), or sslmode=require to encrypt without verifying",
            f.display()
        ),
        RootCert::Missing(_) => format!("the server's certificate is {why} (sslmode={mode})"),
    })
}

/// The chain-and-name verifier over `sslrootcert`'s CAs.
fn webpki(ssl: &Ssl) -> Result<Arc<WebPkiServerVerifier>> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots(ssl)?), provider())
        .build()
        .map_err(|e| anyhow!("cannot check server certificates: {e}"))
}

/// `sslrootcert`'s CAs: the file, or the machine's roots for `system`.
fn roots(ssl: &Ssl) -> Result<RootCertStore> {
    match &ssl.root {
        RootCert::System => Ok(trust_roots()?.clone()),
        RootCert::File(f) => read_roots(f),
        RootCert::Missing(f) => Err(anyhow!(
            "sslmode={} needs a root certificate, and {}: name the CA's file with sslrootcert=/path/ca.pem (or PGSSLROOTCERT), use the system's roots with sslrootcert=system, or sslmode=require to encrypt without verifying",
            mode_name(ssl.mode),
            match f {
                Some(f) => format!("{} does not exist", f.display()),
                None => "there is no home directory to hold ~/.postgresql/root.crt".into(),
            }
        )),
    }
}

fn read_roots(file: &Path) -> Result<RootCertStore> {
    let certs = CertificateDer::pem_file_iter(file)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow!("cannot read sslrootcert {}: {e}", file.display()))?;
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(certs);
    if roots.is_empty() {
        return Err(anyhow!(
            "sslrootcert {} holds no usable CA certificate (PEM)",
            file.display()
        ));
    }
    Ok(roots)
}

/// The client's certificate chain and key; the key file's mode is checked as libpq checks it.
fn client_certificate(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow!("cannot read sslcert {}: {e}", cert.display()))?;
    Ok((chain, private_key(key)?))
}

/// The key, opened once and checked through that handle (`fstat`): the file checked is the
/// file read. Non-blocking, so a FIFO in its place cannot hang the open.
fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>> {
    let cannot = |e: &dyn std::fmt::Display| anyhow!("cannot read sslkey {}: {e}", path.display());
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| cannot(&e))?;
    let meta = file.metadata().map_err(|e| cannot(&e))?;
    if !meta.is_file() {
        return Err(anyhow!(
            "private key file {} is not a regular file",
            path.display()
        ));
    }
    if too_open(meta.permissions().mode(), meta.uid()) {
        return Err(anyhow!(
            "private key file {} has group or world access; it must be u=rw (0600) or less (`chmod 0600 {}`), or u=rw,g=r (0640) if owned by root",
            path.display(),
            crate::ui::hint::quote(&path.display().to_string())
        ));
    }
    let mut pem = Vec::new();
    file.read_to_end(&mut pem).map_err(|e| cannot(&e))?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| cannot(&e))
}

/// libpq's rule (fe-secure-openssl.c): a key root owns may be group-readable (no group write
/// or execute, nothing for others: mask 0o037), any other at most 0600 (mask 0o077).
fn too_open(mode: u32, owner: u32) -> bool {
    let mask = match owner {
        0 => 0o037,
        _ => 0o077,
    };
    mode & mask != 0
}

/// The handshake's signatures, checked with the provider's algorithms (every verifier here).
fn tls12_signature(
    provider: &CryptoProvider,
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    rustls::crypto::verify_tls12_signature(
        message,
        cert,
        dss,
        &provider.signature_verification_algorithms,
    )
}

fn tls13_signature(
    provider: &CryptoProvider,
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    rustls::crypto::verify_tls13_signature(
        message,
        cert,
        dss,
        &provider.signature_verification_algorithms,
    )
}

/// `allow`, `prefer`, `require`: encrypted, the certificate not checked (libpq's meaning), the
/// handshake's signatures still are.
#[derive(Debug)]
struct NoCertCheck(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoCertCheck {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        tls12_signature(&self.0, message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        tls13_signature(&self.0, message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to `sslrootcert` (rustls's own chain check, the one its
/// verifier runs before comparing names); the host name is not compared.
#[derive(Debug)]
struct ChainOnly {
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        verify_server_cert_signed_by_trust_anchor(
            &ParsedCertificate::try_from(end_entity)?,
            &self.roots,
            intermediates,
            now,
            self.provider.signature_verification_algorithms.all,
        )?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        tls12_signature(&self.provider, message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        tls13_signature(&self.provider, message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// libpq's masks: a root-owned key may be 0640 (and 0740: libpq does not forbid the owner's
    /// execute bit), a user's at most 0600.
    #[test]
    fn key_modes_are_judged_as_libpq_judges_them() {
        for (mode, owner, refused) in [
            (0o600, 1000, false),
            (0o700, 1000, false),
            (0o640, 1000, true),
            (0o604, 1000, true),
            (0o600, 0, false),
            (0o640, 0, false),
            (0o740, 0, false),
            (0o660, 0, true),
            (0o650, 0, true),
            (0o644, 0, true),
        ] {
            assert_eq!(too_open(mode, owner), refused, "{mode:o} owned by {owner}");
        }
    }
}
