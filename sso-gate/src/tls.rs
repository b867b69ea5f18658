//! `[tls]`: the gate serves https itself (reverse-proxy mode), with a
//! certificate chain and key read through their trust check; the flow then
//! gives the cookies their `__Host-` names and `Secure`, as mod_sso does.
//! The files are read again on every reload (a renewed certificate).

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

/// A ready acceptor (for `Debug`, only that it exists).
#[derive(Clone)]
pub struct Tls(pub TlsAcceptor);

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls(..)")
    }
}

/// The acceptor for this PEM chain and key; the error names the key
/// (`tls.cert_file`, `tls.key_file`) and says what is wrong.
pub fn load(cert: &Path, key: &Path) -> Result<Tls, (&'static str, String)> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let uid = sso_core::file_trust::effective_uid();
    let cert = sso_core::file_trust::check_file(cert, uid)
        .map_err(|e| ("tls.cert_file", e.to_string()))?;
    let key =
        sso_core::file_trust::check_file(key, uid).map_err(|e| ("tls.key_file", e.to_string()))?;
    let certs = CertificateDer::pem_file_iter(&cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| ("tls.cert_file", format!("{}: {e}", cert.display())))?;
    if certs.is_empty() {
        return Err((
            "tls.cert_file",
            format!("{}: no certificate", cert.display()),
        ));
    }
    let key_der = PrivateKeyDer::from_pem_file(&key)
        .map_err(|e| ("tls.key_file", format!("{}: {e}", key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ("tls", e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| {
            (
                "tls.key_file",
                format!("does not go with the certificate: {e}"),
            )
        })?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls(TlsAcceptor::from(Arc::new(cfg))))
}
