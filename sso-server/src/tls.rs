//! The listener's TLS: the acceptor built from the PEM files of `[tls]`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why the TLS acceptor could not be built; names the key and the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("tls.cert_file: {}: {error}", path.display())]
    Cert {
        path: PathBuf,
        error: rustls_pki_types::pem::Error,
    },
    #[error("tls.cert_file: {}: no certificate", .0.display())]
    NoCert(PathBuf),
    #[error("tls.key_file: {}: {error}", path.display())]
    Key {
        path: PathBuf,
        error: rustls_pki_types::pem::Error,
    },
    #[error("tls: {0}")]
    Rustls(tokio_rustls::rustls::Error),
    /// The certificate and the key do not go together.
    #[error("tls: {}/{}: {error}", cert.display(), key.display())]
    Pair {
        cert: PathBuf,
        key: PathBuf,
        error: tokio_rustls::rustls::Error,
    },
}

/// Builds the TLS acceptor from PEM files (rustls with the ring provider).
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<tokio_rustls::TlsAcceptor, TlsError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls;
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|error| TlsError::Cert {
            path: cert.to_owned(),
            error,
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCert(cert.to_owned()));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|error| TlsError::Key {
        path: key.to_owned(),
        error,
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Rustls)?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|error| TlsError::Pair {
            cert: cert.to_owned(),
            key: key.to_owned(),
            error,
        })?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(cfg)))
}
