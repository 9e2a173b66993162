//! Private certificate authorities made with the `openssl` command, as an administrator makes a
//! company CA: a CA certificate and key, and server (or client) certificates it signs, with the
//! subject alternative names a test asks for. Each CA lives in its own temp dir.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub struct Ca {
    dir: tempfile::TempDir,
    /// The CA's certificate (PEM): what `SSL_CERT_FILE` or `sslrootcert` names.
    pub cert: PathBuf,
    key: PathBuf,
}

/// A certificate signed by a [`Ca`] and its private key (PEM files, key 0600).
pub struct Issued {
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is needed for the TLS tests");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Ca {
    pub fn new(name: &str) -> Ca {
        let dir = tempfile::Builder::new()
            .prefix("b24auth-ca-")
            .tempdir()
            .unwrap();
        let subject = format!("/CN={name}");
        openssl(
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                &subject,
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
            dir.path(),
        );
        Ca {
            cert: dir.path().join("ca.pem"),
            key: dir.path().join("ca.key"),
            dir,
        }
    }

    /// A leaf certificate for `cn` valid for `sans` (`DNS:localhost,IP:127.0.0.1`).
    pub fn issue(&self, cn: &str, sans: &str) -> Issued {
        let d = self.dir.path();
        let ext = d.join(format!("{cn}.ext"));
        std::fs::write(
            &ext,
            format!("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName={sans}\n"),
        )
        .unwrap();
        let (key, csr, cert) = (
            format!("{cn}.key"),
            format!("{cn}.csr"),
            format!("{cn}.pem"),
        );
        let subject = format!("/CN={cn}");
        openssl(
            &[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &csr,
                "-subj",
                &subject,
            ],
            d,
        );
        let (ca_cert, ca_key) = (
            self.cert.display().to_string(),
            self.key.display().to_string(),
        );
        let ext = ext.display().to_string();
        openssl(
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                &ca_cert,
                "-CAkey",
                &ca_key,
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                &cert,
                "-extfile",
                &ext,
            ],
            d,
        );
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(d.join(&key), std::fs::Permissions::from_mode(0o600)).unwrap();
        Issued {
            cert: d.join(cert),
            key: d.join(key),
        }
    }
}

impl Issued {
    /// A rustls server configuration presenting this certificate (HTTP/1.1).
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&self.cert)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let key = PrivateKeyDer::from_pem_file(&self.key).unwrap();
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }
}
