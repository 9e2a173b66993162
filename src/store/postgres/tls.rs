/*!
TLS to PostgreSQL with libpq's meanings of `sslmode` (README, "Deploying"):
`disable` never encrypts; `allow`, `prefer` and `require` encrypt without checking the server's
certificate (libpq's `prefer` is how Debian's PostgreSQL with its snake-oil certificate is
reached); `verify-ca` checks the chain against `sslrootcert`; `verify-full` also checks that the
certificate names the host. A client certificate (`sslcert`/`sslkey`) is sent when there is one;
its key must not be readable by others, as libpq demands. The rustls adapter for tokio-postgres
(`tokio-postgres-rustls`, which also gives SCRAM channel binding) carries the connection.
*/

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::libpq::{mode_name, RootCert, Ssl, SslMode};
use crate::bitrix::http::{certificate_error, provider, trust_roots};

/// The connector for every host of the URL.
pub(super) fn connector(ssl: &Ssl) -> Result<MakeRustlsConnect> {
    let verifier: Arc<dyn ServerCertVerifier> = match ssl.mode {
        SslMode::VerifyCa => Arc::new(ChainOnly(webpki(ssl)?)),
        SslMode::VerifyFull => webpki(ssl)?,
        _ => Arc::new(Unverified(provider())),
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
    let why = certificate_error(e)?;
    let mode = mode_name(ssl.mode);
    Some(match &ssl.root {
        RootCert::System => crate::bitrix::http::certificate_hint("the PostgreSQL server", &why),
        RootCert::File(_) | RootCert::Missing(_) if why.contains("NotValidForName") => format!(
            "the server's certificate is {why} (sslmode={mode}): connect by a name the certificate holds, or use sslmode=verify-ca to check only the CA"
        ),
        RootCert::File(f) | RootCert::Missing(f) => format!(
            "the server's certificate does not verify against sslrootcert={}: {why} (sslmode={mode}); set sslrootcert to the CA that signed it (your provider's CA file), or sslmode=require to encrypt without verifying",
            f.display()
        ),
    })
}

/// The chain-and-name verifier over `sslrootcert`'s CAs.
fn webpki(ssl: &Ssl) -> Result<Arc<WebPkiServerVerifier>> {
    let roots = match &ssl.root {
        RootCert::System => trust_roots()?.clone(),
        RootCert::File(f) => read_roots(f)?,
        RootCert::Missing(f) => {
            return Err(anyhow!(
                "sslmode={} needs a root certificate, and {} does not exist: name the CA's file with sslrootcert=/path/ca.pem (or PGSSLROOTCERT), use the system's roots with sslrootcert=system, or sslmode=require to encrypt without verifying",
                mode_name(ssl.mode),
                f.display()
            ))
        }
    };
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| anyhow!("cannot check server certificates: {e}"))
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
    let meta =
        std::fs::metadata(key).map_err(|e| anyhow!("cannot read sslkey {}: {e}", key.display()))?;
    let mode = meta.permissions().mode();
    let loose = match meta.uid() {
        0 => mode & 0o137 != 0,
        _ => mode & 0o077 != 0,
    };
    if loose {
        return Err(anyhow!(
            "private key file {} has group or world access; it must be u=rw (0600) or less (`chmod 0600 {}`), or u=rw,g=r (0640) if owned by root",
            key.display(),
            crate::ui::hint::quote(&key.display().to_string())
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| anyhow!("cannot read sslkey {}: {e}", key.display()))?;
    Ok((chain, key))
}

/// `allow`, `prefer`, `require`: encrypted, the certificate not checked (libpq's meaning), the
/// handshake's signatures still are.
#[derive(Debug)]
struct Unverified(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for Unverified {
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
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to `sslrootcert`; the host name is not compared.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // webpki checks the chain first and the name last: a name error means the chain held.
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
